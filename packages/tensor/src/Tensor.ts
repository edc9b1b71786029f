/**
 * Immutable tensors whose shape is part of their type.
 *
 * `Tensor<readonly [2, 28, 28, 1]>` is a batch of two 28x28 single-channel images; every op computes
 * its result shape at compile time with the rules of `@typegrad/shape`, and checks it again at run time
 * for the dims that are only known then (`number`). Every op is a pure function, callable data-first
 * (`Tensor.add(a, b)`) or data-last (`pipe(a, Tensor.add(b))`), and tensors are `Pipeable`.
 *
 * This module is the public facade: the types, and the ops re-exported from `ops/<family>.ts`, where each
 * primitive is defined together with its VJP rule (see `docs/adding-an-op.md`).
 *
 * @since 0.1.0
 */
import type { Shape as Rules } from "@typegrad/shape"
import type { Pipeable } from "effect/Pipeable"
import {
  type AnyDType as AnyDTypeImpl,
  type BoolDType as BoolDTypeImpl,
  type DataOf,
  type DType as DTypeImpl,
  type IntDType as IntDTypeImpl,
  isTensor as isTensorImpl,
  TypeId
} from "./internal/core.ts"

// ---------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------

/**
 * The floating-point element types: `"float32"` (the default) or `"float64"`. Every op supports both, and
 * only float tensors are differentiated.
 *
 * @example
 * ```ts
 * const x = Tensor.zeros([2], { dtype: "float64" }) // Tensor<readonly [2], "float64">
 * ```
 */
export type DType = DTypeImpl

/**
 * The integer element type, `"int32"` (an `Int32Array`): for indices and labels (`gather`, `oneHot`,
 * `argmax` with `{ dtype: "int32" }`). Never differentiated; arithmetic ops take float tensors only.
 *
 * @example
 * ```ts
 * const labels = Tensor.fromArray([3, 1, 4], [3], { dtype: "int32" }) // Tensor<readonly [3], "int32">
 * ```
 */
export type IntDType = IntDTypeImpl

/**
 * The boolean element type, `"bool"` (a `Uint8Array` of 0 and 1): for masks (comparisons of int32 tensors,
 * the condition of `where`). Never differentiated.
 *
 * @example
 * ```ts
 * const mask = Tensor.fromArray([1, 0, 1], [3], { dtype: "bool" }) // Tensor<readonly [3], "bool">
 * ```
 */
export type BoolDType = BoolDTypeImpl

/**
 * Every element type: the float ones (`DType`), `"int32"` and `"bool"`.
 *
 * @example
 * ```ts
 * const dtype: Tensor.AnyDType = "int32"
 * ```
 */
export type AnyDType = AnyDTypeImpl

/** A shape: a readonly tuple of dims; a dim is a numeric literal or `number` when only known at run time. */
export type Shape = Rules.Shape

/**
 * An immutable tensor of shape `S` and dtype `D`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@typegrad/tensor"
 * const x: Tensor.Tensor<readonly [2, 3]> = Tensor.ones([2, 3])
 * x.shape // [2, 3], typed readonly [2, 3]
 * ```
 */
export interface Tensor<out S extends Shape, out D extends AnyDType = "float32"> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The shape, a real frozen array whose static type is `S`. */
  readonly shape: S
  /** The element type. */
  readonly dtype: D
  /** The number of elements. */
  readonly size: number
  /** The number of axes. */
  readonly rank: number
}

/** Any float tensor (what the differentiable ops take). */
export type AnyTensor = Tensor<Shape, DType>

/**
 * A tensor of any dtype, int32 and bool included.
 *
 * @example
 * ```ts
 * const ts: ReadonlyArray<Tensor.AnyDTypeTensor> = [Tensor.zeros([2]), Tensor.zeros([2], { dtype: "int32" })]
 * ```
 */
export type AnyDTypeTensor = Tensor<Shape, AnyDType>

/**
 * The typed array that backs a tensor of dtype `D`: `Float32Array`, `Float64Array`, `Int32Array` (int32) or
 * `Uint8Array` (bool).
 */
export type ArrayOf<D extends AnyDType> = DataOf<D>

/** Options of the creation functions: the dtype (float32 by default; int32 and bool too). */
export interface CreateOptions<D extends AnyDType> {
  readonly dtype?: D
}

/** Options of `sum`, `mean`, `max`, `min` and `logsumexp`. */
export interface ReduceOptions {
  readonly axis?: number | ReadonlyArray<number>
  readonly keepDims?: boolean
}

/**
 * Options of `argmax` and `argmin`: one axis (the flattened tensor by default), and the dtype of the indices
 * (the input's by default; `"int32"` gives integer indices).
 *
 * @example
 * ```ts
 * const options: Tensor.ArgReduceOptions = { axis: -1, keepDims: true, dtype: "int32" }
 * ```
 */
export interface ArgReduceOptions {
  readonly axis?: number
  readonly keepDims?: boolean
  readonly dtype?: DType | IntDType
}

/** Options of `conv2d`. */
export type Conv2dOptions = Rules.Conv2dOptions

/** Options of `conv2dTranspose`: strides, dilation and `"valid"` or `"same"` padding. */
export type Conv2dTransposeOptions = Rules.Conv2dTransposeOptions

/** Options of `maxPool2d` and `avgPool2d`. */
export type Pool2dOptions = Rules.Pool2dOptions

/**
 * Whether a value is a tensor.
 *
 * @example
 * ```ts
 * Tensor.isTensor(Tensor.zeros([1])) // true
 * ```
 */
export const isTensor = (u: unknown): u is AnyTensor => isTensorImpl(u)

// ---------------------------------------------------------------------------------------------------
// Ops, by family
// ---------------------------------------------------------------------------------------------------
// Creation and reading
export { fromArray, full, item, ones, scalar, toArray, zeros } from "./ops/creation.ts"
// Elementwise
export {
  abs,
  add,
  type BinaryOp,
  cast,
  clip,
  type ClipOp,
  type CompareOp,
  cos,
  div,
  equal,
  erf,
  exp,
  expm1,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  maximum,
  minimum,
  mul,
  neg,
  pow,
  relu,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  where,
  type WhereOp
} from "./ops/elementwise.ts"
// Reductions
export { argmax, argmin, type ArgReduceOp, logsumexp, max, mean, min, type ReduceOp, sum } from "./ops/reduce.ts"
// Layout
export {
  broadcastTo,
  concat,
  expandDims,
  flatten,
  gather,
  type GatherOptions,
  oneHot,
  type OneHotOptions,
  pad,
  reshape,
  slice,
  squeeze,
  type SqueezeOp,
  stack,
  transpose,
  type TransposeOp
} from "./ops/layout.ts"
// Softmax
export { type AxisOp, logSoftmax, softmax } from "./ops/softmax.ts"
// Linear algebra
export { matmul } from "./ops/linalg.ts"
// Convolution and pooling
export { conv2d, conv2dBias, type Conv2dBiasOptions, conv2dTranspose } from "./ops/conv.ts"
export { avgPool2d, maxPool2d, type PoolOp } from "./ops/pool.ts"
