/**
 * Data movement: transpose, concatenation, slicing and padding. Each copies contiguous runs where it
 * can (`TypedArray.set` / `subarray`), and walks the rest with an odometer over merged axes.
 *
 * @internal
 */
import { alloc, type AnyData, type AnyDType, sizeOf, stridesOf } from "./core.ts"
import { collapse } from "./elementwise.ts"

/** `out[i0..] = data[perm-indexed]`: the transpose of `data` (shape `shape`) by `perm`. */
export const transpose = (
  dtype: AnyDType,
  data: AnyData,
  shape: ReadonlyArray<number>,
  perm: ReadonlyArray<number>
): AnyData => {
  const outShape = perm.map((p) => shape[p]!)
  const inStrides = stridesOf(shape)
  const out = alloc(dtype, data.length)
  if (data.length === 0) return out
  // Walk the output in order; the input is read with permuted strides.
  const c = collapse(outShape, [perm.map((p) => inStrides[p]!)])
  const cshape = c.shape
  const s = c.strides[0]!
  const rank = cshape.length
  const n = cshape[rank - 1]!
  const last = s[rank - 1]!
  const index = new Array<number>(rank).fill(0)
  let i = 0
  for (let o = 0; o < out.length; o += n) {
    if (last === 1) out.set(data.subarray(i, i + n), o)
    else for (let j = 0; j < n; j++) out[o + j] = data[i + j * last]!
    for (let axis = rank - 2; axis >= 0; axis--) {
      const k = ++index[axis]!
      i += s[axis]!
      if (k < cshape[axis]!) break
      index[axis] = 0
      i -= s[axis]! * cshape[axis]!
    }
  }
  return out
}

/** Concatenates buffers along `axis`; all shapes agree except at `axis`. */
export const concat = (
  dtype: AnyDType,
  parts: ReadonlyArray<{ readonly data: AnyData; readonly shape: ReadonlyArray<number> }>,
  axis: number,
  outShape: ReadonlyArray<number>
): AnyData => {
  const out = alloc(dtype, sizeOf(outShape))
  const outer = sizeOf(outShape.slice(0, axis))
  const outRow = sizeOf(outShape.slice(axis))
  let offset = 0
  for (const part of parts) {
    const row = sizeOf(part.shape.slice(axis))
    for (let r = 0; r < outer; r++) out.set(part.data.subarray(r * row, (r + 1) * row), r * outRow + offset)
    offset += row
  }
  return out
}

/**
 * Copies the box `[begin, begin + outShape)` of `data` (shape `shape`) when `mode` is "slice", or writes
 * `data` into a zero buffer of shape `outShape` at offset `begin` when `mode` is "pad".
 */
export const window = (
  mode: "slice" | "pad",
  dtype: AnyDType,
  data: AnyData,
  shape: ReadonlyArray<number>,
  begin: ReadonlyArray<number>,
  outShape: ReadonlyArray<number>
): AnyData => {
  const out = alloc(dtype, sizeOf(outShape))
  // The small box is the one we iterate over: the slice result, or the padded input.
  const box = mode === "slice" ? outShape : shape
  const big = mode === "slice" ? shape : outShape
  const total = sizeOf(box)
  if (total === 0) return out
  const bigStrides = stridesOf(big)
  let base = 0
  for (let i = 0; i < begin.length; i++) base += begin[i]! * bigStrides[i]!
  const c = collapse(box, [stridesOf(box), bigStrides])
  const cshape = c.shape
  const s = c.strides[1]!
  const rank = cshape.length
  const n = cshape[rank - 1]!
  const index = new Array<number>(rank).fill(0)
  const last = s[rank - 1]!
  let j = base
  for (let i = 0; i < total; i += n) {
    if (last !== 1) {
      if (mode === "slice") { for (let k = 0; k < n; k++) out[i + k] = data[j + k * last]! }
      else for (let k = 0; k < n; k++) out[j + k * last] = data[i + k]!
    } else if (mode === "slice") out.set(data.subarray(j, j + n), i)
    else out.set(data.subarray(i, i + n), j)
    for (let axis = rank - 2; axis >= 0; axis--) {
      const k = ++index[axis]!
      j += s[axis]!
      if (k < cshape[axis]!) break
      index[axis] = 0
      j -= s[axis]! * cshape[axis]!
    }
  }
  return out
}
