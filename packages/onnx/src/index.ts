/**
 * `@typegrad/onnx`: export a typegrad `Model` with its parameters to ONNX, to run it in ONNX Runtime
 * (servers, GPUs, phones, browsers) or Triton.
 *
 * @example
 * ```ts
 * import { Onnx } from "@typegrad/onnx"
 * declare const params: Model.ParamsOf<typeof Reference.mnistCnn>
 * const bytes: Uint8Array = Onnx.exportModel(Reference.mnistCnn, params)
 * ```
 *
 * @since 0.1.0
 */
export * as Onnx from "./Onnx.ts"
