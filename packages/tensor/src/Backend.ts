/**
 * The compute backend as an Effect service. Tensor ops are synchronous and read the active kernel set;
 * providing one of these layers selects the kernels for the lifetime of the layer and restores the
 * previous ones when its scope closes.
 *
 * - `Backend.wasm`: WebAssembly SIMD kernels on every core (the default where the engine supports
 *   WebAssembly SIMD; one thread where memory cannot be shared between threads)
 * - `Backend.js`: the portable JavaScript kernels (the reference implementation)
 * - `Backend.layer({ kernels, threads })`: either, with a chosen number of threads
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import {
  configureWasmGemm,
  getKernels,
  jsKernels,
  setKernels,
  wasmFmaSupported,
  wasmGemmUsesFma,
  wasmKernels,
  wasmSimdSupported
} from "./internal/kernels/index.ts"
import type { Kernels } from "./internal/kernels/types.ts"
import { MAX_THREADS, requestedThreadSetting, setThreads, threadStatus } from "./internal/threads/pool.ts"

/** What a `Backend` layer provides: the kernels in use and the threads they run on. */
export interface BackendInfo {
  /** `"wasm-simd"` or `"js"`. */
  readonly name: string
  /** Threads kernels run on, the calling thread included (1 for `"js"`, or where threads are unavailable). */
  readonly threads: number
  /** Why `threads` is what it is, e.g. "one thread: the page is not cross-origin isolated (...)". */
  readonly threadsReason: string
  /**
   * Whether the GEMM uses relaxed SIMD multiply-add (engines with relaxed SIMD; on Node 20, after
   * `Backend.enableRelaxedSimd()`; false for `"js"`).
   */
  readonly fusedMultiplyAdd: boolean
}

/**
 * The active backend: its name (`"wasm-simd"` or `"js"`) and its threads.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const backend = yield* Backend.Backend
 *   yield* Console.log(`computing on ${backend.name} with ${backend.threads} thread(s)`)
 * })
 * ```
 */
export class Backend extends Context.Service<Backend, BackendInfo>()("@typegrad/tensor/Backend") {}

/** Options of `Backend.layer`. */
export interface BackendOptions {
  /** `"wasm"` (the default; JavaScript where WebAssembly SIMD is missing) or `"js"`, the reference. */
  readonly kernels?: "wasm" | "js" | undefined
  /**
   * Threads for the WebAssembly kernels, the calling thread included: a positive integer, or `"auto"` for
   * the cores there are (default: the setting in force, which starts as `TYPEGRAD_THREADS` where the
   * environment sets it, else `"auto"`). Where memory cannot be shared (a page without cross-origin
   * isolation) kernels run on one thread and `threadsReason` says why.
   */
  readonly threads?: number | "auto" | undefined
}

const info = (kernels: Kernels): BackendInfo => {
  if (kernels.name === "js") {
    return {
      name: "js",
      threads: 1,
      threadsReason: "the JavaScript kernels run on one thread",
      fusedMultiplyAdd: false
    }
  }
  const status = threadStatus()
  return {
    name: kernels.name,
    threads: status.threads,
    threadsReason: status.reason,
    fusedMultiplyAdd: wasmGemmUsesFma()
  }
}

/**
 * A backend with options: kernels and threads, for the lifetime of the layer (the previous ones are
 * restored when its scope closes). Bad options fail when the layer is built, with what was wrong.
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<number>
 * Effect.provide(program, Backend.layer({ threads: 2 }))
 * ```
 */
export const layer = (options: BackendOptions = {}): Layer.Layer<Backend> =>
  Layer.effect(
    Backend,
    Effect.acquireRelease(
      Effect.sync(() => {
        const kernels = options.kernels === "js" || !wasmSimdSupported() ? jsKernels : wasmKernels
        const previous = { kernels: getKernels(), threads: requestedThreadSetting() }
        // Validates before anything changes: a bad thread count leaves the previous backend in place.
        if (options.threads !== undefined) setThreads(options.threads)
        setKernels(kernels)
        return previous
      }),
      (previous) =>
        Effect.sync(() => {
          setKernels(previous.kernels)
          setThreads(previous.threads)
        })
    ).pipe(Effect.map(() => Backend.of(info(getKernels()))))
  )

/**
 * The WebAssembly SIMD kernels on every core (falls back to JavaScript where WebAssembly SIMD is not
 * supported, and to one thread where memory cannot be shared).
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<number>
 * Effect.provide(program, Backend.wasm)
 * ```
 */
export const wasm: Layer.Layer<Backend> = Layer.suspend(() => layer({ kernels: "wasm" }))

/**
 * The portable JavaScript kernels, on the calling thread: the reference implementation.
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<number>
 * Effect.provide(program, Backend.js)
 * ```
 */
export const js: Layer.Layer<Backend> = Layer.suspend(() => layer({ kernels: "js" }))

/**
 * The name of the kernels ops use right now, outside any layer.
 *
 * @example
 * ```ts
 * Backend.current() // "wasm-simd"
 * ```
 */
export const current = (): string => getKernels().name

/**
 * The kernels and threads ops use right now, outside any layer (starts no thread).
 *
 * @example
 * ```ts
 * const { name, threads, threadsReason } = Backend.status()
 * ```
 */
export const status = (): BackendInfo => info(getKernels())

/**
 * The most threads a backend runs on.
 *
 * @example
 * ```ts
 * Backend.layer({ threads: Math.min(8, Backend.maxThreads) })
 * ```
 */
export const maxThreads: number = MAX_THREADS

/** Node versions whose V8 has WebAssembly relaxed SIMD only behind a flag (and knows the flag). */
const RELAXED_SIMD_FLAGGED = new Set(["20", "21"])

/**
 * Turns on WebAssembly relaxed SIMD where the engine has it only behind a flag: Node 20 and 21, whose V8
 * needs `--experimental-wasm-relaxed-simd` (set here for this process, worker threads included). The
 * GEMM's micro-kernel then uses fused multiply-add (`f32x4.relaxed_madd`). Node 22 and browsers have
 * relaxed SIMD by default; there, and anywhere the flag cannot be set, this changes nothing. Kernels
 * compiled before the call are compiled again. The `typegrad` command calls it at start-up. Returns
 * whether the GEMM uses multiply-add now.
 *
 * @example
 * ```ts
 * Backend.enableRelaxedSimd() // true on Node 20 on x86-64 and arm64
 * Backend.status().fusedMultiplyAdd // the same
 * ```
 */
export const enableRelaxedSimd = (): boolean => {
  const proc = (globalThis as {
    process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown }
  }).process
  const major = proc?.versions?.node?.split(".")[0]
  if (!wasmFmaSupported() && major !== undefined && RELAXED_SIMD_FLAGGED.has(major)) {
    const v8 = proc?.getBuiltinModule?.("node:v8") as { setFlagsFromString?: (flags: string) => void } | undefined
    v8?.setFlagsFromString?.("--experimental-wasm-relaxed-simd")
  }
  if (wasmSimdSupported() && wasmFmaSupported() && !wasmGemmUsesFma()) configureWasmGemm({})
  return wasmSimdSupported() && wasmGemmUsesFma()
}
