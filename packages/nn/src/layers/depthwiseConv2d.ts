/**
 * A depthwise 2-D convolution layer over NHWC input: each input channel convolved with its own
 * `depthMultiplier` filters (MobileNet's and Xception's building block), with bias and activation.
 *
 * @since 0.1.0
 */
import { type Nat, Shape as Rules } from "@typegrad/shape"
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
 * Configuration of a depthwise convolution layer (NHWC): `depthMultiplier` filters per input channel
 * (default 1); strides, padding and dilation as in `conv2d`.
 *
 * @example
 * ```ts
 * const config: Layer.DepthwiseConv2dConfig = { kernelSize: 3, padding: "same", depthMultiplier: 2 }
 * ```
 */
export interface DepthwiseConv2dConfig {
  readonly kernelSize: number | Pair
  readonly depthMultiplier?: number
  readonly strides?: number | Pair
  readonly padding?: Rules.Padding2d
  readonly dilation?: number | Pair
  /** Add a learned bias per output channel (default true). */
  readonly useBias?: boolean
  readonly activation?: Activation
  readonly kernelInitializer?: Init.Initializer
  readonly name?: string
}

/**
 * Parameters of a depthwise convolution: `kernel` `[KH, KW, C, M]` and, unless `useBias: false`, `bias`
 * `[C * M]` (output channel `c * M + m` is input channel `c`'s `m`-th filter, as in Keras).
 *
 * @example
 * ```ts
 * type P = Layer.DepthwiseConv2dParams<readonly [3, 3, 8, 2], 16, "float32"> // { kernel, bias }
 * ```
 */
export type DepthwiseConv2dParams<K extends Shape, O extends number, D extends DType, B extends boolean = true> =
  B extends true ? { readonly kernel: Tensor.Tensor<K, D>; readonly bias: Tensor.Tensor<readonly [O], D> }
    : { readonly kernel: Tensor.Tensor<K, D> }

type KernelHW<K> = K extends number ? readonly [K, K]
  : K extends readonly [infer H, infer W] ? readonly [H, W]
  : readonly [number, number]
type Channels<S extends Shape> = S extends readonly [unknown, unknown, unknown, infer C extends number] ? C : number
type Multiplier<C extends DepthwiseConv2dConfig> = C extends { readonly depthMultiplier: infer M extends number } ? M
  : 1
type ConvOptions<C extends DepthwiseConv2dConfig> = {
  readonly [K in Extract<keyof C, "strides" | "padding" | "dilation">]: Exclude<C[K], undefined>
}
type OutChannels<C extends DepthwiseConv2dConfig, S extends Shape> = Nat.Mul<Channels<S>, Multiplier<C>>
/** The kernel of the equivalent (block-diagonal) convolution: what the shape rule checks. */
type FullKernel<C extends DepthwiseConv2dConfig, S extends Shape> = KernelHW<C["kernelSize"]> extends readonly [
  infer H extends number,
  infer W extends number
] ? readonly [H, W, Channels<S>, OutChannels<C, S>]
  : never
type Kernel<C extends DepthwiseConv2dConfig, S extends Shape> = KernelHW<C["kernelSize"]> extends readonly [
  infer H extends number,
  infer W extends number
] ? readonly [H, W, Channels<S>, Multiplier<C>]
  : never

/**
 * The rule of a depthwise convolution layer: `Shape.Conv2d` with `C * depthMultiplier` output channels and
 * a `[KH, KW, C, depthMultiplier]` kernel.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.DepthwiseConv2d<{ kernelSize: 3; depthMultiplier: 2 }>, readonly [number, 8, 8, 4]>
 * // readonly [number, 6, 6, 8]
 * ```
 */
export interface DepthwiseConv2dRule<C extends DepthwiseConv2dConfig> extends Rule {
  readonly Label: NamedOr<C, `depthwiseConv2d(${Multiplier<C>})`>
  readonly Out: Rules.Conv2d<InputShape<this>, FullKernel<C, InputShape<this>>, ConvOptions<C>, Where<this>>
  readonly Params: Kernel<C, InputShape<this>> extends infer K extends Shape
    ? DepthwiseConv2dParams<K, OutChannels<C, InputShape<this>>, InputDType<this>, HasBias<C>>
    : never
}

/**
 * A depthwise convolution layer.
 *
 * @example
 * ```ts
 * const dw: Layer.DepthwiseConv2d<{ readonly kernelSize: 3 }> = Layer.depthwiseConv2d({ kernelSize: 3 })
 * ```
 */
export interface DepthwiseConv2d<C extends DepthwiseConv2dConfig = DepthwiseConv2dConfig>
  extends Layer<DepthwiseConv2dRule<C>, "DepthwiseConv2d">
{
  readonly config: C
}

/**
 * A depthwise 2-D convolution (Keras' `DepthwiseConv2D`; PyTorch's `Conv2d` with `groups = C`): each of the
 * `C` input channels is convolved with its own `depthMultiplier` filters, giving `C * depthMultiplier`
 * channels, then a bias and an optional activation. Follow it with a 1x1 `conv2d` for a depthwise-separable
 * convolution. It runs as one `conv2d` with a block-diagonal kernel built from the `[KH, KW, C, M]` kernel
 * (differentiable, on the fast GEMM path, at `C` times the arithmetic of a dedicated kernel).
 *
 * @example
 * ```ts
 * const separable = Model.input([32, 32, 16])
 *   .add(Layer.depthwiseConv2d({ kernelSize: 3, padding: "same", activation: "relu" })) // [number, 32, 32, 16]
 *   .add(Layer.conv2d({ filters: 32, kernelSize: 1 })) // [number, 32, 32, 32]
 * ```
 */
export const depthwiseConv2d = <const C extends DepthwiseConv2dConfig>(config: C): DepthwiseConv2d<C> => ({
  [RuleTypeId]: variance,
  _tag: "DepthwiseConv2d",
  label: label(config.name ?? `depthwiseConv2d(${config.depthMultiplier ?? 1})`),
  config,
  build: (input, name, stream) => {
    const m = config.depthMultiplier ?? 1
    positiveInt(name, "depthMultiplier", m)
    const [kh, kw] = pair(config.kernelSize)
    const c = input[3] ?? 0
    const options = {
      strides: config.strides ?? 1,
      padding: config.padding ?? "valid",
      dilation: config.dilation ?? 1
    }
    const outShape = Rules.conv2d(input, [kh, kw, c, c * m], options, name)
    const useBias = config.useBias ?? true
    // eye[c, c'] (as [C, C, 1]): the kernel [KH, KW, C, 1, M] times it is the block-diagonal [KH, KW, C, C, M].
    const eye = (dtype: DType) =>
      Tensor.fromArray(Array.from({ length: c * c }, (_, i) => (Math.floor(i / c) === i % c ? 1 : 0)), [c, c, 1], {
        dtype
      })
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
      const k = kernelOf(name, p)
      const full = Tensor.reshape(Tensor.mul(Tensor.reshape(k, [kh, kw, c, 1, m]), eye(x.dtype)), [kh, kw, c, c * m])
      const b = biasOf(p)
      const y = b === undefined ? Tensor.conv2d(x, full, options) : Tensor.conv2dBias(x, full, b, options)
      return logits && config.activation === "softmax" ? y : applyActivation(config.activation, y)
    }
    return {
      name,
      outShape,
      parameters: kh * kw * c * m + (useBias ? c * m : 0),
      init: (seed, dtype) => {
        const kernel = Init.create(
          config.kernelInitializer ?? "glorotUniform",
          [kh, kw, c, m],
          { fanIn: kh * kw, fanOut: kh * kw * m },
          Prng.derive(seed, stream),
          dtype
        )
        return useBias ? { kernel, bias: Tensor.zeros([c * m], { dtype }) } : { kernel }
      },
      apply: (p, x) => apply(p, x, false),
      applyLogits: (p, x) => apply(p, x, true),
      trace: () => (config.activation === "softmax" ? { softmax: name } : undefined)
    }
  }
})
