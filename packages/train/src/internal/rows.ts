/**
 * Row gathering for `Examples` batches, on raw buffers.
 *
 * @internal
 */
import type { Tensor } from "@typegrad/tensor"
import { subView, unsafeData, unsafeFromData } from "@typegrad/tensor/internal"

type Buffer = Float32Array | Float64Array

/**
 * Rows `order[start .. end)` (or `start .. end` without `order`) of `t`, as a tensor `[end - start, ...rest]`
 * of the same dtype: a view without `order`, a fresh copy with it.
 */
export const rows = <T extends Tensor.AnyTensor>(
  t: T,
  order: Uint32Array | undefined,
  start: number,
  end: number
): T => {
  const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1)
  // A tensor's buffer is a Float32Array or a Float64Array, by its dtype.
  const src = unsafeData(t) as Buffer
  const shape = [end - start, ...t.shape.slice(1)]
  let out: Buffer
  if (order === undefined) {
    out = subView(src, start * rowSize, end * rowSize)
  } else {
    out = src instanceof Float64Array
      ? new Float64Array((end - start) * rowSize)
      : new Float32Array((end - start) * rowSize)
    for (let i = start; i < end; i++) {
      const from = order[i]! * rowSize
      out.set(src.subarray(from, from + rowSize), (i - start) * rowSize)
    }
  }
  // Same dtype and trailing dims as `t`; only the example axis changes, and every caller types it `number`.
  return unsafeFromData(out, shape) as unknown as T
}

/**
 * `tree` typed as `W`: for types that differ from `T` only in the example axis (a literal count widened to
 * `number`), which every row of `tree` already has at run time.
 */
export const widenExampleAxis = <W, T = unknown>(tree: T): W => tree as unknown as W
