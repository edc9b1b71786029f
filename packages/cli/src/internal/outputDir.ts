/**
 * The job's output directory: checked before training starts, locked against a second run, and written
 * through tagged errors (a full disk or a directory that cannot be written is a message, not a crash).
 */
import { Safetensors } from "@typegrad/train"
import { Data, Effect } from "effect"
import { statSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"

/**
 * The output directory cannot be used or written: the path, and what was wrong and what to do.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/cli"
 * import { Console } from "effect"
 * declare const program: Effect.Effect<void, Mnist.OutputError>
 * program.pipe(Effect.catchTag("OutputError", (e) => Console.error(e.message)))
 * ```
 */
export class OutputError extends Data.TaggedError("OutputError")<{
  readonly path: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

/** What a failed file-system call means for the user, from its error code. */
export const explain = (cause: unknown): string => {
  const code = (cause as { code?: unknown } | undefined)?.code
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return "the disk is full (no space left); free some space and run again"
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return "it cannot be written (permission denied or a read-only file system); choose another --out"
    case "ENOTDIR":
      return "a part of the path is a file, not a directory; choose another --out"
    case "EEXIST":
      return "it is a file, not a directory; choose another --out"
    case "ENAMETOOLONG":
      return "the path is too long; choose a shorter --out"
    default:
      return cause instanceof Error ? cause.message : String(cause)
  }
}

/** Writes `bytes` to `file` atomically; any failure is an `OutputError`. */
export const writeFile = (file: string, bytes: Uint8Array): Effect.Effect<void, OutputError> =>
  Effect.tryPromise({
    try: () => Safetensors.writeAtomic(file, bytes),
    catch: (cause) => new OutputError({ path: file, reason: `could not write the file: ${explain(cause)}`, cause })
  })

/** The output directory a `--resume` path implies: the checkpoint's directory when it names the file. */
export const ofResume = (resume: string): string => {
  const stat = statSync(resume, { throwIfNoEntry: false })
  return stat?.isFile() === true ? path.dirname(resume) : resume
}

const notADirectory = (): Error => Object.assign(new Error("not a directory"), { code: "EEXIST" })

/**
 * Checks, before any training, that `dir` can be the output directory: it is created if missing, and a
 * probe file is written and removed in it. Any failure is an `OutputError` saying what to do.
 */
export const prepare = (dir: string): Effect.Effect<void, OutputError> =>
  Effect.tryPromise({
    try: async () => {
      const stat = await fs.stat(dir).catch((e: unknown) =>
        (e as { code?: unknown }).code === "ENOENT" ? undefined : Promise.reject(e)
      )
      if (stat !== undefined && !stat.isDirectory()) throw notADirectory()
      await fs.mkdir(dir, { recursive: true })
      const probe = path.join(dir, `.typegrad-probe.${process.pid}.${Date.now()}.tmp`)
      await fs.writeFile(probe, "", { flag: "wx" })
      await fs.rm(probe, { force: true })
    },
    catch: (cause) =>
      new OutputError({ path: dir, reason: `cannot use it as the output directory: ${explain(cause)}`, cause })
  })
