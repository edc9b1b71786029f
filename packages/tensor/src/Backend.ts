/**
 * The compute backend as an Effect service. Tensor ops are synchronous and read the active kernel set;
 * providing one of these layers selects the kernels for the lifetime of the layer and restores the
 * previous ones when its scope closes.
 *
 * - `Backend.wasm`: WebAssembly SIMD kernels (the default where the engine supports WebAssembly SIMD)
 * - `Backend.js`: the portable JavaScript kernels (the reference implementation)
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { getKernels, jsKernels, setKernels, wasmKernels, wasmSimdSupported } from "./internal/kernels/index.ts"
import type { Kernels } from "./internal/kernels/types.ts"

/**
 * The active backend: its name (`"wasm-simd"` or `"js"`).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const backend = yield* Backend.Backend
 *   yield* Console.log(`computing on ${backend.name}`)
 * })
 * ```
 */
export class Backend extends Context.Service<Backend, { readonly name: string }>()("@typegrad/tensor/Backend") {}

const select = (kernels: Kernels): Layer.Layer<Backend> =>
  Layer.effect(
    Backend,
    Effect.acquireRelease(
      Effect.sync(() => {
        const previous = getKernels()
        setKernels(kernels)
        return previous
      }),
      (previous) => Effect.sync(() => setKernels(previous))
    ).pipe(Effect.as(Backend.of({ name: kernels.name })))
  )

/**
 * The WebAssembly SIMD kernels (falls back to JavaScript where WebAssembly SIMD is not supported).
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<number>
 * Effect.provide(program, Backend.wasm)
 * ```
 */
export const wasm: Layer.Layer<Backend> = Layer.suspend(() => select(wasmSimdSupported() ? wasmKernels : jsKernels))

/**
 * The portable JavaScript kernels.
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<number>
 * Effect.provide(program, Backend.js)
 * ```
 */
export const js: Layer.Layer<Backend> = Layer.suspend(() => select(jsKernels))

/**
 * The name of the kernels ops use right now, outside any layer.
 *
 * @example
 * ```ts
 * Backend.current() // "wasm-simd"
 * ```
 */
export const current = (): string => getKernels().name
