// The compile-time messages of wrong wirings, checked as written: each `// @ts-expect-error <message>` in
// the nn type tests (and in the user-defined layer's test) must be an error on the next line whose text
// contains <message>. The files are copied without the directives and type-checked once
// (`TypeCheck.check` of @typegrad/testing, which the documentation test uses too).
import { TypeCheck } from "@typegrad/testing"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, expect, it } from "vitest"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../../..")
const sources = [
  ...readdirSync(join(here, "../typetest")).filter((f) => f.endsWith(".ts")).map((f) => join(here, "../typetest", f)),
  join(here, "custom-layer.test.ts"),
  join(here, "layer-norm.test.ts")
]
// Modules the sources import relatively (./fixtures/...), copied beside them unchanged.
const fixtures = readdirSync(join(here, "fixtures")).filter((f) => f.endsWith(".ts"))
const base = join(here, ".generated")
mkdirSync(base, { recursive: true })
const dir = mkdtempSync(join(base, "messages-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it("each @ts-expect-error in the nn type tests is the error its comment quotes", () => {
  const files = [
    ...sources.map((source, i) => ({ name: `f${i}.ts`, text: readFileSync(source, "utf8") })),
    ...fixtures.map((f) => ({ name: `fixtures/${f}`, text: readFileSync(join(here, "fixtures", f), "utf8") }))
  ]
  const report = TypeCheck.check(files, {
    dir,
    extends: relative(dir, join(root, "tsconfig.base.json")),
    compilerOptions: { noUnusedLocals: false }
  })
  expect(report.expected.length).toBeGreaterThanOrEqual(5)
  for (const e of report.expected) {
    const at = `${e.file}:${e.line}`
    const text = report.diagnostics.filter((d) => d.file === e.file && d.line === e.line).map((d) => d.text).join("\n")
    expect({ at, text }).toEqual({ at, text: expect.stringContaining(e.message) })
  }
  // No other errors: every diagnostic is on one of the expected lines.
  expect(report.unexpected).toEqual([])
  expect(report.missing).toEqual([])
})
