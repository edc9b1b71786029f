/**
 * An elementwise activation as a layer (softmax along the last axis); also the activation that `conv2d`
 * and `dense` apply after their linear part.
 *
 * @since 0.1.0
 */
import { applyActivation } from "../internal/layer.ts"
import { type InputShape, type Layer, type Rule, RuleTypeId, variance } from "./layer.ts"

/**
 * An activation applied after a layer.
 *
 * @example
 * ```ts
 * const a: Layer.Activation = "relu"
 * ```
 */
export type Activation = "linear" | "relu" | "tanh" | "sigmoid" | "softmax"

/**
 * The rule of an activation layer: the shape is kept; the label is the activation's name.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.ActivationLayer<"relu">, readonly [number, 4]> // readonly [number, 4]
 * ```
 */
export interface ActivationRule<A extends Activation> extends Rule {
  readonly Label: A
  readonly Out: InputShape<this>
  readonly Params: never
}

/**
 * An elementwise activation (softmax along the last axis).
 *
 * @example
 * ```ts
 * const tanh: Layer.ActivationLayer<"tanh"> = Layer.activation("tanh")
 * ```
 */
export interface ActivationLayer<A extends Activation = Activation> extends Layer<ActivationRule<A>, "Activation"> {
  readonly activation: A
}

/**
 * An activation as a layer of its own.
 *
 * @example
 * ```ts
 * Layer.activation("tanh")
 * ```
 */
export const activation = <const A extends Activation>(a: A): ActivationLayer<A> => ({
  [RuleTypeId]: variance,
  _tag: "Activation",
  label: a,
  activation: a,
  build: (input, name) => ({
    name,
    outShape: input,
    parameters: 0,
    init: undefined,
    apply: (_, x) => applyActivation(a, x),
    applyLogits: (_, x) => (a === "softmax" ? x : applyActivation(a, x)),
    // A softmax ends the layer; other activations keep an earlier softmax (relu of probabilities...).
    ...(a === "softmax" ? { trace: () => ({ softmax: name }) } : {})
  })
})

/**
 * `max(x, 0)` as a layer.
 *
 * @example
 * ```ts
 * Layer.relu()
 * ```
 */
export const relu = (): ActivationLayer<"relu"> => activation("relu")

/**
 * Softmax over the last axis as a layer. Losses that take logits skip it (see `Model.logits`).
 *
 * @example
 * ```ts
 * Layer.softmax()
 * ```
 */
export const softmax = (): ActivationLayer<"softmax"> => activation("softmax")
