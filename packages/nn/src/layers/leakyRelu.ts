/**
 * Leaky ReLU as a layer: `x` where `x > 0`, `alpha * x` elsewhere.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { type InputShape, type Layer, type Rule, RuleTypeId, variance } from "./layer.ts"

type AnyTensor = Tensor.AnyTensor

/**
 * The rule of a leaky ReLU layer: the shape is kept; the label shows the slope.
 *
 * @example
 * ```ts
 * type L = Layer.Label<Layer.LeakyRelu<0.2>, 3> // "layer 3 leakyRelu(0.2)"
 * ```
 */
export interface LeakyReluRule<A extends number> extends Rule {
  readonly Label: `leakyRelu(${A})`
  readonly Out: InputShape<this>
  readonly Params: never
}

/**
 * A leaky ReLU layer with slope `alpha` below zero.
 *
 * @example
 * ```ts
 * const leaky: Layer.LeakyRelu<0.2> = Layer.leakyRelu(0.2)
 * ```
 */
export interface LeakyRelu<A extends number = number> extends Layer<LeakyReluRule<A>, "LeakyRelu"> {
  readonly alpha: A
}

/**
 * The elementwise `x > 0 ? x : alpha * x` (Maas et al., 2013), `alpha` 0.01 by default (as PyTorch and
 * JAX; Keras' default is 0.3). The gradient at 0 is `alpha`, as in PyTorch. `alpha` must be a finite number.
 *
 * @example
 * ```ts
 * const model = Model.input([16]).add(Layer.dense({ units: 8 })).add(Layer.leakyRelu(0.1))
 * ```
 */
export const leakyRelu = <const A extends number = 0.01>(alpha?: A): LeakyRelu<A> => {
  const a = (alpha ?? 0.01) as A
  if (typeof a !== "number" || !Number.isFinite(a)) {
    throw new RangeError(`leakyRelu: alpha must be a finite number, got ${String(alpha)}`)
  }
  return {
    [RuleTypeId]: variance,
    _tag: "LeakyRelu",
    label: `leakyRelu(${a})` as const,
    alpha: a,
    build: (input, name) => {
      const apply = (_: unknown, x: AnyTensor): AnyTensor => Tensor.where(Tensor.greater(x, 0), x, Tensor.mul(x, a))
      return { name, outShape: input, parameters: 0, init: undefined, apply, applyLogits: apply }
    }
  }
}
