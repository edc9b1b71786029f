// The compile-time messages of Train.fit, checked as written: each `// @ts-expect-error <message>` in
// the train type tests must be an error on the next line whose text
// contains <message>. The files are copied without the directives and type-checked once.
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, expect, it } from "vitest"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../../..")
const sources = readdirSync(join(here, "../typetest")).filter((f) => f.endsWith(".ts")).map((f) =>
  join(here, "../typetest", f)
)
const base = join(here, ".generated")
mkdirSync(base, { recursive: true })
const dir = mkdtempSync(join(base, "messages-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Expected {
  readonly file: string
  readonly line: number
  readonly message: string
}

it("each @ts-expect-error in the train type tests is the error its comment quotes", () => {
  const expected: Array<Expected> = []
  sources.forEach((source, i) => {
    const file = `f${i}.ts`
    const lines = readFileSync(source, "utf8").split("\n").map((l, n) => {
      const m = /^(\s*)\/\/ @ts-expect-error (.+)$/.exec(l)
      if (m === null) return l
      expected.push({ file, line: n + 2, message: m[2]!.trim() })
      return `${m[1]}// (expected error below)`
    })
    writeFileSync(join(dir, file), lines.join("\n"))
  })
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: relative(dir, join(root, "tsconfig.base.json")),
      compilerOptions: { noEmit: true, noUnusedLocals: false },
      include: ["*.ts"]
    })
  )
  const r = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json"), "--pretty", "false"], {
    cwd: root,
    encoding: "utf8"
  })
  const output = `${r.stdout}${r.stderr}`
  // One diagnostic per `file(line,col): error ...` head, with its continuation lines.
  const prefix = `${relative(root, dir)}/`
  const diagnostics = output.split(/\n(?=\S)/).map((d) => {
    const m = /^(f\d+\.ts)\((\d+),\d+\): error/.exec(d.startsWith(prefix) ? d.slice(prefix.length) : d)
    return m === null ? undefined : { file: m[1]!, line: Number(m[2]), text: d }
  })
  expect(expected.length).toBeGreaterThanOrEqual(5)
  for (const e of expected) {
    const at = `${e.file}:${e.line}`
    const text = diagnostics.filter((d) => d !== undefined && d.file === e.file && d.line === e.line)
      .map((d) => d!.text).join("\n")
    expect({ at, text }).toEqual({ at, text: expect.stringContaining(e.message) })
  }
  // No other errors: every diagnostic is on one of the expected lines.
  const unexpected = diagnostics.filter((d) =>
    d !== undefined && !expected.some((e) => e.file === d.file && e.line === d.line)
  )
  expect(unexpected).toEqual([])
})
