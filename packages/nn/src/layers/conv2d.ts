/**
 * A 2-D convolution layer over NHWC input, with bias and activation.
 *
 * @since 0.1.0
 */
import { type Nat, Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import * as Init from "../Initializer.ts"
import { applyActivation, biasOf, type HasBias, kernelOf, label, pair, positiveInt } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import type { Activation } from "./activation.ts"
import {
  type InputDType,
  type InputShape,
  type Invalid,
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
  /**
   * Grouped convolution (default 1): the channels and filters split into `groups` groups, each filter
   * seeing only its group's `C / groups` channels (PyTorch's `groups`, Keras' `groups`); the kernel is
   * `[KH, KW, C / groups, F]`. Both `C` and `filters` must be multiples of it.
   */
  readonly groups?: number
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
] ? readonly [
    H,
    W,
    C extends { readonly groups: infer G extends number } ? Nat.Div<Channels<S>, G> : Channels<S>,
    C["filters"]
  ]
  : never
/** The kernel of the equivalent dense convolution (all channels to all filters): what the shape rule checks. */
type FullKernel<C extends Conv2dConfig, S extends Shape> = KernelHW<C["kernelSize"]> extends readonly [
  infer H extends number,
  infer W extends number
] ? readonly [H, W, Channels<S>, C["filters"]]
  : never
/** A `ShapeError` when `groups` does not divide the channels and the filters, else `Out`. */
type GroupsCheck<C extends Conv2dConfig, S extends Shape, R extends Rule, Out> = C extends
  { readonly groups: infer G extends number } ? number extends G ? Out
  : Nat.IsPositive<G> extends false ? Invalid<R, `groups must be a positive integer, got ${G}`>
  : Nat.Mod<Channels<S>, G> extends 0 | number ? number extends Nat.Mod<Channels<S>, G> ? Out
    : Nat.Mod<Channels<S>, G> extends 0 ? Nat.Mod<C["filters"], G> extends 0 ? Out
      : Invalid<R, `filters ${C["filters"]} are not a multiple of groups ${G}`>
    : Invalid<R, `input channels ${Channels<S>} are not a multiple of groups ${G}`>
  : Out
  : Out

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
  readonly Out: GroupsCheck<
    C,
    InputShape<this>,
    this,
    Rules.Conv2d<InputShape<this>, FullKernel<C, InputShape<this>>, ConvOptions<C>, Where<this>>
  >
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
    const groups = config.groups ?? 1
    positiveInt(name, "groups", groups)
    if (input.length === 4 && c % groups !== 0) {
      throw new ShapeError(name, `${name}: input channels ${c} are not a multiple of groups ${groups}`)
    }
    if (config.filters % groups !== 0) {
      throw new ShapeError(name, `${name}: filters ${config.filters} are not a multiple of groups ${groups}`)
    }
    const cg = c / groups
    const kernelShape = [kh, kw, cg, config.filters]
    const options = {
      strides: config.strides ?? 1,
      padding: config.padding ?? "valid",
      dilation: config.dilation ?? 1
    }
    const outShape = Rules.conv2d(input, [kh, kw, c, config.filters], options, name)
    // A grouped kernel [KH, KW, C / G, F] as the block-diagonal [KH, KW, C, F] of one dense convolution:
    // [KH, KW, 1, C / G, G, F / G] times the mask [G, 1, G, 1] (1 where the channel's and filter's groups agree).
    const fg = config.filters / groups
    const mask = (dtype: Tensor.DType) =>
      Tensor.fromArray(
        Array.from({ length: groups * groups }, (_, i) => (Math.floor(i / groups) === i % groups ? 1 : 0)),
        [groups, 1, groups, 1],
        { dtype }
      )
    const dense = (k: AnyTensor): AnyTensor =>
      groups === 1
        ? k
        : Tensor.reshape(Tensor.mul(Tensor.reshape(k, [kh, kw, 1, cg, groups, fg]), mask(k.dtype)), [
          kh,
          kw,
          c,
          config.filters
        ])
    const useBias = config.useBias ?? true
    const init = config.kernelInitializer ?? "glorotUniform"
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
      const b = biasOf(p)
      const fuseRelu = config.activation === "relu"
      // Bias (and relu) fused into the convolution's output pass.
      const k = dense(kernelOf(name, p))
      const y = b === undefined
        ? Tensor.conv2d(x, k, options)
        : Tensor.conv2dBias(x, k, b, {
          ...options,
          relu: fuseRelu
        })
      if (b !== undefined && fuseRelu) return y
      return logits && config.activation === "softmax" ? y : applyActivation(config.activation, y)
    }
    return {
      name,
      outShape,
      parameters: kh * kw * cg * config.filters + (useBias ? config.filters : 0),
      init: (seed, dtype) => {
        const kernel = Init.create(
          init,
          kernelShape,
          { fanIn: kh * kw * cg, fanOut: kh * kw * fg },
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
