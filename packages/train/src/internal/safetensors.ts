/**
 * The parts of the safetensors format that `SafetensorsCore.decode` (bytes in memory) and `Safetensors.read`
 * (a file, header first) share: header validation and tensor building. Node-free.
 */
import type { Tensor } from "@typegrad/tensor"
import { unsafeFromData } from "@typegrad/tensor/internal"
import { Result } from "effect"
import type { Contents } from "../SafetensorsCore.ts"

/** A dim of a shape: a non-negative integer that a double holds exactly. */
export const isDim = (d: unknown): d is number => typeof d === "number" && Number.isSafeInteger(d) && d >= 0

export const DTYPES = { float32: "F32", float64: "F64" } as const
export const BYTES = { F32: 4, F64: 8 } as const
export const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The largest header accepted (the limit of the reference implementation, Hugging Face's `safetensors`). */
export const MAX_HEADER = 100_000_000

/** Why a file of `length` bytes cannot be safetensors. */
export const tooShort = (length: number): string =>
  `the file has ${length} bytes, too short for a safetensors header; it is truncated or not a safetensors file`

/** Why a header of `n` bytes followed by `follow` bytes is wrong. */
export const headerPastEnd = (n: bigint, follow: number): string =>
  `the header claims ${n} bytes but only ${follow} follow; the file is truncated or corrupt`

/** A validated header: where each tensor's bytes lie in the data section. */
export interface Layout {
  readonly metadata: Record<string, string>
  readonly specs: ReadonlyArray<
    { readonly name: string; readonly dtype: "F32" | "F64"; readonly shape: Array<number>; begin: number; end: number }
  >
}

/**
 * Validates a header (its JSON bytes) against a data section of `dataLength` bytes: dtypes, shapes,
 * offsets without gaps or overlaps, and a data section exactly as long as the tensors need. Fails with the
 * reason (the callers make it a `CheckpointError` for their file).
 */
export const decodeHeader = (
  headerBytes: Uint8Array,
  dataLength: number
): Result.Result<Layout, string> => {
  const fail = (reason: string) => Result.fail(reason)
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
