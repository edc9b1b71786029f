/**
 * Branches applied to the same input, concatenated along an axis.
 *
 * @since 0.1.0
 */
import { Shape as Rules, type ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { defaultAxis } from "../internal/layer.ts"
import { type BranchOuts, type BranchParams, buildBranches } from "./chain.ts"
import {
  type Any,
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

type AllShapes<Ts> = Ts extends readonly [infer H, ...infer R] ? H extends Shape ? AllShapes<R> : H : Ts
type ParallelOut<Os, A extends number, Name extends string> = AllShapes<Os> extends infer Bad extends ShapeError ? Bad
  : Os extends ReadonlyArray<Shape> ? Rules.Concat<Os, A, Name>
  : never

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
  readonly Out: ParallelOut<BranchOuts<Bs, InputShape<this>, InputIndex<this>>, A, Where<this>>
  readonly Params: BranchParams<Bs, InputShape<this>, InputDType<this>>
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
    build: (input, name, stream) =>
      buildBranches(
        branches,
        input,
        name,
        stream,
        (shapes) => Rules.concat(shapes, ax, name),
        (outputs) => Tensor.concat(outputs, ax)
      )
  }
}
