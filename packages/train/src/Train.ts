/**
 * Training as an `Effect`: epochs over a `Stream` of batches, validation after each epoch, progress
 * through the `Progress` service, atomic checkpoints (safetensors) with the training curve and metrics
 * next to them, resume from a checkpoint, and a clean stop on interruption (Ctrl-C) after the current step.
 *
 * Reproducibility: the shuffling of epoch `e` runs under `Random.withSeed(seed, e)` and the dropout
 * masks of step `s` are drawn from `(seed, s)`, so a run is a function of its seed, and a resumed run
 * continues exactly where the checkpoint left it.
 *
 * @since 0.1.0
 */
import { valueAndGradAux } from "@typegrad/autodiff"
import { Dataset } from "@typegrad/data"
import { Loss, Metric, type Model, Seed } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Pytree, Tensor } from "@typegrad/tensor"
import { Data, Effect, Random, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Plot from "./Plot.ts"
import { type EpochMetrics, Progress } from "./Progress.ts"
import * as Safetensors from "./Safetensors.ts"

/**
 * The training loss became NaN or infinite. The parameters of the last good step are not saved over the
 * last checkpoint, which stays as it was.
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<void, NonFiniteLossError>
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
 * What the loop needs of a model: its initial parameters and its logits. Every `Model` of `@typegrad/nn`
 * is one; its output must be `[batch, classes]`.
 */
export interface Trainable<P> {
  readonly init: Effect.Effect<P>
  logits(params: P, x: Tensor.AnyTensor, options?: Model.ApplyOptions): Tensor.AnyTensor
}

/** What to train and how. */
export interface FitConfig<P extends ReadonlyArray<Pytree.Pytree>> {
  readonly model: Trainable<P>
  readonly optimizer: Optimizer.Optimizer
  readonly train: AnyDataset
  readonly validation?: AnyDataset | undefined
  readonly epochs: number
  readonly batchSize: number
  readonly seed: number
  /** Where to write `model.safetensors`, `metrics.json` and `training.svg` after each epoch. */
  readonly directory?: string | undefined
  /** A checkpoint file (or a directory holding `model.safetensors`) to resume from. */
  readonly resume?: string | undefined
  /** A title for the plot. */
  readonly title?: string | undefined
  /** Extra metadata stored in the checkpoint and metrics file. */
  readonly config?: Readonly<Record<string, unknown>> | undefined
}

/** What training produced. */
export interface FitResult<P> {
  readonly params: P
  readonly optimizerState: Optimizer.State<Pytree.Pytree>
  readonly history: ReadonlyArray<EpochMetrics>
  /** True when training stopped early because it was interrupted (and a checkpoint was saved). */
  readonly completedEpochs: number
}

/** Loss and accuracy of a model on a dataset (no dropout). */
export interface Evaluation {
  readonly loss: number
  readonly accuracy: number
  readonly count: number
}

/** A dataset of any item shape, class count and dtype. */
export type AnyDataset = Dataset.Dataset<ReadonlyArray<number>, number, Tensor.DType>

type Logits = Tensor.Tensor<readonly [number, number], Tensor.DType>

/**
 * Evaluates a model on a dataset in batches (no dropout).
 *
 * @example
 * ```ts
 * const model = Reference.mnistCnn
 * declare const params: Model.ParamsOf<typeof model>
 * declare const testSet: Train.AnyDataset
 * const program = Effect.gen(function*() {
 *   const { accuracy } = yield* Train.evaluate(model, params, testSet)
 *   return accuracy
 * })
 * ```
 */
export const evaluate = <P extends ReadonlyArray<Pytree.Pytree>>(
  model: Trainable<P>,
  params: P,
  dataset: AnyDataset,
  batchSize = 1000
): Effect.Effect<Evaluation> =>
  Effect.gen(function*() {
    let loss = 0
    let correct = 0
    let count = 0
    yield* Stream.runForEach(Dataset.batches(dataset, { batchSize, shuffle: false }), (batch) =>
      Effect.sync(() => {
        const z = model.logits(params, batch.images) as Logits
        loss += Tensor.item(Loss.softmaxCrossEntropy(z, batch.labels as Logits)) * batch.size
        correct += Metric.correct(z, batch.classes)
        count += batch.size
      }))
    return { loss: count === 0 ? NaN : loss / count, accuracy: count === 0 ? NaN : correct / count, count }
  })

const CHECKPOINT = "model.safetensors"
const FORMAT = "typegrad-checkpoint/1"

interface Snapshot {
  /** The run's batch size and seed (set on restore; they decide the order of the batches). */
  readonly batchSize?: number
  readonly seed?: number
  readonly params: ReadonlyArray<Pytree.Pytree>
  readonly state: Optimizer.State<Pytree.Pytree>
  /** Epochs fully done. */
  readonly epochsDone: number
  /** Steps done in the epoch after `epochsDone` (an interrupted epoch). */
  readonly stepInEpoch: number
  readonly globalStep: number
  readonly running: { readonly loss: number; readonly correct: number; readonly seen: number }
  readonly history: ReadonlyArray<EpochMetrics>
}

const checkpointFile = (p: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const stat = await fs.stat(p).catch(() => undefined)
    return stat?.isDirectory() ? path.join(p, CHECKPOINT) : p
  })

/** Writes the checkpoint, metrics and plot of a snapshot into `directory` (each file atomically). */
const save = (
  directory: string,
  snap: Snapshot,
  config: FitConfig<ReadonlyArray<Pytree.Pytree>>
): Effect.Effect<void, Safetensors.CheckpointError> =>
  Effect.gen(function*() {
    yield* Effect.tryPromise({
      try: () => fs.mkdir(directory, { recursive: true }),
      catch: (cause) =>
        new Safetensors.CheckpointError({
          path: directory,
          reason: `cannot create the directory (${String(cause)})`,
          cause
        })
    })
    const tensors: Array<readonly [string, Tensor.AnyTensor]> = [
      ...Pytree.paths(snap.params).map(([p, t]) => [`params.${p}`, t] as const),
      ...snap.state.slots.flatMap((slot, k) => Pytree.paths(slot).map(([p, t]) => [`optimizer.${k}.${p}`, t] as const))
    ]
    const metadata = {
      format: FORMAT,
      epochsDone: String(snap.epochsDone),
      stepInEpoch: String(snap.stepInEpoch),
      globalStep: String(snap.globalStep),
      optimizer: config.optimizer.name,
      optimizerStep: String(snap.state.step),
      running: JSON.stringify(snap.running),
      history: JSON.stringify(snap.history),
      seed: String(config.seed),
      batchSize: String(config.batchSize),
      config: JSON.stringify(config.config ?? {})
    }
    yield* Safetensors.write(path.join(directory, CHECKPOINT), tensors, metadata)
    const metrics = { ...config.config, epochs: snap.history }
    yield* Effect.tryPromise({
      try: async () => {
        await Safetensors.writeAtomic(
          path.join(directory, "metrics.json"),
          new TextEncoder().encode(JSON.stringify(metrics, null, 2) + "\n")
        )
        await Safetensors.writeAtomic(
          path.join(directory, "training.svg"),
          new TextEncoder().encode(Plot.trainingCurves(snap.history, config.title))
        )
      },
      catch: (cause) =>
        new Safetensors.CheckpointError({
          path: directory,
          reason: `cannot write metrics or plot (${String(cause)})`,
          cause
        })
    })
  })

/** Restores a snapshot from a checkpoint, checking every tensor against the model's parameters. */
const restore = (
  file: string,
  template: ReadonlyArray<Pytree.Pytree>,
  optimizer: Optimizer.Optimizer
): Effect.Effect<Snapshot, Safetensors.CheckpointError> =>
  Effect.gen(function*() {
    const { tensors, metadata } = yield* Safetensors.read(file)
    const fail = (reason: string) => Effect.fail(new Safetensors.CheckpointError({ path: file, reason }))
    if (metadata["format"] !== FORMAT) {
      return yield* fail(
        `not a typegrad training checkpoint (format ${
          JSON.stringify(metadata["format"] ?? null)
        }); resume needs a model.safetensors written by typegrad train`
      )
    }
    if (metadata["optimizer"] !== optimizer.name) {
      return yield* fail(
        `it was trained with the ${
          metadata["optimizer"]
        } optimizer, not ${optimizer.name}; resume with the same optimizer`
      )
    }
    /** The tree with each leaf read from the checkpoint by its path, or the reason it cannot be. */
    const take = (prefix: string, tree: Pytree.Pytree): Pytree.Pytree | string => {
      let problem: string | undefined
      const restored = Pytree.mapWithPath(tree, (t, p) => {
        if (problem !== undefined) return t
        const name = `${prefix}${Pytree.pathString(p)}`
        const got = tensors.get(name)
        if (got === undefined) {
          problem = `tensor ${name} is missing; the checkpoint is from another model`
          return t
        }
        if (got.shape.length !== t.shape.length || got.shape.some((d, i) => d !== t.shape[i])) {
          problem = `tensor ${name} has shape [${got.shape.join(", ")}] but the model needs [${
            t.shape.join(", ")
          }]; the checkpoint is from another model`
          return t
        }
        return Tensor.cast(got, t.dtype)
      })
      return problem ?? restored
    }
    const expected = new Set([
      ...Pytree.paths(template).map(([p]) => `params.${p}`),
      ...optimizer.init(template).slots.flatMap((slot, k) => Pytree.paths(slot).map(([p]) => `optimizer.${k}.${p}`))
    ])
    const extra = [...tensors.keys()].filter((name) => !expected.has(name))
    if (extra.length > 0) {
      return yield* fail(
        `it holds ${extra.length} tensor(s) the model does not have (${extra.slice(0, 3).join(", ")}${
          extra.length > 3 ? ", ..." : ""
        }); the checkpoint is from another model`
      )
    }
    const params = take("params.", template)
    if (typeof params === "string") return yield* fail(params)
    const fresh = optimizer.init(template)
    const slots: Array<Pytree.Pytree> = []
    for (let k = 0; k < fresh.slots.length; k++) {
      const slot = take(`optimizer.${k}.`, fresh.slots[k]!)
      if (typeof slot === "string") return yield* fail(slot)
      slots.push(slot)
    }
    const int = (key: string): number => {
      const v = Number(metadata[key])
      return Number.isInteger(v) && v >= 0 ? v : NaN
    }
    const numbers = ["epochsDone", "stepInEpoch", "globalStep", "optimizerStep"].map(int)
    if (numbers.some(Number.isNaN)) {
      return yield* fail("its metadata is incomplete (epochs, steps); the file is corrupt")
    }
    let history: ReadonlyArray<EpochMetrics>
    let running: Snapshot["running"]
    try {
      history = JSON.parse(metadata["history"] ?? "[]")
      running = JSON.parse(metadata["running"] ?? "null") ?? { loss: 0, correct: 0, seen: 0 }
    } catch {
      return yield* fail("its metadata is not valid JSON; the file is corrupt")
    }
    return {
      params: params as ReadonlyArray<Pytree.Pytree>,
      state: { step: numbers[3]!, slots },
      epochsDone: numbers[0]!,
      stepInEpoch: numbers[1]!,
      globalStep: numbers[2]!,
      running,
      history,
      batchSize: Number(metadata["batchSize"]),
      seed: Number(metadata["seed"])
    }
  })

/**
 * A step is one long synchronous computation; between steps the loop gives the event loop a turn so that
 * signals (Ctrl-C) and I/O are handled after the current step, not at the end of the epoch. A macrotask
 * (setImmediate) is needed: a microtask yield would not let the event loop poll for signals.
 */
const yieldToEventLoop: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Trains a classifier with softmax cross-entropy. Succeeds with the final parameters and history; fails
 * with `NonFiniteLossError` or `CheckpointError`. Interrupting it (Ctrl-C in the CLI) stops after the
 * current step and saves a checkpoint that `resume` continues from.
 *
 * @example
 * ```ts
 * const model = Reference.mnistCnn
 * declare const train: Train.AnyDataset
 * declare const validation: Train.AnyDataset
 * const program = Effect.gen(function*() {
 *   const result = yield* Train.fit({ model, optimizer: Optimizer.adam(), train, validation, epochs: 3, batchSize: 64, seed: 1 })
 *   return result.history
 * })
 * ```
 */
export const fit = <P extends ReadonlyArray<Pytree.Pytree>>(
  config: FitConfig<P>
): Effect.Effect<FitResult<P>, NonFiniteLossError | Safetensors.CheckpointError, Progress> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const model = config.model
    if (!Number.isInteger(config.epochs) || config.epochs < 1) {
      throw new RangeError(`fit: epochs must be a positive integer, got ${config.epochs}`)
    }
    if (!Number.isInteger(config.batchSize) || config.batchSize < 1) {
      throw new RangeError(`fit: batchSize must be a positive integer, got ${config.batchSize}`)
    }
    const template = yield* model.init.pipe(Random.withSeed(config.seed))
    let snap: Snapshot
    if (config.resume !== undefined) {
      const file = yield* checkpointFile(config.resume)
      const restored = yield* restore(file, template, config.optimizer)
      if (restored.stepInEpoch > 0 && (restored.batchSize !== config.batchSize || restored.seed !== config.seed)) {
        return yield* Effect.fail(
          new Safetensors.CheckpointError({
            path: file,
            reason:
              `it stopped in the middle of epoch ${
                restored.epochsDone + 1
              } with batch size ${restored.batchSize} and seed ${restored.seed}; ` +
              `resume with the same batch size and seed to continue that epoch exactly`
          })
        )
      }
      snap = restored
      yield* progress.message(
        `resumed from ${config.resume}: ${snap.epochsDone} epoch(s) and ${snap.stepInEpoch} step(s) done`
      )
    } else {
      snap = {
        params: template,
        state: config.optimizer.init(template as Pytree.Pytree) as Optimizer.State<Pytree.Pytree>,
        epochsDone: 0,
        stepInEpoch: 0,
        globalStep: 0,
        running: { loss: 0, correct: 0, seen: 0 },
        history: []
      }
    }
    const stepsPerEpoch = Math.ceil(config.train.count / config.batchSize)
    yield* progress.start({
      epochs: config.epochs,
      firstEpoch: snap.epochsDone + 1,
      stepsPerEpoch,
      samplesPerEpoch: config.train.count
    })
    const lossAndLogits = (p: P, images: Tensor.AnyTensor, labels: Tensor.AnyTensor, seed: number) => {
      const z = model.logits(p, images, { training: true, seed }) as Logits
      return [Loss.softmaxCrossEntropy(z, labels as Logits), z] as const
    }
    const step = valueAndGradAux(lossAndLogits)
    // `current` is the last good state: what an interruption saves.
    let current = snap
    const saveCurrent = (why: string) =>
      config.directory === undefined
        ? Effect.void
        : save(config.directory, current, config as FitConfig<ReadonlyArray<Pytree.Pytree>>).pipe(
          Effect.tap(() => progress.message(`${why}: checkpoint saved to ${path.join(config.directory!, CHECKPOINT)}`))
        )

    const runEpoch = (epoch: number) =>
      Effect.gen(function*() {
        const skip = current.stepInEpoch
        let { loss: lossSum, correct, seen } = current.running
        const started = performance.now()
        let samplesThisRun = 0
        const batches = Dataset.batches(config.train, { batchSize: config.batchSize, shuffle: true }).pipe(
          Stream.drop(skip)
        )
        yield* Stream.runForEach(batches, (batch) =>
          Effect.suspend(() => {
            const globalStep = current.globalStep + 1
            const [loss, logits, grads] = step(
              current.params as P,
              batch.images,
              batch.labels,
              Seed.derive(config.seed, globalStep)
            )
            const value = Tensor.item(loss)
            const stepInEpoch = current.stepInEpoch + 1
            if (!Number.isFinite(value)) {
              return Effect.fail(new NonFiniteLossError({ epoch, step: stepInEpoch, loss: value }))
            }
            const [params, state] = config.optimizer.step(grads, current.state, current.params as Pytree.Pytree)
            lossSum += value * batch.size
            correct += Metric.correct(logits, batch.classes)
            seen += batch.size
            samplesThisRun += batch.size
            current = {
              ...current,
              params: params as ReadonlyArray<Pytree.Pytree>,
              state,
              stepInEpoch,
              globalStep,
              running: { loss: lossSum, correct, seen }
            }
            const elapsed = (performance.now() - started) / 1000
            const rate = samplesThisRun / Math.max(elapsed, 1e-9)
            return progress.step({
              epoch,
              epochs: config.epochs,
              step: stepInEpoch,
              stepsPerEpoch,
              loss: lossSum / seen,
              accuracy: correct / seen,
              samplesPerSecond: rate,
              etaSeconds: (config.train.count - seen) / Math.max(rate, 1e-9)
            }).pipe(Effect.andThen(yieldToEventLoop))
          })).pipe(Random.withSeed(Seed.derive(config.seed, 1_000_000 + epoch)))
        const seconds = (performance.now() - started) / 1000
        const validation = config.validation === undefined
          ? undefined
          : yield* evaluate(model, current.params as P, config.validation)
        const metrics: EpochMetrics = {
          epoch,
          loss: lossSum / Math.max(seen, 1),
          accuracy: correct / Math.max(seen, 1),
          validationLoss: validation?.loss,
          validationAccuracy: validation?.accuracy,
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
        yield* progress.epoch(metrics)
        yield* saveCurrent(`epoch ${epoch}`)
      })

    yield* Effect.gen(function*() {
      for (let epoch = current.epochsDone + 1; epoch <= config.epochs; epoch++) yield* runEpoch(epoch)
    }).pipe(
      Effect.onInterrupt(() =>
        saveCurrent(`interrupted after step ${current.stepInEpoch} of epoch ${current.epochsDone + 1}`).pipe(
          Effect.catch((e) => progress.message(e.message))
        )
      )
    )
    return {
      params: current.params as P,
      optimizerState: current.state,
      history: current.history,
      completedEpochs: current.epochsDone
    }
  })
