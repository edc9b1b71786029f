/**
 * Reductions (`sum`, `max`) along any set of axes in one pass over the input.
 *
 * The input is walked in memory order; every element is combined into the output slot that the
 * output's strides (0 along reduced axes) point at. Adjacent axes are merged first, so reducing the last
 * axis becomes "one scalar accumulator per row" and reducing the first axis becomes "add each row into
 * the output row". Sums accumulate in float64 whatever the dtype.
 *
 * @internal
 */
import { alloc, type Data, type DType, stridesOf } from "./core.ts"
import { collapse } from "./elementwise.ts"
import { getKernels } from "./kernels/index.ts"

export type ReduceKind = "sum" | "max"

/**
 * Reduces `data` (contiguous with `shape`) over the axes flagged in `reduced`. The result is contiguous
 * with the kept axes in order (the keepDims layout and the squeezed layout are the same buffer).
 */
export const reduce = (
  kind: ReduceKind,
  dtype: DType,
  data: Data,
  shape: ReadonlyArray<number>,
  reduced: ReadonlyArray<boolean>
): Data => {
  const keptShape = shape.map((d, i) => (reduced[i] ? 1 : d))
  const outStridesFull = stridesOf(keptShape).map((s, i) => (reduced[i] ? 0 : s))
  let outSize = 1
  for (const d of keptShape) outSize *= d
  const isMax = kind === "max"
  const acc = new Float64Array(outSize).fill(isMax ? -Infinity : 0)
  if (data.length === 0) {
    const out = alloc(dtype, outSize)
    out.set(acc)
    return out
  }
  const c = collapse(shape, [stridesOf(shape), outStridesFull])
  const cshape = c.shape
  const os = c.strides[1]!
  const rank = cshape.length
  const n = cshape[rank - 1]!
  const lastOut = os[rank - 1]!
  if (!isMax && rank === 2 && os[0] === 0 && lastOut === 1) {
    // Sum over the leading axis (bias gradients): add each row into the accumulator row.
    getKernels().sumRows(data, cshape[0]!, n, acc)
  } else if (!isMax && rank === 2 && os[0] === 1 && lastOut === 0) {
    // Sum over the last axis: one accumulator per row.
    for (let r = 0, i = 0; r < cshape[0]!; r++, i += n) acc[r] = sumRow(data, i, n)
  } else reduceGeneral(isMax, acc, data, cshape, os, n, lastOut)
  if (dtype === "float64") return acc
  const out = alloc(dtype, outSize)
  out.set(acc)
  return out
}

const sumRow = (data: Data, i: number, n: number): number => {
  let s = 0
  for (let j = 0; j < n; j++) s += data[i + j]!
  return s
}

const reduceGeneral = (
  isMax: boolean,
  acc: Float64Array,
  data: Data,
  cshape: ReadonlyArray<number>,
  os: ReadonlyArray<number>,
  n: number,
  lastOut: number
): void => {
  const rank = cshape.length
  const index = new Array<number>(rank).fill(0)
  let o = 0
  for (let i = 0; i < data.length; i += n) {
    if (lastOut === 0) {
      // The innermost axis is reduced: one accumulator for the whole row.
      let s = acc[o]!
      if (isMax) {
        for (let j = 0; j < n; j++) {
          const v = data[i + j]!
          if (v > s || v !== v) s = v
          if (s !== s) break
        }
      } else {
        for (let j = 0; j < n; j++) s += data[i + j]!
      }
      acc[o] = s
    } else if (isMax) {
      for (let j = 0; j < n; j++) {
        const v = data[i + j]!
        const s = acc[o + j]!
        if (v > s || (v !== v && s === s)) acc[o + j] = v
      }
    } else {
      for (let j = 0; j < n; j++) acc[o + j] = acc[o + j]! + data[i + j]!
    }
    for (let axis = rank - 2; axis >= 0; axis--) {
      const k = ++index[axis]!
      o += os[axis]!
      if (k < cshape[axis]!) break
      index[axis] = 0
      o -= os[axis]! * cshape[axis]!
    }
  }
}

/**
 * A 0/1 mask over `data` with a 1 at the first maximum (in memory order) of every group reduced by
 * `reduced`: the routing that the gradient of `max` follows. A NaN group marks its first NaN.
 */
export const firstMaxMask = (
  dtype: DType,
  data: Data,
  shape: ReadonlyArray<number>,
  reduced: ReadonlyArray<boolean>
): Data => {
  const maxima = reduce("max", "float64", data, shape, reduced)
  const taken = new Uint8Array(maxima.length)
  const mask = alloc(dtype, data.length)
  if (data.length === 0) return mask
  const keptShape = shape.map((d, i) => (reduced[i] ? 1 : d))
  const os = stridesOf(keptShape).map((s, i) => (reduced[i] ? 0 : s))
  const rank = shape.length
  const index = new Array<number>(rank).fill(0)
  let o = 0
  for (let i = 0; i < data.length; i++) {
    if (taken[o] === 0) {
      const v = data[i]!
      const m = maxima[o]!
      if (v === m || (m !== m && v !== v)) {
        mask[i] = 1
        taken[o] = 1
      }
    }
    for (let axis = rank - 1; axis >= 0; axis--) {
      const k = ++index[axis]!
      o += os[axis]!
      if (k < shape[axis]!) break
      index[axis] = 0
      o -= os[axis]! * shape[axis]!
    }
  }
  return mask
}
