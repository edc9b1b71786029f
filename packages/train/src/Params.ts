/**
 * Typed save and load of a model's parameters, in the safetensors format.
 *
 * `save(file, model, params)` writes each tensor of the parameter pytree under its dotted path with the
 * prefix `params.` (`params.0.kernel`, `params.0.bias`, ...), atomically. `load(file, model)` rebuilds the
 * pytree for a given model: the result's static type is `Model.ParamsOf<typeof model>` and its runtime
 * structure that of `model.init`'s output, with every tensor checked against the model (names, shapes,
 * dtypes). A file that does not fit fails with `ParamsMismatchError`, which names each tensor and what is
 * wrong; a file that cannot be read, or whose parameters hold NaN or infinite values, fails with
 * `CheckpointError`.
 *
 * The layout is the one `Train.fit` (and so `typegrad train mnist`) writes: a training checkpoint holds the
 * same `params.*` tensors plus `optimizer.*` state and metadata. `load` takes the `params.*` tensors and
 * ignores the rest; `read` returns the rest too. Files written by other tools with bare names (`0.kernel`)
 * load with `{ prefix: "" }`.
 *
 * `toBytes`, `fromBytes` and `fromContents` are the same without a file system (for browsers, or to send
 * parameters over a network): they live in `ParamsCore`, which imports nothing from Node, and are
 * re-exported here with its types and `ParamsMismatchError`.
 *
 * @example
 * ```ts
 * import { Params } from "@typegrad/train"
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * const program = Effect.gen(function*() {
 *   const params = yield* model.init
 *   yield* Params.save("out/params.safetensors", model, params)
 *   const loaded = yield* Params.load("out/params.safetensors", model)
 *   return loaded[0].kernel.shape // readonly [4, 2]
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Pytree } from "@typegrad/tensor"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import {
  fromContents,
  type Loaded,
  type LoadOptions,
  type ParamsMismatchError,
  type SaveOptions,
  type Template,
  toBytes
} from "./ParamsCore.ts"
import * as Safetensors from "./Safetensors.ts"

export {
  fromBytes,
  fromContents,
  type Loaded,
  type LoadOptions,
  type Mismatch,
  ParamsMismatchError,
  type SaveOptions,
  type Template,
  type TensorSpec,
  toBytes
} from "./ParamsCore.ts"

/** The file name inside a run directory (what `typegrad train` and `Train.fit` write). */
const CHECKPOINT = "model.safetensors"

/**
 * Writes a model's parameters to a safetensors file, atomically (temporary file, fsync, rename): an
 * existing file stays intact until the new one is complete. Tensors are named `params.<path>`
 * (`params.0.kernel`), the layout training checkpoints use, and the metadata holds
 * `format: typegrad-params/1` plus `options.metadata`.
 *
 * @example
 * ```ts
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * declare const params: Model.ParamsOf<typeof model>
 * const saved = Params.save("out/params.safetensors", model, params, { metadata: { note: "after epoch 3" } })
 * ```
 */
export const save = <P extends Pytree.Pytree>(
  file: string,
  model: Template<P>,
  params: P,
  options?: SaveOptions
): Effect.Effect<void, Safetensors.CheckpointError | ParamsMismatchError> =>
  Effect.flatMap(toBytes(model, params, options), (bytes) =>
    Effect.tryPromise({
      try: () => Safetensors.writeAtomic(file, bytes),
      catch: (cause) =>
        new Safetensors.CheckpointError({ path: file, reason: Safetensors.writeErrorReason(file, cause), cause })
    }))

/** A directory stands for the `model.safetensors` inside it (a run directory of `typegrad train`). */
const resolveFile = (p: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const stat = await fs.stat(p).catch(() => undefined)
    return stat?.isDirectory() === true ? path.join(p, CHECKPOINT) : p
  })

/**
 * Reads parameters and everything else of a file: the typed parameters of `model`, the metadata, and the
 * tensors outside the prefix (a training checkpoint's optimizer state, `optimizer.<slot>.<path>`). `file`
 * may be a run directory, which stands for its `model.safetensors`.
 *
 * @example
 * ```ts
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * const program = Effect.gen(function*() {
 *   const { params, metadata, rest } = yield* Params.read("runs/mnist", model)
 *   return { params, epochs: metadata["epochsDone"], optimizerTensors: rest.size }
 * })
 * ```
 */
export const read = <P extends Pytree.Pytree>(
  file: string,
  model: Template<P>,
  options?: LoadOptions
): Effect.Effect<Loaded<P>, Safetensors.CheckpointError | ParamsMismatchError> =>
  Effect.gen(function*() {
    const resolved = yield* resolveFile(file)
    const contents = yield* Safetensors.read(resolved)
    return yield* fromContents(contents, model, { ...options, path: resolved })
  })

/**
 * Loads the parameters of `model` from a safetensors file (or a run directory's `model.safetensors`):
 * the result has the static type `Model.ParamsOf<typeof model>` and the structure of `model.init`'s
 * output. Every parameter must be in the file under `params.<path>` (or `options.prefix`) with the
 * model's shape and dtype, and the file must hold no other tensor under the prefix; otherwise it fails with
 * `ParamsMismatchError` naming the tensors. Tensors outside the prefix (a training checkpoint's optimizer
 * state) and the metadata are ignored (`read` returns them). A missing, unreadable or corrupt file fails
 * with `CheckpointError`, and so does a file whose parameters hold NaN or infinite values (damaged weights:
 * the message names the tensors).
 *
 * @example
 * ```ts
 * const cnn = Model.input([28, 28, 1])
 *   .add(Layer.conv2d({ filters: 24, kernelSize: 2, padding: "same", activation: "relu" }))
 *   .add(Layer.maxPool2d({ poolSize: 2 }))
 *   .add(Layer.flatten())
 *   .add(Layer.dense({ units: 10, activation: "softmax" }))
 * declare const images: Tensor.Tensor<readonly [number, 28, 28, 1]>
 * const program = Effect.gen(function*() {
 *   const params = yield* Params.load("runs/mnist", cnn) // Model.ParamsOf<typeof cnn>
 *   return cnn.apply(params, images) // Tensor<readonly [number, 10]>
 * })
 * ```
 */
export const load = <P extends Pytree.Pytree>(
  file: string,
  model: Template<P>,
  options?: LoadOptions
): Effect.Effect<P, Safetensors.CheckpointError | ParamsMismatchError> =>
  Effect.map(read(file, model, options), (loaded) => loaded.params)
