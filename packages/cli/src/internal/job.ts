/**
 * What the training jobs (`train mnist`, `train cifar10`) share: their options (the CLI flags), the
 * learning-rate schedule and optimizers, and the run itself: lock the output directory, load the data,
 * split off the validation images, `Train.fit` (checkpoints, resume, plots, progress, model state),
 * evaluate on the test set with the trained state, write `metrics.json`.
 */
import { Dataset, type DatasetFileError } from "@typegrad/data"
import { Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Backend, type Pytree, type Tensor } from "@typegrad/tensor"
import { Progress, Train } from "@typegrad/train"
import { Effect } from "effect"
import * as path from "node:path"
import * as OutputDir from "./outputDir.ts"

/** The options of a training job (the CLI flags). */
export interface Options {
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  /** The learning rate is multiplied by this after every epoch (1: constant). */
  readonly learningRateDecay: number
  readonly optimizer: "adam" | "sgd" | "momentum" | "rmsprop"
  /** Use only the first N training images (before the validation split). */
  readonly trainLimit: number | undefined
  /** Training images held out for validation. */
  readonly validation: number
  readonly seed: number
  readonly out: string
  readonly resume: string | undefined
}

/**
 * The learning rate of a job: `learningRate` in epoch 1, multiplied by `learningRateDecay` after every
 * epoch (`Train.perEpoch`; `Train.fit` maps a step to its epoch from the steps per epoch, so a resumed run
 * continues the same schedule). A decay of 1 is the constant rate.
 */
export const schedule = (o: Options): Train.Schedule =>
  o.learningRateDecay === 1
    ? o.learningRate
    : Train.perEpoch((epoch) => o.learningRate * o.learningRateDecay ** (epoch - 1))

const optimizerOf = (o: Options) => (learningRate: Optimizer.LearningRate): Optimizer.Optimizer => {
  switch (o.optimizer) {
    case "adam":
      return Optimizer.adam({ learningRate })
    case "sgd":
      return Optimizer.sgd({ learningRate })
    case "momentum":
      return Optimizer.sgd({ learningRate, momentum: 0.9 })
    case "rmsprop":
      return Optimizer.rmsprop({ learningRate })
  }
}

/** What a job wrote. */
export interface Outcome {
  readonly testAccuracy: number
  readonly testLoss: number
  readonly directory: string
}

type AnyDataset = Dataset.Dataset

/** What makes a job: its names, model, data and augmentation. */
export interface Spec {
  /** `metrics.json`'s `job`. */
  readonly job: string
  /** The dataset's name in progress messages ("MNIST"). */
  readonly dataset: string
  /** `metrics.json`'s `model`. */
  readonly model: string
  /** The plot's title. */
  readonly title: string
  readonly network: Model.AnyModel
  /** The training images (the first `limit`, when given) and the test images, ready for the network. */
  readonly load: (
    limit: number | undefined
  ) => Effect.Effect<{ readonly train: AnyDataset; readonly test: AnyDataset }, DatasetFileError>
  /** Augmentation of each training batch (`Train.fit`'s `augment`). */
  readonly augment?: ((inputs: Tensor.AnyTensor, seed: number) => Tensor.AnyTensor) | undefined
  /** Extra entries of the config written to the checkpoint and `metrics.json`. */
  readonly config?: Readonly<Record<string, unknown>>
}

/**
 * The job's data: the training images split into training and validation (at most a fifth held out), and
 * the test images. Its own function, so that the unsplit training set is not kept alive by the run.
 */
const loadSplit = (spec: Spec, options: Options) =>
  Effect.gen(function*() {
    const { train: all, test } = yield* spec.load(options.trainLimit)
    const held = Math.min(options.validation, Math.floor(all.count / 5))
    const { train, validation } = held > 0
      ? yield* Dataset.split(all, { validation: held, seed: options.seed })
      : { train: all, validation: undefined }
    return { train, validation, test }
  })

/**
 * Runs the job `spec` with `options`: checks and locks the output directory (`.typegrad.lock`, holding
 * the pid) before the data is loaded, the lock released when the run ends however it ends; trains with
 * `Train.fit`, evaluates on the test set with the trained model state and writes `metrics.json`,
 * `model.safetensors` and `training.svg` into `options.out`.
 */
export const run = (spec: Spec, options: Options) =>
  Effect.scoped(Effect.gen(function*() {
    const progress = yield* Progress.Progress
    const started = performance.now()
    // The output directory is checked and locked before anything else, so a bad --out costs no training;
    // the lock is released when the run ends, whatever the end.
    yield* OutputDir.acquire(options.out)
    yield* progress.message(`loading ${spec.dataset}...`)
    const { train, validation, test } = yield* loadSplit(spec, options)
    const network = spec.network
    yield* progress.message(
      `${spec.dataset}: ${train.count} training, ${validation?.count ?? 0} validation, ${test.count} test images; ` +
        `${Model.parameterCount(network)} parameters`
    )
    const backend = Backend.status()
    yield* progress.message(
      `computing on ${backend.name}: ${backend.threadsReason}` +
        (backend.fusedMultiplyAdd ? ", relaxed-SIMD multiply-add" : "")
    )
    const config = {
      job: spec.job,
      model: spec.model,
      epochCount: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      learningRateDecay: options.learningRateDecay,
      optimizer: options.optimizer,
      trainImages: train.count,
      validationImages: validation?.count ?? 0,
      seed: options.seed,
      ...spec.config
    }
    const model = network as unknown as Train.Trainable<ReadonlyArray<Pytree.Pytree>>
    const result = yield* Train.fit({
      model,
      train,
      optimizer: optimizerOf(options),
      learningRate: schedule(options),
      validation,
      epochs: options.epochs,
      batchSize: options.batchSize,
      seed: options.seed,
      directory: options.out,
      resume: options.resume,
      title: spec.title,
      augment: spec.augment,
      config
    })
    const evaluation = yield* Train.evaluate(model, result.params, test, undefined, result.modelState)
    const metrics = {
      ...config,
      epochs: result.history,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
      testImages: evaluation.count,
      backend: { kernels: backend.name, threads: backend.threads },
      totalSeconds: (performance.now() - started) / 1000
    }
    yield* OutputDir.writeFile(
      path.join(options.out, "metrics.json"),
      new TextEncoder().encode(JSON.stringify(metrics, null, 2) + "\n")
    )
    return { testAccuracy: evaluation.accuracy, testLoss: evaluation.loss, directory: options.out } satisfies Outcome
  }))
