/**
 * The second job: a small ResNet with batch normalisation (`Reference.cifarResNet`) trained on CIFAR-10
 * from the binary files the user provides, with the usual augmentation (random crop with 4-pixel zero
 * padding, horizontal flip) and per-channel normalisation.
 *
 * @since 0.1.0
 */
import { Augment, Cifar10, Dataset } from "@typegrad/data"
import { Reference } from "@typegrad/nn"
import type { Tensor } from "@typegrad/tensor"
import { Effect } from "effect"
import * as Job from "./internal/job.ts"

/**
 * The network the job trains: `Reference.cifarResNet` from `@typegrad/nn` (conv3x3 16 + batch norm +
 * ReLU, three stages of two residual blocks at 16, 32, 64 channels with strided projection shortcuts,
 * global average pooling, Dense 10 softmax). Its output type `[batch, 10]` is inferred.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/cli"
 * const params = Effect.runSync(Cifar10.resNet.init)
 * ```
 */
export const resNet = Reference.cifarResNet

/** The options of the job (the CLI flags), and the folder of the CIFAR-10 binary files. */
export interface Options extends Job.Options {
  /** The folder holding `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`. */
  readonly data: string
}

/**
 * The defaults of `typegrad train cifar10` (`data` has none: `--data DIR` is required).
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/cli"
 * Cifar10.run({ ...Cifar10.defaults, data: "cifar-10-batches-bin", epochs: 1 })
 * ```
 */
export const defaults: Omit<Options, "data"> = {
  epochs: 10,
  batchSize: 128,
  learningRate: 2e-3,
  learningRateDecay: 0.8,
  optimizer: "adam",
  trainLimit: undefined,
  validation: 5000,
  seed: 1,
  out: "runs/cifar10",
  resume: undefined
}

/** The padding of the normalised images: black, `(0 - mean) / std` per channel. */
const black = Cifar10.channelStats.mean.map((m, c) => -m / Cifar10.channelStats.std[c]!)

/**
 * The augmentation of a training batch (normalised images): random crop with 4 pixels of black padding
 * and horizontal flip, `Augment.randomCropFlip` with the step's seed.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/cli"
 * import { Tensor } from "@typegrad/tensor"
 * const augmented = Cifar10.augment(Tensor.zeros([8, 32, 32, 3]), 42)
 * ```
 */
export const augment = (inputs: Tensor.AnyTensor, seed: number): Tensor.AnyTensor =>
  Augment.randomCropFlip(inputs as Tensor.Tensor<readonly [number, number, number, number]>, seed, {
    padding: 4,
    fill: black
  })

/**
 * Trains the ResNet on CIFAR-10 from the binary files in `options.data` (never downloaded; a missing
 * folder or file is a `DatasetFileError` naming it and the expected layout), normalised per channel with
 * `Cifar10.channelStats` and augmented per batch, evaluates it on the 10k test images with the trained
 * batch-norm statistics and writes `metrics.json`, `model.safetensors` (the batch-norm state as `state.*`
 * entries) and `training.svg` into `options.out`. Output directory, lock, checkpoints, `--resume`,
 * progress and errors as `Mnist.run`.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/cli"
 * await Effect.runPromise(
 *   Cifar10.run({ ...Cifar10.defaults, data: "cifar-10-batches-bin" }).pipe(Effect.provide(Progress.auto))
 * )
 * ```
 */
export const run = (options: Options) =>
  Job.run({
    job: "cifar10",
    dataset: "CIFAR-10",
    model: "ResNet-14 with batch normalisation (Reference.cifarResNet)",
    title: "CIFAR-10, ResNet-14 with batch norm",
    network: resNet,
    load: (limit) =>
      Effect.all({
        train: Cifar10.load({ directory: options.data, split: "train", ...(limit === undefined ? {} : { limit }) })
          .pipe(Effect.map(Dataset.normalize(Cifar10.channelStats))),
        test: Cifar10.load({ directory: options.data, split: "test" }).pipe(
          Effect.map(Dataset.normalize(Cifar10.channelStats))
        )
      }),
    augment,
    config: {
      data: options.data,
      augmentation: "random crop (4-pixel zero padding) and horizontal flip",
      normalization: Cifar10.channelStats
    }
  }, options)
