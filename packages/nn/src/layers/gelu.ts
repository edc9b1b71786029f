/**
 * GELU as a layer: `x * Phi(x)`, with `Phi` the standard normal CDF, exact (with `erf`) or in the tanh
 * approximation.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { label } from "../internal/layer.ts"
import { type InputShape, type Layer, type Rule, RuleTypeId, variance } from "./layer.ts"

type AnyTensor = Tensor.AnyTensor

/**
 * Configuration of a GELU layer: `approximate: true` uses the tanh form (default false: exact, with `erf`).
 *
 * @example
 * ```ts
 * const config: Layer.GeluConfig = { approximate: true }
 * ```
 */
export interface GeluConfig {
  readonly approximate?: boolean
}

/**
 * The rule of a GELU layer: the shape is kept; the label is `gelu`, or `gelu(tanh)` for the approximation.
 *
 * @example
 * ```ts
 * type L = Layer.Label<Layer.Gelu<{ approximate: true }>, 2> // "layer 2 gelu(tanh)"
 * ```
 */
export interface GeluRule<C extends GeluConfig> extends Rule {
  readonly Label: C extends { readonly approximate: true } ? "gelu(tanh)" : "gelu"
  readonly Out: InputShape<this>
  readonly Params: never
}

/**
 * A GELU layer.
 *
 * @example
 * ```ts
 * const g: Layer.Gelu<{}> = Layer.gelu()
 * ```
 */
export interface Gelu<C extends GeluConfig = GeluConfig> extends Layer<GeluRule<C>, "Gelu"> {
  readonly config: C
}

const sqrtHalf = Math.SQRT1_2
const sqrtTwoOverPi = Math.sqrt(2 / Math.PI)

/**
 * The Gaussian error linear unit (Hendrycks and Gimpel, 2016): `x * Phi(x)`. By default exact,
 * `x * (1 + erf(x / sqrt 2)) / 2` (PyTorch's `nn.GELU()`, Keras' and JAX's `approximate=False`); with
 * `{ approximate: true }` the tanh form `x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2`
 * (PyTorch's `approximate="tanh"`, `jax.nn.gelu`'s default), which differs by less than 1e-3.
 *
 * @example
 * ```ts
 * const model = Model.input([16]).add(Layer.dense({ units: 32 })).add(Layer.gelu()).add(Layer.dense({ units: 4 }))
 * ```
 */
export const gelu = <const C extends GeluConfig = {}>(config?: C): Gelu<C> => {
  const c = (config ?? {}) as C
  const approximate = c.approximate === true
  return {
    [RuleTypeId]: variance,
    _tag: "Gelu",
    label: label(approximate ? "gelu(tanh)" : "gelu"),
    config: c,
    build: (input, name) => {
      const apply = (_: unknown, x: AnyTensor): AnyTensor => {
        const phi = approximate
          ? Tensor.tanh(Tensor.mul(Tensor.add(x, Tensor.mul(Tensor.mul(Tensor.square(x), x), 0.044715)), sqrtTwoOverPi))
          : Tensor.erf(Tensor.mul(x, sqrtHalf))
        return Tensor.mul(Tensor.mul(x, Tensor.add(phi, 1)), 0.5)
      }
      return { name, outShape: input, parameters: 0, init: undefined, apply, applyLogits: apply }
    }
  }
}
