/**
 * A transposed 2-D convolution layer over NHWC input ("deconvolution", the upsampling of decoders and
 * GAN generators), with bias and activation.
 *
 * @since 0.1.0
 */
import { Shape as Rules } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import * as Init from "../Initializer.ts"
import { applyActivation, biasOf, type HasBias, kernelOf, label, pair, positiveInt } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import type { Activation } from "./activation.ts"
import type { Conv2dParams } from "./conv2d.ts"
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
type AnyTensor = Tensor.AnyTensor
type Pair = Rules.Pair

/**
 * Configuration of a transposed 2-D convolution layer (NHWC): `padding` is `"valid"` (default,
 * `OH = (H - 1) * stride + (KH - 1) * dilation + 1`) or `"same"` (`OH = H * stride`).
 *
 * @example
 * ```ts
 * const config: Layer.Conv2dTransposeConfig = { filters: 16, kernelSize: 3, strides: 2, padding: "same" }
 * ```
 */
export interface Conv2dTransposeConfig {
  /** Number of output channels. */
  readonly filters: number
  readonly kernelSize: number | Pair
  readonly strides?: number | Pair
  readonly padding?: "valid" | "same"
  readonly dilation?: number | Pair
  /** Add a learned bias per filter (default true). */
  readonly useBias?: boolean
  readonly activation?: Activation
  readonly kernelInitializer?: Init.Initializer
  readonly name?: string
}

type KernelHW<K> = K extends number ? readonly [K, K]
  : K extends readonly [infer H, infer W] ? readonly [H, W]
  : readonly [number, number]
type Channels<S extends Shape> = S extends readonly [unknown, unknown, unknown, infer C extends number] ? C : number
type Options<C extends Conv2dTransposeConfig> = {
  readonly [K in Extract<keyof C, "strides" | "padding" | "dilation">]: Exclude<C[K], undefined>
}
type Kernel<C extends Conv2dTransposeConfig, S extends Shape> = KernelHW<C["kernelSize"]> extends readonly [
  infer H extends number,
  infer W extends number
] ? readonly [H, W, C["filters"], Channels<S>]
  : never

/**
 * The rule of a transposed convolution layer: `Shape.Conv2dTranspose` with a `[KH, KW, filters, C]` kernel
 * (Keras' `Conv2DTranspose` layout: the kernel of the convolution it transposes).
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Conv2dTranspose<{ filters: 8; kernelSize: 3; strides: 2; padding: "same" }>, readonly [number, 7, 7, 16]>
 * // readonly [number, 14, 14, 8]
 * ```
 */
export interface Conv2dTransposeRule<C extends Conv2dTransposeConfig> extends Rule {
  readonly Label: NamedOr<C, `conv2dTranspose(${C["filters"]})`>
  readonly Out: Rules.Conv2dTranspose<InputShape<this>, Kernel<C, InputShape<this>>, Options<C>, Where<this>>
  readonly Params: Kernel<C, InputShape<this>> extends infer K extends Shape
    ? Conv2dParams<K, C["filters"], InputDType<this>, HasBias<C>>
    : never
}

/**
 * A transposed 2-D convolution layer.
 *
 * @example
 * ```ts
 * const up: Layer.Conv2dTranspose<{ readonly filters: 8; readonly kernelSize: 2; readonly strides: 2 }> =
 *   Layer.conv2dTranspose({ filters: 8, kernelSize: 2, strides: 2 })
 * ```
 */
export interface Conv2dTranspose<C extends Conv2dTransposeConfig = Conv2dTransposeConfig>
  extends Layer<Conv2dTransposeRule<C>, "Conv2dTranspose">
{
  readonly config: C
}

/**
 * A transposed 2-D convolution over NHWC input (`Tensor.conv2dTranspose`; Keras' `Conv2DTranspose`,
 * PyTorch's `ConvTranspose2d` with its `padding` and `output_padding` chosen to give these sizes), with a
 * learned bias per filter and an optional activation: `[N, H, W, C] -> [N, H * stride, W * stride, filters]`
 * with `"same"` padding.
 *
 * @example
 * ```ts
 * const decoder = Model.input([7, 7, 32])
 *   .add(Layer.conv2dTranspose({ filters: 16, kernelSize: 3, strides: 2, padding: "same", activation: "relu" })) // [number, 14, 14, 16]
 *   .add(Layer.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: "same", activation: "sigmoid" })) // [number, 28, 28, 1]
 * ```
 */
export const conv2dTranspose = <const C extends Conv2dTransposeConfig>(config: C): Conv2dTranspose<C> => ({
  [RuleTypeId]: variance,
  _tag: "Conv2dTranspose",
  label: label(config.name ?? `conv2dTranspose(${config.filters})`),
  config,
  build: (input, name, stream) => {
    positiveInt(name, "filters", config.filters)
    const [kh, kw] = pair(config.kernelSize)
    const c = input[3] ?? 0
    const f = config.filters
    const kernelShape = [kh, kw, f, c]
    const options = {
      strides: config.strides ?? 1,
      padding: config.padding ?? "valid",
      dilation: config.dilation ?? 1
    }
    const outShape = Rules.conv2dTranspose(input, kernelShape, options, name)
    const useBias = config.useBias ?? true
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
      const b = biasOf(p)
      let y = Tensor.conv2dTranspose(x, kernelOf(name, p), options)
      if (b !== undefined) y = Tensor.add(y, b)
      return logits && config.activation === "softmax" ? y : applyActivation(config.activation, y)
    }
    return {
      name,
      outShape,
      parameters: kh * kw * c * f + (useBias ? f : 0),
      init: (seed, dtype) => {
        const kernel = Init.create(
          config.kernelInitializer ?? "glorotUniform",
          kernelShape,
          { fanIn: kh * kw * f, fanOut: kh * kw * c },
          Prng.derive(seed, stream),
          dtype
        )
        return useBias ? { kernel, bias: Tensor.zeros([f], { dtype }) } : { kernel }
      },
      apply: (p, x) => apply(p, x, false),
      applyLogits: (p, x) => apply(p, x, true),
      trace: () => (config.activation === "softmax" ? { softmax: name } : undefined)
    }
  }
})
