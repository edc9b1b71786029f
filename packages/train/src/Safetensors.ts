/**
 * The safetensors format (the one PyTorch, JAX and Hugging Face tooling read) on disk: everything of
 * `SafetensorsCore` (`encode`, `decode`, `CheckpointError`, `Contents`: the in-memory halves, with no
 * Node import) plus the file halves, which need `node:fs`.
 *
 * Writing is atomic: the bytes go to a temporary file in the same directory, are flushed to disk, and
 * the file is renamed over the target, so a crash while writing leaves the previous file intact; the temp
 * files that crashed writers leave behind are removed by the next write into the directory.
 *
 * Hand-written because the format is 40 lines and no maintained JavaScript package covers both reading
 * and atomic writing of it.
 *
 * @since 0.1.0
 */
import type { Tensor } from "@typegrad/tensor"
import { Effect, Result } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { build, decodeHeader, headerPastEnd, MAX_HEADER, tooShort } from "./internal/safetensors.ts"
import { CheckpointError, type Contents, encode } from "./SafetensorsCore.ts"

export { CheckpointError, type Contents, decode, encode } from "./SafetensorsCore.ts"

/**
 * Writes a safetensors file atomically: temp file in the same directory, fsync, rename, fsync of the
 * directory. The previous file (if any) stays intact until the rename. Temp files that writers killed
 * mid-write left in the directory (`.<name>.<pid>.<ms>.tmp` of a pid no longer alive) are removed first.
 *
 * @example
 * ```ts
 * declare const params: Model.ParamsOf<typeof Reference.mnistCnn>
 * const program = Effect.gen(function*() {
 *   yield* Safetensors.write("out/model.safetensors", Pytree.paths(params), { epoch: "1" })
 * })
 * ```
 */
export const write = (
  file: string,
  tensors: ReadonlyMap<string, Tensor.AnyTensor> | ReadonlyArray<readonly [string, Tensor.AnyTensor]>,
  metadata: Readonly<Record<string, string>> = {}
): Effect.Effect<void, CheckpointError> =>
  Effect.try({
    try: () => encode(tensors, metadata),
    catch: (cause) =>
      new CheckpointError({
        path: file,
        reason: `cannot be written: ${
          cause instanceof Error ? cause.message : String(cause)
        }; nothing was written (a previous file is intact)`,
        cause
      })
  }).pipe(
    Effect.flatMap((bytes) =>
      Effect.tryPromise({
        try: () => writeAtomic(file, bytes),
        catch: (cause) => new CheckpointError({ path: file, reason: writeErrorReason(file, cause), cause })
      })
    )
  )

/**
 * What a failed write of `file` tells the user, by the error's errno code: a full disk (`ENOSPC`) says so
 * and names the directory, a missing directory, a permission, a read-only file system, a path through a
 * file each say what is wrong; anything else quotes the error. Every reason starts "could not write the
 * file" and ends with what to do. Used for `CheckpointError`'s `reason` by {@link write}.
 *
 * @example
 * ```ts
 * declare const cause: unknown // e.g. an Error with code "ENOSPC"
 * const reason = Safetensors.writeErrorReason("runs/mnist/model.safetensors", cause)
 * // "could not write the file: the disk is full (no space left on the device holding runs/mnist); ..."
 * ```
 */
export const writeErrorReason = (file: string, cause: unknown): string => {
  const dir = path.dirname(file)
  const code = (cause as { code?: unknown } | null | undefined)?.code
  const text = cause instanceof Error ? cause.message : String(cause)
  switch (code) {
    case "ENOSPC":
      return `could not write the file: the disk is full (no space left on the device holding ${dir}); ` +
        "free some space or write to another disk, then run again (the previous file, if any, is intact)"
    case "EDQUOT":
      return `could not write the file: the disk quota is exceeded for ${dir}; ` +
        "free some space or write to another disk, then run again (the previous file, if any, is intact)"
    case "ENOENT":
      return `could not write the file (${text}): the directory ${dir} does not exist; ` +
        "check that the directory exists and is writable"
    case "EACCES":
    case "EPERM":
      return `could not write the file (${text}): no permission to write in ${dir}; ` +
        "check that the directory is writable by this user, or write elsewhere"
    case "EROFS":
      return `could not write the file (${text}): ${dir} is on a read-only file system; write elsewhere`
    case "ENOTDIR":
      return `could not write the file (${text}): a part of the path ${dir} is not a directory but a file; ` +
        "check the path"
    case "EISDIR":
      return `could not write the file (${text}): ${file} is a directory; name a file inside it`
    default:
      return `could not write the file (${text}); check that the directory exists and is writable`
  }
}

/**
 * Writes bytes to `file` atomically (temp file, fsync, rename, directory fsync). @internal
 *
 * The temp file is `.<name>.<pid>.<ms>.tmp` beside `file`. A process killed mid-write (kill -9, power loss)
 * leaves its temp file behind: each write first removes, in the same directory, the temp files of this
 * pattern whose process is no longer alive (never those of a live process, this one included).
 *
 * @example
 * ```ts
 * const json = JSON.stringify({ testAccuracy: 0.98 })
 * await Safetensors.writeAtomic("out/metrics.json", new TextEncoder().encode(json))
 * ```
 */
export const writeAtomic = async (file: string, bytes: Uint8Array): Promise<void> => {
  const dir = path.dirname(file)
  await removeOrphans(dir)
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`)
  const handle = await fs.open(tmp, "w")
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } catch (e) {
    await handle.close()
    await fs.rm(tmp, { force: true })
    throw e
  }
  await handle.close()
  try {
    await fs.rename(tmp, file)
  } catch (e) {
    await fs.rm(tmp, { force: true })
    throw e
  }
  const d = await fs.open(dir, "r").catch(() => undefined)
  if (d !== undefined) {
    await d.sync().catch(() => undefined)
    await d.close()
  }
}

/** The temp files of {@link writeAtomic}: `.<name>.<pid>.<ms>.tmp`. */
const TEMP = /^\..+\.(\d+)\.\d+\.tmp$/

/** `true` unless `pid` names no process (a process of another user, `EPERM`, is alive). */
const alive = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: unknown }).code !== "ESRCH"
  }
}

/**
 * Removes from `dir` the temp files that writers killed mid-write left behind: those named like
 * {@link writeAtomic}'s whose pid is not alive. Best effort: a file that cannot be listed or removed is
 * left (it is hidden, and never mistaken for the checkpoint).
 */
const removeOrphans = async (dir: string): Promise<void> => {
  const names = await fs.readdir(dir).catch(() => [] as Array<string>)
  for (const name of names) {
    const pid = TEMP.exec(name)?.[1]
    if (pid !== undefined && !alive(Number(pid))) await fs.rm(path.join(dir, name), { force: true }).catch(() => {})
  }
}

/**
 * Reads and validates a safetensors file, header first: the 8-byte header length (at most 100 MB), then the
 * header, which is validated against the file's size (every tensor inside the file, no gaps, no trailing
 * bytes) before the data is read. A truncated, oversized or corrupt file is a `CheckpointError` before any
 * tensor data is read, so memory is bounded by what the header declares.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const { tensors, metadata } = yield* Safetensors.read("out/model.safetensors")
 *   return [tensors.size, metadata] as const
 * })
 * ```
 */
export const read = (file: string): Effect.Effect<Contents, CheckpointError> =>
  Effect.tryPromise({
    try: async () => {
      const handle = await fs.open(file, "r")
      try {
        const { size } = await handle.stat()
        if (size < 8) throw new CheckpointError({ path: file, reason: tooShort(size) })
        const at = async (position: number, length: number): Promise<Uint8Array> => {
          const out = new Uint8Array(length)
          let done = 0
          while (done < length) {
            const { bytesRead } = await handle.read(out, done, length - done, position + done)
            if (bytesRead === 0) {
              throw new CheckpointError({
                path: file,
                reason: `the file shrank while it was read (${
                  position + done
                } of ${size} bytes); is another process writing it? Try again`
              })
            }
            done += bytesRead
          }
          return out
        }
        const prefix = await at(0, 8)
        const n = new DataView(prefix.buffer).getBigUint64(0, true)
        if (n > BigInt(MAX_HEADER)) {
          throw new CheckpointError({
            path: file,
            reason: `the header length of ${n} bytes exceeds the ${MAX_HEADER}-byte limit; the file is corrupt ` +
              "or not a safetensors file"
          })
        }
        if (n > BigInt(size - 8)) throw new CheckpointError({ path: file, reason: headerPastEnd(n, size - 8) })
        const headerEnd = 8 + Number(n)
        const layout = decodeHeader(await at(8, Number(n)), size - headerEnd)
        if (Result.isFailure(layout)) throw new CheckpointError({ path: file, reason: layout.failure })
        return build(layout.success, await at(headerEnd, size - headerEnd))
      } finally {
        await handle.close()
      }
    },
    catch: (cause) =>
      cause instanceof CheckpointError ? cause : new CheckpointError({
        path: file,
        reason: `could not read the file (${cause instanceof Error ? cause.message : String(cause)}); check the path`,
        cause
      })
  })
