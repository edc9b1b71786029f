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
import type { Tensor } from "@typegrad/tensor"
import { unsafeData } from "@typegrad/tensor/internal"
import { Data, Result } from "effect"
import { build, decodeHeader, DTYPES, headerPastEnd, isDim, littleEndian, tooShort } from "./internal/safetensors.ts"

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

/**
 * The tensors and metadata of a safetensors file (what `decode` and `Safetensors.read` return).
 *
 * @example
 * ```ts
 * const contents: SafetensorsCore.Contents = { tensors: new Map([["w", Tensor.ones([2])]]), metadata: { epoch: "1" } }
 * ```
 */
export interface Contents {
  readonly tensors: ReadonlyMap<string, Tensor.AnyTensor>
  readonly metadata: Readonly<Record<string, string>>
}

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
  if (bytes.length < 8) return Result.fail(new CheckpointError({ path: file, reason: tooShort(bytes.length) }))
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true)
  if (n > BigInt(bytes.length - 8)) {
    return Result.fail(new CheckpointError({ path: file, reason: headerPastEnd(n, bytes.length - 8) }))
  }
  const headerEnd = 8 + Number(n)
  return Result.mapBoth(decodeHeader(bytes.subarray(8, headerEnd), bytes.length - headerEnd), {
    onFailure: (reason) => new CheckpointError({ path: file, reason }),
    onSuccess: (layout) => build(layout, bytes.subarray(headerEnd))
  })
}
