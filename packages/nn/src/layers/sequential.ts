/**
 * Layers applied in order, as one layer.
 *
 * @since 0.1.0
 */
import type { BlockParams } from "../internal/layer.ts"
import {
  buildChain,
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
  type InputDType,
  type InputIndex,
  type InputShape,
  type Layer,
  type Rule,
  RuleTypeId,
  variance
} from "./layer.ts"

/**
 * The rule of a sequential block: the layers' rules folded in order.
 *
 * @example
 * ```ts
 * const stem = Layer.sequential(Layer.conv2d({ filters: 8, kernelSize: 3 }), Layer.maxPool2d({ poolSize: 2 }))
 * type O = Layer.Output<typeof stem, readonly [number, 28, 28, 1]> // the layers' rules in order
 * const check: Types.Equal<O, readonly [number, 13, 13, 8]> = true
 * ```
 */
export interface SequentialRule<Ls extends ReadonlyArray<Any>> extends Rule {
  readonly Label: "sequential"
  readonly Out: FoldOut<Ls, InputShape<this>, InputIndex<this>>
  readonly Params: BlockParams<FoldParams<Ls, InputShape<this>, InputDType<this>>>
}

/**
 * Layers applied in order.
 *
 * @example
 * ```ts
 * const s: Layer.Sequential = Layer.sequential(Layer.flatten(), Layer.dense({ units: 10 }))
 * ```
 */
export interface Sequential<Ls extends ReadonlyArray<Any> = ReadonlyArray<Any>>
  extends Layer<SequentialRule<Ls>, "Sequential">
{
  readonly layers: Ls
}

/**
 * Layers applied in order, as one layer (its parameters are a tuple, one entry per layer with parameters).
 *
 * @example
 * ```ts
 * Layer.sequential(Layer.conv2d({ filters: 8, kernelSize: 3, padding: "same" }), Layer.relu())
 * ```
 */
export const sequential = <const Ls extends ReadonlyArray<Any>>(...layers: Ls): Sequential<Ls> => ({
  [RuleTypeId]: variance,
  _tag: "Sequential",
  label: "sequential",
  layers,
  build: (input, name, stream) => {
    const chain = buildChain(layers, input, name, stream)
    return {
      name,
      outShape: chain.outShape,
      parameters: chainParameters(chain),
      init: hasParams(chain) ? chainInit(chain) : undefined,
      apply: chainApply(chain, false, name),
      applyLogits: chainApply(chain, true, name),
      trace: (t) => chainTrace(chain.built, t, name),
      ...stateOf([chain])
    }
  }
})
