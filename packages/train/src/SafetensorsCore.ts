/**
 * The safetensors format in memory, with no file system: `encode` turns named tensors into the bytes of a
 * safetensors file and `decode` validates and reads them back. This module imports nothing from Node, so a
 * browser, a Web Worker or any other JavaScript runtime can use it (a page reads a `model.safetensors` from
 * a file picker with `decode`). `Safetensors` re-exports everything here and adds the file halves
 * (`read`, `write`, atomic writes), which need `node:fs`.
 *
 * The format (the one PyTorch, JAX and Hugging Face tooling read): an 8-byte little-endian header length, a
 * JSON header mapping each tensor name to `{ dtype, shape, data_offsets }` plus an optional `__metadata__`
 * map of strings, then the raw little-endian data.
 *
 * @example
 * ```ts
 * import * as SafetensorsCore from "@typegrad/train/SafetensorsCore"
 * const bytes = SafetensorsCore.encode(new Map([["w", Tensor.ones([2, 2])]]), { note: "hello" })
 * const decoded = SafetensorsCore.decode(bytes) // Result<Contents, CheckpointError>
 * ```
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { unsafeData, unsafeFromData } from "@typegrad/tensor/internal"
import { Data, Result } from "effect"

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
 * const bytes = SafetensorsCore.encode(new Map([["w", Tensor.ones([2, 2])]]), { epoch: "3" })
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
 * const result = SafetensorsCore.decode(bytes, "model.safetensors")
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
export const MAX_HEADER = 100_000_000

/** @internal */
export const tooShort = (file: string, length: number) =>
  new CheckpointError({
    path: file,
    reason:
      `the file has ${length} bytes, too short for a safetensors header; it is truncated or not a safetensors file`
  })

/** @internal */
export const headerPastEnd = (file: string, n: bigint, follow: number) =>
  new CheckpointError({
    path: file,
    reason: `the header claims ${n} bytes but only ${follow} follow; the file is truncated or corrupt`
  })

/** A validated header: where each tensor's bytes lie in the data section. */
export interface Layout {
  readonly metadata: Record<string, string>
  readonly specs: ReadonlyArray<
    { readonly name: string; readonly dtype: "F32" | "F64"; readonly shape: Array<number>; begin: number; end: number }
  >
}

/**
 * Validates a header (its JSON bytes) against a data section of `dataLength` bytes: dtypes, shapes,
 * offsets without gaps or overlaps, and a data section exactly as long as the tensors need.
 */
/** @internal */
export const decodeHeader = (
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
/** @internal */
export const build = (layout: Layout, data: Uint8Array): Contents => {
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
