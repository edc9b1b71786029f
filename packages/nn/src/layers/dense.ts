/**
 * A fully connected layer `activation(x W + b)` on `[batch, features]` input.
 *
 * @since 0.1.0
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import * as Init from "../Initializer.ts"
import { applyActivation, field, type HasBias, kernelOf, label, positiveInt } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import type { Activation } from "./activation.ts"
import {
  type InputDType,
  type InputShape,
  type Layer,
  type NamedOr,
  type Rule,
  RuleTypeId,
  variance,
  type Where
} from "./layer.ts"

type Shape = Rules.Shape
type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

/**
 * Configuration of a fully connected layer.
 *
 * @example
 * ```ts
 * const config: Layer.DenseConfig = { units: 10, activation: "softmax" }
 * ```
 */
export interface DenseConfig {
  readonly units: number
  readonly useBias?: boolean
  readonly activation?: Activation
  readonly kernelInitializer?: Init.Initializer
  readonly name?: string
}

/**
 * Parameters of a dense layer: `kernel` `[I, U]` and, unless `useBias: false`, `bias` `[U]`.
 *
 * @example
 * ```ts
 * type P = Layer.DenseParams<128, 10, "float32"> // { kernel: Tensor<[128, 10]>, bias: Tensor<[10]> }
 * ```
 */
export type DenseParams<I extends number, U extends number, D extends DType, B extends boolean = true> = B extends true
  ? { readonly kernel: Tensor.Tensor<readonly [I, U], D>; readonly bias: Tensor.Tensor<readonly [U], D> }
  : { readonly kernel: Tensor.Tensor<readonly [I, U], D> }

type DenseOut<S extends Shape, U extends number, Name extends string> = number extends S["length"]
  ? readonly [number, U]
  : S extends readonly [infer B extends number, number] ? readonly [B, U]
  : ShapeError<
    `${Name}: expected input of rank 2 [batch, features], got ${Rules.Show<S>}; add Layer.flatten() before it`
  >

type Features<S extends Shape> = S extends readonly [unknown, infer K extends number] ? K : number

/**
 * The rule of a dense layer: `[B, K] -> [B, units]`, with a `[K, units]` kernel.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Dense<{ units: 10 }>, readonly [number, 128]> // readonly [number, 10]
 * ```
 */
export interface DenseRule<C extends DenseConfig> extends Rule {
  readonly Label: NamedOr<C, `dense(${C["units"]})`>
  readonly Out: DenseOut<InputShape<this>, C["units"], Where<this>>
  readonly Params: DenseParams<Features<InputShape<this>>, C["units"], InputDType<this>, HasBias<C>>
}

/**
 * A fully connected layer.
 *
 * @example
 * ```ts
 * const head: Layer.Dense<{ readonly units: 10 }> = Layer.dense({ units: 10 })
 * ```
 */
export interface Dense<C extends DenseConfig = DenseConfig> extends Layer<DenseRule<C>, "Dense"> {
  readonly config: C
}

/**
 * A fully connected layer `activation(x W + b)` on `[batch, features]` input.
 *
 * @example
 * ```ts
 * Layer.dense({ units: 512, activation: "relu" })
 * ```
 */
export const dense = <const C extends DenseConfig>(config: C): Dense<C> => ({
  [RuleTypeId]: variance,
  _tag: "Dense",
  label: label(config.name ?? `dense(${config.units})`),
  config,
  build: (input, name, stream) => {
    positiveInt(name, "units", config.units)
    if (input.length !== 2) {
      throw new ShapeError(
        name,
        `${name}: expected input of rank 2 [batch, features], got [${input.join(", ")}]; add Layer.flatten() before it`
      )
    }
    const k = input[1]!
    const useBias = config.useBias ?? true
    const init = config.kernelInitializer ?? "glorotUniform"
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
      let y = Tensor.matmul(x, kernelOf(name, p))
      const b = field(p, "bias")
      if (b !== undefined) y = Tensor.add(y, b)
      return logits && config.activation === "softmax" ? y : applyActivation(config.activation, y)
    }
    return {
      name,
      outShape: [input[0]!, config.units],
      parameters: k * config.units + (useBias ? config.units : 0),
      init: (seed, dtype) => {
        const kernel = Init.create(
          init,
          [k, config.units],
          { fanIn: k, fanOut: config.units },
          Prng.derive(seed, stream),
          dtype
        )
        return useBias ? { kernel, bias: Tensor.zeros([config.units], { dtype }) } : { kernel }
      },
      apply: (p, x) => apply(p, x, false),
      applyLogits: (p, x) => apply(p, x, true),
      // Parameters come between any earlier softmax and the output; a softmax activation ends the layer.
      trace: () => (config.activation === "softmax" ? { softmax: name } : undefined)
    }
  }
})
