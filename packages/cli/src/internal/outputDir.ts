/**
 * The job's output directory: checked before training starts, locked against a second run, and written
 * through tagged errors (a full disk or a directory that cannot be written is a message, not a crash).
 */
import { Safetensors } from "@typegrad/train"
import { Data, Effect, type Scope } from "effect"
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

/**
 * Another run holds the output directory (its lock file names a live process): the directory and that
 * run's process id.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/cli"
 * import { Console } from "effect"
 * declare const program: Effect.Effect<void, Mnist.OutputLockedError>
 * program.pipe(Effect.catchTag("OutputLockedError", (e) => Console.error(`busy: pid ${e.pid}`)))
 * ```
 */
export class OutputLockedError extends Data.TaggedError("OutputLockedError")<{
  readonly path: string
  /** The other run's process id (`undefined` while that run is still writing its lock). */
  readonly pid: number | undefined
}> {
  override get message(): string {
    const who = this.pid === undefined
      ? "another typegrad run that is starting"
      : `another typegrad run (pid ${this.pid})`
    return `${this.path} is in use by ${who}; wait for it to finish or choose another --out ` +
      `(if no such run exists, delete ${path.join(this.path, LOCK)})`
  }
}

/** The lock file in an output directory. */
export const LOCK = ".typegrad.lock"

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

/** The lock files this process holds (resolved paths). */
const held = new Set<string>()

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms))

const codeOf = (e: unknown): unknown => (e as { code?: unknown } | undefined)?.code

/** Whether the process `pid` that wrote lock `file` is running (a stale lock's is not). */
const running = (pid: number, file: string): boolean => {
  // Our own pid in a lock we do not hold is a lock of an earlier process that had our pid (a container).
  if (pid === process.pid) return held.has(file)
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return codeOf(e) === "EPERM"
  }
}

/**
 * Removes the stale lock `file` if it still holds `content`. Guarded by a second lock file, so that two
 * runs recovering at once never remove a lock that one of them has just taken.
 */
const removeStale = async (file: string, content: string): Promise<void> => {
  const guard = `${file}.recover`
  let handle
  try {
    handle = await fs.open(guard, "wx")
  } catch (e) {
    if (codeOf(e) !== "EEXIST") throw e
    const stat = await fs.stat(guard).catch(() => undefined)
    // a recovery that died half-way (it takes microseconds) leaves its guard: remove it after a while
    if (stat !== undefined && Date.now() - stat.mtimeMs > 10_000) await fs.rm(guard, { force: true })
    return
  }
  await handle.close()
  try {
    const now = await fs.readFile(file, "utf8").catch(() => undefined)
    if (now === content) await fs.rm(file, { force: true })
  } finally {
    await fs.rm(guard, { force: true })
  }
}

/** Takes the lock of `dir` (created with `wx`, holding the pid): `undefined`, or the other run's pid. */
const lock = async (dir: string): Promise<{ readonly pid: number | undefined } | undefined> => {
  const file = path.resolve(dir, LOCK)
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const handle = await fs.open(file, "wx")
      try {
        await handle.writeFile(`${process.pid}\n`)
        await handle.sync()
      } catch (e) {
        await handle.close()
        await fs.rm(file, { force: true })
        throw e
      }
      await handle.close()
      held.add(file)
      return undefined
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw e
    }
    const content = await fs.readFile(file, "utf8").catch(() => undefined)
    if (content !== undefined) {
      const pid = /^\d+\n?$/.test(content) ? Number(content) : undefined
      if (pid !== undefined && running(pid, file)) return { pid }
      if (pid === undefined) {
        // no pid yet: a run between creating its lock and writing it, unless the file is old
        const stat = await fs.stat(file).catch(() => undefined)
        if (stat !== undefined && Date.now() - stat.mtimeMs < 5_000) return { pid: undefined }
      }
      await removeStale(file, content)
    }
    await sleep(20)
  }
  throw new Error(`could not take the lock ${file}: other runs keep taking it`)
}

/** Releases the lock of `dir` if this process holds it (never fails). */
const unlock = async (dir: string): Promise<void> => {
  const file = path.resolve(dir, LOCK)
  if (!held.delete(file)) return
  const content = await fs.readFile(file, "utf8").catch(() => undefined)
  if (content === `${process.pid}\n`) await fs.rm(file, { force: true }).catch(() => undefined)
}

/**
 * Checks, before any training, that `dir` can be the output directory and takes it for this run: the
 * directory is created if missing, and a lock file `.typegrad.lock` holding the pid is created in it
 * atomically (`wx`), which also proves that the directory can be written. A lock of a live process is an
 * `OutputLockedError`; a stale one (its process is gone) is recovered. The lock is released when the
 * scope closes: on success, failure and interruption alike.
 */
export const acquire = (dir: string): Effect.Effect<void, OutputError | OutputLockedError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const stat = await fs.stat(dir).catch((e: unknown) => (codeOf(e) === "ENOENT" ? undefined : Promise.reject(e)))
        if (stat !== undefined && !stat.isDirectory()) throw notADirectory()
        await fs.mkdir(dir, { recursive: true })
        return await lock(dir)
      },
      catch: (cause) =>
        new OutputError({ path: dir, reason: `cannot use it as the output directory: ${explain(cause)}`, cause })
    }).pipe(
      Effect.flatMap((other) =>
        other === undefined ? Effect.void : Effect.fail(new OutputLockedError({ path: dir, pid: other.pid }))
      )
    ),
    () => Effect.promise(() => unlock(dir))
  )
