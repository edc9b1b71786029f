/**
 * The safetensors format (the one PyTorch, JAX and Hugging Face tooling read): an 8-byte little-endian
 * header length, a JSON header mapping each tensor name to `{ dtype, shape, data_offsets }` plus an
 * optional `__metadata__` map of strings, then the raw little-endian data.
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
import { Tensor } from "@typegrad/tensor"
import { unsafeData, unsafeFromData } from "@typegrad/tensor/internal"
import { Data, Effect, Result } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"

/**
 * A checkpoint or safetensors file that cannot be read or written. `reason` says what is wrong and what
 * to do.
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<void, CheckpointError>
 * program.pipe(Effect.catchTag("CheckpointError", (e) => Console.error(e.message)))
 * ```
 */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly path: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `checkpoint ${this.path}: ${this.reason}`
  }
}

/** The tensors and metadata of a safetensors file. */
export interface Contents {
  readonly tensors: ReadonlyMap<string, Tensor.AnyTensor>
  readonly metadata: Readonly<Record<string, string>>
}

/** A dim of a shape: a non-negative integer that a double holds exactly. */
const isDim = (d: unknown): d is number => typeof d === "number" && Number.isSafeInteger(d) && d >= 0

const DTYPES = { float32: "F32", float64: "F64" } as const
const BYTES = { F32: 4, F64: 8 } as const
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Encodes tensors (by name) and string metadata as safetensors bytes.
 *
 * @example
 * ```ts
 * const bytes = Safetensors.encode(new Map([["w", Tensor.ones([2, 2])]]), { epoch: "3" })
 * ```
 */
export const encode = (
  tensors: ReadonlyMap<string, Tensor.AnyTensor> | ReadonlyArray<readonly [string, Tensor.AnyTensor]>,
  metadata: Readonly<Record<string, string>> = {}
): Uint8Array => {
  const entries = [...tensors].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata
  let offset = 0
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new TypeError(`safetensors: "__metadata__" is reserved and cannot name a tensor`)
    const badDim = t.shape.findIndex((d) => !isDim(d))
    if (badDim >= 0) {
      throw new TypeError(
        `safetensors: tensor "${name}" has an invalid shape [${t.shape.join(", ")}]: dim ${badDim} is ${
          t.shape[badDim]
        }; dims must be non-negative integers (empty tensors included)`
      )
    }
    const bytes = t.size * (t.dtype === "float64" ? 8 : 4)
    header[name] = { dtype: DTYPES[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  let json = JSON.stringify(header)
  // Pad the header with spaces so the data starts 8-byte aligned.
  const headerBytes = new TextEncoder().encode(json)
  const padded = Math.ceil(headerBytes.length / 8) * 8
  json += " ".repeat(padded - headerBytes.length)
  const out = new Uint8Array(8 + padded + offset)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(padded), true)
  out.set(new TextEncoder().encode(json), 8)
  let at = 8 + padded
  for (const [, t] of entries) {
    const data = unsafeData(t)
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (littleEndian) out.set(raw, at)
    else {
      const width = data.BYTES_PER_ELEMENT
      for (let i = 0; i < raw.length; i += width) {
        for (let k = 0; k < width; k++) out[at + i + k] = raw[i + width - 1 - k]!
      }
    }
    at += raw.length
  }
  return out
}

/**
 * Decodes safetensors bytes, validating the header (sizes, offsets without gaps or overlaps, dtypes)
 * before any tensor is built. Only F32 and F64 tensors are supported.
 *
 * @example
 * ```ts
 * declare const bytes: Uint8Array
 * const result = Safetensors.decode(bytes, "model.safetensors")
 * ```
 */
export const decode = (bytes: Uint8Array, file = "<bytes>"): Result.Result<Contents, CheckpointError> => {
  if (bytes.length < 8) return Result.fail(tooShort(file, bytes.length))
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true)
  if (n > BigInt(bytes.length - 8)) return Result.fail(headerPastEnd(file, n, bytes.length - 8))
  const headerEnd = 8 + Number(n)
  return Result.map(
    decodeHeader(bytes.subarray(8, headerEnd), bytes.length - headerEnd, file),
    (layout) => build(layout, bytes.subarray(headerEnd))
  )
}

/** The largest header accepted (the limit of the reference implementation, Hugging Face's `safetensors`). */
const MAX_HEADER = 100_000_000

const tooShort = (file: string, length: number) =>
  new CheckpointError({
    path: file,
    reason:
      `the file has ${length} bytes, too short for a safetensors header; it is truncated or not a safetensors file`
  })

const headerPastEnd = (file: string, n: bigint, follow: number) =>
  new CheckpointError({
    path: file,
    reason: `the header claims ${n} bytes but only ${follow} follow; the file is truncated or corrupt`
  })

/** A validated header: where each tensor's bytes lie in the data section. */
interface Layout {
  readonly metadata: Record<string, string>
  readonly specs: ReadonlyArray<
    { readonly name: string; readonly dtype: "F32" | "F64"; readonly shape: Array<number>; begin: number; end: number }
  >
}

/**
 * Validates a header (its JSON bytes) against a data section of `dataLength` bytes: dtypes, shapes,
 * offsets without gaps or overlaps, and a data section exactly as long as the tensors need.
 */
const decodeHeader = (
  headerBytes: Uint8Array,
  dataLength: number,
  file: string
): Result.Result<Layout, CheckpointError> => {
  const fail = (reason: string) => Result.fail(new CheckpointError({ path: file, reason }))
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes))
  } catch (cause) {
    return fail(`the header is not valid JSON (${String(cause)}); the file is corrupt`)
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    return fail("the header is not a JSON object")
  }
  const metadata: Record<string, string> = {}
  const specs: Array<{ name: string; dtype: "F32" | "F64"; shape: Array<number>; begin: number; end: number }> = []
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) return fail("__metadata__ must be an object of strings")
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") return fail(`__metadata__.${k} must be a string`)
        metadata[k] = v
      }
      continue
    }
    const spec = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (spec.dtype !== "F32" && spec.dtype !== "F64") {
      return fail(`tensor "${name}" has dtype ${JSON.stringify(spec.dtype)}; only F32 and F64 are supported`)
    }
    const shape = spec.shape
    if (!Array.isArray(shape)) return fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`)
    const badDim = shape.findIndex((d) => !isDim(d))
    if (badDim >= 0) {
      return fail(
        `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}: dim ${badDim} is ${
          JSON.stringify(shape[badDim])
        }; dims must be non-negative integers (empty tensors included); the file is corrupt`
      )
    }
    const offsets = spec.data_offsets
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      return fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`)
    }
    const [begin, end] = offsets as [number, number]
    const expected = shape.reduce((a: number, b: number) => a * b, 1) * BYTES[spec.dtype]
    if (end - begin !== expected) {
      return fail(
        `tensor "${name}" of shape [${shape.join(", ")}] needs ${expected} bytes but its offsets span ${end - begin}`
      )
    }
    if (end > dataLength) {
      return fail(`tensor "${name}" ends at byte ${end} but the data has ${dataLength} bytes; the file is truncated`)
    }
    specs.push({ name, dtype: spec.dtype, shape: shape as Array<number>, begin, end })
  }
  // Empty tensors may share their offset with the next tensor: order by start, then by end.
  specs.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let expectedBegin = 0
  for (const s of specs) {
    if (s.begin !== expectedBegin) {
      return fail(
        `tensor "${s.name}" starts at byte ${s.begin}, expected ${expectedBegin}: the data has gaps or overlaps`
      )
    }
    expectedBegin = s.end
  }
  if (expectedBegin !== dataLength) {
    return fail(`${dataLength - expectedBegin} trailing bytes after the last tensor; the file is corrupt`)
  }
  return Result.succeed({ metadata, specs })
}

/** Builds the tensors of a validated layout from its data section. */
const build = (layout: Layout, data: Uint8Array): Contents => {
  const tensors = new Map<string, Tensor.AnyTensor>()
  for (const s of layout.specs) {
    const width = BYTES[s.dtype]
    const count = (s.end - s.begin) / width
    const out = s.dtype === "F64" ? new Float64Array(count) : new Float32Array(count)
    const src = new DataView(data.buffer, data.byteOffset + s.begin, s.end - s.begin)
    if (s.dtype === "F64") { for (let i = 0; i < count; i++) out[i] = src.getFloat64(i * 8, true) }
    else for (let i = 0; i < count; i++) out[i] = src.getFloat32(i * 4, true)
    tensors.set(s.name, unsafeFromData(out, s.shape))
  }
  return { tensors, metadata: layout.metadata }
}

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
        if (size < 8) throw tooShort(file, size)
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
        if (n > BigInt(size - 8)) throw headerPastEnd(file, n, size - 8)
        const headerEnd = 8 + Number(n)
        const layout = decodeHeader(await at(8, Number(n)), size - headerEnd, file)
        if (Result.isFailure(layout)) throw layout.failure
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
