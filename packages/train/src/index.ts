/**
 * `@typegrad/train`: the training loop as an `Effect`, progress reporting, safetensors checkpoints, typed
 * save and load of parameters (`Params`) and training-curve plots.
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
export * as Plot from "./Plot.ts"
export * as Progress from "./Progress.ts"
export * as Safetensors from "./Safetensors.ts"
export { CheckpointError } from "./Safetensors.ts"
export * as Train from "./Train.ts"
export { DataShapeError, NonFiniteLossError } from "./Train.ts"
