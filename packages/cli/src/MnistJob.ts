/**
 * The reference job: the classic Keras MNIST CNN trained on the real MNIST.
 *
 * @since 0.1.0
 */
import { Dataset, Mnist } from "@typegrad/data"
import { Model, Reference } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Backend } from "@typegrad/tensor"
import { Progress, Train } from "@typegrad/train"
import { Effect } from "effect"
import * as path from "node:path"
import * as OutputDir from "./internal/outputDir.ts"

export {
  /**
   * The output directory cannot be used or written (a file in its place, no permission, a full disk,
   * another run holding it): the path, what was wrong and what to do.
   *
   * @example
   * ```ts
   * import { Mnist } from "@typegrad/cli"
   * import { Console } from "effect"
   * declare const program: Effect.Effect<void, Mnist.OutputError>
   * program.pipe(Effect.catchTag("OutputError", (e) => Console.error(e.message)))
   * ```
   */
  OutputError,
  /**
   * Another run holds the output directory: its process id is in the message. Two runs never share one
   * `--out`; a lock left by a run that died (kill -9) is recovered.
   *
   * @example
   * ```ts
   * import { Mnist } from "@typegrad/cli"
   * import { Console } from "effect"
   * declare const program: Effect.Effect<void, Mnist.OutputLockedError>
   * program.pipe(Effect.catchTag("OutputLockedError", (e) => Console.error(`busy: pid ${e.pid}`)))
   * ```
   */
  OutputLockedError
} from "./internal/outputDir.ts"

/**
 * The classic Keras MNIST CNN that the job trains: `Reference.mnistCnn` from `@typegrad/nn` (Conv2D 24 2x2
 * same, MaxPool, Conv2D 48 2x2 same, MaxPool, Dense 512, Dropout, Dense 128, Dropout, Dense 10 softmax).
 * Its output type `[batch, 10]` is inferred.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/cli"
 * const params = Effect.runSync(Mnist.cnn.init)
 * ```
 */
export const cnn = Reference.mnistCnn

/** The options of the job (the CLI flags). */
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
 * The defaults of `pnpm mnist`.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/cli"
 * Mnist.run({ ...Mnist.defaults, epochs: 1 })
 * ```
 */
export const defaults: Options = {
  epochs: 4,
  batchSize: 64,
  learningRate: 1e-3,
  learningRateDecay: 0.7,
  optimizer: "adam",
  trainLimit: undefined,
  validation: 5000,
  seed: 1,
  out: "runs/mnist",
  resume: undefined
}

/**
 * The learning rate of the job: `learningRate` in epoch 1, multiplied by `learningRateDecay` after every
 * epoch (`Train.perEpoch`; `Train.fit` maps a step to its epoch from the steps per epoch, so a resumed run
 * continues the same schedule). A decay of 1 is the constant rate.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/cli"
 * Mnist.schedule({ ...Mnist.defaults, learningRate: 1e-3, learningRateDecay: 0.7 }) // 1e-3, 7e-4, 4.9e-4, ...
 * ```
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

/** What the job wrote. */
export interface Outcome {
  readonly testAccuracy: number
  readonly testLoss: number
  readonly directory: string
}

/**
 * Trains the CNN on MNIST, evaluates it on the full 10k test set and writes `metrics.json`,
 * `model.safetensors` and `training.svg` into `options.out`. The output directory is checked and locked
 * (`.typegrad.lock`, holding the pid) before the data is loaded; the lock is released when the run ends,
 * however it ends. Fails with `OutputError` (the directory cannot be used or written) or
 * `OutputLockedError` (another run holds it), besides the errors of `Train.fit`.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/cli"
 * await Effect.runPromise(Mnist.run(Mnist.defaults).pipe(Effect.provide(Progress.auto)))
 * ```
 */
export const run = (options: Options) =>
  Effect.scoped(Effect.gen(function*() {
    const progress = yield* Progress.Progress
    const started = performance.now()
    // The output directory is checked and locked before anything else, so a bad --out costs no training;
    // the lock is released when the run ends, whatever the end.
    yield* OutputDir.acquire(options.out)
    yield* progress.message("loading MNIST...")
    const all = yield* Mnist.load({
      split: "train",
      ...(options.trainLimit === undefined ? {} : { limit: options.trainLimit })
    })
    const held = Math.min(options.validation, Math.floor(all.count / 5))
    const { train, validation } = held > 0
      ? yield* Dataset.split(all, { validation: held, seed: options.seed })
      : { train: all, validation: undefined }
    const test = yield* Mnist.load({ split: "test" })
    yield* progress.message(
      `MNIST: ${train.count} training, ${validation?.count ?? 0} validation, ${test.count} test images; ` +
        `${Model.parameterCount(cnn)} parameters`
    )
    const backend = Backend.status()
    yield* progress.message(`computing on ${backend.name}: ${backend.threadsReason}`)
    const config = {
      job: "mnist",
      model: "classic Keras MNIST CNN",
      epochCount: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      learningRateDecay: options.learningRateDecay,
      optimizer: options.optimizer,
      trainImages: train.count,
      validationImages: validation?.count ?? 0,
      seed: options.seed
    }
    const result = yield* Train.fit(cnn, train, {
      optimizer: optimizerOf(options),
      learningRate: schedule(options),
      validation,
      epochs: options.epochs,
      batchSize: options.batchSize,
      seed: options.seed,
      directory: options.out,
      resume: options.resume,
      title: "MNIST, classic Keras CNN",
      config
    })
    const evaluation = yield* Train.evaluate(cnn, result.params, test)
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
