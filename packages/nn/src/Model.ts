/**
 * Models: a stack of layers whose shapes are computed at compile time, with parameters kept apart as a
 * typed pytree.
 *
 * ```ts
 * const model = Model.input([28, 28, 1])
 *   .add(Layer.conv2d({ filters: 24, kernelSize: 2, padding: "same", activation: "relu" }))
 *   .add(Layer.maxPool2d({ poolSize: 2 }))
 *   .add(Layer.flatten())
 *   .add(Layer.dense({ units: 10, activation: "softmax" }))
 * // Model<readonly [number, 28, 28, 1], readonly [number, 10], ...>
 * ```
 *
 * `init` is an `Effect` that draws the initial weights from Effect's `Random` (seed it with
 * `Random.withSeed`); `apply(params, x, { training, seed })` is a pure function, differentiable with
 * `@typegrad/autodiff` with respect to `params`.
 *
 * @since 0.1.0
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import * as Layer from "./Layer.ts"
import { runChain, traceAfter } from "./layers/chain.ts"

type Shape = Rules.Shape
type DType = Tensor.DType

/** Options of a forward pass. */
export interface ApplyOptions {
  /** Training mode: dropout is active (default false). */
  readonly training?: boolean
  /** Seed of the forward pass's randomness (dropout masks); draw one per step from `Random`. */
  readonly seed?: number
  /**
   * The model state (batch normalisation's running statistics), which inference with a stateful model
   * needs: `model.initState`, or the state `model.applyWithState` returned.
   */
  readonly state?: State
}

/**
 * A model's state: the running statistics of its batch normalisations, one entry per stateful layer keyed
 * by the layer's name (`"layer 2 batchNorm"`, `"layer 4 residual.1 batchnorm"` inside a block), each a
 * pytree of tensors (`Layer.BatchNormState`). A pytree, so it can be saved beside the params. Empty for a
 * model without state.
 *
 * @example
 * ```ts
 * const model = Model.input([8]).add(Layer.dense({ units: 4 })).add(Layer.batchNorm())
 * const state: Model.State = model.initState // { "layer 2 batchNorm": { mean, variance } }
 * ```
 */
export type State = { readonly [layer: string]: Pytree.Pytree }

/**
 * Options of `model.applyWithState`: those of `apply` (the state is an argument), and `logits` to leave a
 * final softmax out as `model.logits` does.
 *
 * @example
 * ```ts
 * const options: Model.StateOptions = { training: true, seed: 7, logits: true }
 * ```
 */
export interface StateOptions extends Omit<ApplyOptions, "state"> {
  /** Leave the model's final softmax out (`model.logits`); default false. */
  readonly logits?: boolean
}

/**
 * A model from input shape `In` to output shape `Out`, with parameter pytree `P` (a tuple with one entry
 * per layer that has parameters), dtype `D`, and `N` layers.
 */
export interface Model<
  In extends Shape,
  Out extends Shape,
  P extends ReadonlyArray<Pytree.Pytree>,
  D extends DType = "float32",
  N extends number = 0
> {
  /** The input shape, with the batch dim as -1 (unknown). */
  readonly inputShape: ReadonlyArray<number>
  /** The output shape, with the batch dim as -1 (unknown). */
  readonly outputShape: ReadonlyArray<number>
  readonly dtype: D
  /** One entry per layer: its label, output shape and parameter count. */
  readonly layers: ReadonlyArray<LayerInfo>

  /**
   * Appends a layer. Its output shape is computed at compile time; a wiring that cannot work is a
   * compile error on this call naming the layer and the sizes.
   */
  add<L extends Layer.Any>(
    layer: L & Rules.Check<Layer.Output<L, Out, Layer.Next<N>>>
  ): Model<
    In,
    AsShape<Layer.Output<L, Out, Layer.Next<N>>>,
    AsParams<Layer.AppendParams<P, Layer.Params<L, Out, D>>>,
    D,
    Layer.Next<N>
  >

  /** Initial parameters, drawn from Effect's `Random`. */
  readonly init: Effect.Effect<P>

  /** The forward pass. */
  apply(params: P, x: Tensor.Tensor<In, D>, options?: ApplyOptions): Tensor.Tensor<Out, D>

  /**
   * The initial model state: batch normalisation's running statistics (mean 0, variance 1), keyed by layer
   * name; `{}` for a model without state.
   */
  readonly initState: State

  /**
   * The forward pass that threads the model state: the output and the next state. In training each batch
   * normalisation uses its batch's statistics and moves its running statistics towards them; at inference
   * the running statistics are used and the state comes back unchanged. A pure function: `state` is not
   * modified. Differentiate a loss of the output with `valueAndGradAux` to get the next state beside the
   * gradients.
   *
   * @example
   * ```ts
   * import { Effect, Random } from "effect"
   *
   * declare const x: Tensor.Tensor<readonly [16, 8]>
   * const model = Model.input([8]).add(Layer.dense({ units: 4 })).add(Layer.batchNorm()).add(Layer.relu())
   * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
   * const [y, state] = model.applyWithState(params, model.initState, x, { training: true, seed: 1 })
   * const inference = model.apply(params, x, { state })
   * ```
   */
  applyWithState(
    params: P,
    state: State,
    x: Tensor.Tensor<In, D>,
    options?: StateOptions
  ): readonly [Tensor.Tensor<Out, D>, State]

  /**
   * The forward pass without a final softmax, for losses that are computed stably from logits. When the
   * model's last operation is a softmax (`Layer.softmax()`, a `dense`/`conv2d` with `activation: "softmax"`,
   * or either as the last layer of a trailing `Layer.sequential`), it is left out; a model without a softmax
   * gives the same as `apply`, and a softmax elsewhere followed by a layer with parameters is an ordinary
   * step of the forward pass. A softmax whose output reaches the model's output through layers that keep
   * it (dropout, pooling, an activation, a residual or parallel block, a user layer) cannot be left out:
   * `logits` throws a `LogitsError` naming both layers rather than return values computed from
   * probabilities.
   *
   * @example
   * ```ts
   * import { Effect, Random } from "effect"
   *
   * declare const x: Tensor.Tensor<readonly [8, 784]>
   * const model = Model.input([784]).add(Layer.dense({ units: 10, activation: "softmax" }))
   * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
   * const z = model.logits(params, x) // x W + b, before the softmax
   * ```
   */
  logits(params: P, x: Tensor.Tensor<In, D>, options?: ApplyOptions): Tensor.Tensor<Out, D>

  /**
   * Inference in batches: `Model.predict(this, params, x, options)` as a method.
   *
   * @example
   * ```ts
   * import { Effect, Random } from "effect"
   *
   * declare const x: Tensor.Tensor<readonly [1000, 784]>
   * const model = Model.input([784]).add(Layer.dense({ units: 10, activation: "softmax" }))
   * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
   * const probabilities = model.predict(params, x, { batchSize: 256 }) // Tensor<readonly [number, 10]>
   * ```
   */
  predict(params: P, x: Tensor.Tensor<In, D>, options?: PredictOptions): Tensor.Tensor<Out, D>

  /**
   * The Keras-style summary table: `Model.summary(this)` as a method.
   *
   * @example
   * ```ts
   * console.log(Model.input([784]).add(Layer.dense({ units: 10 })).summary())
   * ```
   */
  summary(): string
}

/**
 * Options of `predict`.
 *
 * @example
 * ```ts
 * const options: Model.PredictOptions = { batchSize: 128, logits: true }
 * ```
 */
export interface PredictOptions {
  /**
   * Examples per forward pass (default: all at once); smaller batches bound the memory of the
   * intermediate activations. A positive integer.
   */
  readonly batchSize?: number
  /** Return `model.logits` (a final softmax left out) instead of `model.apply`'s output (default false). */
  readonly logits?: boolean
  /** The model state, for a model with batch normalisation (see `ApplyOptions.state`). */
  readonly state?: State
}

/**
 * Thrown by `model.logits` when a softmax's output reaches the model's output through a layer that keeps it
 * (so the output is computed from probabilities and there are no logits to return). `softmax` names the
 * layer whose softmax it is and `after` the first layer that keeps it.
 *
 * @example
 * ```ts
 * import { Effect, Random } from "effect"
 *
 * declare const x: Tensor.Tensor<readonly [8, 784]>
 * const model = Model.input([784]).add(Layer.dense({ units: 10, activation: "softmax" })).add(Layer.dropout(0.5))
 * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
 * try {
 *   model.logits(params, x)
 * } catch (e) {
 *   if (e instanceof Model.LogitsError) console.log(e.softmax, e.after) // "layer 1 dense(10)" "layer 2 dropout(0.5)"
 * }
 * ```
 */
export class LogitsError extends Error {
  readonly _tag = "LogitsError"
  /** The layer whose softmax cannot be left out, e.g. `layer 1 dense(10)`. */
  readonly softmax: string
  /** The first layer that keeps the softmax's output, e.g. `layer 2 dropout(0.5)`. */
  readonly after: string
  constructor(softmax: string, after: string) {
    super(
      `model.logits: the softmax of ${softmax} is not the model's last operation (${after} keeps its output), so the model's output is computed from probabilities and logits cannot leave the softmax out; make that softmax the model's last operation (put ${after} before it) or drop it, or use model.apply for the probabilities`
    )
    this.name = "LogitsError"
    this.softmax = softmax
    this.after = after
  }
}

/** A layer as the model built it. */
export interface LayerInfo {
  readonly label: string
  readonly outputShape: ReadonlyArray<number>
  readonly parameters: number
  /** The layer as given to `add` (its configuration; exporters such as `@typegrad/onnx` read it). */
  readonly layer: Layer.Any
}

/** Any model. */
export type AnyModel = Model<Shape, Shape, ReadonlyArray<Pytree.Pytree>, DType, number>

/** The parameter pytree of a model. */
export type ParamsOf<M> = M extends Model<Shape, Shape, infer P, DType, number> ? P : never

type WithBatch<S extends Shape> = readonly [number, ...S]
type AsShape<T> = T extends Shape ? T : never
type AsParams<T> = T extends ReadonlyArray<Pytree.Pytree> ? T : never

class ModelImpl {
  readonly inputShape: ReadonlyArray<number>
  readonly outputShape: ReadonlyArray<number>
  readonly dtype: DType
  readonly built: ReadonlyArray<Layer.Built>
  readonly layers: ReadonlyArray<LayerInfo>
  readonly init: Effect.Effect<ReadonlyArray<Pytree.Pytree>>
  readonly initState: State
  /** Where the output stands with respect to a softmax (what `logits` may leave out). */
  readonly trace: Layer.SoftmaxTrace

  constructor(
    inputShape: ReadonlyArray<number>,
    dtype: DType,
    built: ReadonlyArray<Layer.Built>,
    layers: ReadonlyArray<LayerInfo>
  ) {
    this.inputShape = inputShape
    this.dtype = dtype
    this.built = built
    this.layers = layers
    const last = built.length === 0 ? inputShape : built[built.length - 1]!.outShape
    this.outputShape = [-1, ...last.slice(1)]
    this.trace = built.reduce((t: Layer.SoftmaxTrace, b) => traceAfter(b, t), undefined)
    this.initState = Object.fromEntries(built.flatMap((b) => b.states?.(dtype) ?? []))
    this.init = Effect.gen({ self: this }, function*() {
      const params: Array<Pytree.Pytree> = []
      for (const b of this.built) {
        if (b.init === undefined) continue
        const seed = (yield* Random.nextInt) >>> 0
        params.push(b.init(seed, this.dtype))
      }
      return params
    })
  }

  add(layer: Layer.Any): ModelImpl {
    const input = this.built.length === 0
      ? [1, ...this.inputShape.slice(1)]
      : this.built[this.built.length - 1]!.outShape
    const index = this.built.length + 1
    const label = `layer ${index} ${layer.label}`
    const b = layer.build(input, label, index)
    return new ModelImpl(this.inputShape, this.dtype, [...this.built, b], [
      ...this.layers,
      { label, outputShape: [-1, ...b.outShape.slice(1)], parameters: b.parameters, layer }
    ])
  }

  private run(
    params: ReadonlyArray<Pytree.Pytree>,
    x: Tensor.AnyTensor,
    options: ApplyOptions | undefined,
    logits: boolean,
    store?: Layer.StateStore
  ) {
    if (!Array.isArray(params)) {
      throw new TypeError("model: params must be the tuple returned by model.init")
    }
    const expected = this.inputShape
    if (x.shape.length !== expected.length || x.shape.some((d, i) => i > 0 && d !== expected[i])) {
      throw new ShapeError(
        "model",
        `model: input of shape [${x.shape.join(", ")}] does not match the model's input [${
          expected.map((d) => (d < 0 ? "batch" : d)).join(", ")
        }]`
      )
    }
    const state = options?.state
    const ctx: Layer.ApplyContext = {
      training: options?.training ?? false,
      seed: (options?.seed ?? 0) >>> 0,
      state: store ?? (state === undefined ? undefined : { get: (name) => state[name], set: () => {} })
    }
    return runChain(this.built, params, x, ctx, logits, (b, k) => {
      throw new TypeError(`model: params has ${params.length} entries but ${b.name} needs entry ${k}; use model.init`)
    })
  }

  apply(params: ReadonlyArray<Pytree.Pytree>, x: Tensor.AnyTensor, options?: ApplyOptions): Tensor.AnyTensor {
    return this.run(params, x, options, false)
  }

  logits(params: ReadonlyArray<Pytree.Pytree>, x: Tensor.AnyTensor, options?: ApplyOptions): Tensor.AnyTensor {
    if (this.trace?.after !== undefined) throw new LogitsError(this.trace.softmax, this.trace.after)
    return this.run(params, x, options, true)
  }

  applyWithState(
    params: ReadonlyArray<Pytree.Pytree>,
    state: State,
    x: Tensor.AnyTensor,
    options?: StateOptions
  ): readonly [Tensor.AnyTensor, State] {
    const missing = Object.keys(this.initState).filter((k) => state?.[k] === undefined)
    if (missing.length > 0) {
      throw new TypeError(
        `model.applyWithState: the state has no entry for ${missing.join(", ")}; start from model.initState`
      )
    }
    const logits = options?.logits === true
    if (logits && this.trace?.after !== undefined) throw new LogitsError(this.trace.softmax, this.trace.after)
    const next = new Map(Object.entries(state))
    const y = this.run(params, x, options, logits, {
      get: (name) => state[name],
      set: (name, value) => void next.set(name, value)
    })
    return [y, Object.fromEntries(next)]
  }

  predict(params: ReadonlyArray<Pytree.Pytree>, x: Tensor.AnyTensor, options?: PredictOptions): Tensor.AnyTensor {
    const batch = options?.batchSize
    if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) {
      throw new RangeError(`Model.predict: batchSize must be a positive integer, got ${batch}`)
    }
    const state = options?.state === undefined ? {} : { state: options.state }
    const forward = (t: Tensor.AnyTensor) =>
      options?.logits === true ? this.logits(params, t, state) : this.apply(params, t, state)
    const n = x.shape[0] ?? 0
    if (batch === undefined || n <= batch || x.shape.length === 0) return forward(x)
    const parts: Array<Tensor.AnyTensor> = []
    for (let start = 0; start < n; start += batch) {
      const size = [Math.min(batch, n - start), ...x.shape.slice(1)]
      parts.push(forward(Tensor.slice(x, x.shape.map((_, i) => (i === 0 ? start : 0)), size)))
    }
    return Tensor.concat(parts, 0)
  }

  summary(): string {
    return summary(this as unknown as AnyModel)
  }
}

/** Options of `input`. */
export interface InputOptions<D extends DType> {
  readonly dtype?: D
}

/**
 * Starts a model on inputs of shape `[batch, ...shape]` (the batch size is known only at run time).
 *
 * @example
 * ```ts
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
 * ```
 */
export const input = <const S extends Shape, D extends DType = "float32">(
  shape: S,
  options?: InputOptions<D>
): Model<WithBatch<S>, WithBatch<S>, readonly [], D, 0> => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d <= 0) {
      throw new ShapeError("input", `input: dims must be positive integers, got [${shape.join(", ")}]`)
    }
  }
  const dtype = options?.dtype ?? "float32"
  // The runtime class implements the interface for every type argument; the static types are computed
  // by `add`, which the class mirrors at run time.
  return new ModelImpl([-1, ...shape], dtype, [], []) as unknown as Model<WithBatch<S>, WithBatch<S>, readonly [], D, 0>
}

/**
 * The number of trainable parameters.
 *
 * @example
 * ```ts
 * Model.parameterCount(Reference.mnistCnn) // 1,276,466 for the classic MNIST CNN
 * ```
 */
export const parameterCount = (model: AnyModel): number => model.layers.reduce((n, l) => n + l.parameters, 0)

/**
 * A Keras-style summary table: layers, output shapes and parameter counts.
 *
 * @example
 * ```ts
 * console.log(Model.summary(Reference.mnistCnn))
 * ```
 */
export const summary = (model: AnyModel): string => {
  const rows = model.layers.map((
    l
  ) => [l.label, `[${l.outputShape.map((d) => (d < 0 ? "batch" : d)).join(", ")}]`, String(l.parameters)])
  const header = ["layer", "output shape", "parameters"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line), `total parameters: ${parameterCount(model)}`].join("\n")
}

/**
 * Inference: the model's output for `x` with dropout off (`training: false`), computed `batchSize`
 * examples at a time (default: all at once) and concatenated along the batch axis. The output is what
 * `model.apply` gives (probabilities when the model ends with a softmax), or with `{ logits: true }` what
 * `model.logits` gives (a final softmax left out; a `LogitsError` when it cannot be). A model with batch
 * normalisation needs `{ state }` (its running statistics). Also a method, `model.predict(params, x, options)`.
 *
 * @example
 * ```ts
 * import { Effect, Random } from "effect"
 *
 * declare const images: Tensor.Tensor<readonly [number, 28, 28, 1]>
 * const model = Reference.mnistCnn
 * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
 * const probabilities = Model.predict(model, params, images, { batchSize: 256 }) // Tensor<readonly [number, 10]>
 * const classes = Tensor.argmax(probabilities, { axis: -1 })
 * ```
 */
export const predict = <
  In extends Shape,
  Out extends Shape,
  P extends ReadonlyArray<Pytree.Pytree>,
  D extends DType,
  N extends number
>(
  model: Model<In, Out, P, D, N>,
  params: NoInfer<P>,
  x: Tensor.Tensor<In, NoInfer<D>>,
  options?: PredictOptions
): Tensor.Tensor<Out, D> => model.predict(params, x, options)
