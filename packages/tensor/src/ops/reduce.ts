/**
 * Reductions: `sum`, `mean`, `max` along any set of axes, and `sumTo` (the engine's sum back to a
 * broadcast input's shape). Each primitive is defined with its VJP rule.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { dual } from "effect/Function"
import { bind, make, type Primitive, type TensorImpl } from "../internal/core.ts"
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
import type { AnyTensor, DType, ReduceOptions, Shape, Tensor } from "../Tensor.ts"
import { div, mul } from "./elementwise.ts"
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

const reduceImpl = (kind: "sum" | "max") => ([a]: ReadonlyArray<TensorImpl>, { reduced, shape }: ReduceParams) =>
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
