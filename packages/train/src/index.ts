/**
 * `@typegrad/train`: the training loop as an `Effect`, progress reporting, safetensors checkpoints, typed
 * save and load of parameters (`Params`) and training-curve plots.
 *
 * `TrainCore`, `ParamsCore` and `SafetensorsCore` (also the subpaths `@typegrad/train/TrainCore`, ...) are
 * the halves that import nothing from Node: a browser or a Web Worker imports those subpaths (this index
 * also loads the Node modules). `Train`, `Params` and `Safetensors` re-export them and add the file system.
 *
 * @example
 * ```ts
 * import { Progress, Train } from "@typegrad/train"
 * declare const config: Train.FitConfig<Model.ParamsOf<typeof Reference.mnistCnn>>
 * const result = await Effect.runPromise(Train.fit(config).pipe(Effect.provide(Progress.auto)))
 * ```
 *
 * @since 0.1.0
 */
export * as Examples from "./Examples.ts"
export * as Interop from "./Interop.ts"
export * as Params from "./Params.ts"
export { ParamsMismatchError } from "./Params.ts"
export * as ParamsCore from "./ParamsCore.ts"
export * as Plot from "./Plot.ts"
export * as Progress from "./Progress.ts"
export * as Safetensors from "./Safetensors.ts"
export { CheckpointError } from "./Safetensors.ts"
export * as SafetensorsCore from "./SafetensorsCore.ts"
export * as Train from "./Train.ts"
export { DataShapeError, NonFiniteLossError } from "./Train.ts"
export * as TrainCore from "./TrainCore.ts"
