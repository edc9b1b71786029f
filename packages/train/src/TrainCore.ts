/**
 * Training as an `Effect`: epochs over a `Stream` of batches, validation after each epoch, progress
 * through the `Progress` service, atomic checkpoints (safetensors) with the training curve and metrics
 * next to them, resume from a checkpoint, and a clean stop on interruption (Ctrl-C) after the current step.
 *
 * What is minimised and reported is the caller's: a `loss` of the model's output and the targets (softmax
 * cross-entropy from logits by default), named `metrics` averaged over each epoch, a learning-rate
 * `Schedule` per step or per epoch, `earlyStopping` on the validation loss, and an `onEpoch` hook (an
 * `Effect`) that sees each epoch's metrics. Data is a classification `Dataset` of `@typegrad/data` or
 * `Examples` (inputs with any targets: regression, several heads). `fit(model, data, options)` checks the
 * data's shapes against the model's at compile time; dims known only at run time are checked when `fit`
 * starts, with the same message (`DataShapeError`).
 *
 * Reproducibility: the shuffling of epoch `e` runs under `Random.withSeed(seed, e)` and the dropout
 * masks of step `s` are drawn from `(seed, s)`, so a run is a function of its seed, and a resumed run
 * continues exactly where the checkpoint left it.
 *
 * This module imports nothing from Node: a browser or a Web Worker trains with its `fit` (everything but
 * the checkpoint directory: `directory` and `resume` need a file system, and fail with `CheckpointError`
 * here; save the returned parameters with `ParamsCore.toBytes`). `Train` re-exports everything here, with
 * a `fit` that writes and resumes checkpoint directories through `node:fs`; `fitWith` takes any other
 * file system.
 *
 * @example
 * ```ts
 * import * as TrainCore from "@typegrad/train/TrainCore"
 * declare const train: Dataset.Dataset<readonly [28, 28, 1], 10>
 * const program = TrainCore.fit(Reference.mnistCnn, train, {
 *   optimizer: Optimizer.adam({ learningRate: 1e-3 }),
 *   epochs: 1,
 *   batchSize: 32,
 *   seed: 1
 * })
 * ```
 *
 * @since 0.1.0
 */
import { valueAndGradAux } from "@typegrad/autodiff"
import * as Dataset from "@typegrad/data/Dataset"
import { Loss, Metric, type Model, Seed } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Pytree, type ShapeError, Tensor } from "@typegrad/tensor"
import { Data, Effect, Random, Result, Stream } from "effect"
import * as Examples from "./Examples.ts"
import { decodeMetadata } from "./internal/checkpoint.ts"
import { dataDifferences, type DataFingerprint, dataFingerprint, optimizerProbe } from "./internal/fingerprint.ts"
import { loosen } from "./internal/loosen.ts"
import * as Params from "./ParamsCore.ts"
import * as Plot from "./Plot.ts"
import { type EpochMetrics, Progress } from "./Progress.ts"
import * as Safetensors from "./SafetensorsCore.ts"

/**
 * The training loss became NaN or infinite. The parameters of the last good step are not saved over the
 * last checkpoint, which stays as it was.
 *
 * @example
 * ```ts
 * import { Console } from "effect"
 * declare const program: Effect.Effect<number, Train.NonFiniteLossError>
 * program.pipe(Effect.catchTag("NonFiniteLossError", (e) => Console.error(e.message)))
 * ```
 */
export class NonFiniteLossError extends Data.TaggedError("NonFiniteLossError")<{
  readonly epoch: number
  readonly step: number
  readonly loss: number
}> {
  override get message(): string {
    return `training stopped: the loss became ${this.loss} at epoch ${this.epoch}, step ${this.step}; ` +
      `lower the learning rate or check the data for NaN/inf (the last checkpoint is kept)`
  }
}

/**
 * The input or the targets of a dataset do not fit the model: found when `fit` starts, for dims that
 * are only known at run time (the same mismatches with known dims are compile errors, with the same
 * message).
 *
 * @example
 * ```ts
 * import { Console } from "effect"
 * declare const program: Effect.Effect<number, Train.DataShapeError>
 * program.pipe(Effect.catchTag("DataShapeError", (e) => Console.error(e.message)))
 * ```
 */
export class DataShapeError extends Data.TaggedError("DataShapeError")<{
  readonly reason: string
}> {
  override get message(): string {
    return this.reason
  }
}

/**
 * What the loop needs of a model: its initial parameters and its forward pass. Every `Model` of
 * `@typegrad/nn` is one. `inputShape` and `outputShape` (batch as -1), when given, are checked against
 * the data when training starts; `apply` is needed for `lossOn: "output"`.
 *
 * @example
 * ```ts
 * const identity: Train.Trainable<readonly []> = { init: Effect.succeed([] as const), logits: (_, x) => x }
 * ```
 */
export interface Trainable<P> {
  readonly init: Effect.Effect<P>
  logits(params: P, x: Tensor.AnyTensor, options?: Model.ApplyOptions): Tensor.AnyTensor
  apply?(params: P, x: Tensor.AnyTensor, options?: Model.ApplyOptions): Tensor.AnyTensor
  /**
   * The initial model state (batch normalisation's running statistics). When it has entries the loop
   * trains with `applyWithState`, threads the state from step to step, evaluates with it, checkpoints it
   * (`state.<path>`) and returns it as `modelState`.
   */
  readonly initState?: Model.State
  applyWithState?(
    params: P,
    state: Model.State,
    x: Tensor.AnyTensor,
    options?: Model.StateOptions
  ): readonly [Tensor.AnyTensor, Model.State]
  readonly inputShape?: ReadonlyArray<number>
  readonly outputShape?: ReadonlyArray<number>
}

/**
 * A loss: a scalar tensor from the model's output (or logits) and a batch's targets, differentiable with
 * `@typegrad/autodiff`. `Loss.softmaxCrossEntropy` and `Loss.meanSquaredError` of `@typegrad/nn` are ones.
 *
 * @example
 * ```ts
 * const mse: Train.LossFn<Tensor.Tensor<readonly [number, 2]>, Tensor.Tensor<readonly [number, 2]>> = Loss.meanSquaredError
 * ```
 */
export type LossFn<O, T> = (output: O, target: T) => Tensor.Tensor<readonly [], Tensor.DType>

/**
 * A metric: a number from the model's output (or logits) and a batch's targets, the batch's mean. The
 * epoch's value is the mean over its examples (each batch weighted by its size).
 *
 * @example
 * ```ts
 * const mae: Train.MetricFn<Tensor.Tensor<readonly [number, 1]>, Tensor.Tensor<readonly [number, 1]>> = (y, t) =>
 *   Tensor.item(Tensor.mean(Tensor.abs(Tensor.sub(y, t))))
 * ```
 */
export type MetricFn<O, T> = (output: O, target: T) => number

/**
 * A loss or metric as the untyped `fit(config)` takes it: a method's parameters are compared both ways,
 * so a function typed for specific shapes fits where only `Tensor.AnyTensor` is known (the run-time
 * check of the data against the model stands for the static one).
 *
 * @example
 * ```ts
 * const loss: Train.Loose<Tensor.Tensor<readonly [], Tensor.DType>> = Loss.meanSquaredError
 * ```
 */
export type Loose<A> = {
  bivarianceHack(output: Tensor.AnyTensor, target: Pytree.Pytree): A
}["bivarianceHack"]

/**
 * A learning rate per epoch: `rate(epoch)` (epochs count from 1) for every step of that epoch.
 *
 * @example
 * ```ts
 * const decay: Train.PerEpoch = Train.perEpoch((epoch) => 1e-3 * 0.7 ** (epoch - 1))
 * ```
 */
export interface PerEpoch {
  readonly _tag: "PerEpoch"
  readonly rate: (epoch: number) => number
}

/**
 * A learning-rate schedule: a constant, a function of the step (1 for the first update, counted over the
 * whole run), or {@link perEpoch}. Resumed runs continue it, since it depends only on the step.
 *
 * @example
 * ```ts
 * const warmup: Train.Schedule = (step) => 1e-3 * Math.min(1, step / 100)
 * ```
 */
export type Schedule = Optimizer.LearningRate | PerEpoch

/**
 * A learning rate that is `rate(epoch)` during epoch `epoch` (from 1), as `--lr-decay` uses it.
 *
 * @example
 * ```ts
 * const options = { learningRate: Train.perEpoch((epoch) => 1e-3 * 0.7 ** (epoch - 1)), optimizer: (learningRate: Optimizer.LearningRate) => Optimizer.adam({ learningRate }) }
 * ```
 */
export const perEpoch = (rate: (epoch: number) => number): PerEpoch => ({ _tag: "PerEpoch", rate })

/**
 * The learning rate of each step for a schedule, given the steps per epoch.
 *
 * @example
 * ```ts
 * const lr = Train.learningRateOf(Train.perEpoch((e) => 0.1 / e), 10) // (step) => 0.1 / epoch of step
 * ```
 */
export const learningRateOf = (schedule: Schedule, stepsPerEpoch: number): Optimizer.LearningRate =>
  typeof schedule === "number" || typeof schedule === "function"
    ? schedule
    : (step: number) => schedule.rate(Math.floor((step - 1) / stepsPerEpoch) + 1)

/**
 * Stop when the monitored loss has not improved by more than `minDelta` for `patience` epochs in a row
 * (Keras' `EarlyStopping`). It monitors `"validationLoss"` (the default; needs validation data) or the
 * training `"loss"`.
 *
 * @example
 * ```ts
 * const earlyStopping: Train.EarlyStopping = { patience: 3, minDelta: 1e-4 }
 * ```
 */
export interface EarlyStopping {
  readonly patience: number
  readonly minDelta?: number | undefined
  readonly monitor?: "validationLoss" | "loss" | undefined
}

/**
 * Why training stopped before its last epoch.
 *
 * @example
 * ```ts
 * declare const result: Train.FitResult<readonly []>
 * if (result.stopped !== undefined) console.log(result.stopped.message)
 * ```
 */
export interface Stopped {
  readonly reason: "earlyStopping"
  /** The last epoch trained. */
  readonly epoch: number
  /** The epoch with the best monitored value, and that value. */
  readonly bestEpoch: number
  readonly best: number
  readonly message: string
}

/**
 * What the per-epoch hook sees besides the epoch's metrics.
 *
 * @example
 * ```ts
 * import { Console } from "effect"
 * const onEpoch = (m: Progress.EpochMetrics, c: Train.EpochContext<unknown>) => Console.log(`${m.epoch}/${c.epochs}`)
 * ```
 */
export interface EpochContext<P> {
  readonly epochs: number
  readonly history: ReadonlyArray<EpochMetrics>
  readonly params: P
  /** The model state after the epoch (batch normalisation's running statistics; `{}` for a model without). */
  readonly modelState: Model.State
  /** Set when this epoch made early stopping stop the run. */
  readonly stopped: Stopped | undefined
}

/**
 * How to train, besides the model and the training data: everything `fit(model, data, options)` takes.
 * `O` is the model's output type, `T` a batch's targets, `Data` the data's type (for `validation`).
 *
 * @example
 * ```ts
 * import type { Examples } from "@typegrad/train"
 * const options: Train.FitOptions<unknown, Tensor.AnyTensor, Tensor.AnyTensor, Examples.Any> = {
 *   optimizer: Optimizer.adam({ learningRate: 1e-2 }), epochs: 5, batchSize: 32, seed: 1, loss: Loss.meanSquaredError
 * }
 * ```
 */
export interface FitOptions<P, O, T, Data, E = never, R = never> {
  /** An optimizer, or (with `learningRate`) a function that makes one from the schedule's learning rate. */
  readonly optimizer: Optimizer.Optimizer | ((learningRate: Optimizer.LearningRate) => Optimizer.Optimizer)
  /** A learning-rate schedule, given to `optimizer` (which must then be a function). */
  readonly learningRate?: Schedule | undefined
  readonly validation?: Data | undefined
  readonly epochs: number
  readonly batchSize: number
  readonly seed: number
  /** The loss (default: softmax cross-entropy from logits, with one-hot targets). */
  readonly loss?: LossFn<O, T> | undefined
  /** What `loss` and `metrics` get: `model.logits` (the default) or `model.apply` (`"output"`). */
  readonly lossOn?: "logits" | "output" | undefined
  /**
   * Named metrics, averaged over each epoch's training batches and over the validation data. The default
   * loss also reports accuracy; a loss of your own reports only these.
   */
  readonly metrics?: Readonly<Record<string, MetricFn<O, T>>> | undefined
  readonly earlyStopping?: EarlyStopping | undefined
  /**
   * Data augmentation: a pure function of a training batch's inputs and a seed, applied to every training
   * batch (never to validation data). The seed of global step `n` is `Seed.derive(seed, 2_000_000 + n)`,
   * so a run, and a resumed run, augments the same way every time (e.g. `Augment.randomCropFlip` from
   * `@typegrad/data`).
   */
  readonly augment?: ((inputs: Tensor.AnyTensor, seed: number) => Tensor.AnyTensor) | undefined
  /** Runs after each epoch (after its checkpoint is written): log, write, send. Its failure fails `fit`. */
  readonly onEpoch?: ((metrics: EpochMetrics, context: EpochContext<P>) => Effect.Effect<unknown, E, R>) | undefined
  /** Where to write `model.safetensors`, `metrics.json` and `training.svg` after each epoch. */
  readonly directory?: string | undefined
  /**
   * A checkpoint file (or a directory holding `model.safetensors`) to resume from. It must continue the same
   * run: a checkpoint of another model or optimizer, of other training data, with another batch size, seed
   * or optimizer settings in the middle of an epoch, or with damaged metadata or NaN/infinite weights fails
   * with `CheckpointError` naming the difference (docs/guide-models.md, "The training loop as an Effect").
   */
  readonly resume?: string | undefined
  /** A title for the plot. */
  readonly title?: string | undefined
  /** Extra metadata stored in the checkpoint and metrics file. */
  readonly config?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What to train and how, in one object (the untyped form of {@link fit}: shapes are checked at run time).
 *
 * @example
 * ```ts
 * declare const model: Train.Trainable<readonly []>
 * declare const train: Train.AnyDataset
 * const config: Train.FitConfig<readonly []> = { model, train, optimizer: Optimizer.sgd({ learningRate: 0.1 }), epochs: 1, batchSize: 8, seed: 1 }
 * ```
 */
export interface FitConfig<P extends ReadonlyArray<Pytree.Pytree>, E = never, R = never>
  extends FitOptions<P, Tensor.AnyTensor, Pytree.Pytree, AnyData, E, R>
{
  readonly model: Trainable<P>
  readonly train: AnyData
  readonly loss?: Loose<Tensor.Tensor<readonly [], Tensor.DType>> | undefined
  readonly metrics?: Readonly<Record<string, Loose<number>>> | undefined
}

/**
 * What training produced.
 *
 * @example
 * ```ts
 * declare const result: Train.FitResult<readonly []>
 * const { params, history, completedEpochs, stopped } = result
 * ```
 */
export interface FitResult<P> {
  readonly params: P
  readonly optimizerState: Optimizer.State<Pytree.Pytree>
  /** The model state after training (batch normalisation's running statistics; `{}` for a model without). */
  readonly modelState: Model.State
  readonly history: ReadonlyArray<EpochMetrics>
  /** The epochs done (fewer than asked when early stopping stopped the run). */
  readonly completedEpochs: number
  /** Why the run stopped early, if it did. */
  readonly stopped: Stopped | undefined
}

/** Loss and accuracy of a model on a dataset (no dropout). */
export interface Evaluation {
  readonly loss: number
  readonly accuracy: number
  readonly count: number
}

/** A dataset of any item shape, class count and dtype. */
export type AnyDataset = Dataset.Dataset<ReadonlyArray<number>, number, Tensor.DType>

/**
 * Training data: a classification `Dataset` (one-hot targets) or `Examples` (any targets).
 *
 * @example
 * ```ts
 * declare const data: Train.AnyData
 * data.count // number
 * ```
 */
export type AnyData = AnyDataset | Examples.Any

type Logits = Tensor.Tensor<readonly [number, number], Tensor.DType>

// ---------------------------------------------------------------------------------------------------
// compile-time checks of the data against the model

/**
 * A shape as the messages write it: `[number, 28, 28, 1]` (as `Shape.Show` of `@typegrad/shape` does; the
 * run-time twin is `showDims`).
 */
type Show<S extends Tensor.Shape> = number extends S["length"] ? "[...]" : `[${ShowDims<S>}]`
type ShowDims<S extends Tensor.Shape> = S extends readonly [infer H extends number, ...infer R extends Tensor.Shape]
  ? R extends readonly [] ? DimString<H> : `${DimString<H>}, ${ShowDims<R>}`
  : ""
type DimString<D extends number> = number extends D ? "number" : `${D}`

/** True when two shapes can be equal: same rank, equal dims where both are known. */
type DimsFit<A extends Tensor.Shape, B extends Tensor.Shape> = number extends A["length"] ? true
  : number extends B["length"] ? true
  : A extends readonly [infer a extends number, ...infer ar extends Tensor.Shape]
    ? B extends readonly [infer b extends number, ...infer br extends Tensor.Shape]
      ? number extends a ? DimsFit<ar, br> : number extends b ? DimsFit<ar, br> : a extends b ? DimsFit<ar, br> : false
    : false
  : B extends readonly [] ? true
  : false

/**
 * The input shape `[batch, ...item]` of a dataset's examples.
 *
 * @example
 * ```ts
 * type X = Train.InputOf<Dataset.Dataset<readonly [784], 10>> // readonly [number, 784]
 * ```
 */
export type InputOf<Data> = Data extends Dataset.Dataset<infer Item, number, Tensor.DType> ? readonly [number, ...Item]
  : Data extends Examples.Examples<infer X, Pytree.Pytree, Tensor.DType> ? readonly [number, ...X]
  : never

/**
 * The targets of a batch: one-hot `[batch, classes]` for a `Dataset`, the targets' type for `Examples`.
 *
 * @example
 * ```ts
 * type T = Train.TargetOf<Dataset.Dataset<readonly [784], 10>> // Tensor<readonly [number, 10]>
 * ```
 */
export type TargetOf<Data> = Data extends Dataset.Dataset<Tensor.Shape, infer K, infer D>
  ? Tensor.Tensor<readonly [number, K], D>
  : Data extends Examples.Examples<Tensor.Shape, infer T, Tensor.DType> ? T
  : never

type InputCheck<In extends Tensor.Shape, X extends Tensor.Shape> = DimsFit<X, In> extends true ? unknown
  : ShapeError<`Train.fit: the data's inputs are ${Show<X>} but the model's input is ${Show<In>}`>

type TargetCheck<Out extends Tensor.Shape, T> = T extends Tensor.Tensor<infer S, Tensor.DType>
  ? DimsFit<S, Out> extends true ? unknown
  : ShapeError<
    `Train.fit: the targets are ${Show<S>} but the model's output is ${Show<
      Out
    >} (the default loss, softmax cross-entropy, needs the output's shape)`
  >
  : ShapeError<
    "Train.fit: the default loss (softmax cross-entropy) needs one target tensor; give a loss for a pytree of targets"
  >

/**
 * `unknown` when `Data` fits model `M` (its inputs; its targets too unless `Opt` has a `loss`), else a
 * `ShapeError` whose message says what does not fit: intersected into `fit`'s data parameter.
 *
 * @example
 * ```ts
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
 * type C = Train.FitCheck<typeof model, Dataset.Dataset<readonly [784], 10>, {}> // ShapeError<"Train.fit: ...">
 * ```
 */
export type FitCheck<M, Data, Opt> = M extends
  Model.Model<infer In, infer Out, ReadonlyArray<Pytree.Pytree>, Tensor.DType, number>
  ? InputCheck<In, InputOf<Data>> extends infer C ? unknown extends C ? "loss" extends keyof Opt ? unknown
      : TargetCheck<Out, TargetOf<Data>>
    : C
  : never
  : unknown

/**
 * The options `fit(model, data, options)` accepts for model `M` and data `Data`.
 *
 * @example
 * ```ts
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
 * declare const options: Train.OptionsFor<typeof model, Dataset.Dataset<readonly [28, 28, 1], 10>>
 * ```
 */
export type OptionsFor<M, Data, E = never, R = never> = M extends
  Model.Model<Tensor.Shape, infer Out, infer P, infer D, number> ?
  FitOptions<P, Tensor.Tensor<Out, D>, TargetOf<Data>, Data, E, R>
  : never

type ErrorOf<Opt> = Opt extends { readonly onEpoch?: infer H } ? H extends (
    ...args: ReadonlyArray<never>
  ) => Effect.Effect<unknown, infer E, unknown> ? E
  : never
  : never
type ContextOf<Opt> = Opt extends { readonly onEpoch?: infer H } ? H extends (
    ...args: ReadonlyArray<never>
  ) => Effect.Effect<unknown, unknown, infer R> ? R
  : never
  : never

// ---------------------------------------------------------------------------------------------------
// data and objective, at run time

/** One step's batch, whatever the data. */
interface StepBatch {
  readonly x: Tensor.AnyTensor
  readonly target: Pytree.Pytree
  /** Class indices (classification datasets): what accuracy compares with. */
  readonly classes: Tensor.AnyTensor | undefined
  readonly size: number
}

const batchesOf = (data: AnyData, batchSize: number, shuffle: boolean): Stream.Stream<StepBatch> =>
  Examples.isExamples(data)
    ? Stream.map(Examples.batches(data, { batchSize, shuffle }), (b) => ({
      x: b.inputs,
      target: b.targets,
      classes: undefined,
      size: b.size
    }))
    : Stream.map(Dataset.batches(data, { batchSize, shuffle }), (b) => ({
      x: b.images,
      target: b.labels,
      classes: b.classes,
      size: b.size
    }))

const inputsOf = (data: AnyData): Tensor.AnyTensor => (Examples.isExamples(data) ? data.inputs : data.images)

/** What is minimised and measured. */
interface Objective {
  readonly loss: (output: Tensor.AnyTensor, target: Pytree.Pytree) => Tensor.Tensor<readonly [], Tensor.DType>
  readonly onLogits: boolean
  /** The default loss: accuracy is reported too. */
  readonly accuracy: boolean
  readonly metrics: ReadonlyArray<readonly [string, (output: Tensor.AnyTensor, target: Pytree.Pytree) => number]>
}

const defaultObjective: Objective = {
  loss: (z, t) => Loss.softmaxCrossEntropy(z as Logits, t as Logits),
  onLogits: true,
  accuracy: true,
  metrics: []
}

const objectiveOf = <P extends ReadonlyArray<Pytree.Pytree>, E, R>(config: FitConfig<P, E, R>): Objective => ({
  loss: config.loss === undefined ? defaultObjective.loss : loosen(config.loss),
  onLogits: config.lossOn !== "output",
  accuracy: config.loss === undefined,
  metrics: Object.entries(config.metrics ?? {}).map(([name, f]) => [name, loosen(f)] as const)
})

const showDims = (shape: ReadonlyArray<number>): string => `[${shape.map((d) => (d < 0 ? "number" : d)).join(", ")}]`
const dimsFit = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((d, i) => d < 0 || b[i]! < 0 || d === b[i])

/** The run-time twin of {@link FitCheck}: the reason `data` does not fit `model`, with the same message. */
const dataMismatch = (model: Trainable<unknown>, data: AnyData, objective: Objective): string | undefined => {
  const x = [-1, ...inputsOf(data).shape.slice(1)]
  if (model.inputShape !== undefined && !dimsFit(x, model.inputShape)) {
    return `Train.fit: the data's inputs are ${showDims(x)} but the model's input is ${showDims(model.inputShape)}`
  }
  if (!objective.accuracy || model.outputShape === undefined) return undefined
  const out = model.outputShape
  let t: ReadonlyArray<number>
  if (Examples.isExamples(data)) {
    if (!Tensor.isTensor(data.targets)) {
      return "Train.fit: the default loss (softmax cross-entropy) needs one target tensor; give a loss for a pytree of targets"
    }
    t = [-1, ...data.targets.shape.slice(1)]
  } else {
    t = [-1, data.numClasses]
  }
  return dimsFit(t, out) ?
    undefined :
    `Train.fit: the targets are ${showDims(t)} but the model's output is ${
      showDims(out)
    } (the default loss, softmax cross-entropy, needs the output's shape)`
}

interface Assessment {
  readonly loss: number
  readonly accuracy: number | undefined
  readonly metrics: Readonly<Record<string, number>>
  readonly count: number
}

/**
 * Examples per batch when evaluating (`evaluate`'s default, and `fit`'s validation). Larger batches are no
 * faster on the kernels (inference is measured at 256) but hold more memory at once: the reference CNN's
 * activations take about 140 MB at 1,000 examples against 36 MB at 256, which is what the main job's peak
 * memory was made of.
 */
const EVAL_BATCH = 256

const assess = <P>(
  model: Trainable<P>,
  params: P,
  data: AnyData,
  objective: Objective,
  batchSize: number,
  state?: Model.State
): Effect.Effect<Assessment> =>
  Effect.gen(function*() {
    let loss = 0
    let correct = 0
    let count = 0
    const sums = objective.metrics.map(() => 0)
    const forward = forwardOf(model, objective)
    yield* Stream.runForEach(batchesOf(data, batchSize, false), (batch) =>
      Effect.sync(() => {
        const z = forward(params, batch.x, state === undefined ? undefined : { state })
        loss += Tensor.item(objective.loss(z, batch.target)) * batch.size
        if (objective.accuracy) correct += Metric.correct(z as Logits, (batch.classes ?? batch.target) as Logits)
        objective.metrics.forEach(([, f], k) => (sums[k]! += f(z, batch.target) * batch.size))
        count += batch.size
        // A turn of the event loop between batches, as in training: the memory of the batch's activations
        // comes back before the next one (see `yieldToEventLoop`).
      }).pipe(Effect.andThen(yieldToEventLoop)))
    return {
      loss: count === 0 ? NaN : loss / count,
      accuracy: objective.accuracy ? (count === 0 ? NaN : correct / count) : undefined,
      metrics: Object.fromEntries(objective.metrics.map(([name], k) => [name, count === 0 ? NaN : sums[k]! / count])),
      count
    }
  })

const forwardOf = <P>(model: Trainable<P>, objective: Objective) => {
  if (objective.onLogits) {
    return (p: P, x: Tensor.AnyTensor, options: Model.ApplyOptions | undefined) => model.logits(p, x, options)
  }
  const apply = model.apply
  if (apply === undefined) throw new TypeError(`fit: lossOn "output" needs a model with apply; use lossOn "logits"`)
  return (p: P, x: Tensor.AnyTensor, options: Model.ApplyOptions | undefined) => apply.call(model, p, x, options)
}

/**
 * Evaluates a classifier on a dataset in batches (no dropout; 256 examples by default): softmax cross-entropy
 * and accuracy. A model with batch normalisation needs its `state` (`FitResult.modelState`).
 *
 * @example
 * ```ts
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
 * declare const params: Model.ParamsOf<typeof model>
 * declare const testSet: Dataset.Dataset<readonly [28, 28, 1], 10>
 * const accuracy = Effect.map(Train.evaluate(model, params, testSet), (e) => e.accuracy)
 * ```
 */
export const evaluate = <P extends ReadonlyArray<Pytree.Pytree>>(
  model: Trainable<P>,
  params: P,
  dataset: AnyDataset,
  batchSize = EVAL_BATCH,
  state?: Model.State
): Effect.Effect<Evaluation> =>
  Effect.map(assess(model, params, dataset, defaultObjective, batchSize, state), (a) => ({
    loss: a.loss,
    accuracy: a.accuracy ?? NaN,
    count: a.count
  }))

/**
 * The early-stopping decision after the epochs of `history`: a pure function of the history, so a
 * resumed run decides exactly as an uninterrupted one.
 *
 * @example
 * ```ts
 * declare const result: Train.FitResult<readonly []>
 * Train.earlyStop(result.history, { patience: 2 }) // Stopped | undefined
 * ```
 */
export const earlyStop = (history: ReadonlyArray<EpochMetrics>, rule: EarlyStopping): Stopped | undefined => {
  const monitor = rule.monitor ?? "validationLoss"
  const minDelta = rule.minDelta ?? 0
  let best = Infinity
  let bestEpoch = 0
  let wait = 0
  for (const m of history) {
    const v = monitor === "loss" ? m.loss : m.validationLoss
    if (v !== undefined && v < best - minDelta) {
      best = v
      bestEpoch = m.epoch
      wait = 0
    } else {
      wait++
    }
    if (wait >= rule.patience) {
      const what = monitor === "loss" ? "training loss" : "validation loss"
      return {
        reason: "earlyStopping",
        epoch: m.epoch,
        bestEpoch,
        best,
        message:
          `early stopping after epoch ${m.epoch}: the ${what} has not improved by more than ${minDelta} for ${wait} epoch(s) (best ${best} at epoch ${bestEpoch})`
      }
    }
  }
  return undefined
}

const CHECKPOINT = "model.safetensors"

/**
 * The file system `fitWith` writes checkpoint directories to and resumes from: `Train.fit` uses Node's
 * (`node:fs`, atomic writes); another runtime can bring its own (a browser's Origin Private File System,
 * an in-memory map in a test). Paths are the caller's strings; `join` and `resolve` give them meaning.
 *
 * @example
 * ```ts
 * const written = new Map<string, Uint8Array>()
 * const memory: TrainCore.Files = {
 *   join: (directory, name) => `${directory}/${name}`,
 *   resolve: (file) => file,
 *   checkpointFile: (p) => Effect.succeed(p.endsWith(".safetensors") ? p : `${p}/model.safetensors`),
 *   makeDirectory: () => Effect.void,
 *   writeFile: (file, bytes) => Effect.sync(() => void written.set(file, bytes)),
 *   readCheckpoint: (file) => {
 *     const bytes = written.get(file)
 *     return bytes === undefined
 *       ? Effect.fail(new Safetensors.CheckpointError({ path: file, reason: "no such file" }))
 *       : Effect.fromResult(Safetensors.decode(bytes, file))
 *   }
 * }
 * const fit = TrainCore.fitWith(memory)
 * ```
 */
export interface Files {
  /** `directory/name`. */
  readonly join: (directory: string, name: string) => string
  /** An absolute, normalised form of `file` (two names of one file compare equal). */
  readonly resolve: (file: string) => string
  /** The checkpoint file `p` names: a directory stands for its `model.safetensors`. */
  readonly checkpointFile: (p: string) => Effect.Effect<string>
  /** Creates `directory` (and its parents) when missing. */
  readonly makeDirectory: (directory: string) => Effect.Effect<void, Safetensors.CheckpointError>
  /** Writes `bytes` to `file`, atomically (a crash leaves the previous file intact). */
  readonly writeFile: (file: string, bytes: Uint8Array) => Effect.Effect<void, Safetensors.CheckpointError>
  /** Reads and decodes the safetensors file `file` (`Safetensors.read` on Node). */
  readonly readCheckpoint: (file: string) => Effect.Effect<Safetensors.Contents, Safetensors.CheckpointError>
}

const FORMAT = "typegrad-checkpoint/1"

interface Snapshot {
  /** The run's batch size and seed (set on restore; they decide the order of the batches). */
  readonly batchSize?: number
  readonly seed?: number
  /**
   * What the checkpoint recorded of the training data and the optimizer's settings (set on restore;
   * `undefined` in checkpoints written before they were recorded).
   */
  readonly data?: DataFingerprint | undefined
  readonly optimizerProbe?: ReadonlyArray<number | null> | undefined
  readonly params: ReadonlyArray<Pytree.Pytree>
  readonly state: Optimizer.State<Pytree.Pytree>
  /** The model state (batch normalisation's running statistics; `{}` for a model without). */
  readonly modelState: Model.State
  /** Epochs fully done. */
  readonly epochsDone: number
  /** Steps done in the epoch after `epochsDone` (an interrupted epoch). */
  readonly stepInEpoch: number
  readonly globalStep: number
  readonly running: Running
  readonly history: ReadonlyArray<EpochMetrics>
}

/** The sums of an epoch so far. */
interface Running {
  readonly loss: number
  readonly correct: number
  readonly seen: number
  /** Size-weighted sums of the user's metrics (absent when there are none). */
  readonly metrics?: ReadonlyArray<number>
}

/** Writes the checkpoint, metrics and plot of a snapshot into `directory` (each file atomically). */
const save = (
  files: Files,
  directory: string,
  snap: Snapshot,
  config: {
    readonly seed: number
    readonly batchSize: number
    readonly title?: string | undefined
    readonly config?: Readonly<Record<string, unknown>> | undefined
  },
  optimizer: Optimizer.Optimizer,
  stopped: Stopped | undefined,
  data: DataFingerprint
): Effect.Effect<void, Safetensors.CheckpointError> =>
  Effect.gen(function*() {
    yield* files.makeDirectory(directory)
    const tensors: Array<readonly [string, Tensor.AnyTensor]> = [
      ...Pytree.paths(snap.params).map(([p, t]) => [`params.${p}`, t] as const),
      ...snap.state.slots.flatMap((slot, k) => Pytree.paths(slot).map(([p, t]) => [`optimizer.${k}.${p}`, t] as const)),
      ...Pytree.paths(snap.modelState).map(([p, t]) => [`state.${p}`, t] as const)
    ]
    const probe = optimizerProbe(optimizer, snap.state.step)
    const metadata = {
      format: FORMAT,
      epochsDone: String(snap.epochsDone),
      stepInEpoch: String(snap.stepInEpoch),
      globalStep: String(snap.globalStep),
      optimizer: optimizer.name,
      optimizerStep: String(snap.state.step),
      running: JSON.stringify(snap.running),
      history: JSON.stringify(snap.history),
      seed: String(config.seed),
      batchSize: String(config.batchSize),
      config: JSON.stringify(config.config ?? {}),
      // what a resume compares besides the model, batch size and seed (see `resumeDifferences`)
      data: JSON.stringify(data),
      ...(probe === undefined ? {} : { optimizerProbe: JSON.stringify(probe) })
    }
    const file = files.join(directory, CHECKPOINT)
    const bytes = yield* Effect.try({
      try: () => Safetensors.encode(tensors, metadata),
      catch: (cause) =>
        new Safetensors.CheckpointError({
          path: file,
          reason: `cannot be written: ${
            cause instanceof Error ? cause.message : String(cause)
          }; nothing was written (a previous file is intact)`,
          cause
        })
    })
    yield* files.writeFile(file, bytes)
    const metrics = { ...config.config, epochs: snap.history, ...(stopped === undefined ? {} : { stopped }) }
    yield* files.writeFile(
      files.join(directory, "metrics.json"),
      new TextEncoder().encode(JSON.stringify(metrics, null, 2) + "\n")
    )
    yield* files.writeFile(
      files.join(directory, "training.svg"),
      new TextEncoder().encode(Plot.trainingCurves(snap.history, config.title))
    )
  })

/**
 * How this run's batch size, seed and optimizer settings differ from the checkpoint's, as phrases (empty:
 * the same). The optimizer's settings are compared through its probe at the checkpoint's step.
 */
const recipeDifferences = (
  restored: Snapshot,
  config: { readonly batchSize: number; readonly seed: number },
  optimizer: Optimizer.Optimizer
): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (restored.batchSize !== config.batchSize) {
    out.push(`it ran with batch size ${restored.batchSize}, this run with ${config.batchSize}`)
  }
  if (restored.seed !== config.seed) out.push(`it ran with seed ${restored.seed}, this run with ${config.seed}`)
  if (restored.optimizerProbe !== undefined) {
    const probe = optimizerProbe(optimizer, restored.state.step)
    if (probe !== undefined && JSON.stringify(probe) !== JSON.stringify(restored.optimizerProbe)) {
      out.push(
        `the ${optimizer.name} optimizer's settings differ (its update for step ${
          restored.state.step + 1
        } is not the same: another learning rate or schedule, or other betas, momentum or epsilon)`
      )
    }
  }
  return out
}

/** A mismatch found by `Params.fromContents`, in the words of a resume (shapes only: dtypes are converted). */
const resumeMismatch = (m: Params.Mismatch): string => {
  switch (m.kind) {
    case "missing":
      return `tensor ${m.tensor} is missing`
    case "extra":
      return `it holds tensor ${m.tensor}, which the model does not have`
    case "dtype":
      return `tensor ${m.tensor} is ${m.found.dtype} but the model is ${m.expected.dtype}`
    case "shape":
      return `tensor ${m.tensor} has shape [${m.found.shape.join(", ")}] but the model needs [${
        m.expected.shape.join(", ")
      }]`
  }
}

/** Restores a snapshot from a checkpoint, checking every tensor against the model's parameters. */
const restore = (
  files: Files,
  file: string,
  template: ReadonlyArray<Pytree.Pytree>,
  optimizer: Optimizer.Optimizer,
  initState: Model.State
): Effect.Effect<Snapshot, Safetensors.CheckpointError> =>
  Effect.gen(function*() {
    const { tensors, metadata } = yield* files.readCheckpoint(file)
    const fail = (reason: string) => Effect.fail(new Safetensors.CheckpointError({ path: file, reason }))
    if (metadata["format"] !== FORMAT) {
      return yield* fail(
        `not a typegrad training checkpoint (format ${
          JSON.stringify(metadata["format"] ?? null)
        }); resume needs a model.safetensors written by typegrad train`
      )
    }
    // Every field decoded and checked before anything is used: a wrong type or an impossible value names
    // the field (it used to be a TypeError, a NaN, or steps silently skipped).
    const decodedOrReason = decodeMetadata(metadata)
    if (Result.isFailure(decodedOrReason)) return yield* fail(decodedOrReason.failure)
    const decoded = decodedOrReason.success
    if (metadata["optimizer"] !== optimizer.name) {
      return yield* fail(
        `it was trained with the ${
          metadata["optimizer"]
        } optimizer, not ${optimizer.name}; resume with the same optimizer`
      )
    }
    /**
     * The tree of `tree`'s structure with each leaf read from the checkpoint under `prefix`, by
     * `Params.fromContents`: shapes checked, NaN and infinite values refused, a tensor of the other float
     * dtype converted (`cast: true`: a resume continues the model's own run, as it always has; loading for
     * inference with `Params.load` asks for the conversion explicitly).
     */
    const take = (prefix: string, tree: Pytree.Pytree) =>
      Params.fromContents({ tensors, metadata }, { init: Effect.succeed(tree) }, { prefix, cast: true, path: file })
        .pipe(
          Effect.map((loaded) => loaded.params),
          Effect.catchTag("ParamsMismatchError", (e) =>
            fail(`${resumeMismatch(e.mismatches[0]!)}; the checkpoint is from another model`))
        )
    const expected = new Set([
      ...Pytree.paths(template).map(([p]) =>
        `params.${p}`
      ),
      ...optimizer.init(template).slots.flatMap((slot, k) => Pytree.paths(slot).map(([p]) => `optimizer.${k}.${p}`)),
      ...Pytree.paths(initState).map(([p]) => `state.${p}`)
    ])
    const extra = [...tensors.keys()].filter((name) => !expected.has(name))
    if (extra.length > 0) {
      return yield* fail(
        `it holds ${extra.length} tensor(s) the model does not have (${extra.slice(0, 3).join(", ")}${
          extra.length > 3 ? ", ..." : ""
        }); the checkpoint is from another model`
      )
    }
    // Every tensor is a parameter or an optimizer slot of the model; `take` refuses NaN and infinite values
    // in them (a damaged checkpoint would otherwise fail later, with a NonFiniteLossError and the wrong advice).
    const params = yield* take("params.", template)
    const fresh = optimizer.init(template)
    const slots: Array<Pytree.Pytree> = []
    for (let k = 0; k < fresh.slots.length; k++) slots.push(yield* take(`optimizer.${k}.`, fresh.slots[k]!))
    const modelState = Object.keys(initState).length === 0
      ? initState
      : (yield* take("state.", initState)) as Model.State
    return {
      params: params as ReadonlyArray<Pytree.Pytree>,
      state: { step: decoded.optimizerStep, slots },
      modelState,
      epochsDone: decoded.epochsDone,
      stepInEpoch: decoded.stepInEpoch,
      globalStep: decoded.globalStep,
      running: decoded.running,
      history: decoded.history,
      batchSize: decoded.batchSize,
      seed: decoded.seed,
      data: decoded.data,
      optimizerProbe: decoded.optimizerProbe
    }
  })

/**
 * A step is one long synchronous computation; between steps the loop gives the event loop a turn so that
 * signals (Ctrl-C) and I/O are handled after the current step, not at the end of the epoch. A macrotask
 * (setImmediate) is needed: a microtask yield would not let the event loop poll for signals.
 */
const yieldToEventLoop: Effect.Effect<void> = Effect.callback<void>((resume) => {
  // Node's setImmediate; browsers and workers have no such function: a zero timeout is their macrotask.
  if (typeof globalThis.setImmediate === "function") {
    const handle = globalThis.setImmediate(() => resume(Effect.void))
    return Effect.sync(() => globalThis.clearImmediate(handle))
  }
  const handle = globalThis.setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => globalThis.clearTimeout(handle))
})

/**
 * The errors of `fit` itself (besides the `onEpoch` hook's).
 *
 * @example
 * ```ts
 * declare const e: Train.FitError
 * e._tag // "NonFiniteLossError" | "CheckpointError" | "DataShapeError"
 * ```
 */
export type FitError = NonFiniteLossError | Safetensors.CheckpointError | DataShapeError

/**
 * Trains a model. Succeeds with the final parameters and history; fails with `NonFiniteLossError`,
 * `CheckpointError`, `DataShapeError` (data that does not fit the model, found at run time) or the
 * `onEpoch` hook's error. Interrupting it (Ctrl-C in the CLI) stops after the current step and saves a
 * checkpoint that `resume` continues from.
 *
 * `fit(model, data, options)` checks at compile time that the data's inputs fit `model.inputShape` and,
 * with the default loss, that its targets fit the model's output; `options.loss` and `options.metrics`
 * are typed by the model's output and the data's targets. `fit(config)` takes everything in one object,
 * checked at run time only.
 *
 * @example
 * ```ts
 * declare const train: Dataset.Dataset<readonly [28, 28, 1], 10>
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
 * const program = Train.fit(model, train, { optimizer: Optimizer.adam(), epochs: 3, batchSize: 64, seed: 1 })
 *
 * declare const flat: Dataset.Dataset<readonly [784], 10>
 * // @ts-expect-error Train.fit: the data's inputs are [number, 784] but the model's input is [number, 28, 28, 1]
 * Train.fit(model, flat, { optimizer: Optimizer.adam(), epochs: 3, batchSize: 64, seed: 1 })
 * ```
 */
export const fit: Fit = fitWith(undefined)

/**
 * The type of `fit`: `fit(model, data, options)`, checked at compile time, or `fit(config)`.
 *
 * @example
 * ```ts
 * const fit: TrainCore.Fit = TrainCore.fit
 * ```
 */
export type Fit = {
  <
    M extends Model.AnyModel,
    Data extends AnyData,
    const Opt extends OptionsFor<M, Data, ErrorOf<Opt>, ContextOf<Opt>>
  >(
    model: M,
    data: Data & FitCheck<M, Data, Opt>,
    options: Opt
  ): Effect.Effect<FitResult<Model.ParamsOf<M>>, FitError | ErrorOf<Opt>, Progress | ContextOf<Opt>>
  <P extends ReadonlyArray<Pytree.Pytree>, E = never, R = never>(
    config: FitConfig<P, E, R>
  ): Effect.Effect<FitResult<P>, FitError | E, Progress | R>
}

/**
 * `fit` with checkpoint directories written to (and resumed from) `files`. `Train.fit` is
 * `fitWith(Node's file system)`; `TrainCore.fit` has none (`directory` and `resume` fail).
 *
 * @example
 * ```ts
 * declare const files: TrainCore.Files
 * declare const train: Dataset.Dataset<readonly [28, 28, 1], 10>
 * const program = TrainCore.fitWith(files)(Reference.mnistCnn, train, {
 *   optimizer: Optimizer.adam(),
 *   epochs: 1,
 *   batchSize: 32,
 *   seed: 1,
 *   directory: "runs/mnist"
 * })
 * ```
 */
export function fitWith(files: Files | undefined): Fit {
  return (<P extends ReadonlyArray<Pytree.Pytree>, E, R>(
    first: Trainable<P> | FitConfig<P, E, R>,
    data?: AnyData,
    options?: FitOptions<P, Tensor.AnyTensor, Pytree.Pytree, AnyData, E, R>
  ): Effect.Effect<FitResult<P>, FitError | E, Progress | R> =>
    run(
      data === undefined || options === undefined
        ? (first as FitConfig<P, E, R>)
        : { ...options, model: first as Trainable<P>, train: data },
      files
    )) as Fit
}

const run = <P extends ReadonlyArray<Pytree.Pytree>, E, R>(
  config: FitConfig<P, E, R>,
  maybeFiles: Files | undefined
): Effect.Effect<FitResult<P>, FitError | E, Progress | R> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const needsFiles = config.directory ?? config.resume
    if (maybeFiles === undefined && needsFiles !== undefined) {
      return yield* new Safetensors.CheckpointError({
        path: needsFiles,
        reason: "checkpoint directories (`directory`, `resume`) need a file system, and this fit has none " +
          "(TrainCore.fit imports nothing from Node); on Node use Train.fit of @typegrad/train, elsewhere " +
          "TrainCore.fitWith(files), or leave them out and save the returned params with ParamsCore.toBytes"
      })
    }
    // only read when a directory or resume is given, which the check above guarantees
    const files = maybeFiles as Files
    const model = config.model
    if (!Number.isInteger(config.epochs) || config.epochs < 1) {
      throw new RangeError(`fit: epochs must be a positive integer, got ${config.epochs}`)
    }
    if (!Number.isInteger(config.batchSize) || config.batchSize < 1) {
      throw new RangeError(`fit: batchSize must be a positive integer, got ${config.batchSize}`)
    }
    const early = config.earlyStopping
    if (early !== undefined) {
      if (!Number.isInteger(early.patience) || early.patience < 1) {
        throw new RangeError(`fit: earlyStopping.patience must be a positive integer, got ${early.patience}`)
      }
      if (early.minDelta !== undefined && !(early.minDelta >= 0)) {
        throw new RangeError(`fit: earlyStopping.minDelta must be a number >= 0, got ${early.minDelta}`)
      }
      if ((early.monitor ?? "validationLoss") === "validationLoss" && config.validation === undefined) {
        throw new RangeError(
          `fit: earlyStopping monitors the validation loss but no validation data was given; ` +
            `give validation data or monitor: "loss"`
        )
      }
    }
    const stepsPerEpoch = Math.ceil(config.train.count / config.batchSize)
    let optimizer: Optimizer.Optimizer
    if (typeof config.optimizer === "function") {
      if (config.learningRate === undefined) {
        throw new TypeError(
          "fit: optimizer is a function of the learning rate but no learningRate was given; give learningRate " +
            "(a number, a function of the step, or Train.perEpoch(...)) or an optimizer"
        )
      }
      optimizer = config.optimizer(learningRateOf(config.learningRate, stepsPerEpoch))
    } else {
      if (config.learningRate !== undefined) {
        throw new TypeError(
          "fit: learningRate needs optimizer to be a function of it, e.g. " +
            "optimizer: (learningRate) => Optimizer.adam({ learningRate })"
        )
      }
      optimizer = config.optimizer
    }
    const objective = objectiveOf(config)
    for (const data of config.validation === undefined ? [config.train] : [config.train, config.validation]) {
      const reason = dataMismatch(model, data, objective)
      if (reason !== undefined) return yield* Effect.fail(new DataShapeError({ reason }))
    }
    const forward = forwardOf(model, objective)
    const initState: Model.State = model.initState ?? {}
    const applyWithState = model.applyWithState
    // A model with state (batch normalisation) trains through `applyWithState`, which returns the next state.
    const stateful = Object.keys(initState).length > 0
    if (stateful && applyWithState === undefined) {
      throw new TypeError("fit: the model has initState entries but no applyWithState to thread them")
    }
    const template = yield* model.init.pipe(Random.withSeed(config.seed))
    const fingerprint = dataFingerprint(config.train)
    let snap: Snapshot
    if (config.resume !== undefined) {
      const file = yield* files.checkpointFile(config.resume)
      const restored = yield* restore(files, file, template as ReadonlyArray<Pytree.Pytree>, optimizer, initState)
      const refuse = (reason: string) => Effect.fail(new Safetensors.CheckpointError({ path: file, reason }))
      // The training data decides every remaining step and what the history describes: it must be the same
      // wherever the checkpoint stopped.
      const otherData = restored.data === undefined ? [] : dataDifferences(restored.data, fingerprint)
      if (otherData.length > 0) {
        return yield* refuse(
          `it was trained on other training data: ${otherData.join("; ")}; resume with the same training data ` +
            `(the same files, limit and validation split), or train from the start`
        )
      }
      // (with another batch size, a mid-epoch checkpoint is refused below for that reason)
      if (restored.batchSize === config.batchSize && restored.stepInEpoch > stepsPerEpoch) {
        return yield* refuse(
          `its metadata field stepInEpoch is ${restored.stepInEpoch}, past the end of the epoch: ` +
            `${config.train.count} examples in batches of ${config.batchSize} make ${stepsPerEpoch} steps; ` +
            `the file is corrupt or was written for other data; resume with the data it was trained on`
        )
      }
      const recipe = recipeDifferences(restored, config, optimizer)
      if (restored.stepInEpoch > 0 && recipe.length > 0) {
        return yield* refuse(
          `it stopped in the middle of epoch ${restored.epochsDone + 1}, and ${recipe.join("; ")}; ` +
            `resume with the same batch size and seed and the same optimizer settings to continue that epoch exactly`
        )
      }
      if (recipe.length > 0) {
        yield* progress.message(
          `resuming after epoch ${restored.epochsDone} with a changed recipe: ${recipe.join("; ")}`
        )
      }
      if (restored.data === undefined) {
        yield* progress.message(
          `the checkpoint predates the data and optimizer records of this version: the training data and the ` +
            `optimizer's settings were not checked (only the model, the optimizer's kind and, in the middle of ` +
            `an epoch, the batch size and seed)`
        )
      }
      snap = restored
      yield* progress.message(
        `resumed from ${config.resume}: ${snap.epochsDone} epoch(s) and ${snap.stepInEpoch} step(s) done`
      )
    } else {
      snap = {
        params: template as ReadonlyArray<Pytree.Pytree>,
        state: optimizer.init(template as Pytree.Pytree) as Optimizer.State<Pytree.Pytree>,
        modelState: initState,
        epochsDone: 0,
        stepInEpoch: 0,
        globalStep: 0,
        running: { loss: 0, correct: 0, seen: 0 },
        history: []
      }
    }
    // A run that early stopping ended stays ended: the decision is a function of the history.
    let stopped = early === undefined ? undefined : earlyStop(snap.history, early)
    if (stopped !== undefined) yield* progress.message(stopped.message)
    yield* progress.start({
      epochs: config.epochs,
      firstEpoch: snap.epochsDone + 1,
      stepsPerEpoch,
      samplesPerEpoch: config.train.count,
      batchSize: config.batchSize
    })
    const lossAndOutput = (p: P, x: Tensor.AnyTensor, target: Pytree.Pytree, seed: number, state: Model.State) => {
      const [z, next] = stateful
        ? applyWithState!.call(model, p, state, x, { training: true, seed, logits: objective.onLogits })
        : [forward(p, x, { training: true, seed }), state] as const
      return [objective.loss(z, target), [z, next] as const] as const
    }
    const step = valueAndGradAux(lossAndOutput)
    // `current` is the last good state: what an interruption saves.
    let current = snap
    // Whether this run has written its directory (at the end of an epoch or on interruption).
    let saved = false
    const saveCurrent = (why: string) =>
      config.directory === undefined
        ? Effect.void
        : save(files, config.directory, current, config, optimizer, stopped, fingerprint).pipe(
          Effect.tap(() => {
            saved = true
            return progress.message(`${why}: checkpoint saved to ${files.join(config.directory!, CHECKPOINT)}`)
          })
        )

    const runEpoch = (epoch: number) =>
      Effect.gen(function*() {
        const skip = current.stepInEpoch
        let { loss: lossSum, correct, seen } = current.running
        const sums = objective.metrics.map((_, k) => current.running.metrics?.[k] ?? 0)
        const started = performance.now()
        let samplesThisRun = 0
        const batches = batchesOf(config.train, config.batchSize, true).pipe(Stream.drop(skip))
        yield* Stream.runForEach(batches, (batch) =>
          Effect.suspend(() => {
            const globalStep = current.globalStep + 1
            const x = config.augment === undefined
              ? batch.x
              : config.augment(batch.x, Seed.derive(config.seed, 2_000_000 + globalStep))
            const [loss, [output, modelState], grads] = step(
              current.params as P,
              x,
              batch.target,
              Seed.derive(config.seed, globalStep),
              current.modelState
            )
            const value = Tensor.item(loss)
            const stepInEpoch = current.stepInEpoch + 1
            if (!Number.isFinite(value)) {
              return Effect.fail(new NonFiniteLossError({ epoch, step: stepInEpoch, loss: value }))
            }
            const [params, state] = optimizer.step(grads, current.state, current.params as Pytree.Pytree)
            lossSum += value * batch.size
            if (objective.accuracy) {
              correct += Metric.correct(output as Logits, (batch.classes ?? batch.target) as Logits)
            }
            objective.metrics.forEach(([, f], k) => (sums[k]! += f(output, batch.target) * batch.size))
            seen += batch.size
            samplesThisRun += batch.size
            current = {
              ...current,
              params: params as ReadonlyArray<Pytree.Pytree>,
              state,
              modelState,
              stepInEpoch,
              globalStep,
              running: { loss: lossSum, correct, seen, ...(sums.length > 0 ? { metrics: [...sums] } : {}) }
            }
            const elapsed = (performance.now() - started) / 1000
            const rate = samplesThisRun / Math.max(elapsed, 1e-9)
            return progress.step({
              epoch,
              epochs: config.epochs,
              step: stepInEpoch,
              stepsPerEpoch,
              loss: lossSum / seen,
              accuracy: objective.accuracy ? correct / seen : undefined,
              samplesPerSecond: rate,
              etaSeconds: (config.train.count - seen) / Math.max(rate, 1e-9)
            }).pipe(Effect.andThen(yieldToEventLoop))
          })).pipe(Random.withSeed(Seed.derive(config.seed, 1_000_000 + epoch)))
        const seconds = (performance.now() - started) / 1000
        const validation = config.validation === undefined
          ? undefined
          : yield* assess(
            model,
            current.params as P,
            config.validation,
            objective,
            EVAL_BATCH,
            stateful ? current.modelState : undefined
          )
        const named = (values: ReadonlyArray<number>) =>
          Object.fromEntries(objective.metrics.map(([name], k) => [name, values[k]!]))
        const metrics: EpochMetrics = {
          epoch,
          loss: lossSum / Math.max(seen, 1),
          accuracy: objective.accuracy ? correct / Math.max(seen, 1) : undefined,
          validationLoss: validation?.loss,
          validationAccuracy: validation?.accuracy,
          ...(objective.metrics.length === 0 ? {} : {
            metrics: named(sums.map((s) => s / Math.max(seen, 1))),
            ...(validation === undefined ? {} : { validationMetrics: validation.metrics })
          }),
          seconds,
          samplesPerSecond: samplesThisRun / Math.max(seconds, 1e-9)
        }
        current = {
          ...current,
          epochsDone: epoch,
          stepInEpoch: 0,
          running: { loss: 0, correct: 0, seen: 0 },
          history: [...current.history, metrics]
        }
        stopped = early === undefined ? undefined : earlyStop(current.history, early)
        yield* progress.epoch(metrics)
        yield* saveCurrent(`epoch ${epoch}`)
        if (config.onEpoch !== undefined) {
          yield* config.onEpoch(metrics, {
            epochs: config.epochs,
            history: current.history,
            params: current.params as P,
            modelState: current.modelState,
            stopped
          })
        }
        if (stopped !== undefined) yield* progress.message(stopped.message)
      })

    yield* Effect.gen(function*() {
      for (let epoch = current.epochsDone + 1; epoch <= config.epochs; epoch++) {
        // `runEpoch` sets `stopped` when early stopping ends the run (and a resumed run may start stopped).
        if (stopped !== undefined) break
        yield* runEpoch(epoch)
      }
    }).pipe(
      Effect.onInterrupt(() =>
        saveCurrent(`interrupted after step ${current.stepInEpoch} of epoch ${current.epochsDone + 1}`).pipe(
          Effect.catch((e) => progress.message(e.message))
        )
      )
    )
    // A resumed run with nothing left to train (all epochs done, or stopped early) still leaves its
    // directory complete: the checkpoint, metrics and plot are written there (it may be a new directory).
    // It leaves the checkpoint it resumed from as it is when that is the directory's own.
    if (!saved && config.directory !== undefined) {
      const nothing = `nothing left to train: ${current.epochsDone} of ${config.epochs} epoch(s) done`
      const into = files.resolve(files.join(config.directory, CHECKPOINT))
      const from = config.resume === undefined ? undefined : files.resolve(yield* files.checkpointFile(config.resume))
      if (from === into) yield* progress.message(`${nothing}: the checkpoint ${into} is unchanged`)
      else yield* saveCurrent(nothing)
    }
    return {
      params: current.params as P,
      optimizerState: current.state,
      modelState: current.modelState,
      history: current.history,
      completedEpochs: current.epochsDone,
      stopped
    }
  })
