/**
 * Flattens all but the batch axis.
 *
 * @since 0.1.0
 */
import { Shape as Rules } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { type InputShape, type Layer, type Rule, RuleTypeId, variance, type Where } from "./layer.ts"

type AnyTensor = Tensor.AnyTensor

/**
 * The rule of a flatten layer: `Shape.Flatten`; no parameters.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Flatten, readonly [number, 7, 7, 48]> // readonly [number, 2352]
 * ```
 */
export interface FlattenRule extends Rule {
  readonly Label: "flatten"
  readonly Out: Rules.Flatten<InputShape<this>, Where<this>>
  readonly Params: never
}

/**
 * Flattens all but the batch axis.
 *
 * @example
 * ```ts
 * const flat: Layer.Flatten = Layer.flatten()
 * ```
 */
export interface Flatten extends Layer<FlattenRule, "Flatten"> {}

/**
 * Flattens everything but the batch axis: `[B, ...rest] -> [B, prod(rest)]`.
 *
 * @example
 * ```ts
 * Layer.flatten()
 * ```
 */
export const flatten = (): Flatten => ({
  [RuleTypeId]: variance,
  _tag: "Flatten",
  label: "flatten",
  build: (input, name) => {
    const outShape = Rules.flatten(input, name)
    const apply = (_: unknown, x: AnyTensor): AnyTensor => Tensor.flatten(x)
    return { name, outShape, parameters: 0, init: undefined, apply, applyLogits: apply }
  }
})
