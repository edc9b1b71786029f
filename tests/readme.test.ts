/**
 * The README's code example, checked as documented: extracted from README.md, it type-checks as written
 * (the `@ts-expect-error` line really is an error, with the message the comment quotes), each shape in a
 * `// Tensor<readonly [...]>` comment is the static type of the pipeline up to that stage, and at run
 * time the tensors have those shapes and the bad call throws that message.
 */
import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const readme = readFileSync(join(root, "README.md"), "utf8")

/** The first ```ts block of the README. */
const example = (() => {
  const m = /```ts\n([\s\S]*?)```/.exec(readme)
  if (m === null) throw new Error("README.md has no ```ts code block")
  return m[1]!
})()

interface Stage {
  readonly code: string
  readonly shape: ReadonlyArray<number> | undefined
}

/** Splits the example into the set-up, the `const y = x.pipe(...)` stages, and the expected-error call. */
const parseExample = (source: string) => {
  const lines = source.split("\n")
  const start = lines.findIndex((l) => /^const (\w+) = (\w+)\.pipe\($/.test(l.trim()))
  if (start < 0) throw new Error("no `const y = x.pipe(` in the example")
  const [, result, input] = /^const (\w+) = (\w+)\.pipe\($/.exec(lines[start]!.trim())!
  const end = lines.findIndex((l, i) => i > start && l.trim() === ")")
  const stages: Array<Stage> = lines.slice(start + 1, end).map((l) => {
    const [code, comment] = l.split("//").map((s) => s.trim())
    const shape = comment === undefined ? undefined : /^Tensor<readonly \[([\d, ]*)\]>$/.exec(comment)?.[1]
    return {
      code: code!.replace(/,$/, ""),
      shape: shape === undefined ? undefined : shape.split(",").map((d) => Number(d.trim()))
    }
  })
  const directive = lines.findIndex((l) => l.trim().startsWith("// @ts-expect-error"))
  const expectedError = lines[directive]!.trim().replace("// @ts-expect-error", "").trim()
  const badCall = lines[directive + 1]!.trim()
  const setup = lines.slice(0, start).join("\n")
  return { setup, result: result!, input: input!, stages, expectedError, badCall }
}

const parsed = parseExample(example)
const dir = (() => {
  const base = join(root, "tests", ".generated")
  mkdirSync(base, { recursive: true })
  return mkdtempSync(join(base, "readme-"))
})()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A module that rebuilds each commented prefix of the pipeline, with compile-time exact type checks. */
const stagesModule = () => {
  const { setup, input, stages, result, badCall, expectedError } = parsed
  const out = [
    setup,
    `import type { Types } from "@typegrad/shape"`,
    `export const ${input}Shape = ${input}.shape`
  ]
  stages.forEach((s, i) => {
    if (s.shape === undefined) return
    const prefix = stages.slice(0, i + 1).map((t) => t.code).join(", ")
    out.push(`export const stage${i} = ${input}.pipe(${prefix})`)
    out.push(
      `export const stage${i}Type: Types.Equal<typeof stage${i}, Tensor.Tensor<readonly [${
        s.shape.join(", ")
      }]>> = true`
    )
  })
  out.push(`export const ${result} = ${input}.pipe(${stages.map((s) => s.code).join(", ")})`)
  out.push(`export const badCall = () => {\n  // @ts-expect-error ${expectedError}\n  return ${badCall}\n}`)
  return out.join("\n") + "\n"
}

let tsc: { status: number | null; output: string }

beforeAll(() => {
  writeFileSync(join(dir, "readme.ts"), example + "\nexport {}\n")
  writeFileSync(join(dir, "stages.ts"), stagesModule())
  writeFileSync(
    join(dir, "errors.ts"),
    `${parsed.setup.split("\n").filter((l) => l.startsWith("import ")).join("\n")}\n${parsed.badCall}\n`
  )
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: relative(dir, join(root, "tsconfig.base.json")),
      compilerOptions: { noEmit: true, noUnusedLocals: false },
      files: ["readme.ts", "stages.ts", "errors.ts"]
    })
  )
  const r = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json"), "--pretty", "false"], {
    cwd: root,
    encoding: "utf8"
  })
  tsc = { status: r.status, output: `${r.stdout}${r.stderr}` }
})

describe("README example", () => {
  it("has the parts this test checks (three commented shapes and one expected error)", () => {
    expect(parsed.stages.filter((s) => s.shape !== undefined)).toHaveLength(3)
    expect(parsed.expectedError).toBe("conv2d: kernel 5 larger than padded input 4")
  })

  it("type-checks as written; the only errors are those of the @ts-expect-error line, with the quoted message", () => {
    const errorLines = tsc.output.split("\n").filter((l) => /error TS\d+/.test(l))
    expect(errorLines.length).toBeGreaterThan(0)
    for (const l of errorLines) expect(l).toMatch(/errors\.ts\(/)
    expect(tsc.output).toContain(parsed.expectedError)
  })

  it("each commented shape is the exact static type of the pipeline up to that stage", () => {
    // stages.ts holds `const stageN: Types.Equal<typeof stageN, Tensor<readonly [...]>> = true`; a wrong comment fails tsc
    expect(tsc.output).not.toMatch(/stages\.ts\(/)
    expect(tsc.output).not.toMatch(/readme\.ts\(/)
  })

  it("at run time each stage has the commented shape and the bad call throws the quoted ShapeError", async () => {
    const m = (await import(pathToFileURL(join(dir, "stages.ts")).href)) as Record<string, unknown>
    parsed.stages.forEach((s, i) => {
      if (s.shape === undefined) return
      const t = m[`stage${i}`] as Tensor.AnyTensor
      expect(Tensor.isTensor(t)).toBe(true)
      expect([...t.shape]).toEqual(s.shape)
    })
    const y = m[parsed.result] as Tensor.AnyTensor
    expect([...y.shape]).toEqual([8, 4704])
    // zeros in, zeros out: the values agree with the ops too
    expect(Tensor.toArray(y).every((v) => v === 0)).toBe(true)
    const bad = m["badCall"] as () => unknown
    expect(bad).toThrow(ShapeError)
    expect(bad).toThrow(parsed.expectedError)
  })
})
