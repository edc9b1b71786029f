/**
 * Elementwise kernels: unary maps and binary maps with NumPy broadcasting.
 *
 * Each operation is compiled once per dtype from a small expression (`"a + b"`) into a dedicated loop,
 * so the hot loop has no per-element function call and stays monomorphic in the array type. Broadcast
 * operands are never materialised: the iteration runs over the output with a stride of 0 along the
 * broadcast axes, after merging adjacent axes that are contiguous in every operand (so `[B, N] + [N]`
 * becomes a tight loop over rows, and equal shapes become a single flat loop).
 *
 * @internal
 */
import type { AnyData, AnyDType, DType } from "./core.ts"

type RowFn = (
  out: AnyData,
  o: number,
  a: AnyData,
  ia: number,
  sa: number,
  b: AnyData,
  ib: number,
  sb: number,
  n: number,
  rows: number,
  ra: number,
  rb: number
) => void
type UnaryFn = (out: AnyData, a: AnyData, n: number) => void

const rowCache = new Map<string, RowFn>()
const unaryCache = new Map<string, UnaryFn>()

// Code generation (`new Function`) is how the loops are specialised per operation without a
// per-element closure call; the expressions are constants of this module, never user input.
/**
 * Branch-free rewrites of expressions whose natural form compiles to a data-dependent branch. V8 turns
 * `c ? 1 : 0` and `a > 0 ? a : 0` into jumps, and on real activations (signs close to random) the
 * mispredictions cost 5-10x the memory traffic of the loop. Every rewrite gives bit-identical results
 * (NaN, -0 and infinities included).
 */
const branchFree = (expr: string): string => {
  // `cond ? 1 : 0` (comparisons) -> `+(cond)`: a boolean converts to exactly 1 or 0.
  const predicate = /^([^?:]+) \? 1 : 0$/.exec(expr)
  return predicate === null ? expr : `+(${predicate[1]})`
}

/**
 * relu: keep the bits of `a` where `a > 0` (and, in the NaN-propagating form, where `a` is NaN), else +0.
 * An integer mask instead of a branch. The key is the expression, the value whether NaN is kept.
 */
const RELU: ReadonlyMap<string, boolean> = new Map([
  ["a > 0 ? a : 0", false],
  ["a > 0 || a !== a ? a : 0", true]
])

const compileRelu = (dtype: DType, keepNaN: boolean): UnaryFn => {
  const mask = keepNaN ? "-!(A[i] <= 0)" : "-(A[i] > 0)"
  return new Function(
    "out",
    "A",
    "n",
    `"use strict";
    const ai = new Int32Array(A.buffer, A.byteOffset, n * ${dtype === "float64" ? 2 : 1});
    const oi = new Int32Array(out.buffer, out.byteOffset, n * ${dtype === "float64" ? 2 : 1});
    ${
      dtype === "float64"
        ? `for (let i = 0, j = 0; i < n; i++, j += 2) { const m = ${mask}; oi[j] = ai[j] & m; oi[j + 1] = ai[j + 1] & m; }`
        : `for (let i = 0; i < n; i++) oi[i] = ai[i] & ${mask};`
    }`
  ) as UnaryFn
}

const compileRow = (source: string): RowFn => {
  const expr = branchFree(source)
  // One call covers `rows` rows of `n` outputs; operand row starts advance by ra / rb per row. The
  // inner-stride cases are split so each loop has unit or zero strides where the layout allows.
  const loop = (load: string) =>
    `for (let r = 0; r < rows; r++, o += n, ia += ra, ib += rb) {
      for (let i = 0; i < n; i++) { ${load} out[o + i] = ${expr}; }
    }`
  return new Function(
    "out",
    "o",
    "A",
    "ia",
    "sa",
    "B",
    "ib",
    "sb",
    "n",
    "rows",
    "ra",
    "rb",
    `"use strict";
    if (sa === 1 && sb === 1) {
      ${loop("const a = A[ia + i], b = B[ib + i];")}
    } else if (sa === 1 && sb === 0) {
      ${loop("const a = A[ia + i], b = B[ib];")}
    } else if (sa === 0 && sb === 1) {
      ${loop("const a = A[ia], b = B[ib + i];")}
    } else {
      ${loop("const a = A[ia + i * sa], b = B[ib + i * sb];")}
    }`
  ) as RowFn
}

const compileUnary = (source: string, dtype: DType): UnaryFn => {
  const relu = RELU.get(source)
  if (relu !== undefined) return compileRelu(dtype, relu)
  const expr = branchFree(source)
  return new Function(
    "out",
    "A",
    "n",
    `"use strict";
    for (let i = 0; i < n; i++) { const a = A[i]; out[i] = ${expr}; }`
  ) as UnaryFn
}

/**
 * The loop for `expr` over operands of `dtype` (compiled on first use). The output array may be of another
 * type (comparisons of int32 operands write a bool mask); the loop is specialised by the operands' dtype.
 */
export const rowKernel = (expr: string, dtype: AnyDType): RowFn => {
  const key = `${dtype}:${expr}`
  let fn = rowCache.get(key)
  if (fn === undefined) {
    fn = compileRow(expr)
    rowCache.set(key, fn)
  }
  return fn
}

/** The unary loop for `expr` over arrays of `dtype`. */
export const unaryKernel = (expr: string, dtype: DType): UnaryFn => {
  const key = `${dtype}:${expr}`
  let fn = unaryCache.get(key)
  if (fn === undefined) {
    fn = compileUnary(expr, dtype)
    unaryCache.set(key, fn)
  }
  return fn
}

/**
 * Strides of `shape` seen from an output of rank `rank` (right-aligned), with 0 along the axes where
 * the operand is broadcast.
 */
export const broadcastStrides = (shape: ReadonlyArray<number>, outShape: ReadonlyArray<number>): Array<number> => {
  const rank = outShape.length
  const strides = new Array<number>(rank).fill(0)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = rank - shape.length + i
    const d = shape[i]!
    strides[axis] = d === 1 && outShape[axis] !== 1 ? 0 : s
    s *= d
  }
  return strides
}

/**
 * Merges adjacent axes that are contiguous in the output and in every operand. Returns the collapsed
 * shape and the matching operand strides.
 */
export const collapse = (
  shape: ReadonlyArray<number>,
  strides: ReadonlyArray<ReadonlyArray<number>>
): { shape: Array<number>; strides: Array<Array<number>> } => {
  const outShape: Array<number> = []
  const outStrides: Array<Array<number>> = strides.map(() => [])
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!
    if (d === 1) continue
    const last = outShape.length - 1
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[i]! * d)) {
      outShape[last] = outShape[last]! * d
      for (let k = 0; k < strides.length; k++) outStrides[k]![last] = strides[k]![i]!
      continue
    }
    outShape.push(d)
    for (let k = 0; k < strides.length; k++) outStrides[k]!.push(strides[k]![i]!)
  }
  if (outShape.length === 0) {
    outShape.push(1)
    for (const s of outStrides) s.push(0)
  }
  return { shape: outShape, strides: outStrides }
}

/**
 * `out[i] = expr(a[...], b[...])` over `outShape` with NumPy broadcasting; `out` must be contiguous
 * with `outShape`.
 */
export const binaryBroadcast = (
  expr: string,
  dtype: AnyDType,
  out: AnyData,
  outShape: ReadonlyArray<number>,
  a: AnyData,
  aShape: ReadonlyArray<number>,
  b: AnyData,
  bShape: ReadonlyArray<number>
): void => {
  const row = rowKernel(expr, dtype)
  if (a.length === out.length && b.length === out.length) {
    row(out, 0, a, 0, 1, b, 0, 1, out.length, 1, 0, 0)
    return
  }
  const c = collapse(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)])
  const shape = c.shape
  const sa = c.strides[0]!
  const sb = c.strides[1]!
  const rank = shape.length
  const n = shape[rank - 1]!
  const lastA = sa[rank - 1]!
  const lastB = sb[rank - 1]!
  if (rank === 1) {
    row(out, 0, a, 0, lastA, b, 0, lastB, n, 1, 0, 0)
    return
  }
  // The two innermost axes are one kernel call (e.g. [B, N] + [N] is a single call); an odometer walks
  // the outer axes.
  const rows = shape[rank - 2]!
  const ra = sa[rank - 2]!
  const rb = sb[rank - 2]!
  const block = rows * n
  if (rank === 2) {
    row(out, 0, a, 0, lastA, b, 0, lastB, n, rows, ra, rb)
    return
  }
  const index = new Array<number>(rank - 2).fill(0)
  let ia = 0
  let ib = 0
  for (let o = 0; o < out.length; o += block) {
    row(out, o, a, ia, lastA, b, ib, lastB, n, rows, ra, rb)
    for (let axis = rank - 3; axis >= 0; axis--) {
      const i = ++index[axis]!
      ia += sa[axis]!
      ib += sb[axis]!
      if (i < shape[axis]!) break
      index[axis] = 0
      ia -= sa[axis]! * shape[axis]!
      ib -= sb[axis]! * shape[axis]!
    }
  }
}
