/**
 * Recycled tensor buffers. A training step makes the same large buffers every step (activations, their
 * gradients, the optimizer's new slots and parameters), and a fresh large typed array is expensive: the
 * allocator hands out zeroed pages the first write faults in, and the garbage collector then frees them
 * again. Measured on the reference CNN, an Adam pass writing into fresh arrays took 8-14 ms against 5 ms
 * writing into reused ones.
 *
 * So buffers of at least `MIN_BYTES` are registered with a `FinalizationRegistry` when they are made: once
 * the typed array that owns a buffer is collected, the buffer goes to a free list by size, and the next
 * allocation of that size takes it instead of a fresh one. Tensors stay immutable values with no `dispose`:
 * a buffer is reused only after nothing can reach the array that owned it.
 *
 * Two invariants keep that sound:
 * - A buffer is reached only through the array registered for it. A longer-lived view of part of a tensor's
 *   data (a batch cut out of a dataset's buffer) is made with `subView`, which keeps the owner alive as long
 *   as the view.
 * - Memory stays bounded. The registry returns buffers only when the event loop turns (`Train.fit` yields
 *   every step); a loop that never yields would otherwise keep every dead buffer. A fresh buffer is
 *   registered only while less than `MAX_PENDING_BYTES` are registered and not yet returned: past that,
 *   buffers are plain (collected as usual, not reused). The free list holds at most `MAX_FREE_BYTES`, giving
 *   way to the sizes asked for most recently; a buffer taken from it is registered again, so registered
 *   and free bytes together stay under the sum of the two.
 *
 * Kernel outputs (`zero` false) are first offered to the module memory (`kernels/wasm/arena.ts`), where
 * kernels read and write them without copies. While that arena is in use (the WebAssembly kernels on a
 * shared memory) nothing is recycled here; this file serves the other configurations (`Backend.js`, a page
 * without cross-origin isolation).
 *
 * V8 runs the registry's callbacks after a full collection only, and a full collection comes about every
 * 64 MB of fresh external (buffer) memory, so reused buffers and fresh ones settle into a balance: the
 * budgets below are sized to keep most of a step's large buffers recycled at a few hundred megabytes.
 *
 * @internal
 */
import type { AnyData, AnyDType, Data, DType } from "./core.ts"
import { arenaAlloc, arenaEnabled, arenaReleaseDead } from "./kernels/wasm/arena.ts"

/** Buffers below this size are allocated plainly (small arrays are cheap and short-lived in V8's new space). */
export const MIN_BYTES = 64 * 1024
/** Registered buffers not yet returned (alive, or dead and waiting for the registry's callback). */
export const MAX_PENDING_BYTES = 128 * 2 ** 20
/** Dead buffers kept for reuse. */
export const MAX_FREE_BYTES = 64 * 2 ** 20
/** Distinct sizes remembered. */
const MAX_SIZES = 4096

interface Held {
  readonly buffer: ArrayBuffer
  readonly bytes: number
}

/** Free buffers by size, each size with the allocation count when it was last asked for. */
const free = new Map<number, { buffers: Array<ArrayBuffer>; lastAsked: number }>()
let pendingBytes = 0
let freeBytes = 0
let reused = 0
let fresh = 0
let asked = 0

/**
 * Room for `bytes` more in the free list: drops the buffers of the sizes asked for least recently (a
 * validation pass's sizes give way to the training step's), never those of `keep`.
 */
function makeRoom(bytes: number, keep: number): boolean {
  if (freeBytes + bytes <= MAX_FREE_BYTES) return true
  const sizes = [...free].filter(([size]) => size !== keep).toSorted((a, b) => a[1].lastAsked - b[1].lastAsked)
  for (const [size, entry] of sizes) {
    freeBytes -= size * entry.buffers.length
    free.delete(size)
    if (freeBytes + bytes <= MAX_FREE_BYTES) return true
  }
  return false
}

const registry = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry<Held>(({ buffer, bytes }) => {
    pendingBytes -= bytes
    // A transferred buffer is detached (length 0): nothing to reuse.
    if (buffer.byteLength !== bytes || !makeRoom(bytes, bytes)) return
    let entry = free.get(bytes)
    if (entry === undefined) free.set(bytes, entry = { buffers: [], lastAsked: 0 })
    entry.buffers.push(buffer)
    freeBytes += bytes
  })
  : undefined

/**
 * A buffer for `n` elements of `dtype`, zero-filled unless `zero` is false (then its contents are
 * unspecified: the caller overwrites every element).
 */
export function allocData(dtype: AnyDType, n: number, zero = true): AnyData {
  const bytes = n * BYTES[dtype]
  // Float kernel outputs go to the module memory first, where the next kernel reads them without a copy.
  if (!zero && (dtype === "float32" || dtype === "float64")) {
    const inModule = arenaAlloc(dtype === "float64", n)
    if (inModule !== undefined) return inModule
  }
  // With the arena in use, buffers here are plain: their fresh external memory is what makes V8 collect,
  // which returns the arena's regions (measured: recycling beside the arena was slower and larger).
  if (registry === undefined || bytes < MIN_BYTES || arenaEnabled()) return new ARRAYS[dtype](n)
  let data: AnyData
  let entry = free.get(bytes)
  if (entry === undefined) {
    // Sizes are remembered (to keep the buffers of recent ones); forget those with no buffer past a bound.
    if (free.size >= MAX_SIZES) { for (const [size, e] of free) if (e.buffers.length === 0) free.delete(size) }
    free.set(bytes, entry = { buffers: [], lastAsked: 0 })
  }
  entry.lastAsked = ++asked
  const buffer = entry.buffers.pop()
  if (buffer !== undefined) {
    freeBytes -= bytes
    reused++
    data = new ARRAYS[dtype](buffer)
    if (zero) data.fill(0)
  } else {
    data = new ARRAYS[dtype](n)
    if (pendingBytes + bytes > MAX_PENDING_BYTES) return data
    fresh++
  }
  // A plain ArrayBuffer: typed arrays made here never use shared memory.
  registry.register(data, { buffer: data.buffer as ArrayBuffer, bytes })
  pendingBytes += bytes
  return data
}

/** Bytes per element of each dtype. */
const BYTES: Readonly<Record<AnyDType, number>> = { float32: 4, float64: 8, int32: 4, bool: 1 }

/** The typed array of each dtype, made fresh (a length) or over a recycled buffer. */
interface DataConstructor {
  new(length: number): AnyData
  new(buffer: ArrayBuffer): AnyData
}
const ARRAYS: Readonly<Record<AnyDType, DataConstructor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array
}

const owners = new WeakMap<object, object>()

/** A typed array whose `subarray` gives its own type (every float and integer typed array). */
interface Sliceable {
  subarray(begin?: number, end?: number): this
}

/**
 * `data.subarray(begin, end)` as a view that may outlive the array it was cut from: it keeps that array (so
 * its buffer) from being recycled for as long as the view lives.
 */
export function subView<A extends Sliceable>(data: A, begin: number, end?: number): A {
  const view = data.subarray(begin, end)
  owners.set(view, owners.get(data) ?? data)
  return view
}

/** Data a caller provides goes to the arena up to this size, and while the arena is at most this full. */
const FILLED_MAX_BYTES = 16 * 2 ** 20
const FILLED_MAX_FILL = 0.25

/**
 * A buffer for data the caller then writes in full (`Tensor.fromArray`): in the module memory's arena when
 * the data is at most 16 MiB and the arena at most a quarter full with it, so that kernels read it in place
 * (a 1024 x 1024 matrix product no longer copies its operands in); else as `allocData` gives it. Data a
 * program keeps for long would crowd out the kernel outputs the arena is for: hence the bounds.
 */
export function allocFilled(dtype: DType, n: number): Data
export function allocFilled(dtype: AnyDType, n: number): AnyData
export function allocFilled(dtype: AnyDType, n: number): AnyData {
  if ((dtype === "float32" || dtype === "float64") && n * BYTES[dtype] <= FILLED_MAX_BYTES) {
    const inModule = arenaAlloc(dtype === "float64", n, FILLED_MAX_FILL)
    if (inModule !== undefined) return inModule
  }
  return allocData(dtype, n)
}

/** What `releaseTemporary` needs of a tensor: its data, and the trace it belongs to (none for a plain value). */
interface Value {
  readonly data: ArrayBufferView
  readonly trace: unknown
}

/**
 * Returns the buffer of `temp`, a temporary that a gradient rule made (from `mark` on, see `arenaMark`)
 * and is done with, to the arena now instead of at the next collection. Only when no trace can have
 * recorded it: `temp` and every input of the rule are plain values (a tracer among them would have a trace
 * see the rule's ops and keep `temp` as a residual), and no result of the rule shares its memory.
 */
export function releaseTemporary(
  temp: Value,
  mark: number,
  inputs: ReadonlyArray<Value | undefined>,
  results: ReadonlyArray<Value | undefined>
): void {
  if (temp.trace !== undefined || inputs.some((t) => t !== undefined && t.trace !== undefined)) return
  arenaReleaseDead(temp.data, mark, results.flatMap((t) => (t === undefined ? [] : [t.data])))
}

/** Counters for tests and the bench: allocations served from the free list, registered fresh ones, bytes held. */
export function recycleStats(): {
  readonly reused: number
  readonly fresh: number
  readonly pendingBytes: number
  readonly freeBytes: number
} {
  return { reused, fresh, pendingBytes, freeBytes }
}

/** Empties the free list (lets its memory be collected). */
export function releaseRecycled(): void {
  free.clear()
  freeBytes = 0
}
