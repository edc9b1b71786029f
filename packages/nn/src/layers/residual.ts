/**
 * `x + block(x)`: a residual block, whose layers must keep the shape.
 *
 * @since 0.1.0
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import type { BlockParams } from "../internal/layer.ts"
import {
  buildChain,
  carry,
  chainApply,
  chainInit,
  chainParameters,
  chainTrace,
  type FoldOut,
  type FoldParams,
  hasParams,
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
type AnyTensor = Tensor.AnyTensor

type SameShape<A extends Shape, B extends Shape> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

type ResidualOut<O, S extends Shape, Name extends string> = O extends Shape ? SameShape<O, S> extends true ? S
  : ShapeError<`${Name}: the block maps ${Rules.Show<S>} to ${Rules.Show<O>}; a residual block must keep the shape`>
  : O

/**
 * The rule of a residual block: the block's output must equal its input shape.
 *
 * @example
 * ```ts
 * const block = Layer.residual(Layer.conv2d({ filters: 64, kernelSize: 3, padding: "same" }), Layer.relu())
 * type O = Layer.Output<typeof block, readonly [number, 56, 56, 64]> // readonly [number, 56, 56, 64]
 * const check: Types.Equal<O, readonly [number, 56, 56, 64]> = true
 * ```
 */
export interface ResidualRule<Ls extends ReadonlyArray<Any>> extends Rule {
  readonly Label: "residual"
  readonly Out: ResidualOut<FoldOut<Ls, InputShape<this>, InputIndex<this>>, InputShape<this>, Where<this>>
  readonly Params: BlockParams<FoldParams<Ls, InputShape<this>, InputDType<this>>>
}

/**
 * `x + block(x)`: the block must keep the shape.
 *
 * @example
 * ```ts
 * const r: Layer.Residual = Layer.residual(Layer.conv2d({ filters: 64, kernelSize: 3, padding: "same" }))
 * ```
 */
export interface Residual<Ls extends ReadonlyArray<Any> = ReadonlyArray<Any>>
  extends Layer<ResidualRule<Ls>, "Residual">
{
  readonly layers: Ls
}

/**
 * `x + block(x)`; the block's layers must keep the shape (checked at compile time).
 *
 * @example
 * ```ts
 * Layer.residual(Layer.conv2d({ filters: 64, kernelSize: 3, padding: "same", activation: "relu" }))
 * ```
 */
export const residual = <const Ls extends ReadonlyArray<Any>>(...layers: Ls): Residual<Ls> => ({
  [RuleTypeId]: variance,
  _tag: "Residual",
  label: "residual",
  layers,
  build: (input, name, stream) => {
    const chain = buildChain(layers, input, name, stream)
    if (chain.outShape.length !== input.length || chain.outShape.some((d, i) => d !== input[i])) {
      throw new ShapeError(
        name,
        `${name}: the block maps [${input.join(", ")}] to [${
          chain.outShape.join(", ")
        }]; a residual block must keep the shape`
      )
    }
    const inner = chainApply(chain, false, name)
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor =>
      Tensor.add(x, inner(p, x, ctx))
    return {
      name,
      outShape: input,
      parameters: chainParameters(chain),
      init: hasParams(chain) ? chainInit(chain) : undefined,
      apply,
      applyLogits: apply,
      // `x + block(x)`: a softmax of the input or of the block reaches the output, never as its last step.
      trace: (t) => carry(t ?? chainTrace(chain.built, t, name), name),
      ...stateOf([chain])
    }
  }
})
