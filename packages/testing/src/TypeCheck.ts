/**
 * Compile-time errors as test results: type-check a set of files in one `tsc` run and hold them to their
 * `// @ts-expect-error <message>` comments. Each directive is replaced by a marker comment (the line count
 * stays), so the line below it must now have an error whose text contains `<message>` (any error when the
 * comment quotes nothing), and no other line may have one. That is stronger than `tsc` alone, which only
 * checks that a directive is used, not which error it hides.
 *
 * TypeScript 7 has no compiler API for JavaScript, so this runs `tsc` as a process.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { findTsc } from "./TypePerf.ts"

/** A file to check: its name (relative to the folder it is written to) and its text. */
export interface File {
  readonly name: string
  readonly text: string
}

/** One `tsc` diagnostic: file, 1-based line and column, code, and its whole text (continuation lines too). */
export interface Diagnostic {
  readonly file: string
  readonly line: number
  readonly column: number
  readonly code: number
  readonly text: string
}

/** A line that must have an error containing `message` (`""`: any error). */
export interface ExpectedError {
  readonly file: string
  readonly line: number
  readonly message: string
}

/**
 * A file's text with each `// @ts-expect-error <message>` replaced by a marker comment, and the errors
 * that the lines below them must have.
 *
 * @example
 * ```ts
 * const { text, expected } = TypeCheck.stripDirectives("a.ts", "// @ts-expect-error add: cannot broadcast\nbad()")
 * // text: "// (expected error below)\nbad()"; expected: [{ file: "a.ts", line: 2, message: "add: cannot broadcast" }]
 * ```
 */
export const stripDirectives = (
  file: string,
  text: string
): { readonly text: string; readonly expected: ReadonlyArray<ExpectedError> } => {
  const expected: Array<ExpectedError> = []
  const lines = text.split("\n").map((l, n) => {
    const m = /^(\s*)\/\/ @ts-expect-error(?:\s+(.*))?$/.exec(l)
    if (m === null) return l
    expected.push({ file, line: n + 2, message: (m[2] ?? "").trim() })
    return `${m[1]}// (expected error below)`
  })
  return { text: lines.join("\n"), expected }
}

/**
 * Parses `tsc --pretty false` output into diagnostics; a diagnostic without a file position (a bad
 * `tsconfig.json`) gets file `""` and line 0.
 *
 * @example
 * ```ts
 * const [d] = TypeCheck.parseDiagnostics("a.ts(2,1): error TS2345: Argument of type ...")
 * // d: { file: "a.ts", line: 2, column: 1, code: 2345, text: "a.ts(2,1): error TS2345: Argument of type ..." }
 * ```
 */
export const parseDiagnostics = (output: string): ReadonlyArray<Diagnostic> =>
  output.split(/\n(?=\S)/).flatMap((d) => {
    const m = /^(.+?)\((\d+),(\d+)\): error TS(\d+)/.exec(d)
    if (m !== null) {
      return [{ file: m[1]!, line: Number(m[2]), column: Number(m[3]), code: Number(m[4]), text: d.trimEnd() }]
    }
    const g = /^error TS(\d+)/.exec(d)
    return g === null ? [] : [{ file: "", line: 0, column: 0, code: Number(g[1]), text: d.trimEnd() }]
  })

/** What `check` found. */
export interface Report {
  /** The errors the directives ask for. */
  readonly expected: ReadonlyArray<ExpectedError>
  /** Every diagnostic of the run. */
  readonly diagnostics: ReadonlyArray<Diagnostic>
  /** Expected errors that did not come (`got`: the text of the errors on that line, if any). */
  readonly missing: ReadonlyArray<ExpectedError & { readonly got: string }>
  /** Diagnostics on lines that expect none. */
  readonly unexpected: ReadonlyArray<Diagnostic>
  /** `tsc`'s whole output. */
  readonly output: string
}

/** Options of `check`. */
export interface CheckOptions {
  /** The folder the files and a `tsconfig.json` are written to (created if missing). */
  readonly dir: string
  /** The `tsconfig.json` to extend, as a path relative to `dir` (the project's strict settings). */
  readonly extends: string
  /** Compiler options on top of it (`noEmit: true` is always set). */
  readonly compilerOptions?: Readonly<Record<string, unknown>>
  /** The `tsc` executable; by default the nearest `node_modules/.bin/tsc` above `dir`. */
  readonly tsc?: string
}

/**
 * Writes `files` (their directives stripped) to `options.dir`, type-checks them in one `tsc` run and
 * compares the errors with the directives.
 *
 * @example
 * ```ts
 * const report = TypeCheck.check([{ name: "a.ts", text: "// @ts-expect-error TS2322\nconst n: number = 'x'\nexport {}" }], {
 *   dir: "tests/.generated/a",
 *   extends: "../../../tsconfig.base.json"
 * })
 * // report.missing and report.unexpected are empty: the one error is the expected one
 * ```
 */
export const check = (files: ReadonlyArray<File>, options: CheckOptions): Report => {
  const expected: Array<ExpectedError> = []
  for (const f of files) {
    const stripped = stripDirectives(f.name, f.text)
    expected.push(...stripped.expected)
    mkdirSync(dirname(join(options.dir, f.name)), { recursive: true })
    writeFileSync(join(options.dir, f.name), stripped.text)
  }
  writeFileSync(
    join(options.dir, "tsconfig.json"),
    JSON.stringify({
      extends: options.extends,
      compilerOptions: { ...options.compilerOptions, noEmit: true },
      files: files.map((f) => f.name)
    })
  )
  const tsc = options.tsc ?? findTsc(options.dir)
  const r = spawnSync(tsc, ["-p", "tsconfig.json", "--pretty", "false"], {
    cwd: options.dir,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024
  })
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error === undefined ? "" : String(r.error)}`
  const diagnostics = parseDiagnostics(output)
  const at = (e: { readonly file: string; readonly line: number }) =>
    diagnostics.filter((d) => d.file === e.file && d.line === e.line)
  const missing = expected.flatMap((e) => {
    const here = at(e)
    const ok = here.some((d) => d.text.includes(e.message))
    return ok ? [] : [{ ...e, got: here.map((d) => d.text).join("\n") }]
  })
  const unexpected = diagnostics.filter((d) => !expected.some((e) => e.file === d.file && e.line === d.line))
  if (r.status !== 0 && diagnostics.length === 0) {
    // tsc failed without a diagnostic we understand: report its output as one.
    return {
      expected,
      diagnostics,
      missing,
      unexpected: [{ file: "", line: 0, column: 0, code: 0, text: output }],
      output
    }
  }
  return { expected, diagnostics, missing, unexpected, output }
}
