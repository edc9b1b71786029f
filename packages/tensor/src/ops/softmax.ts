/**
 * `softmax` and `logSoftmax` along one axis: composites of reductions and elementwise ops, so they need
 * no rule of their own (their gradients come from those of `max`, `sub`, `exp`, `sum` and `log`).
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules } from "@typegrad/shape"
import { dual } from "effect/Function"
import { isTensorFirst, toImpl } from "../internal/op.ts"
import type { AnyTensor, DType, Shape, Tensor } from "../Tensor.ts"
import { div, exp, log, sub } from "./elementwise.ts"
import { max, sum } from "./reduce.ts"

/**
 * A shape-preserving op along one axis (last by default). One generic signature, so that it can be passed
 * as is to `pipe` and keep the static shape: `x.pipe(Tensor.softmax)`, `x.pipe(Tensor.softmax(0))` and
 * `Tensor.softmax(x, 0)` all type-check to the shape of `x`.
 */
export type AxisOp<Op extends string> = <
  const A extends AnyTensor | number | undefined = undefined,
  const N extends number = -1
>(
  selfOrAxis?: A,
  axis?: N & Rules.Check<Rules.NormalizeAxis<RankOf<A>, N, Op>>
) => A extends Tensor<infer S, infer D> ? Tensor<S, D>
  : <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.NormalizeAxis<S["length"], A extends number ? A : -1, Op>>
  ) => Tensor<S, D>

type RankOf<A> = A extends Tensor<infer S, DType> ? S["length"] : number

/**
 * `log(softmax(x))` along `axis` (last by default), computed stably as `x - max - log(sum(exp(x - max)))`.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * Tensor.logSoftmax(logits) // same shape as logits
 * ```
 */
export const logSoftmax: AxisOp<"logSoftmax"> = dual(isTensorFirst, (self: AnyTensor, axis: number = -1): AnyTensor => {
  const t = toImpl(self)
  const a = Rules.normalizeAxis(t.rank, axis, "logSoftmax")
  const m = max(self, { axis: a, keepDims: true })
  const shifted = sub(self, m as AnyTensor) as AnyTensor
  const lse = log(sum(exp(shifted), { axis: a, keepDims: true }) as AnyTensor)
  return sub(shifted, lse as AnyTensor) as AnyTensor
})

/**
 * Softmax along `axis` (last by default), computed stably (the maximum is subtracted first).
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * Tensor.softmax(logits) // rows sum to 1
 * ```
 */
export const softmax: AxisOp<"softmax"> = dual(isTensorFirst, (self: AnyTensor, axis: number = -1): AnyTensor => {
  const t = toImpl(self)
  const a = Rules.normalizeAxis(t.rank, axis, "softmax")
  const m = max(self, { axis: a, keepDims: true })
  const e = exp(sub(self, m as AnyTensor) as AnyTensor)
  return div(e, sum(e, { axis: a, keepDims: true }) as AnyTensor) as AnyTensor
})
