/**
 * Layers: plain values that describe a transformation (`Layer.conv2d({ filters: 24, kernelSize: 2 })`).
 *
 * A layer does not know its input shape until it is added to a model; the model then computes the
 * output shape at compile time with `Layer.Output<L, S>` (the rules of `@typegrad/shape`) and the typed
 * parameter pytree with `Layer.Params<L, S, D>`. Layers are data, so combinators (`residual`, `parallel`,
 * `sequential`) can compute the shapes of their branches too.
 *
 * @since 0.1.0
 */
import { Nat, Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import { unsafeFromData } from "@typegrad/tensor/internal"
import * as Init from "./Initializer.ts"
import * as Prng from "./internal/prng.ts"

type Shape = Rules.Shape
type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor
type Pair = Rules.Pair

/** An activation applied after a layer. */
export type Activation = "linear" | "relu" | "tanh" | "sigmoid" | "softmax"

/** Configuration of a 2-D convolution layer (NHWC). */
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

/** Configuration of a fully connected layer. */
export interface DenseConfig {
  readonly units: number
  readonly useBias?: boolean
  readonly activation?: Activation
  readonly kernelInitializer?: Init.Initializer
  readonly name?: string
}

/** Configuration of a pooling layer. */
export interface Pool2dConfig extends Rules.Pool2dOptions {
  readonly name?: string
}

/** Runtime context of a forward pass. */
export interface ApplyContext {
  /** Dropout is active only when training. */
  readonly training: boolean
  /** Seed of this forward pass's randomness (dropout masks). */
  readonly seed: number
}

/** A layer once its input shape is known: what a model runs. @internal */
export interface Built {
  readonly name: string
  /** Output shape, with the batch dim given as 1. */
  readonly outShape: ReadonlyArray<number>
  /** Number of trainable parameters. */
  readonly parameters: number
  /** Creates the parameters from a seed, or `undefined` for a layer without parameters. */
  readonly init: ((seed: number, dtype: DType) => Pytree.Pytree) | undefined
  readonly apply: (params: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext) => AnyTensor
  /** The same as `apply` without a final softmax (for losses computed stably from logits). */
  readonly applyLogits: (params: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext) => AnyTensor
}

interface LayerBase<Tag extends string> {
  readonly _tag: Tag
  /** Builds the runtime layer for an input shape (batch dim 1); throws `ShapeError` on a bad wiring. @internal */
  readonly build: (input: ReadonlyArray<number>, name: string, stream: number) => Built
}

/** A 2-D convolution layer. */
export interface Conv2d<C extends Conv2dConfig = Conv2dConfig> extends LayerBase<"Conv2d"> {
  readonly config: C
}
/** A fully connected layer. */
export interface Dense<C extends DenseConfig = DenseConfig> extends LayerBase<"Dense"> {
  readonly config: C
}
/** A max or average pooling layer. */
export interface Pool2d<K extends "max" | "avg" = "max" | "avg", C extends Pool2dConfig = Pool2dConfig>
  extends LayerBase<"Pool2d">
{
  readonly kind: K
  readonly config: C
}
/** Flattens all but the batch axis. */
export interface Flatten extends LayerBase<"Flatten"> {}
/** Inverted dropout, active only in training. */
export interface Dropout extends LayerBase<"Dropout"> {
  readonly rate: number
}
/** An elementwise activation (softmax along the last axis). */
export interface ActivationLayer<A extends Activation = Activation> extends LayerBase<"Activation"> {
  readonly activation: A
}
/** Layers applied in order. */
export interface Sequential<Ls extends ReadonlyArray<Any> = ReadonlyArray<Any>> extends LayerBase<"Sequential"> {
  readonly layers: Ls
}
/** `x + block(x)`: the block must keep the shape. */
export interface Residual<Ls extends ReadonlyArray<Any> = ReadonlyArray<Any>> extends LayerBase<"Residual"> {
  readonly layers: Ls
}
/** Branches applied to the same input, concatenated along an axis (channels by default). */
export interface Parallel<
  Bs extends ReadonlyArray<ReadonlyArray<Any>> = ReadonlyArray<ReadonlyArray<Any>>,
  A extends number = number
> extends LayerBase<"Parallel"> {
  readonly branches: Bs
  readonly axis: A
}

/** Any layer. */
export type Any =
  | Conv2d
  | Dense
  | Pool2d
  | Flatten
  | Dropout
  | ActivationLayer
  | Sequential
  | Residual
  | Parallel

// ---------------------------------------------------------------------------------------------------
// Type-level rules
// ---------------------------------------------------------------------------------------------------

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
type HasBias<C> = C extends { readonly useBias: false } ? false : true

/** The label of a layer in error messages: its position and kind, e.g. `layer 5 dense(512)`. */
export type Label<L, N extends number> = `layer ${N} ${L extends
  { readonly config: { readonly name: infer Nm extends string } } ? Nm
  : L extends Conv2d<infer C> ? `conv2d(${C["filters"]})`
  : L extends Dense<infer C> ? `dense(${C["units"]})`
  : L extends Pool2d<infer K> ? `${K}Pool2d`
  : L extends Flatten ? "flatten"
  : L extends Residual ? "residual"
  : L extends Parallel ? "parallel"
  : L extends Sequential ? "sequential"
  : "layer"}`

type DenseOut<S extends Shape, U extends number, Name extends string> = number extends S["length"]
  ? readonly [number, U]
  : S extends readonly [infer B extends number, number] ? readonly [B, U]
  : ShapeError<
    `${Name}: expected input of rank 2 [batch, features], got ${Rules.Show<S>}; add Layer.flatten() before it`
  >

type FoldOut<Ls, S, N extends number> = Ls extends readonly [infer H, ...infer R]
  ? S extends Shape ? FoldOut<R, Output<H, S, N>, N> : S
  : S

type SameShape<A extends Shape, B extends Shape> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

type ParallelOuts<Bs, S extends Shape, N extends number> = {
  readonly [K in keyof Bs]: FoldOut<Bs[K], S, N>
}
type AllShapes<Ts> = Ts extends readonly [infer H, ...infer R] ? H extends Shape ? AllShapes<R> : H : Ts

/**
 * The output shape of layer `L` on an input of shape `S` (or a `ShapeError` naming the layer).
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Dense<{ units: 10 }>, readonly [number, 128]> // readonly [number, 10]
 * ```
 */
export type Output<L, S extends Shape, N extends number = 0> = L extends Conv2d<infer C>
  ? Rules.Conv2d<S, ConvKernel<C, S>, ConvOptions<C>, Label<L, N>>
  : L extends Dense<infer C> ? DenseOut<S, C["units"], Label<L, N>>
  : L extends Pool2d<infer _K, infer C> ? Rules.Pool2d<S, C, Label<L, N>>
  : L extends Flatten ? Rules.Flatten<S, Label<L, N>>
  : L extends Dropout | ActivationLayer ? S
  : L extends Sequential<infer Ls> ? FoldOut<Ls, S, N>
  : L extends Residual<infer Ls> ?
    FoldOut<Ls, S, N> extends infer O ? O extends Shape ? SameShape<O, S> extends true ? S
        : ShapeError<
          `${Label<L, N>}: the block maps ${Rules.Show<S>} to ${Rules.Show<O>}; a residual block must keep the shape`
        >
      : O
    : never
  : L extends Parallel<infer Bs, infer A> ?
    ParallelOuts<Bs, S, N> extends infer Os ? AllShapes<Os> extends infer Bad extends ShapeError ? Bad
      : Os extends ReadonlyArray<Shape> ? Rules.Concat<Os, A, Label<L, N>>
      : never
    : never
  : never

/** Parameters of a convolution layer: `kernel` `[KH, KW, C, F]` and, unless `useBias: false`, `bias` `[F]`. */
export type Conv2dParams<K extends Shape, F extends number, D extends DType, B extends boolean = true> = B extends true
  ? { readonly kernel: Tensor.Tensor<K, D>; readonly bias: Tensor.Tensor<readonly [F], D> }
  : { readonly kernel: Tensor.Tensor<K, D> }

/** Parameters of a dense layer: `kernel` `[I, U]` and, unless `useBias: false`, `bias` `[U]`. */
export type DenseParams<I extends number, U extends number, D extends DType, B extends boolean = true> = B extends true
  ? { readonly kernel: Tensor.Tensor<readonly [I, U], D>; readonly bias: Tensor.Tensor<readonly [U], D> }
  : { readonly kernel: Tensor.Tensor<readonly [I, U], D> }

type Features<S extends Shape> = S extends readonly [unknown, infer K extends number] ? K : number

type FoldParams<Ls, S, D extends DType, Acc extends ReadonlyArray<unknown> = readonly []> = Ls extends
  readonly [infer H, ...infer R] ?
  S extends Shape ? FoldParams<R, Output<H, S>, D, AppendParams<Acc, Params<H, S, D>>> : Acc
  : Acc

/** Appends a layer's parameters to a model's parameter tuple (layers without parameters add nothing). */
export type AppendParams<P extends ReadonlyArray<unknown>, X> = [X] extends [never] ? P : readonly [...P, X]

/**
 * The parameter pytree of layer `L` on an input of shape `S` (`never` for a layer without parameters).
 *
 * @example
 * ```ts
 * type P = Layer.Params<Layer.Dense<{ units: 10 }>, readonly [number, 128], "float32">
 * // { kernel: Tensor<readonly [128, 10]>, bias: Tensor<readonly [10]> }
 * ```
 */
export type Params<L, S extends Shape, D extends DType> = L extends Conv2d<infer C>
  ? ConvKernel<C, S> extends infer K extends Shape ? Conv2dParams<K, C["filters"], D, HasBias<C>> : never
  : L extends Dense<infer C> ? DenseParams<Features<S>, C["units"], D, HasBias<C>>
  : L extends Sequential<infer Ls> | Residual<infer Ls> ?
    FoldParams<Ls, S, D> extends infer P ? P extends readonly [] ? never : P
    : never
  : L extends Parallel<infer Bs> ? { readonly [K in keyof Bs]: FoldParams<Bs[K], S, D> }
  : never

// ---------------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------------

const applyActivation = (a: Activation | undefined, x: AnyTensor): AnyTensor => {
  switch (a) {
    case undefined:
    case "linear":
      return x
    case "relu":
      return Tensor.relu(x)
    case "tanh":
      return Tensor.tanh(x)
    case "sigmoid":
      return Tensor.sigmoid(x)
    case "softmax":
      return Tensor.softmax(x)
  }
}

const pair = (v: number | Pair): readonly [number, number] => (typeof v === "number" ? [v, v] : v)

const positiveInt = (label: string, what: string, v: number): void => {
  if (!Number.isInteger(v) || v <= 0) {
    throw new ShapeError(label, `${label}: ${what} must be a positive integer, got ${v}`)
  }
}

// Parameter pytrees are built by `init` below with these keys; the cast reads them back.
const field = (p: Pytree.Pytree | undefined, key: string): AnyTensor | undefined =>
  (p as Record<string, AnyTensor | undefined> | undefined)?.[key]

const kernelOf = (name: string, p: Pytree.Pytree | undefined): AnyTensor => {
  const k = field(p, "kernel")
  if (!Tensor.isTensor(k)) {
    throw new TypeError(
      `${name}: its params must be { kernel, bias? } tensors, got ${
        JSON.stringify(p === undefined ? null : Object.keys(p))
      }; use model.init`
    )
  }
  return k
}

const make = <L extends Any>(layer: L): L => layer

/**
 * A 2-D convolution layer over NHWC input, with bias and activation.
 *
 * @example
 * ```ts
 * Layer.conv2d({ filters: 24, kernelSize: 2, padding: "same", activation: "relu" })
 * ```
 */
export const conv2d = <const C extends Conv2dConfig>(config: C): Conv2d<C> =>
  make<Conv2d<C>>({
    _tag: "Conv2d",
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
        const b = field(p, "bias")
        const fuseRelu = config.activation === "relu"
        // Bias (and relu) fused into the convolution's output pass.
        const y = b === undefined
          ? Tensor.conv2d(x, kernelOf(name, p), options) as AnyTensor
          : Tensor.conv2dBias(x, kernelOf(name, p), b as Tensor.Tensor<readonly [number]>, {
            ...options,
            relu: fuseRelu
          }) as AnyTensor
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
        applyLogits: (p, x) => apply(p, x, true)
      }
    }
  })

/**
 * A fully connected layer `activation(x W + b)` on `[batch, features]` input.
 *
 * @example
 * ```ts
 * Layer.dense({ units: 512, activation: "relu" })
 * ```
 */
export const dense = <const C extends DenseConfig>(config: C): Dense<C> =>
  make<Dense<C>>({
    _tag: "Dense",
    config,
    build: (input, name, stream) => {
      positiveInt(name, "units", config.units)
      if (input.length !== 2) {
        throw new ShapeError(
          name,
          `${name}: expected input of rank 2 [batch, features], got [${
            input.join(", ")
          }]; add Layer.flatten() before it`
        )
      }
      const k = input[1]!
      const useBias = config.useBias ?? true
      const init = config.kernelInitializer ?? "glorotUniform"
      const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, logits: boolean): AnyTensor => {
        let y = Tensor.matmul(x, kernelOf(name, p)) as AnyTensor
        const b = field(p, "bias")
        if (b !== undefined) y = Tensor.add(y, b) as AnyTensor
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
        applyLogits: (p, x) => apply(p, x, true)
      }
    }
  })

const pool = <K extends "max" | "avg", const C extends Pool2dConfig>(kind: K, config: C): Pool2d<K, C> =>
  make<Pool2d<K, C>>({
    _tag: "Pool2d",
    kind,
    config,
    build: (input, name) => {
      const options: Rules.Pool2dOptions = {
        poolSize: config.poolSize,
        ...(config.strides === undefined ? {} : { strides: config.strides }),
        ...(config.padding === undefined ? {} : { padding: config.padding })
      }
      const outShape = Rules.pool2d(input, options, name)
      const apply = (_: unknown, x: AnyTensor): AnyTensor =>
        (kind === "max" ? Tensor.maxPool2d(x, options) : Tensor.avgPool2d(x, options)) as AnyTensor
      return { name, outShape, parameters: 0, init: undefined, apply, applyLogits: apply }
    }
  })

/**
 * Max pooling; strides default to the pool size.
 *
 * @example
 * ```ts
 * Layer.maxPool2d({ poolSize: 2 })
 * ```
 */
export const maxPool2d = <const C extends Pool2dConfig>(config: C): Pool2d<"max", C> => pool("max", config)

/**
 * Average pooling; with `"same"` padding each window averages its real cells.
 *
 * @example
 * ```ts
 * Layer.avgPool2d({ poolSize: 2, padding: "same" })
 * ```
 */
export const avgPool2d = <const C extends Pool2dConfig>(config: C): Pool2d<"avg", C> => pool("avg", config)

/**
 * Flattens everything but the batch axis: `[B, ...rest] -> [B, prod(rest)]`.
 *
 * @example
 * ```ts
 * Layer.flatten()
 * ```
 */
export const flatten = (): Flatten =>
  make<Flatten>({
    _tag: "Flatten",
    build: (input, name) => {
      const outShape = Rules.flatten(input, name)
      const apply = (_: unknown, x: AnyTensor): AnyTensor => Tensor.flatten(x) as AnyTensor
      return { name, outShape, parameters: 0, init: undefined, apply, applyLogits: apply }
    }
  })

/**
 * Inverted dropout: in training each entry is zeroed with probability `rate` and the rest scaled by
 * `1 / (1 - rate)`; the identity otherwise. The mask is drawn from the forward pass's seed, so a seeded
 * run is reproducible.
 *
 * @example
 * ```ts
 * Layer.dropout(0.5)
 * ```
 */
export const dropout = (rate: number): Dropout => {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`)
  }
  return make<Dropout>({
    _tag: "Dropout",
    rate,
    build: (input, name, stream) => {
      const apply = (_: unknown, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
        if (!ctx.training || rate === 0) return x
        const mask = x.dtype === "float64" ? new Float64Array(x.size) : new Float32Array(x.size)
        Prng.fillDropoutMask(mask, Prng.derive(ctx.seed, stream), rate)
        return Tensor.mul(x, unsafeFromData(mask, x.shape) as AnyTensor) as AnyTensor
      }
      return { name, outShape: input, parameters: 0, init: undefined, apply, applyLogits: apply }
    }
  })
}

/**
 * An activation as a layer of its own.
 *
 * @example
 * ```ts
 * Layer.activation("tanh")
 * ```
 */
export const activation = <const A extends Activation>(a: A): ActivationLayer<A> =>
  make<ActivationLayer<A>>({
    _tag: "Activation",
    activation: a,
    build: (input, name) => ({
      name,
      outShape: input,
      parameters: 0,
      init: undefined,
      apply: (_, x) => applyActivation(a, x),
      applyLogits: (_, x) => (a === "softmax" ? x : applyActivation(a, x))
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

interface Chain {
  readonly built: ReadonlyArray<Built>
  readonly outShape: ReadonlyArray<number>
}

const buildChain = (layers: ReadonlyArray<Any>, input: ReadonlyArray<number>, name: string, stream: number): Chain => {
  const built: Array<Built> = []
  let shape = input
  layers.forEach((l, i) => {
    const b = l.build(shape, `${name}.${i} ${l._tag.toLowerCase()}`, Prng.derive(stream, i))
    built.push(b)
    shape = b.outShape
  })
  return { built, outShape: shape }
}

const chainInit = (chain: Chain) => (seed: number, dtype: DType): Pytree.Pytree =>
  chain.built.flatMap((b) => (b.init === undefined ? [] : [b.init(seed, dtype)]))

const chainApply =
  (chain: Chain, logits: boolean, name: string) =>
  (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
    if (p !== undefined && !Array.isArray(p)) {
      throw new TypeError(
        `${name}: its params must be an array with one entry per inner layer that has parameters; use model.init`
      )
    }
    const params = (p ?? []) as ReadonlyArray<Pytree.Pytree>
    let k = 0
    let y = x
    chain.built.forEach((b, i) => {
      const own = b.init === undefined ? undefined : params[k++]
      y = logits && i === chain.built.length - 1 ? b.applyLogits(own, y, ctx) : b.apply(own, y, ctx)
    })
    return y
  }

/**
 * Layers applied in order, as one layer (its parameters are a tuple, one entry per layer with parameters).
 *
 * @example
 * ```ts
 * Layer.sequential(Layer.conv2d({ filters: 8, kernelSize: 3, padding: "same" }), Layer.relu())
 * ```
 */
export const sequential = <const Ls extends ReadonlyArray<Any>>(...layers: Ls): Sequential<Ls> =>
  make<Sequential<Ls>>({
    _tag: "Sequential",
    layers,
    build: (input, name, stream) => {
      const chain = buildChain(layers, input, name, stream)
      return {
        name,
        outShape: chain.outShape,
        parameters: chain.built.reduce((n, b) => n + b.parameters, 0),
        init: chain.built.some((b) => b.init !== undefined) ? chainInit(chain) : undefined,
        apply: chainApply(chain, false, name),
        applyLogits: chainApply(chain, true, name)
      }
    }
  })

/**
 * `x + block(x)`; the block's layers must keep the shape (checked at compile time).
 *
 * @example
 * ```ts
 * Layer.residual(Layer.conv2d({ filters: 64, kernelSize: 3, padding: "same", activation: "relu" }))
 * ```
 */
export const residual = <const Ls extends ReadonlyArray<Any>>(...layers: Ls): Residual<Ls> =>
  make<Residual<Ls>>({
    _tag: "Residual",
    layers,
    build: (input, name, stream) => {
      const chain = buildChain(layers, input, name, stream)
      if (chain.outShape.length !== input.length || chain.outShape.some((d, i) => d !== input[i])) {
        throw new ShapeError(
          name,
          `${name}: the block maps [${input.join(", ")}] to [${
            chain.outShape.join(", ")
          }]; a residual block must keep the shape`
        )
      }
      const inner = chainApply(chain, false, name)
      const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor =>
        Tensor.add(x, inner(p, x, ctx)) as AnyTensor
      return {
        name,
        outShape: input,
        parameters: chain.built.reduce((n, b) => n + b.parameters, 0),
        init: chain.built.some((b) => b.init !== undefined) ? chainInit(chain) : undefined,
        apply,
        applyLogits: apply
      }
    }
  })

/**
 * Branches applied to the same input and concatenated along `axis` (the channel axis, -1, by default).
 *
 * @example
 * ```ts
 * Layer.parallel([[Layer.conv2d({ filters: 8, kernelSize: 1 })], [Layer.conv2d({ filters: 8, kernelSize: 3, padding: "same" })]])
 * ```
 */
export const parallel = <const Bs extends ReadonlyArray<ReadonlyArray<Any>>, const A extends number = -1>(
  branches: Bs,
  axis?: A
): Parallel<Bs, A> => {
  const ax = (axis ?? -1) as A
  return make<Parallel<Bs, A>>({
    _tag: "Parallel",
    branches,
    axis: ax,
    build: (input, name, stream) => {
      const chains = branches.map((b, i) => buildChain(b, input, `${name}[${i}]`, Prng.derive(stream, i)))
      const outShape = Rules.concat(chains.map((c) => c.outShape), ax, name)
      const applies = chains.map((c, i) => chainApply(c, false, `${name}[${i}]`))
      const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
        const ps = (p ?? []) as ReadonlyArray<Pytree.Pytree>
        return Tensor.concat(applies.map((f, i) => f(ps[i], x, ctx)), ax) as AnyTensor
      }
      return {
        name,
        outShape,
        parameters: chains.reduce((n, c) => n + c.built.reduce((m, b) => m + b.parameters, 0), 0),
        init: (seed, dtype) => chains.map((c) => chainInit(c)(seed, dtype)),
        apply,
        applyLogits: apply
      }
    }
  })
}

/** @internal the type-level counter of layers, re-exported for `Model`. */
export type Next<N extends number> = Nat.Add<N, 1>
