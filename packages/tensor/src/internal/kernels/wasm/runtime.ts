/**
 * The WebAssembly runtime every kernel module shares: one memory (shared between threads where the engine
 * allows it), the views onto it, and instantiation of generated module bytes against it.
 *
 * The memory is a shared `WebAssembly.Memory` when `SharedArrayBuffer` is usable (Node; a browser page or
 * worker with cross-origin isolation), so the thread pool's workers run the same compiled modules on the
 * same bytes. Otherwise it is an ordinary memory and everything runs on the calling thread
 * (`sharedMemoryStatus` says why).
 */
import type { MemoryImport } from "./encoder.ts"

// The WebAssembly global, typed locally: the project's lib settings (es2023 + node types) only declare
// its types, not the value.
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
  grow(pages: number): number
}
/** A compiled module (opaque; can be posted to a worker). */
export type WasmModule = object
interface WasmApi {
  Memory: new(descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
  Module: new(bytes: Uint8Array<ArrayBuffer>) => WasmModule
  Instance: new(module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> }
  validate(bytes: Uint8Array<ArrayBuffer>): boolean
}
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly

const PAGE = 65536
/** The wasm32 limit (4 GiB); a shared memory reserves its maximum up front, so smaller ones are tried too. */
const MAXIMUM_PAGES = [65536, 16384, 4096] as const
/** The maximum every module declares for a shared memory import (a memory's maximum may be lower). */
const DECLARED_MAXIMUM = 65536

/** Whether the memory is shared between threads, and if not, why not. */
export interface SharedMemoryStatus {
  readonly shared: boolean
  readonly reason: string
}

/**
 * Kernels' scratch (`wasmHeap`) stays below this address: a shared memory keeps tensor data above it
 * (`arena.ts`).
 */
export const SCRATCH_LIMIT = 2 ** 30

interface Runtime {
  readonly memory: WasmMemory
  /** The most bytes the memory can grow to. */
  readonly maximumBytes: number
  readonly status: SharedMemoryStatus
  readonly import: MemoryImport
}

let runtime: Runtime | undefined
let f32View: Float32Array = new Float32Array(0)
let f64View: Float64Array = new Float64Array(0)

function sharedUnavailableReason(): string | undefined {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean }
  // Browsers hide SharedArrayBuffer from pages that are not cross-origin isolated: say what to fix.
  if (g.crossOriginIsolated === false) {
    return "the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)"
  }
  if (typeof g.SharedArrayBuffer !== "function") return "SharedArrayBuffer is not available in this engine"
  return undefined
}

function makeRuntime(): Runtime {
  if (wasmApi === undefined) throw new Error("WebAssembly is not available")
  const reason = sharedUnavailableReason()
  if (reason === undefined) {
    for (const maximum of MAXIMUM_PAGES) {
      try {
        const memory = new wasmApi.Memory({ initial: 16, maximum, shared: true })
        return {
          memory,
          maximumBytes: maximum * PAGE,
          status: { shared: true, reason: `shared memory of up to ${maximum / 16} MiB` },
          import: { shared: true, maximumPages: DECLARED_MAXIMUM }
        }
      } catch {
        // Address space for this maximum could not be reserved: try a smaller one.
      }
    }
  }
  return {
    memory: new wasmApi.Memory({ initial: 16 }),
    maximumBytes: 2 ** 32,
    status: { shared: false, reason: reason ?? "a shared WebAssembly memory could not be reserved" },
    import: { shared: false }
  }
}

function get(): Runtime {
  if (runtime === undefined) {
    runtime = makeRuntime()
    refreshViews()
  }
  return runtime
}

function refreshViews(): void {
  const buffer = get().memory.buffer
  f32View = new Float32Array(buffer)
  f64View = new Float64Array(buffer)
}

/** The module memory. */
export function wasmMemory(): WasmMemory {
  return get().memory
}

/** Whether the module memory exists yet (a kernel module was instantiated, or something asked for it). */
export function wasmRuntimeStarted(): boolean {
  return runtime !== undefined
}

/** The most bytes the module memory can grow to. */
export function wasmMemoryMaximum(): number {
  return get().maximumBytes
}

/** How generated modules must declare their memory import to be instantiated against `wasmMemory()`. */
export function memoryImport(): MemoryImport {
  return get().import
}

/** Whether kernels can share the memory with worker threads (and why not, when they cannot). */
export function sharedMemoryStatus(): SharedMemoryStatus {
  return get().status
}

/**
 * The module memory, grown to at least `bytes`, with fresh views (views are replaced when the memory
 * grows). Only the calling thread grows the memory, between parallel jobs.
 */
export function wasmHeap(bytes: number): { readonly f32: Float32Array; readonly f64: Float64Array } {
  const memory = get().memory
  const have = memory.buffer.byteLength
  if (bytes > SCRATCH_LIMIT) {
    throw new RangeError(
      `typegrad: one kernel call needs ${Math.ceil(bytes / 2 ** 20)} MiB of WebAssembly scratch memory, more than the ${
        SCRATCH_LIMIT / 2 ** 20
      } MiB there is; use a smaller batch or Backend.js`
    )
  }
  if (bytes > have) {
    try {
      memory.grow(Math.ceil((bytes - have) / PAGE))
    } catch (cause) {
      throw new RangeError(
        `typegrad: the kernels need ${
          Math.ceil(bytes / 2 ** 20)
        } MiB of WebAssembly memory, more than this engine grants; use a smaller batch or Backend.js`,
        { cause }
      )
    }
    refreshViews()
  } else if (f32View.byteLength < bytes) {
    // The memory grew elsewhere (tensor regions, `arena.ts`): the views catch up.
    refreshViews()
  }
  return { f32: f32View, f64: f64View }
}

/** A compiled module and its exports instantiated on this thread. */
export interface Compiled {
  readonly module: WasmModule
  readonly exports: Record<string, unknown>
}

/** Compiles module bytes (generated with `memoryImport()`) and instantiates them against the shared memory. */
export function instantiate(bytes: Uint8Array<ArrayBuffer>): Compiled {
  if (wasmApi === undefined) throw new Error("WebAssembly is not available")
  const module = new wasmApi.Module(bytes)
  return { module, exports: new wasmApi.Instance(module, { env: { memory: get().memory } }).exports }
}

/** Whether this engine accepts the module bytes. */
export function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return wasmApi !== undefined && wasmApi.validate(bytes)
  } catch {
    return false
  }
}
