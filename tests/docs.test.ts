/**
 * Docs that run: every ```ts block of README.md and docs/*.md and every ```ts block in the JSDoc comments
 * of the public modules (`packages/<name>/src/**`, except `src/internal/**` and private packages) is
 * type-checked in one `tsc` run, each block its own module (rules in `tests/docs-blocks.ts`, the
 * convention for authors in `docs/README.md`). An error is reported at the block's source file and line.
 * Blocks whose first line is `// runs` are also run with tsx, and must print what their `// =>` comments say.
 */
import { TypeCheck } from "@typegrad/testing"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { allBlocks, autoImports, type Block, expectedOutputs, isRunnable, moduleOf } from "./docs-blocks.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const base = join(root, "tests", ".generated")
mkdirSync(base, { recursive: true })
const dir = mkdtempSync(join(base, "docs-"))
// TYPEGRAD_KEEP_GENERATED=1 keeps the generated modules, to look at a failing block as tsc sees it.
afterAll(() => {
  if (process.env["TYPEGRAD_KEEP_GENERATED"] === undefined) rmSync(dir, { recursive: true, force: true })
})

const { blocks, problems, markdown, sources } = allBlocks(root)
const available = autoImports(root)
const checked = blocks.filter((b) => b.lang === "ts")
const modules = checked.map((block, i) => ({
  block,
  name: `b${String(i).padStart(4, "0")}.ts`,
  ...moduleOf(block, available)
}))
const byName = new Map(modules.map((m) => [m.name, m]))

/** `README.md:42` for a line of a generated module. */
const where = (file: string, line: number): string => {
  const m = byName.get(file)
  if (m === undefined) return `${file}:${line}`
  const index = line - m.header - 1
  return index < 0
    ? `${m.block.source}:${m.block.line} (an added import line ${line})`
    : `${m.block.source}:${m.block.line + index}`
}

let report: TypeCheck.Report
let seconds = 0

beforeAll(() => {
  const start = performance.now()
  report = TypeCheck.check(modules.map((m) => ({ name: m.name, text: m.text })), {
    dir,
    extends: relative(dir, join(root, "tsconfig.base.json")),
    // Examples show a value and leave it unused; the rest of the project's strict settings apply.
    compilerOptions: { noUnusedLocals: false, noUnusedParameters: false }
  })
  seconds = (performance.now() - start) / 1000
})

describe("documentation blocks", () => {
  it("every fence names its language and every @example holds a fenced block", () => {
    expect(problems.map((p) => `${p.source}:${p.line}: ${p.message}`)).toEqual([])
  })

  it("finds every ```ts fence of each file (reported per file)", () => {
    const count = (b: ReadonlyArray<Block>, file: string) => b.filter((x) => x.source === file).length
    const rows = [...markdown, ...sources].map((file) => {
      const fences = readFileSync(join(root, file), "utf8").split("\n").filter((l) => /^[\s*]*```ts\s*$/.test(l)).length
      return { file, fences, checked: count(checked, file), run: count(checked.filter(isRunnable), file) }
    })
    for (const r of rows) expect({ file: r.file, checked: r.checked }).toEqual({ file: r.file, checked: r.fences })
    const shown = rows.filter((r) => r.checked > 0)
    console.log(
      [
        `docs: ${checked.length} ts blocks checked (${checked.filter((b) => b.kind === "markdown").length} markdown, ${
          checked.filter((b) => b.kind === "jsdoc").length
        } JSDoc), ${checked.filter(isRunnable).length} run, ${blocks.length - checked.length} other blocks; tsc took ${
          seconds.toFixed(1)
        } s`,
        ...shown.map((r) => `  ${r.file}: ${r.checked} checked${r.run > 0 ? `, ${r.run} run` : ""}`)
      ].join("\n")
    )
    expect(checked.filter((b) => b.kind === "markdown").length).toBeGreaterThanOrEqual(10)
    expect(checked.filter((b) => b.kind === "jsdoc").length).toBeGreaterThanOrEqual(300)
  })

  it("every ts block type-checks under the project's strict settings", () => {
    expect(report.unexpected.map((d) => `${where(d.file, d.line)}: ${d.text.replace(/^\S+\(\d+,\d+\): /, "")}`))
      .toEqual([])
  })

  it("every @ts-expect-error is an error there, with the message its comment quotes", () => {
    expect(report.expected.length).toBeGreaterThan(0)
    expect(
      report.missing.map((e) =>
        `${where(e.file, e.line)}: expected an error containing "${e.message}", got ${e.got === "" ? "none" : e.got}`
      )
    ).toEqual([])
  })

  const runnable = modules.filter((m) => isRunnable(m.block))
  it("has run blocks", () => {
    expect(runnable.length).toBeGreaterThan(0)
  })
  for (const m of runnable) {
    it(`runs ${m.block.source}:${m.block.line}`, () => {
      const r = spawnSync(join(root, "node_modules/.bin/tsx"), [join(dir, m.name)], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000
      })
      const printed = `${r.stdout}${r.stderr}`
      expect({ status: r.status, printed }).toEqual({ status: 0, printed: expect.any(String) })
      for (const text of expectedOutputs(m.block)) expect(r.stdout).toContain(text)
    })
  }
})
