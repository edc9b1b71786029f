/**
 * The engine room, for sibling packages (`@typegrad/autodiff`, `@typegrad/nn`) only: the runtime tensor
 * class, primitive application (`bind`) and the trace hook. Not part of the public API; it may change
 * without notice.
 *
 * @internal
 */
export { alloc, bind, isTensor, make, primitive, sizeOf, TensorImpl } from "./core.ts"
export type { Data, DType, Primitive, Trace, VjpRule } from "./core.ts"
export { getKernels, jsKernels, setKernels, wasmKernels, wasmSimdSupported } from "./kernels/index.ts"
export type { Conv2dGeometry, Kernels } from "./kernels/index.ts"
