/**
 * The reference job: the classic Keras MNIST CNN trained on the real MNIST.
 *
 * @since 0.1.0
 */
import { Mnist } from "@typegrad/data"
import { Reference } from "@typegrad/nn"
import type { Train } from "@typegrad/train"
import { Effect } from "effect"
import * as Job from "./internal/job.ts"

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
export type Options = Job.Options

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
export const schedule: (o: Options) => Train.Schedule = Job.schedule

/** What the job wrote. */
export type Outcome = Job.Outcome

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
  Job.run({
    job: "mnist",
    dataset: "MNIST",
    model: "classic Keras MNIST CNN",
    title: "MNIST, classic Keras CNN",
    network: cnn,
    load: (limit) =>
      Effect.all({
        train: Mnist.load({ split: "train", ...(limit === undefined ? {} : { limit }) }),
        test: Mnist.load({ split: "test" })
      })
  }, options)
