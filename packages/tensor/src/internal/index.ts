/**
 * The engine room, for sibling packages only (`@typegrad/autodiff`, `@typegrad/nn`, `@typegrad/optim`,
 * `@typegrad/data`, `@typegrad/train`, the benchmarks): the runtime tensor class, primitive application
 * (`bind`) and the trace hook, raw buffers, the engine's broadcasting sum, and the kernels. Not part of
 * the public API; it may change without notice. This is the package's only private surface.
 *
 * @internal
 */
export { sumTo } from "../ops/reduce.ts"
export { unsafeData, unsafeFromData } from "./buffer.ts"
export {
  alloc,
  allocUninit,
  bind,
  isDType,
  isFloat,
  isFloatDType,
  isTensor,
  make,
  primitive,
  sizeOf,
  TensorImpl
} from "./core.ts"
export type { AnyData, AnyDType, Data, DType, FloatImpl, Primitive, Trace, VjpRule } from "./core.ts"
export {
  arenaMark,
  arenaReleaseDead,
  arenaStats,
  configureArena,
  configureWasmGemm,
  getKernels,
  jsKernels,
  releaseScratch,
  setKernels,
  wasmFmaSupported,
  wasmGemmUsesFma,
  wasmKernels,
  wasmSimdSupported
} from "./kernels/index.ts"
export type {
  AdamArgs,
  Conv2dEpilogue,
  Conv2dGeometry,
  FloatArray,
  GemmArgs,
  Kernels,
  Pool2dGeometry
} from "./kernels/index.ts"
export { fromImpl, toImpl } from "./op.ts"
export { allocFilled, recycleStats, releaseRecycled, subView } from "./recycle.ts"
export {
  availableCores,
  parallelJobCount,
  requestedThreadSetting,
  setThreads,
  shutdownThreads,
  type ThreadStatus,
  threadStatus
} from "./threads/pool.ts"
