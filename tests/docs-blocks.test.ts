// The extraction rules of the documentation test, on small files written here: what counts as a block,
// where its lines come from, which problems are reported, and which imports are added.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import {
  type AutoImport,
  autoImports,
  type Block,
  expectedOutputs,
  importsFor,
  isRunnable,
  jsdocBlocks,
  markdownBlocks,
  moduleOf,
  type Problem
} from "./docs-blocks.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const base = join(root, "tests", ".generated")
mkdirSync(base, { recursive: true })
const dir = mkdtempSync(join(base, "docs-blocks-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text)
  return name
}

describe("jsdocBlocks", () => {
  it("takes each fenced block of a JSDoc comment, without ` * `, at its source line", () => {
    const file = write(
      "a.ts",
      [
        "/**",
        " * Doubles.",
        " *",
        " * @example",
        " * ```ts",
        " * const y = Tensor.mul(x, 2)",
        " *   // indented",
        " * ```",
        " */",
        "export const f = 1",
        "// ```ts in a line comment is no block",
        "/** @example",
        " * ```sh",
        " * pnpm test",
        " * ```",
        " */"
      ].join("\n")
    )
    const problems: Array<Problem> = []
    const blocks = jsdocBlocks(dir, file, problems)
    expect(problems).toEqual([])
    expect(blocks).toEqual([
      { source: file, line: 6, lang: "ts", kind: "jsdoc", code: ["const y = Tensor.mul(x, 2)", "  // indented"] },
      { source: file, line: 14, lang: "sh", kind: "jsdoc", code: ["pnpm test"] }
    ])
  })

  it("reports an @example without a fence, a fence without a language and an unknown language", () => {
    const file = write(
      "b.ts",
      [
        "/**",
        " * @example",
        " * Tensor.add(x, 1)",
        " * @since 0.1.0",
        " */",
        "/**",
        " * @example",
        " * ```",
        " * x",
        " * ```",
        " */",
        "/**",
        " * @example",
        " * ```tsx",
        " * x",
        " * ```",
        " */"
      ].join("\n")
    )
    const problems: Array<Problem> = []
    jsdocBlocks(dir, file, problems)
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      "2: an @example without a fenced block",
      "8: a fence without a language: write ```ts, ```sh or ```text",
      "14: a fence of language \"tsx\": use one of ts, sh, text, json"
    ])
  })
})

describe("markdownBlocks", () => {
  it("takes indented fences (in lists) without their indentation, and reports an unclosed one", () => {
    const file = write(
      "c.md",
      ["# T", "", "1. step:", "", "   ```ts", "   const a = 1", "   ```", "", "```sh", "ls"].join("\n")
    )
    const problems: Array<Problem> = []
    const blocks = markdownBlocks(dir, file, problems)
    expect(blocks).toEqual([{ source: file, line: 6, lang: "ts", kind: "markdown", code: ["const a = 1"] }])
    expect(problems).toEqual([{ source: file, line: 9, message: "an unclosed fence" }])
  })
})

describe("importsFor", () => {
  const available: ReadonlyArray<AutoImport> = [
    { name: "Tensor", from: "@typegrad/tensor" },
    { name: "grad", from: "@typegrad/autodiff" },
    { name: "Effect", from: "effect" },
    { name: "fc", from: "fast-check", default: true }
  ]
  it("imports the names a block uses, grouped by module", () => {
    expect(importsFor(["const g = grad((x: Tensor.Tensor<readonly []>) => x)", "fc.assert"], available)).toEqual([
      "import { grad } from \"@typegrad/autodiff\"",
      "import { Tensor } from \"@typegrad/tensor\"",
      "import fc from \"fast-check\""
    ])
  })
  it("skips names the block imports or declares, and names after a dot, in strings or in comments", () => {
    expect(
      importsFor(
        [
          "import { Tensor } from \"@typegrad/tensor\"",
          "const grad = 1",
          "x.Effect",
          "const s = \"fc\" // Effect",
          "/* fc */"
        ],
        available
      )
    ).toEqual([])
    expect(importsFor(["import type { Tensor as T, Effect } from \"x\"", "Tensor.zeros([1])"], available)).toEqual([
      "import { Tensor } from \"@typegrad/tensor\""
    ])
  })
})

describe("autoImports", () => {
  const all = autoImports(root)
  const from = (name: string) => all.find((i) => i.name === name)?.from
  it("derives the names from the packages' index.ts files; the first package wins a shared name", () => {
    expect(from("Tensor")).toBe("@typegrad/tensor")
    expect(from("Pytree")).toBe("@typegrad/tensor") // autodiff re-exports it
    expect(from("ShapeError")).toBe("@typegrad/tensor") // shape exports it too
    expect(from("valueAndGradAux")).toBe("@typegrad/autodiff")
    expect(from("Layer")).toBe("@typegrad/nn") // not effect's Layer
    expect(from("Mnist")).toBe("@typegrad/data") // not the cli's job
    expect(from("Train")).toBe("@typegrad/train")
    expect(from("checkGrads")).toBe("@typegrad/testing")
    expect(from("Types")).toBe("@typegrad/shape")
    expect(from("Effect")).toBe("effect")
    expect(from("pipe")).toBe("effect/Function")
    expect(new Set(all.map((i) => i.name)).size).toBe(all.length)
  })
})

describe("modules and run rules", () => {
  const block = (code: ReadonlyArray<string>): Block => ({
    source: "x.md",
    line: 10,
    lang: "ts",
    kind: "markdown",
    code
  })
  it("puts the imports first and keeps the block's lines, so line n of the block is line header + n", () => {
    const m = moduleOf(block(["", "Tensor.zeros([2])"]), [{ name: "Tensor", from: "@typegrad/tensor" }])
    expect(m.header).toBe(1)
    expect(m.text.split("\n")).toEqual([
      "import { Tensor } from \"@typegrad/tensor\"",
      "",
      "Tensor.zeros([2])",
      "export {}",
      ""
    ])
  })
  it("runs a block whose first line is `// runs`, and expects its `// =>` outputs", () => {
    const b = block(["", "// runs", "console.log(1 + 1) // => 2", "f() // => [ 1 ]"])
    expect(isRunnable(b)).toBe(true)
    expect(isRunnable(block(["const a = 1", "// runs"]))).toBe(false)
    expect(expectedOutputs(b)).toEqual(["2", "[ 1 ]"])
  })
})
