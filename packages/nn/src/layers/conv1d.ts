/**
 * A 1-D convolution layer over `[N, L, C]` input (length, then channels), with bias and activation: a 2-D
 * convolution with a unit height axis, so it shares `conv2d`'s kernels, gradients and shape arithmetic.
 *
 * @since 0.1.0
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import * as Init from "../Initializer.ts"
import { applyActivation, biasOf, type HasBias, kernelOf, label, positiveInt } from "../internal/layer.ts"
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

/**
 * Padding of a 1-D convolution: `"valid"` (default), `"same"` (TensorFlow semantics: output
 * `ceil(length / stride)`), `p` on both ends, or `[left, right]`.
 *
 * @example
 * ```ts
 * const p: Layer.Padding1d = [2, 0] // causal padding for a kernel of 3
 * ```
 */
export type Padding1d = "valid" | "same" | number | readonly [number, number]

/**
 * Configuration of a 1-D convolution layer over `[N, L, C]`.
 *
 * @example
 * ```ts
 * const config: Layer.Conv1dConfig = { filters: 16, kernelSize: 5, padding: "same", dilation: 2 }
 * ```
 */
export interface Conv1dConfig {
  /** Number of output channels. */
  readonly filters: number
  readonly kernelSize: number
  /** Default 1. */
  readonly strides?: number
  readonly padding?: Padding1d
  /** Default 1. */
  readonly dilation?: number
  /** Add a learned bias per filter (default true). */
  readonly useBias?: boolean
  readonly activation?: Activation
  readonly kernelInitializer?: Init.Initializer
  readonly name?: string
}

/**
 * Parameters of a 1-D convolution layer: `kernel` `[K, C, F]` and, unless `useBias: false`, `bias` `[F]`.
 *
 * @example
 * ```ts
 * type P = Layer.Conv1dParams<5, 3, 16, "float32"> // { kernel: Tensor<readonly [5, 3, 16]>, bias: Tensor<readonly [16]> }
 * ```
 */
export type Conv1dParams<
  K extends number,
  C extends number,
  F extends number,
  D extends DType,
  B extends boolean = true
> = B extends true
  ? { readonly kernel: Tensor.Tensor<readonly [K, C, F], D>; readonly bias: Tensor.Tensor<readonly [F], D> }
  : { readonly kernel: Tensor.Tensor<readonly [K, C, F], D> }

type Opt<C, K extends string, Dflt> = C extends { readonly [P in K]: infer V } ? Exclude<V, undefined> : Dflt
type NotPositive<V> = number extends V ? false
  : V extends 0 ? true
  : `${V & number}` extends `-${string}` | `${string}.${string}` ? true
  : false
type IsNegative<V> = number extends V ? false : `${V & number}` extends `-${string}` | `${string}.${string}` ? true
: false
type BadPadding<P> = P extends number ? IsNegative<P>
  : P extends readonly [infer L, infer R] ? IsNegative<L> extends true ? true : IsNegative<R>
  : false
type ShowPadding<P> = P extends readonly [infer L extends number, infer R extends number] ? `[${L}, ${R}]`
  : `${P & number}`
type Padding2dOf<P> = P extends "valid" | "same" ? P
  : P extends number ? readonly [readonly [0, 0], readonly [P, P]]
  : P extends readonly [infer L extends number, infer R extends number] ? readonly [readonly [0, 0], readonly [L, R]]
  : "valid"
type Channels<S extends Shape> = S extends readonly [unknown, unknown, infer C extends number] ? C : number

type Conv1dOut<S extends Shape, C extends Conv1dConfig, R extends Rule> = number extends S["length"]
  ? readonly [number, number, C["filters"]]
  : S extends readonly [infer N extends number, infer L extends number, infer Ch extends number]
    ? NotPositive<C["kernelSize"]> extends true ?
      Invalid<R, `kernel size must be a positive integer, got ${C["kernelSize"]}`>
    : NotPositive<Opt<C, "strides", 1>> extends true
      ? Invalid<R, `strides must be a positive integer, got ${Opt<C, "strides", 1> & number}`>
    : NotPositive<Opt<C, "dilation", 1>> extends true
      ? Invalid<R, `dilation must be a positive integer, got ${Opt<C, "dilation", 1> & number}`>
    : BadPadding<Opt<C, "padding", "valid">> extends true
      ? Invalid<R, `padding must be non-negative integers, got ${ShowPadding<Opt<C, "padding", "valid">>}`>
    : Rules.Conv2d<
      readonly [N, 1, L, Ch],
      readonly [1, C["kernelSize"], Ch, C["filters"]],
      {
        readonly strides: readonly [1, Opt<C, "strides", 1>]
        readonly dilation: readonly [1, Opt<C, "dilation", 1>]
        readonly padding: Padding2dOf<Opt<C, "padding", "valid">>
      },
      Where<R>
    > extends infer O
      ? O extends readonly [infer N2 extends number, number, infer OL extends number, infer F extends number]
        ? readonly [N2, OL, F]
      : O
    : never
  : Invalid<R, `expected input of rank 3 [N, L, C], got ${Rules.Show<S>}`>

/**
 * The rule of a 1-D convolution layer: `[N, L, C] -> [N, OL, filters]`, the output length computed as
 * `conv2d`'s (`floor((L + pads - dilation * (K - 1) - 1) / stride) + 1`, or `ceil(L / stride)` for
 * `"same"`), with a `[K, C, filters]` kernel.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Conv1d<{ filters: 8; kernelSize: 3 }>, readonly [number, 100, 4]>
 * // readonly [number, 98, 8]
 * ```
 */
export interface Conv1dRule<C extends Conv1dConfig> extends Rule {
  readonly Label: NamedOr<C, `conv1d(${C["filters"]})`>
  readonly Out: Conv1dOut<InputShape<this>, C, this>
  readonly Params: Conv1dParams<C["kernelSize"], Channels<InputShape<this>>, C["filters"], InputDType<this>, HasBias<C>>
}

/**
 * A 1-D convolution layer.
 *
 * @example
 * ```ts
 * const conv: Layer.Conv1d<{ readonly filters: 8; readonly kernelSize: 3 }> = Layer.conv1d({ filters: 8, kernelSize: 3 })
 * ```
 */
export interface Conv1d<C extends Conv1dConfig = Conv1dConfig> extends Layer<Conv1dRule<C>, "Conv1d"> {
  readonly config: C
}

/**
 * A 1-D convolution over `[N, L, C]` input (Keras' `Conv1D`; PyTorch's `Conv1d` on `[N, C, L]`), with
 * strides, dilation and padding as in `conv2d` along the length axis, a learned bias per filter and an
 * optional activation. Padding `[left, right]` gives causal convolutions (`[(K - 1) * dilation, 0]`).
 *
 * @example
 * ```ts
 * const model = Model.input([100, 4])
 *   .add(Layer.conv1d({ filters: 16, kernelSize: 5, strides: 2, activation: "relu" })) // [number, 48, 16]
 *   .add(Layer.conv1d({ filters: 16, kernelSize: 3, padding: [4, 0], dilation: 2 }))  // [number, 48, 16]
 *   .add(Layer.flatten())
 *   .add(Layer.dense({ units: 2 }))
 * ```
 */
export const conv1d = <const C extends Conv1dConfig>(config: C): Conv1d<C> => ({
  [RuleTypeId]: variance,
  _tag: "Conv1d",
  label: label(config.name ?? `conv1d(${config.filters})`),
  config,
  build: (input, name, stream) => {
    positiveInt(name, "filters", config.filters)
    if (input.length !== 3) {
      throw new ShapeError(name, `${name}: expected input of rank 3 [N, L, C], got [${input.join(", ")}]`)
    }
    const k = config.kernelSize
    const s = config.strides ?? 1
    const d = config.dilation ?? 1
    positiveInt(name, "kernel size", k)
    positiveInt(name, "strides", s)
    positiveInt(name, "dilation", d)
    const pad = config.padding ?? "valid"
    const pads = pad === "valid" || pad === "same" ? [] : typeof pad === "number" ? [pad] : pad
    if (!Array.isArray(pads) || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
      throw new ShapeError(
        name,
        `${name}: padding must be non-negative integers, got ${
          typeof pad === "number" ? pad : Array.isArray(pad) ? `[${pad.join(", ")}]` : JSON.stringify(pad)
        }`
      )
    }
    const [n, l, c] = input as readonly [number, number, number]
    const f = config.filters
    const options = conv2dOptions(config)
    const out = Rules.conv2d([n, 1, l, c], [1, k, c, f], options, name)
    const useBias = config.useBias ?? true
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
      const b = biasOf(p)
      const kernel = kernelOf(name, p)
      const x4 = Tensor.reshape(x, [x.shape[0]!, 1, l, c])
      const w4 = Tensor.reshape(kernel, [1, k, c, f])
      const fuseRelu = config.activation === "relu"
      const y4 = b === undefined
        ? Tensor.conv2d(x4, w4, options)
        : Tensor.conv2dBias(x4, w4, b, { ...options, relu: fuseRelu })
      const y = Tensor.reshape(y4, [x.shape[0]!, out[2], f])
      if (b !== undefined && fuseRelu) return y
      return logits && config.activation === "softmax" ? y : applyActivation(config.activation, y)
    }
    return {
      name,
      outShape: [n, out[2], f],
      parameters: k * c * f + (useBias ? f : 0),
      init: (seed, dtype) => {
        const kernel = Init.create(
          config.kernelInitializer ?? "glorotUniform",
          [k, c, f],
          { fanIn: k * c, fanOut: k * f },
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

/** The `conv2d` options of a 1-D convolution on `[N, 1, L, C]`. */
const conv2dOptions = (config: Conv1dConfig): Rules.Conv2dOptions => {
  const p = config.padding ?? "valid"
  return {
    strides: [1, config.strides ?? 1],
    dilation: [1, config.dilation ?? 1],
    padding: p === "valid" || p === "same" ? p : typeof p === "number" ? [[0, 0], [p, p]] : [[0, 0], p]
  }
}
