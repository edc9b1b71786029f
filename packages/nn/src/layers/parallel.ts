/**
 * Branches applied to the same input, concatenated along an axis.
 *
 * @since 0.1.0
 */
import { Shape as Rules, type ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import { defaultAxis, entries } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import {
  buildChain,
  carry,
  chainApply,
  chainInit,
  chainParameters,
  chainTrace,
  type FoldOut,
  type FoldParams,
  stateOf
} from "./chain.ts"
import {
  type Any,
  type ApplyContext,
  type InputDType,
  type InputIndex,
  type InputShape,
  type Layer,
  type Rule,
  RuleTypeId,
  variance,
  type Where
} from "./layer.ts"

type Shape = Rules.Shape
type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

type ParallelOuts<Bs, S extends Shape, N extends number> = {
  readonly [K in keyof Bs]: FoldOut<Bs[K], S, N>
}
type AllShapes<Ts> = Ts extends readonly [infer H, ...infer R] ? H extends Shape ? AllShapes<R> : H : Ts
type ParallelOut<Os, A extends number, Name extends string> = AllShapes<Os> extends infer Bad extends ShapeError ? Bad
  : Os extends ReadonlyArray<Shape> ? Rules.Concat<Os, A, Name>
  : never
type ParallelParams<Bs, S extends Shape, D extends DType> = { readonly [K in keyof Bs]: FoldParams<Bs[K], S, D> }

/**
 * The rule of a parallel block: each branch folded on the input, the outputs concatenated along `A`.
 *
 * @example
 * ```ts
 * const inception = Layer.parallel([
 *   [Layer.conv2d({ filters: 8, kernelSize: 1 })],
 *   [Layer.conv2d({ filters: 4, kernelSize: 3, padding: "same" })]
 * ])
 * type O = Layer.Output<typeof inception, readonly [number, 26, 26, 8]> // channels summed over the branches
 * const check: Types.Equal<O, readonly [number, 26, 26, 12]> = true
 * ```
 */
export interface ParallelRule<Bs extends ReadonlyArray<ReadonlyArray<Any>>, A extends number> extends Rule {
  readonly Label: "parallel"
  readonly Out: ParallelOut<ParallelOuts<Bs, InputShape<this>, InputIndex<this>>, A, Where<this>>
  readonly Params: ParallelParams<Bs, InputShape<this>, InputDType<this>>
}

/**
 * Branches applied to the same input, concatenated along an axis (channels by default).
 *
 * @example
 * ```ts
 * const p: Layer.Parallel = Layer.parallel([[Layer.relu()], [Layer.activation("tanh")]])
 * ```
 */
export interface Parallel<
  Bs extends ReadonlyArray<ReadonlyArray<Any>> = ReadonlyArray<ReadonlyArray<Any>>,
  A extends number = number
> extends Layer<ParallelRule<Bs, A>, "Parallel"> {
  readonly branches: Bs
  readonly axis: A
}

/**
 * Branches applied to the same input and concatenated along `axis` (the channel axis, -1, by default).
 *
 * @example
 * ```ts
 * Layer.parallel([[Layer.conv2d({ filters: 8, kernelSize: 1 })], [Layer.conv2d({ filters: 8, kernelSize: 3, padding: "same" })]])
 * ```
 */
export const parallel = <const Bs extends ReadonlyArray<ReadonlyArray<Any>>, const A extends number = -1>(
  branches: Bs,
  axis?: A
): Parallel<Bs, A> => {
  const ax = defaultAxis(axis)
  return {
    [RuleTypeId]: variance,
    _tag: "Parallel",
    label: "parallel",
    branches,
    axis: ax,
    build: (input, name, stream) => {
      const chains = branches.map((b, i) => buildChain(b, input, `${name}[${i}]`, Prng.derive(stream, i)))
      const outShape = Rules.concat(chains.map((c) => c.outShape), ax, name)
      const applies = chains.map((c, i) => chainApply(c, false, `${name}[${i}]`))
      const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
        const ps = entries(p)
        return Tensor.concat(applies.map((f, i) => f(ps[i], x, ctx)), ax)
      }
      return {
        name,
        outShape,
        parameters: chains.reduce((n, c) => n + chainParameters(c), 0),
        init: (seed, dtype) => chains.map((c) => chainInit(c)(seed, dtype)),
        apply,
        applyLogits: apply,
        // A softmax that reaches any branch's output is part of the concatenation.
        trace: (t) =>
          carry(
            chains.map((c, i) => chainTrace(c.built, t, `${name}[${i}]`)).find((b) => b !== undefined),
            name
          ),
        ...stateOf(chains)
      }
    }
  }
}
