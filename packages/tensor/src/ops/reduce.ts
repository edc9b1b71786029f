/**
 * Reductions: `sum`, `mean`, `max`, `min`, `logsumexp` along any set of axes, `argmax`/`argmin` along one
 * axis, and `sumTo` (the engine's sum back to a
 * broadcast input's shape). Each primitive is defined with its VJP rule.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { dual } from "effect/Function"
import { alloc, bind, type FloatImpl, isFloatDType, make, type Primitive, type TensorImpl } from "../internal/core.ts"
import {
  type AnyT,
  apply,
  definePrimitive,
  fromImpl,
  isTensorFirst,
  noGradient,
  type Res,
  type ShapeOfTensor,
  toImpl
} from "../internal/op.ts"
import { firstMaxMask, reduce as reduceKernel } from "../internal/reduce.ts"
import type { AnyDType, AnyTensor, ArgReduceOptions, DType, IntDType, ReduceOptions, Shape, Tensor } from "../Tensor.ts"
import { abs, add, div, exp, less, log, mul, neg, sub, where } from "./elementwise.ts"
import { broadcastTo, reshape } from "./layout.ts"

/** Which axes a reduction removes, and the shape of its result. */
export interface ReduceParams {
  readonly reduced: ReadonlyArray<boolean>
  readonly shape: ReadonlyArray<number>
}

const reduceParams = (op: string, t: TensorImpl, options: ReduceOptions | undefined): ReduceParams => {
  const axis = options?.axis
  const keepDims = options?.keepDims ?? false
  const shape = Rules.reduce(t.shape, axis, keepDims, op)
  const axes = axis === undefined
    ? t.shape.map((_, i) => i)
    : (typeof axis === "number" ? [axis] : axis).map((a) => Rules.normalizeAxis(t.rank, a, op))
  const reduced = t.shape.map((_, i) => axes.includes(i))
  return { reduced, shape }
}

type AxisOf<O> = O extends { readonly axis: infer A } ? A : undefined
type KeepOf<O> = O extends { readonly keepDims: infer K extends boolean } ? K : false

/**
 * A reduction along some axes (all by default), keeping them as size-1 axes on request. One generic
 * signature: data-first (`Tensor.sum(x, { axis: 1 })`), data-last (`pipe(x, Tensor.sum({ axis: 1 }))`) and
 * bare in a pipe (`x.pipe(Tensor.sum)`) all keep the static shape, and an axis out of range is a compile
 * error on the options.
 */
export type ReduceOp<Op extends string> = <
  const A extends AnyTensor | ReduceOptions | undefined = undefined,
  const O extends ReduceOptions = {}
>(
  selfOrOptions?: A,
  options?: O & Rules.Check<Rules.Reduce<ShapeOfTensor<A>, AxisOf<O>, KeepOf<O>, Op>>
) => A extends Tensor<infer S, infer D> ? Tensor<Res<Rules.Reduce<S, AxisOf<O>, KeepOf<O>, Op>>, D>
  : <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Reduce<S, AxisOf<A>, KeepOf<A>, Op>>
  ) => Tensor<Res<Rules.Reduce<S, AxisOf<A>, KeepOf<A>, Op>>, D>

// The cotangent of a reduction, spread back over the reduced axes.
const expandReduced = (ct: AnyT, input: AnyT, params: ReduceParams): AnyT => {
  const kept = input.shape.map((d, i) => (params.reduced[i] ? 1 : d))
  return broadcastTo(reshape(ct, kept), input.shape) as AnyT
}

const reduceImpl = (kind: "sum" | "max") => ([a]: ReadonlyArray<FloatImpl>, { reduced, shape }: ReduceParams) =>
  make(shape, a!.dtype, reduceKernel(kind, a!.dtype, a!.data, a!.shape, reduced))

/** `sum` over the flagged axes; its rule spreads the cotangent back. */
export const sumPrimitive: Primitive<ReduceParams> = definePrimitive(
  "sum",
  reduceImpl("sum"),
  (ct, [a], _, params) => [expandReduced(ct, a!, params)]
)

/** `max` over the flagged axes; the gradient goes to the first maximum of each reduced group. */
export const maxPrimitive: Primitive<ReduceParams> = definePrimitive(
  "max",
  reduceImpl("max"),
  (ct, [a], _, params) => [mul(expandReduced(ct, a!, params), apply(firstMaxMaskPrimitive, [a!], params))]
)

/** 1 at the first maximum of each reduced group, 0 elsewhere (piecewise constant: no gradient). */
export const firstMaxMaskPrimitive: Primitive<ReduceParams> = definePrimitive<ReduceParams>(
  "firstMaxMask",
  ([a], { reduced }) => make(a!.shape, a!.dtype, firstMaxMask(a!.dtype, a!.data, a!.shape, reduced)),
  noGradient
)

/**
 * Sum along `axis` (all axes by default).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.sum(x)                              // Tensor<readonly []>
 * Tensor.sum(x, { axis: 1, keepDims: true }) // [2, 3] -> [2, 1]
 * ```
 */
export const sum: ReduceOp<"sum"> = dual(
  isTensorFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = toImpl(self)
    return fromImpl(bind(sumPrimitive, [t], reduceParams("sum", t, options)))
  }
)

/**
 * Mean along `axis` (all axes by default).
 *
 * @example
 * ```ts
 * declare const losses: Tensor.Tensor<readonly [8]>
 * Tensor.mean(losses) // Tensor<readonly []>
 * ```
 */
export const mean: ReduceOp<"mean"> = dual(
  isTensorFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = toImpl(self)
    const params = reduceParams("mean", t, options)
    const s = bind(sumPrimitive, [t], params)
    const count = t.size / Math.max(1, s.size)
    return t.size === 0 ? fromImpl(s) : div(fromImpl(s), count)
  }
)

/**
 * Maximum along `axis` (all axes by default). NaN propagates.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * Tensor.max(logits, { axis: -1, keepDims: true })
 * ```
 */
export const max: ReduceOp<"max"> = dual(
  isTensorFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = toImpl(self)
    if (t.size === 0) {
      throw new ShapeError("max", `max: cannot take the maximum of an empty tensor of shape [${t.shape.join(", ")}]`)
    }
    return fromImpl(bind(maxPrimitive, [t], reduceParams("max", t, options)))
  }
)

/**
 * Minimum along `axis` (all axes by default). NaN propagates. The gradient goes to the first minimum of
 * each reduced group (as `max`'s to the first maximum).
 *
 * @example
 * ```ts
 * declare const distances: Tensor.Tensor<readonly [8, 10]>
 * Tensor.min(distances, { axis: 1 }) // Tensor<readonly [8]>
 * ```
 */
export const min: ReduceOp<"min"> = dual(
  isTensorFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = toImpl(self)
    if (t.size === 0) {
      throw new ShapeError("min", `min: cannot take the minimum of an empty tensor of shape [${t.shape.join(", ")}]`)
    }
    reduceParams("min", t, options)
    // -max(-x): the first maximum of -x is the first minimum of x, so the gradient needs no rule of its own.
    return neg(max(neg(self as AnyT), options) as AnyT)
  }
)

/**
 * `log(sum(exp(x)))` along `axis` (all axes by default), computed stably: the maximum of each group is
 * taken out before `exp`, so large inputs do not overflow; a group of `-Infinity` gives `-Infinity`. A
 * composite of `max`, `exp`, `sum` and `log`: its gradient is `softmax(x)` along the axis.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * Tensor.logsumexp(logits, { axis: -1 })                 // Tensor<readonly [8]>
 * Tensor.logsumexp(logits, { axis: -1, keepDims: true }) // Tensor<readonly [8, 1]>
 * ```
 */
export const logsumexp: ReduceOp<"logsumexp"> = dual(
  isTensorFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = toImpl(self)
    if (t.size === 0) {
      throw new ShapeError(
        "logsumexp",
        `logsumexp: cannot reduce an empty tensor of shape [${t.shape.join(", ")}]`
      )
    }
    const { shape } = reduceParams("logsumexp", t, options)
    const x = self as AnyT
    const m = max(x, { ...options, keepDims: true }) as AnyT
    // An infinite maximum (a group of -Infinity, or +Infinity) is replaced by 0 so that `x - m` is not NaN.
    const zero = fromImpl<readonly [], DType>(make([], t.dtype, alloc(t.dtype, 1)))
    const shift = where(less(abs(m), Infinity), m, zero) as AnyT
    const lse = add(log(sum(exp(sub(x, shift)), { ...options, keepDims: true }) as AnyT), shift) as AnyT
    return reshape(lse, shape) as AnyTensor
  }
)

/**
 * Which axis an arg-reduction runs along (`undefined`: the flattened tensor), its result shape, and the
 * dtype of the indices (the input's when absent).
 */
export interface ArgReduceParams {
  readonly axis: number | undefined
  readonly shape: ReadonlyArray<number>
  readonly dtype?: DType | IntDType | undefined
}

const argReduceImpl =
  (kind: "argmax" | "argmin") => ([a]: ReadonlyArray<FloatImpl>, { axis, dtype, shape }: ArgReduceParams) => {
    const dims = a!.shape
    const ax = axis ?? 0
    const outer = axis === undefined ? 1 : dims.slice(0, ax).reduce((p, d) => p * d, 1)
    const n = axis === undefined ? a!.size : dims[ax]!
    const inner = axis === undefined ? 1 : dims.slice(ax + 1).reduce((p, d) => p * d, 1)
    const data = a!.data
    const outDType = dtype ?? a!.dtype
    const out = alloc(outDType, outer * inner)
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i
        let best = data[base]!
        let at = 0
        // The first extreme wins; a NaN counts as the extreme (the first NaN), as in NumPy.
        for (let k = 1; k < n && best === best; k++) {
          const v = data[base + k * inner]!
          if (v !== v || (kind === "argmax" ? v > best : v < best)) {
            best = v
            at = k
          }
        }
        out[o * inner + i] = at
      }
    }
    return make(shape, outDType, out)
  }

/** `argmax`: the index of the first maximum; piecewise constant, so no gradient. */
export const argmaxPrimitive: Primitive<ArgReduceParams> = definePrimitive<ArgReduceParams>(
  "argmax",
  argReduceImpl("argmax"),
  noGradient
)

/** `argmin`: the index of the first minimum; piecewise constant, so no gradient. */
export const argminPrimitive: Primitive<ArgReduceParams> = definePrimitive<ArgReduceParams>(
  "argmin",
  argReduceImpl("argmin"),
  noGradient
)

// The dtype of the indices: the options' `dtype`, else the input's.
type ArgDTypeOf<O, D> = O extends { readonly dtype: infer T extends AnyDType } ? T : D

/**
 * An arg-reduction along one axis (the flattened tensor by default), keeping it as a size-1 axis on
 * request; data-first, data-last and bare in a pipe, like `ReduceOp`. The indices come back as a float tensor
 * of the input's dtype (exact up to 2^24 in float32), or in the dtype of the options' `dtype`
 * (`{ dtype: "int32" }` for integer indices).
 *
 * @example
 * ```ts
 * const argmaxLast: Tensor.ArgReduceOp<"argmax"> = Tensor.argmax
 * ```
 */
export type ArgReduceOp<Op extends string> = <
  const A extends AnyTensor | ArgReduceOptions | undefined = undefined,
  const O extends ArgReduceOptions = {}
>(
  selfOrOptions?: A,
  options?: O & Rules.Check<Rules.Reduce<ShapeOfTensor<A>, AxisOf<O>, KeepOf<O>, Op>>
) => A extends Tensor<infer S, infer D> ? Tensor<Res<Rules.Reduce<S, AxisOf<O>, KeepOf<O>, Op>>, ArgDTypeOf<O, D>>
  : <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Reduce<S, AxisOf<A>, KeepOf<A>, Op>>
  ) => Tensor<Res<Rules.Reduce<S, AxisOf<A>, KeepOf<A>, Op>>, ArgDTypeOf<A, D>>

const argReduce = (kind: "argmax" | "argmin") => (self: AnyTensor, options?: ArgReduceOptions): AnyTensor => {
  const t = toImpl(self)
  const axis = options?.axis
  if (axis !== undefined && typeof axis !== "number") {
    throw new ShapeError(kind, `${kind}: axis must be a single number, got ${JSON.stringify(axis)}`)
  }
  const shape = Rules.reduce(t.shape, axis, options?.keepDims ?? false, kind)
  const ax = axis === undefined ? undefined : Rules.normalizeAxis(t.rank, axis, kind)
  if ((ax === undefined ? t.size : t.shape[ax]!) === 0) {
    throw new ShapeError(kind, `${kind}: cannot reduce an empty axis of shape [${t.shape.join(", ")}]`)
  }
  const dtype = options?.dtype
  if (dtype !== undefined && dtype !== "int32" && !isFloatDType(dtype)) {
    throw new TypeError(`${kind}: the indices' dtype must be "int32", "float32" or "float64", got ${String(dtype)}`)
  }
  const params: ArgReduceParams = dtype === undefined ? { axis: ax, shape } : { axis: ax, shape, dtype }
  return fromImpl(bind(kind === "argmax" ? argmaxPrimitive : argminPrimitive, [t], params))
}

/**
 * The index of the first maximum along `axis` (of the flattened tensor by default), with the axis removed
 * (or kept as size 1 with `keepDims`). Not differentiable. The indices are returned as a float tensor of
 * the input's dtype, or as int32 with `{ dtype: "int32" }`; a NaN counts as the maximum.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * declare const labels: Tensor.Tensor<readonly [8]>
 * const predicted = Tensor.argmax(logits, { axis: 1 }) // Tensor<readonly [8]>
 * Tensor.mean(Tensor.equal(predicted, labels))        // accuracy
 * Tensor.argmax(logits, { axis: 1, dtype: "int32" })  // Tensor<readonly [8], "int32">
 * ```
 */
export const argmax: ArgReduceOp<"argmax"> = dual(isTensorFirst, argReduce("argmax"))

/**
 * The index of the first minimum along `axis` (of the flattened tensor by default), with the axis removed
 * (or kept as size 1 with `keepDims`). Not differentiable; float indices as for `argmax`.
 *
 * @example
 * ```ts
 * declare const distances: Tensor.Tensor<readonly [8, 10]>
 * pipe(distances, Tensor.argmin({ axis: -1 })) // Tensor<readonly [8]>
 * ```
 */
export const argmin: ArgReduceOp<"argmin"> = dual(isTensorFirst, argReduce("argmin"))

/**
 * Sums `t` down to `shape`, undoing NumPy broadcasting: leading axes are summed away and axes where
 * `shape` has 1 are summed with keepDims. Used by the autodiff engine on every cotangent.
 *
 * @example
 * ```ts
 * import { sumTo } from "@typegrad/tensor/internal"
 * sumTo(Tensor.ones([4, 2, 3]), [2, 1]) // [[12], [12]]
 * ```
 */
export const sumTo = (t: AnyTensor, shape: ReadonlyArray<number>): AnyTensor => {
  const s = t.shape
  if (s.length === shape.length && s.every((d, i) => d === shape[i])) return t
  const lead = s.length - shape.length
  const axes: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && s[i] !== 1)) axes.push(i)
  }
  const summed = axes.length === 0 ? t : sum(t as AnyT, { axis: axes, keepDims: true })
  return reshape(summed as AnyT, shape) as AnyTensor
}
