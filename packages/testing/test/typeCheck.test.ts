// TypeCheck holds files to their `// @ts-expect-error <message>` comments: a right message passes, a wrong
// message, a directive with no error below it and an error elsewhere are each reported.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TypeCheck from "../src/TypeCheck.ts"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../../..")
const base = join(here, ".generated")
mkdirSync(base, { recursive: true })
const dir = mkdtempSync(join(base, "typecheck-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("stripDirectives and parseDiagnostics", () => {
  it("replaces each directive by a marker on the same line and expects an error on the next", () => {
    const r = TypeCheck.stripDirectives(
      "a.ts",
      "const a = 1\n  // @ts-expect-error add: cannot broadcast\nbad()\n// @ts-expect-error\nworse()"
    )
    expect(r.text).toBe("const a = 1\n  // (expected error below)\nbad()\n// (expected error below)\nworse()")
    expect(r.expected).toEqual([
      { file: "a.ts", line: 3, message: "add: cannot broadcast" },
      { file: "a.ts", line: 5, message: "" }
    ])
  })
  it("reads tsc's diagnostics with their continuation lines", () => {
    const out =
      "a.ts(3,1): error TS2345: Argument of type 'X'\n  Type 'X' is missing...\nb.ts(1,7): error TS2322: no\nerror TS5058: bad tsconfig\n"
    expect(TypeCheck.parseDiagnostics(out)).toEqual([
      {
        file: "a.ts",
        line: 3,
        column: 1,
        code: 2345,
        text: "a.ts(3,1): error TS2345: Argument of type 'X'\n  Type 'X' is missing..."
      },
      { file: "b.ts", line: 1, column: 7, code: 2322, text: "b.ts(1,7): error TS2322: no" },
      { file: "", line: 0, column: 0, code: 5058, text: "error TS5058: bad tsconfig" }
    ])
  })
})

describe("check", () => {
  let report: TypeCheck.Report
  beforeAll(() => {
    report = TypeCheck.check(
      [
        {
          name: "ok.ts",
          text: "// @ts-expect-error is not assignable to type 'number'\nexport const n: number = \"x\"\n"
        },
        {
          name: "wrong.ts",
          text: "// @ts-expect-error is not assignable to type 'string'\nexport const n: number = \"x\"\n"
        },
        { name: "unused.ts", text: "// @ts-expect-error\nexport const n: number = 1\n" },
        { name: "other.ts", text: "export const s: string = 1\n" }
      ],
      { dir, extends: relative(dir, join(root, "tsconfig.base.json")) }
    )
  })
  it("passes the directive whose message is in the error", () => {
    expect(report.expected).toHaveLength(3)
    expect(report.missing.map((m) => m.file)).not.toContain("ok.ts")
  })
  it("reports a wrong message and a directive with no error below it", () => {
    expect(report.missing.map((m) => [m.file, m.line, m.got === ""])).toEqual([["wrong.ts", 2, false], [
      "unused.ts",
      2,
      true
    ]])
  })
  it("reports an error on a line that expects none", () => {
    expect(report.unexpected.map((d) => [d.file, d.line, d.code])).toEqual([["other.ts", 1, 2322]])
  })
})
