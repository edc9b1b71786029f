/**
 * A 2-D convolution layer over NHWC input, with bias and activation.
 *
 * @since 0.1.0
 */
import { Shape as Rules } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import * as Init from "../Initializer.ts"
import { applyActivation, biasOf, type HasBias, kernelOf, label, pair, positiveInt } from "../internal/layer.ts"
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
type Pair = Rules.Pair

/**
 * Configuration of a 2-D convolution layer (NHWC).
 *
 * @example
 * ```ts
 * const config: Layer.Conv2dConfig = { filters: 8, kernelSize: 3, padding: "same" }
 * ```
 */
export interface Conv2dConfig {
  /** Number of output channels. */
  readonly filters: number
  /** Kernel height and width (one number for a square kernel). */
  readonly kernelSize: number | Pair
  readonly strides?: number | Pair
  /** `"valid"` (default), `"same"` (TensorFlow semantics) or explicit pads, as in `Tensor.conv2d`. */
  readonly padding?: Rules.Padding2d
  readonly dilation?: number | Pair
  /** Add a learned bias per filter (default true). */
  readonly useBias?: boolean
  readonly activation?: Activation
  readonly kernelInitializer?: Init.Initializer
  readonly name?: string
}

/**
 * Parameters of a convolution layer: `kernel` `[KH, KW, C, F]` and, unless `useBias: false`, `bias` `[F]`.
 *
 * @example
 * ```ts
 * type P = Layer.Conv2dParams<readonly [3, 3, 1, 8], 8, "float32"> // { kernel, bias }
 * ```
 */
export type Conv2dParams<K extends Shape, F extends number, D extends DType, B extends boolean = true> = B extends true
  ? { readonly kernel: Tensor.Tensor<K, D>; readonly bias: Tensor.Tensor<readonly [F], D> }
  : { readonly kernel: Tensor.Tensor<K, D> }

type KernelHW<K> = K extends number ? readonly [K, K]
  : K extends readonly [infer H, infer W] ? readonly [H, W]
  : readonly [number, number]
type Channels<S extends Shape> = S extends readonly [unknown, unknown, unknown, infer C extends number] ? C : number
type ConvOptions<C extends Conv2dConfig> = {
  readonly [K in Extract<keyof C, "strides" | "padding" | "dilation">]: Exclude<C[K], undefined>
}
type ConvKernel<C extends Conv2dConfig, S extends Shape> = KernelHW<C["kernelSize"]> extends readonly [
  infer H extends number,
  infer W extends number
] ? readonly [H, W, Channels<S>, C["filters"]]
  : never

/**
 * The rule of a convolution layer: `Shape.Conv2d` with a `[KH, KW, C, filters]` kernel.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Conv2d<{ filters: 8; kernelSize: 3 }>, readonly [number, 28, 28, 1]>
 * // readonly [number, 26, 26, 8]
 * ```
 */
export interface Conv2dRule<C extends Conv2dConfig> extends Rule {
  readonly Label: NamedOr<C, `conv2d(${C["filters"]})`>
  readonly Out: Rules.Conv2d<InputShape<this>, ConvKernel<C, InputShape<this>>, ConvOptions<C>, Where<this>>
  readonly Params: ConvKernel<C, InputShape<this>> extends infer K extends Shape
    ? Conv2dParams<K, C["filters"], InputDType<this>, HasBias<C>>
    : never
}

/**
 * A 2-D convolution layer.
 *
 * @example
 * ```ts
 * const conv: Layer.Conv2d<{ readonly filters: 8; readonly kernelSize: 3 }> = Layer.conv2d({ filters: 8, kernelSize: 3 })
 * ```
 */
export interface Conv2d<C extends Conv2dConfig = Conv2dConfig> extends Layer<Conv2dRule<C>, "Conv2d"> {
  readonly config: C
}

/**
 * A 2-D convolution layer over NHWC input, with bias and activation.
 *
 * @example
 * ```ts
 * Layer.conv2d({ filters: 24, kernelSize: 2, padding: "same", activation: "relu" })
 * ```
 */
export const conv2d = <const C extends Conv2dConfig>(config: C): Conv2d<C> => ({
  [RuleTypeId]: variance,
  _tag: "Conv2d",
  label: label(config.name ?? `conv2d(${config.filters})`),
  config,
  build: (input, name, stream) => {
    positiveInt(name, "filters", config.filters)
    const [kh, kw] = pair(config.kernelSize)
    const c = input[3] ?? 0
    const kernelShape = [kh, kw, c, config.filters]
    const options = {
      strides: config.strides ?? 1,
      padding: config.padding ?? "valid",
      dilation: config.dilation ?? 1
    }
    const outShape = Rules.conv2d(input, kernelShape, options, name)
    const useBias = config.useBias ?? true
    const init = config.kernelInitializer ?? "glorotUniform"
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
      const b = biasOf(p)
      const fuseRelu = config.activation === "relu"
      // Bias (and relu) fused into the convolution's output pass.
      const y = b === undefined
        ? Tensor.conv2d(x, kernelOf(name, p), options)
        : Tensor.conv2dBias(x, kernelOf(name, p), b, {
          ...options,
          relu: fuseRelu
        })
      if (b !== undefined && fuseRelu) return y
      return logits && config.activation === "softmax" ? y : applyActivation(config.activation, y)
    }
    return {
      name,
      outShape,
      parameters: kh * kw * c * config.filters + (useBias ? config.filters : 0),
      init: (seed, dtype) => {
        const kernel = Init.create(
          init,
          kernelShape,
          { fanIn: kh * kw * c, fanOut: kh * kw * config.filters },
          Prng.derive(seed, stream),
          dtype
        )
        return useBias ? { kernel, bias: Tensor.zeros([config.filters], { dtype }) } : { kernel }
      },
      apply: (p, x) => apply(p, x, false),
      applyLogits: (p, x) => apply(p, x, true),
      // Parameters come between any earlier softmax and the output; a softmax activation ends the layer.
      trace: () => (config.activation === "softmax" ? { softmax: name } : undefined)
    }
  }
})
