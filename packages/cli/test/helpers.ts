import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const bin = join(root, "packages/cli/src/bin.ts")

/** A fresh temp directory per call, all removed after the file's tests. */
export const tempDirs = (): () => string => {
  const made: Array<string> = []
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true })
  })
  return () => {
    const d = mkdtempSync(join(tmpdir(), "typegrad-cli-"))
    made.push(d)
    return d
  }
}

export interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly pid: number | undefined
}

/**
 * Runs `typegrad` (the sources, through tsx) from the repository root. With `sigintWhen`, sends SIGINT
 * once the output so far (stdout and stderr) satisfies it; `onStdout` sees stdout as it grows.
 */
export const typegrad = (
  args: ReadonlyArray<string>,
  options: { sigintWhen?: (output: string) => boolean; onStart?: (pid: number | undefined) => void } = {}
): Promise<Run> =>
  new Promise((res, rej) => {
    const proc = spawn(process.execPath, ["--import", "tsx", bin, ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" }
    })
    options.onStart?.(proc.pid)
    let stdout = ""
    let stderr = ""
    let sent = false
    const check = () => {
      if (!sent && options.sigintWhen?.(stdout + stderr) === true) {
        sent = true
        proc.kill("SIGINT")
      }
    }
    proc.stdout.on("data", (d) => {
      stdout += String(d)
      check()
    })
    proc.stderr.on("data", (d) => {
      stderr += String(d)
      check()
    })
    proc.on("error", rej)
    proc.on("exit", (code, signal) => res({ code, signal, stdout, stderr, pid: proc.pid }))
  })

/** A small, fast run of the job (about 10 s). */
export const small = ["train", "mnist", "--epochs", "1", "--train-limit", "600", "--validation", "100"] as const

/** No stack trace and no "unexpected error" in the output. */
export const clean = (r: Run): boolean => !/unexpected error|\n\s+at /.test(r.stderr + r.stdout)

/** The index of the first largest value of each row of a `[rows, columns]` array (predicted classes). */
export const argmaxRows = (data: ArrayLike<number>, columns: number): Array<number> => {
  const out: Array<number> = []
  for (let r = 0; r * columns < data.length; r++) {
    let best = 0
    for (let c = 1; c < columns; c++) if (data[r * columns + c]! > data[r * columns + best]!) best = c
    out.push(best)
  }
  return out
}
