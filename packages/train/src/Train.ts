/**
 * Training as an `Effect`, on Node: everything of `TrainCore` (the loop, its options and errors,
 * `evaluate`, `earlyStop`, `perEpoch`...) with a `fit` that writes checkpoint directories and resumes from
 * them through `node:fs`.
 *
 * Epochs run over a `Stream` of batches, validation after each epoch, progress through the `Progress`
 * service, atomic checkpoints (safetensors) with the training curve and metrics next to them, resume from a
 * checkpoint, and a clean stop on interruption (Ctrl-C) after the current step. A browser or a Web Worker
 * uses `TrainCore` (no Node imports) instead.
 *
 * @example
 * ```ts
 * import { Train } from "@typegrad/train"
 * declare const train: Dataset.Dataset<readonly [28, 28, 1], 10>
 * const program = Train.fit(Reference.mnistCnn, train, {
 *   optimizer: Optimizer.adam(),
 *   epochs: 1,
 *   batchSize: 64,
 *   seed: 1,
 *   directory: "runs/mnist"
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Safetensors from "./Safetensors.ts"
import { type Files, type Fit, fitWith } from "./TrainCore.ts"

export * from "./TrainCore.ts"

/** Node's file system, as `fit` writes and reads checkpoint directories. */
const nodeFiles: Files = {
  join: (directory, name) => path.join(directory, name),
  resolve: (file) => path.resolve(file),
  checkpointFile: (p) =>
    Effect.promise(async () => {
      const stat = await fs.stat(p).catch(() => undefined)
      return stat?.isDirectory() ? path.join(p, "model.safetensors") : p
    }),
  makeDirectory: (directory) =>
    Effect.tryPromise({
      try: () => fs.mkdir(directory, { recursive: true }),
      catch: (cause) =>
        new Safetensors.CheckpointError({
          path: directory,
          reason: `cannot create the directory (${String(cause)})`,
          cause
        })
    }).pipe(Effect.asVoid),
  writeFile: (file, bytes) =>
    Effect.tryPromise({
      try: () => Safetensors.writeAtomic(file, bytes),
      catch: (cause) =>
        new Safetensors.CheckpointError({ path: file, reason: Safetensors.writeErrorReason(file, cause), cause })
    }),
  readCheckpoint: Safetensors.read
}

/**
 * Trains a model (see `TrainCore.fit`), writing its checkpoint directory (`directory`: `model.safetensors`,
 * `metrics.json`, `training.svg`, each atomically) and resuming from one (`resume`) through `node:fs`.
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
export const fit: Fit = fitWith(nodeFiles)
