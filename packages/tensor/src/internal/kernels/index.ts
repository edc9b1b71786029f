/**
 * Numeric kernels and backend selection.
 *
 * Two interchangeable implementations of `Kernels`:
 * - `jsKernels`: portable plain JavaScript (the reference and fallback),
 * - `wasmKernels`: GEMM on a WebAssembly SIMD micro-kernel generated at load time; convolution goes through
 *   the same im2col code on top of it; 2x2 / stride 2 max pooling has a branch-free SIMD kernel, other
 *   pooling is shared with the JS backend.
 * `getKernels()` returns the active set: WASM when the engine supports WebAssembly SIMD, else JS.
 *
 * Layout, by backend: `js/` (GEMM, pooling, fused elementwise loops), `wasm/` (the module encoder and the
 * SIMD kernels), and at this level what both share: `types.ts` (the `Kernels` interface and geometries),
 * `im2col.ts` (convolution over any GEMM) and `scratch.ts` (reused work buffers).
 */
import { makeConvKernels } from "./im2col.ts"
import { reluBackward } from "./js/fused.ts"
import { gemmJs } from "./js/gemm.ts"
import { adamJs } from "./js/optim.ts"
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, maxPool2dBackwardFromInput } from "./js/pool.ts"
import { sumRows } from "./js/reduce.ts"
import type { Kernels } from "./types.ts"
import { wasmConvKernels } from "./wasm/conv-wasm.ts"
import { reluBackwardWasm } from "./wasm/elementwise-wasm.ts"
import { gemmWasm, wasmSimdSupported } from "./wasm/gemm-wasm.ts"
import { adamWasm } from "./wasm/optim-wasm.ts"
import { maxPool2dBackwardFromInputWasm, maxPool2dWasm } from "./wasm/pool-wasm.ts"
import { sumRowsWasm } from "./wasm/reduce-wasm.ts"

export { releaseScratch } from "./scratch.ts"
export type {
  AdamArgs,
  Conv2dEpilogue,
  Conv2dGeometry,
  FloatArray,
  GemmArgs,
  Kernels,
  Pool2dGeometry
} from "./types.ts"
export { arenaMark, arenaReleaseDead, arenaStats, configureArena } from "./wasm/arena.ts"
export { configureWasmGemm, wasmFmaSupported, wasmGemmUsesFma, wasmSimdSupported } from "./wasm/gemm-wasm.ts"

const pools = { maxPool2d, maxPool2dBackward, maxPool2dBackwardFromInput, avgPool2d, avgPool2dBackward }

export const jsKernels: Kernels = {
  name: "js",
  gemm: gemmJs,
  ...makeConvKernels(gemmJs),
  ...pools,
  adam: adamJs,
  reluBackward,
  sumRows
}

export const wasmKernels: Kernels = {
  name: "wasm-simd",
  gemm: gemmWasm,
  ...wasmConvKernels,
  ...pools,
  maxPool2d: maxPool2dWasm,
  maxPool2dBackwardFromInput: maxPool2dBackwardFromInputWasm,
  adam: adamWasm,
  reluBackward: reluBackwardWasm,
  sumRows: sumRowsWasm
}

let active: Kernels | undefined

/** The active kernel set (WASM SIMD where supported, else plain JS). */
export function getKernels(): Kernels {
  active ??= wasmSimdSupported() ? wasmKernels : jsKernels
  return active
}

/** Select the kernel set used from now on (e.g. `jsKernels` to force the portable path). */
export function setKernels(kernels: Kernels): void {
  active = kernels
}
