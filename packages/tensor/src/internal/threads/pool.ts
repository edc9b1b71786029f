/**
 * The kernel thread pool: workers (Node `worker_threads`, Web Workers in a browser) that instantiate the
 * kernels' WebAssembly modules against the one shared memory and are woken per job through `Atomics`
 * (a message per job costs several times more than kernels of tens of microseconds can afford).
 *
 * A job is one exported WebAssembly function called once per thread with that thread's integer arguments;
 * the calling thread runs share 0 itself, then waits for the others. Kernels split their work so that every
 * output element is computed by one thread in the same order whatever the thread count: results are the
 * same bit for bit at 1 and N threads.
 *
 * Where shared memory or workers are missing, or the thread count is 1, jobs run on the calling thread and
 * `threadStatus()` says why.
 */
import type { MemoryImport } from "../kernels/wasm/encoder.ts"
import {
  type Compiled,
  instantiate,
  memoryImport,
  sharedMemoryStatus,
  wasmMemory,
  type WasmModule
} from "../kernels/wasm/runtime.ts"

/** Most threads a pool runs (calling thread included). */
export const MAX_THREADS = 64
/** Integer arguments per thread and job. */
const ARGS = 12

// Control block layout (Int32 indices).
const GEN = 0, READY = 1, PENDING = 2, THREADS = 3, FN = 4, STOP = 5, ERROR = 6, ARGS_BASE = 16
/**
 * Spins of a waiting thread before it sleeps in `Atomics.wait` (a few microseconds). Longer spins hide the
 * wake-up but slow the other thread where vCPUs share a core (measured 25% on our machines).
 */
const SPINS = 2000

/** A registered parallel function: its id in every worker, and its instance on the calling thread. */
export interface ParallelFn {
  readonly id: number
  readonly local: (...args: ReadonlyArray<number>) => void
}

const registry: Array<{ readonly module: WasmModule; readonly name: string }> = []

/** Registers an export of a compiled kernel module as a job workers can run. */
export function registerParallel(compiled: Compiled, name: string): ParallelFn {
  const local = compiled.exports[name]
  if (typeof local !== "function") throw new Error(`typegrad internal: module has no export ${name}`)
  registry.push({ module: compiled.module, name })
  // A pool started before this registration does not know the function: the next job starts a new one.
  if (pool !== undefined && pool.functions < registry.length) stopPool()
  // Exports of generated modules take and return numbers only.
  return { id: registry.length - 1, local: local as (...args: ReadonlyArray<number>) => void }
}

/**
 * An export `name` of a generated module, one module per element type, compiled and registered as a
 * parallel job on first use: `(is32) => job`.
 */
export function parallelPerDtype(
  moduleBytes: (dtype: "f32" | "f64", memory: MemoryImport) => Uint8Array<ArrayBuffer>,
  name: string
): (is32: boolean) => ParallelFn {
  let jobs: { readonly f32: ParallelFn; readonly f64: ParallelFn } | undefined
  return (is32) => {
    jobs ??= {
      f32: registerParallel(instantiate(moduleBytes("f32", memoryImport())), name),
      f64: registerParallel(instantiate(moduleBytes("f64", memoryImport())), name)
    }
    return is32 ? jobs.f32 : jobs.f64
  }
}

// The worker's program, as source so it needs no file next to the bundle: it runs WebAssembly only.
const WORKER_SOURCE = `"use strict";
function start(d) {
  const c = new Int32Array(d.ctrl);
  const fns = d.fns.map((f) => new WebAssembly.Instance(d.modules[f[0]], { env: { memory: d.memory } }).exports[f[1]]);
  const base = ${ARGS_BASE} + d.index * ${ARGS};
  let gen = Atomics.load(c, ${GEN});
  Atomics.add(c, ${READY}, 1);
  Atomics.notify(c, ${READY});
  for (;;) {
    let spins = 0;
    while (Atomics.load(c, ${GEN}) === gen) {
      if (++spins > ${SPINS}) { Atomics.wait(c, ${GEN}, gen); spins = 0; }
    }
    gen = Atomics.load(c, ${GEN});
    if (Atomics.load(c, ${STOP}) !== 0) return;
    if (d.index < Atomics.load(c, ${THREADS})) {
      try {
        fns[c[${FN}]](c[base], c[base + 1], c[base + 2], c[base + 3], c[base + 4], c[base + 5], c[base + 6], c[base + 7], c[base + 8], c[base + 9], c[base + 10], c[base + 11]);
      } catch (e) {
        Atomics.store(c, ${ERROR}, 1);
      }
      if (Atomics.sub(c, ${PENDING}, 1) === 1) Atomics.notify(c, ${PENDING});
    }
  }
}
if (typeof self === "undefined" && typeof process === "object") start(process.getBuiltinModule("node:worker_threads").workerData);
else self.onmessage = (e) => start(e.data);
`

interface WorkerHandle {
  terminate(): unknown
}

interface Pool {
  readonly ctrl: Int32Array
  /** Worker threads (the calling thread is not counted). */
  readonly workers: ReadonlyArray<WorkerHandle>
  /** How many registered functions the workers instantiated. */
  readonly functions: number
}

let pool: Pool | undefined

/** The default thread count: `TYPEGRAD_THREADS` where the environment has it (Node), else "auto". */
function fromEnvironment(): { readonly setting: number | "auto"; readonly problem?: string } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const raw = env?.["TYPEGRAD_THREADS"]
  if (raw === undefined || raw.trim() === "" || raw.trim() === "auto") return { setting: "auto" }
  const n = Number(raw)
  if (/^\d+$/.test(raw.trim()) && n >= 1 && n <= MAX_THREADS) return { setting: n }
  return {
    setting: "auto",
    problem: `TYPEGRAD_THREADS=${raw} ignored (use an integer from 1 to ${MAX_THREADS} or "auto")`
  }
}
const environment = fromEnvironment()
let requested: number | "auto" = environment.setting
let unavailable: string | undefined
let canBlock: boolean | undefined

type NodeWorkerThreads = {
  readonly Worker: new(source: string, options: { eval: true; workerData: unknown }) => WorkerHandle & {
    unref(): void
  }
}

function nodeWorkerThreads(): NodeWorkerThreads | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  // Node >= 20.16 loads built-ins synchronously without a static import (which would break browser bundles).
  return proc?.getBuiltinModule?.("node:worker_threads") as NodeWorkerThreads | undefined
}

type BrowserWorker = new(url: string) => WorkerHandle & { postMessage(data: unknown): void }

function spawn(data: object): WorkerHandle | undefined {
  const node = nodeWorkerThreads()
  if (node !== undefined) {
    const worker = new node.Worker(WORKER_SOURCE, { eval: true, workerData: data })
    // Idle workers must not keep the process alive.
    worker.unref()
    return worker
  }
  const g = globalThis as {
    Worker?: BrowserWorker
    Blob?: new(parts: Array<string>, options: { type: string }) => object
    URL?: { createObjectURL(blob: object): string }
  }
  if (g.Worker === undefined || g.Blob === undefined || g.URL === undefined) return undefined
  const url = g.URL.createObjectURL(new g.Blob([WORKER_SOURCE], { type: "text/javascript" }))
  const worker = new g.Worker(url)
  // A Worker's postMessage has no target origin (the rule is about window.postMessage).
  // oxlint-disable-next-line unicorn/require-post-message-target-origin
  worker.postMessage(data)
  return worker
}

/** The cores of this machine (Node: available parallelism; browsers: hardwareConcurrency). */
export function availableCores(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const os = proc?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
  const n = os?.availableParallelism?.() ?? nav?.hardwareConcurrency ?? 1
  return Math.max(1, Math.min(MAX_THREADS, Math.floor(n)))
}

function blockingAllowed(): boolean {
  if (canBlock === undefined) {
    try {
      // A browser's main thread refuses to block (TypeError); elsewhere this returns "timed-out".
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0)
      canBlock = true
    } catch {
      canBlock = false
    }
  }
  return canBlock
}

/**
 * Sets how many threads kernels use from now on (the calling thread included): a positive integer, or
 * "auto" for the cores there are. Workers are (re)started on the next job that needs them. The setting
 * starts as `TYPEGRAD_THREADS` where the environment has it, else "auto".
 */
export function setThreads(n: number | "auto"): void {
  if (n !== "auto" && (!Number.isInteger(n) || n < 1 || n > MAX_THREADS)) {
    throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS} or "auto", got ${String(n)}`)
  }
  requested = n
  // A pool with more workers serves fewer threads (the others sleep); only a larger count needs a new one.
  if (pool !== undefined && pool.workers.length + 1 < requestedThreads()) stopPool()
}

/** The thread setting last given to `setThreads` ("auto" unless changed). */
export function requestedThreadSetting(): number | "auto" {
  return requested
}

function requestedThreads(): number {
  return requested === "auto" ? availableCores() : requested
}

/** The threads asked for, the threads jobs really run on, and why they differ when they do. */
export interface ThreadStatus {
  readonly requested: number
  readonly threads: number
  readonly reason: string
}

/** Where the thread pool stands (starts nothing). */
export function threadStatus(): ThreadStatus {
  const want = requestedThreads()
  const memory = sharedMemoryStatus()
  if (want === 1) return { requested: 1, threads: 1, reason: "one thread requested" }
  if (!memory.shared) return { requested: want, threads: 1, reason: `one thread: ${memory.reason}` }
  if (unavailable !== undefined) return { requested: want, threads: 1, reason: `one thread: ${unavailable}` }
  const note = environment.problem === undefined || requested !== "auto" ? "" : `; ${environment.problem}`
  return { requested: want, threads: want, reason: `${want} threads sharing WebAssembly memory${note}` }
}

/** Threads a job of `units` units of work should use, at most one per `unitsPerThread`. */
export function threadsFor(units: number, unitsPerThread: number): number {
  const status = threadStatus()
  if (status.threads === 1) return 1
  return Math.max(1, Math.min(status.threads, Math.floor(units / unitsPerThread)))
}

function startPool(threads: number): Pool | undefined {
  const ctrl = new Int32Array(new SharedArrayBuffer((ARGS_BASE + MAX_THREADS * ARGS) * 4))
  const modules: Array<WasmModule> = []
  const fns = registry.map(({ module, name }) => {
    let m = modules.indexOf(module)
    if (m < 0) m = modules.push(module) - 1
    return [m, name] as const
  })
  const workers: Array<WorkerHandle> = []
  try {
    for (let index = 1; index < threads; index++) {
      const worker = spawn({ ctrl: ctrl.buffer, memory: wasmMemory(), modules, fns, index })
      if (worker === undefined) {
        unavailable = "this engine has no worker threads"
        break
      }
      workers.push(worker)
    }
  } catch (cause) {
    unavailable = `workers could not be started (${String(cause)})`
  }
  if (unavailable !== undefined) {
    for (const w of workers) void w.terminate()
    return undefined
  }
  if (blockingAllowed()) {
    // Workers start in a few milliseconds; give a loaded machine ample time before giving up on them.
    const deadline = performance.now() + 30_000
    for (let ready = Atomics.load(ctrl, READY); ready < workers.length; ready = Atomics.load(ctrl, READY)) {
      if (performance.now() > deadline) {
        unavailable = "worker threads did not start within 30 s"
        break
      }
      Atomics.wait(ctrl, READY, ready, 100)
    }
  }
  const started: Pool = { ctrl, workers, functions: registry.length }
  if (unavailable !== undefined) {
    terminate(started)
    return undefined
  }
  return started
}

function terminate(p: Pool): void {
  Atomics.store(p.ctrl, STOP, 1)
  Atomics.add(p.ctrl, GEN, 1)
  Atomics.notify(p.ctrl, GEN)
  for (const w of p.workers) void w.terminate()
}

function stopPool(): void {
  if (pool !== undefined) terminate(pool)
  pool = undefined
}

/** Stops the workers (they are started again by the next job that needs them). */
export function shutdownThreads(): void {
  stopPool()
}

/**
 * Runs `fn` on `threads` threads: thread t (0 is the calling thread) gets `argsOf(t)`. Falls back to fewer
 * threads (down to the calling thread alone) while workers are not ready; callers split work so that the
 * result does not depend on the thread count.
 */
export function runParallel(
  fn: ParallelFn,
  threads: number,
  argsOf: (thread: number, threads: number) => ReadonlyArray<number>
): void {
  let n = Math.min(threads, threadStatus().threads)
  if (n > 1) {
    pool ??= startPool(requestedThreads())
    if (pool === undefined || Atomics.load(pool.ctrl, READY) < pool.workers.length) n = 1
    else n = Math.min(n, pool.workers.length + 1)
  }
  if (n <= 1) {
    fn.local(...argsOf(0, 1))
    return
  }
  // `pool` is set: n > 1 only when it started.
  const ctrl = pool!.ctrl
  parallelJobs++
  for (let t = 1; t < n; t++) {
    const args = argsOf(t, n)
    if (args.length > ARGS) throw new Error(`typegrad internal: a parallel job takes at most ${ARGS} arguments`)
    ctrl.set(args, ARGS_BASE + t * ARGS)
  }
  Atomics.store(ctrl, FN, fn.id)
  Atomics.store(ctrl, THREADS, n)
  Atomics.store(ctrl, ERROR, 0)
  Atomics.store(ctrl, PENDING, n - 1)
  Atomics.add(ctrl, GEN, 1)
  Atomics.notify(ctrl, GEN)
  try {
    fn.local(...argsOf(0, n))
  } finally {
    const block = blockingAllowed()
    let spins = 0
    for (let left = Atomics.load(ctrl, PENDING); left !== 0; left = Atomics.load(ctrl, PENDING)) {
      if (block && ++spins > SPINS) {
        Atomics.wait(ctrl, PENDING, left, 1000)
        spins = 0
      }
    }
  }
  if (Atomics.load(ctrl, ERROR) !== 0) throw new Error("typegrad internal: a kernel failed on a worker thread")
}

let parallelJobs = 0

/** Jobs run on more than one thread since the process started (for tests and the bench). */
export function parallelJobCount(): number {
  return parallelJobs
}

/** [lo, hi) of `total` items for thread t of n: contiguous, balanced, independent of anything else. */
export function share(total: number, t: number, n: number): readonly [number, number] {
  const base = Math.floor(total / n), extra = total % n
  const lo = t * base + Math.min(t, extra)
  return [lo, lo + base + (t < extra ? 1 : 0)]
}
