/**
 * Tensor data in the kernels' module memory. The threaded kernels work on the shared WebAssembly memory;
 * an operand anywhere else is copied in before the kernel and its result copied out after it. For a
 * training step those copies cost as much as the arithmetic of the smaller kernels (the Adam pass over
 * 1.3M parameters copied 35 MB a step). So the buffers the kernels write (`allocUninit`) are carved out of
 * the module memory itself: a kernel given such a buffer reads or writes it where it is
 * (`arenaOffset(data)` is its byte address), and the next op that reads it does the same.
 *
 * Layout: kernels use the low `ARENA_BASE` bytes as their scratch (`wasmHeap`); tensor regions live from
 * `ARENA_BASE` up to `ARENA_BASE + ARENA_BYTES`. Pages of the memory that nothing touched cost no memory,
 * so reserving the gap is free.
 *
 * Lifetime follows `recycle.ts`: a region is registered with a `FinalizationRegistry` against the typed
 * array that owns it and returns to the free space once that array is collected (views that outlive it are
 * made with `subView`, which keeps it alive). Free space is kept by address and merged with its neighbours,
 * so regions of any size can be served from it. When the arena is full the caller falls back to an
 * ordinary buffer (then kernels copy, as before): memory stays bounded by `ARENA_BYTES`.
 *
 * The arena is used only with a shared memory (whose buffer never moves when it grows: an ordinary
 * memory's growth would detach every view) that can reserve at least `ARENA_BASE + ARENA_BYTES`.
 *
 * @internal
 */
import { SCRATCH_LIMIT, sharedMemoryStatus, wasmMemory, wasmMemoryMaximum, wasmRuntimeStarted } from "./runtime.ts"

/** Where tensor regions start: the kernels' scratch stays below. */
export const ARENA_BASE = SCRATCH_LIMIT
/** The most bytes of tensor data the arena holds. */
export const ARENA_BYTES = 256 * 2 ** 20
/** Buffers below this size are not worth a region (they are cheap and kernels copy them quickly). */
export const ARENA_MIN_BYTES = 64 * 1024
let minBytes = ARENA_MIN_BYTES

const PAGE = 65536

/** Free regions sorted by address: [start, size] pairs, merged with their neighbours. */
const freeStart: Array<number> = []
const freeSize: Array<number> = []
/** The end of the highest region handed out (regions above it are free). */
let top = ARENA_BASE
let liveBytes = 0
let served = 0
let released = 0
let refused = 0
let enabled: boolean | undefined
let forcedOff = false

/** Every buffer object of the module memory a region was cut from (one per growth). */
const moduleBuffers = new WeakSet<object>()
/** A region handed out: where it is, and when (`serial` counts regions handed out, from 0). */
interface Region {
  readonly start: number
  readonly size: number
  readonly serial: number
}
/** The arrays that own a region (a kernel may write their last vector in full), with their region. */
const owners = new WeakMap<object, Region>()
let nextSerial = 0

function release(start: number, size: number): void {
  liveBytes -= size
  // Binary search for the first free region above `start`.
  let lo = 0, hi = freeStart.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (freeStart[mid]! < start) lo = mid + 1
    else hi = mid
  }
  const prev = lo - 1
  const mergePrev = prev >= 0 && (freeStart[prev]! + freeSize[prev]!) === start
  const mergeNext = lo < freeStart.length && start + size === freeStart[lo]
  if (mergePrev && mergeNext) {
    freeSize[prev]! += size + freeSize[lo]!
    freeStart.splice(lo, 1)
    freeSize.splice(lo, 1)
  } else if (mergePrev) {
    freeSize[prev]! += size
  } else if (mergeNext) {
    freeStart[lo] = start
    freeSize[lo]! += size
  } else {
    freeStart.splice(lo, 0, start)
    freeSize.splice(lo, 0, size)
  }
  // Free space that reaches the top lowers it.
  const last = freeStart.length - 1
  if (last >= 0 && (freeStart[last]! + freeSize[last]!) === top) {
    top = freeStart[last]!
    freeStart.pop()
    freeSize.pop()
  }
}

const registry = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry<Region>(({ start, size }) => release(start, size))
  : undefined

/**
 * Regions come back only after a full collection, and V8 schedules those by the JavaScript heap and by
 * fresh buffer (external) memory; regions of the module memory are neither, so a training loop fills the
 * arena long before V8 collects (then kernels fall back to copies: measured a fifth slower at batch 24).
 * So once the arena is `COLLECT_AT` full, it asks for one asynchronous full collection (Node: V8's `gc`
 * with `execution: "async"`, which marks incrementally between tasks); the regions come back when the event
 * loop turns. Where the engine has no such call (browsers), the arena waits for the engine's own.
 */
const COLLECT_AT = 0.6
/**
 * Bytes handed out between two asks. Data that stays live past `COLLECT_AT` (a program that holds much of
 * the arena) would otherwise make every allocation ask for a collection; a loop that does not yield, whose
 * regions cannot come back, would ask over and over. Normal use is unaffected: between crossing the
 * threshold and crossing it again, more than this is handed out anyway.
 */
const BYTES_BETWEEN_ASKS = 0.2 * ARENA_BYTES
let bytesSinceAsked = Number.POSITIVE_INFINITY
let collector: ((options: object) => unknown) | null | undefined
let collections = 0

function askForCollection(): void {
  if (bytesSinceAsked < BYTES_BETWEEN_ASKS) return
  if (collector === undefined) collector = findCollector()
  if (collector === null) return
  bytesSinceAsked = 0
  collections++
  void collector({ type: "major", execution: "async" })
}

function findCollector(): ((options: object) => unknown) | null {
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === "function") return exposed as (options: object) => unknown
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const v8 = proc?.getBuiltinModule?.("node:v8") as { setFlagsFromString?: (flags: string) => void } | undefined
  const vm = proc?.getBuiltinModule?.("node:vm") as { runInNewContext?: (code: string) => unknown } | undefined
  if (v8?.setFlagsFromString === undefined || vm?.runInNewContext === undefined) return null
  try {
    // The flag exposes `gc` to contexts made from now on; this one context is made only to take it.
    v8.setFlagsFromString("--expose-gc")
    const gc = vm.runInNewContext("gc")
    return typeof gc === "function" ? (gc as (options: object) => unknown) : null
  } catch {
    return null
  }
}

/** Whether regions are handed out: only once the kernels started the module memory (not for `Backend.js`). */
export function arenaEnabled(): boolean {
  if (forcedOff) return false
  if (enabled === undefined) {
    if (!wasmRuntimeStarted()) return false
    enabled = registry !== undefined && sharedMemoryStatus().shared &&
      wasmMemoryMaximum() >= ARENA_BASE + ARENA_BYTES
  }
  return enabled
}

/** Takes `size` bytes: best fit from the free space, else from the top. Returns the start or -1. */
function take(size: number): number {
  let best = -1
  for (let i = 0; i < freeSize.length; i++) {
    const s = freeSize[i]!
    if (s >= size && (best < 0 || s < freeSize[best]!)) {
      best = i
      if (s === size) break
    }
  }
  if (best >= 0) {
    const start = freeStart[best]!
    if (freeSize[best] === size) {
      freeStart.splice(best, 1)
      freeSize.splice(best, 1)
    } else {
      freeStart[best] = start + size
      freeSize[best]! -= size
    }
    return start
  }
  if (top + size > ARENA_BASE + ARENA_BYTES) return -1
  const start = top
  top += size
  return start
}

/**
 * A buffer of `n` elements in the module memory (contents unspecified), or undefined where there is no
 * arena, the size is below `ARENA_MIN_BYTES`, or the arena is full, or would be fuller than `maxFill` (a
 * fraction) with it (the caller then allocates plainly).
 */
export function arenaAlloc(f64: true, n: number, maxFill?: number): Float64Array | undefined
export function arenaAlloc(f64: false, n: number, maxFill?: number): Float32Array | undefined
export function arenaAlloc(f64: boolean, n: number, maxFill?: number): Float32Array | Float64Array | undefined
export function arenaAlloc(f64: boolean, n: number, maxFill = 1): Float32Array | Float64Array | undefined {
  const bytes = n * (f64 ? 8 : 4)
  if (bytes < minBytes || bytes === 0 || bytes > ARENA_BYTES || !arenaEnabled()) return undefined
  // Whole vectors, so kernels may read and write the last one in full.
  const size = Math.ceil(bytes / 16) * 16
  // A caller may take a region only while the arena stays below a fill (data a program may keep for long).
  if (maxFill < 1 && liveBytes + size > maxFill * ARENA_BYTES) return undefined
  const start = take(size)
  if (start < 0) {
    refused++
    return undefined
  }
  bytesSinceAsked += size
  if (liveBytes + size > COLLECT_AT * ARENA_BYTES) askForCollection()
  const memory = wasmMemory()
  if (memory.buffer.byteLength < top) {
    try {
      memory.grow(Math.ceil((top - memory.buffer.byteLength) / PAGE))
    } catch {
      // The engine would not grow the memory this far: give the region back and allocate plainly.
      release(start, size)
      liveBytes += size
      refused++
      return undefined
    }
  }
  const buffer = memory.buffer
  moduleBuffers.add(buffer)
  const data = f64 ? new Float64Array(buffer, start, n) : new Float32Array(buffer, start, n)
  const region: Region = { start, size, serial: nextSerial++ }
  // The array is its own unregister token, for `arenaReleaseDead`.
  registry!.register(data, region, data)
  owners.set(data, region)
  liveBytes += size
  served++
  return data
}

/**
 * The byte address in the module memory of `data`'s first element when `data` lies in the module memory
 * (a region of the arena or a view into one), else undefined: kernels then copy it in.
 */
export function arenaOffset(data: ArrayBufferView): number | undefined {
  return moduleBuffers.has(data.buffer) ? data.byteOffset : undefined
}

/**
 * The byte address of `data` when it owns a whole region of the arena (so its last 16-byte vector is its
 * own to write in full), else undefined.
 */
export function arenaRegionOffset(data: ArrayBufferView): number | undefined {
  return owners.has(data) ? data.byteOffset : undefined
}

/** The serial the next region will get: regions handed out from now on have this serial or a larger one. */
export function arenaMark(): number {
  return nextSerial
}

/**
 * Returns `data`'s region to the free space now, without waiting for a collection, when `data` owns a
 * region handed out at or after `mark` and no array in `live` lies in that region. Returns whether it did.
 *
 * Only for a caller that made `data` itself (hence the mark) and knows that nothing else can reach it:
 * nothing but `live`, which it checks here, may hold `data` or a view of it. The autodiff engine calls it
 * for the cotangents it drops during a backward pass (see `reverse.ts`).
 */
export function arenaReleaseDead(data: object, mark: number, live: Iterable<ArrayBufferView>): boolean {
  const region = owners.get(data)
  if (region === undefined || region.serial < mark) return false
  const end = region.start + region.size
  for (const other of live) {
    if (!moduleBuffers.has(other.buffer)) continue
    const at = other.byteOffset
    if (at < end && at + other.byteLength > region.start) return false
  }
  registry!.unregister(data)
  owners.delete(data)
  release(region.start, region.size)
  released++
  return true
}

/** Counters for tests and the bench. */
export function arenaStats(): {
  readonly enabled: boolean
  readonly served: number
  readonly refused: number
  readonly liveBytes: number
  readonly topBytes: number
  readonly freeRegions: number
  readonly collectionsAsked: number
  /** Regions returned by `arenaReleaseDead` (not by a collection). */
  readonly releasedEarly: number
} {
  return {
    enabled: arenaEnabled(),
    served,
    refused,
    liveBytes,
    topBytes: top - ARENA_BASE,
    freeRegions: freeStart.length,
    collectionsAsked: collections,
    releasedEarly: released
  }
}

/**
 * Tests and measurements: turn the arena off (regions already out stay valid), or serve smaller buffers
 * from it (so that small kernel cases exercise operands in the module memory).
 */
export function configureArena(options: { readonly off?: boolean; readonly minBytes?: number }): void {
  if (options.off !== undefined) forcedOff = options.off
  if (options.minBytes !== undefined) minBytes = options.minBytes
}
