/**
 * What a peer gives the harness, and the timing rules every peer follows.
 *
 * A peer (typegrad, PyTorch, jax-js, TensorFlow.js) offers one or more settings (a column of the table:
 * `torch-2t`, `jax-im2col`, `tfjs-wasm`, ...). A setting prepares a workload (inputs built, one warm-up
 * run) into a runner; the harness asks the runners of all settings for a sample in turn, round after round
 * (the order rotating each round), so a change in machine load hits every column alike. A sample is the
 * median of repeated runs within a time budget; the figure reported is the median of the round samples.
 */
import type { Workload } from "./workloads.ts"

export interface Sample {
  readonly medianMs: number
  readonly reps: number
}

export interface Runner {
  /** How long the warm-up run (done by `prepare`) took. */
  readonly warmupMs: number
  /** Runs the workload at least `minReps` times and until `budgetMs` is spent; the median time. */
  readonly sample: (budgetMs: number, minReps: number) => Promise<Sample>
  /** Training runners: the first and latest loss (undefined for other workloads). */
  readonly losses?: () => Losses | undefined
  readonly dispose: () => void | Promise<void>
}

export interface Setting {
  /** The column label, e.g. `torch-2t`. */
  readonly name: string
  readonly peer: PeerName
  /** How it runs (versions, threads, backend), printed once. */
  readonly detail: string
  /**
   * Set when this setting's figures must not be compared (e.g. PyTorch on the reference BLAS): they are
   * printed marked `!`, and no ratio is computed against them.
   */
  readonly invalid?: string | undefined
  /**
   * Idle time after each of its samples before the next setting's: a multi-threaded library's pool keeps
   * spinning for a while after a call (OpenBLAS, OpenMP), which would slow whoever runs next.
   */
  readonly settleMs?: number
  /** Builds the workload and runs it once; `undefined` when this setting does not run that workload. */
  readonly prepare: (w: Workload) => Promise<Runner | undefined>
}

export type PeerName = "typegrad" | "torch" | "jax" | "tfjs"
export const PEERS: ReadonlyArray<Exclude<PeerName, "typegrad">> = ["torch", "jax", "tfjs"]

/** A started peer: its settings, and how to shut it down (child processes). */
export interface StartedPeer {
  readonly settings: ReadonlyArray<Setting>
  readonly close: () => Promise<void>
}

/** A peer that cannot run here says why (printed; the run goes on without it). */
export type PeerStart = StartedPeer | { readonly skipped: string }

export interface TimingOptions {
  readonly quick: boolean
}

/**
 * A run of a workload. A training step returns its loss (a number), which the runner keeps: the first
 * (warm-up) and the latest are printed, to show that every peer trains the same model sensibly.
 */
export type Run = () => unknown

/**
 * A runner for a synchronous thunk that runs the workload to completion (warm-up run included here). With
 * `yieldBetween`, the runs are apart by an (untimed) turn of the event loop, as `Train.fit` yields between
 * steps: a program's own loop gives the engine's finalizers their turn there, and typegrad reuses tensor
 * buffers that they return.
 */
export function thunkRunner(
  run: Run,
  dispose: () => void = () => {},
  before: () => Promise<void> = async () => {},
  yieldBetween = false
): Runner {
  const losses = lossKeeper()
  const counted = () => losses.keep(run())
  const t0 = performance.now()
  counted()
  const warmupMs = performance.now() - t0
  return {
    warmupMs,
    sample: async (budgetMs, minReps) => {
      await before()
      return yieldBetween ? sampleYielding(counted, budgetMs, minReps) : sampleSync(counted, budgetMs, minReps)
    },
    losses: losses.get,
    dispose
  }
}

/** `sampleSync` with a turn of the event loop (setImmediate, untimed) after each run. */
async function sampleYielding(run: () => void, budgetMs: number, minReps: number): Promise<Sample> {
  const times: Array<number> = []
  for (const more = sampling(times, budgetMs, minReps); more();) {
    timeOne(run, times)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { medianMs: median(times), reps: times.length }
}

/** Whether to take another sample: at least `minReps`, then until `budgetMs` is spent (at most 1000). */
const sampling = (times: ReadonlyArray<number>, budgetMs: number, minReps: number): () => boolean => {
  const start = performance.now()
  return () => times.length < minReps || (performance.now() - start < budgetMs && times.length < 1000)
}

const timeOne = (run: () => void, times: Array<number>): void => {
  const t0 = performance.now()
  run()
  times.push(performance.now() - t0)
}

/** The first and the latest loss a training runner saw. */
export interface Losses {
  readonly first: number
  readonly last: number
  readonly steps: number
}

function lossKeeper(): { readonly keep: (v: unknown) => void; readonly get: () => Losses | undefined } {
  let first: number | undefined, last = Number.NaN, steps = 0
  return {
    keep: (v) => {
      if (typeof v !== "number") return
      first ??= v
      last = v
      steps++
    },
    get: () => (first === undefined ? undefined : { first, last, steps })
  }
}

/** Median of repeated runs: at least `minReps`, then until `budgetMs` is spent (at most 1000). */
export function sampleSync(run: () => void, budgetMs: number, minReps: number): Sample {
  const times: Array<number> = []
  for (const more = sampling(times, budgetMs, minReps); more();) timeOne(run, times)
  return { medianMs: median(times), reps: times.length }
}

export function median(values: ReadonlyArray<number>): number {
  const s = values.toSorted((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A runner for an asynchronous run (awaited to completion each time); the warm-up run is done here. */
export async function asyncRunner(run: () => Promise<unknown>, dispose: () => void = () => {}): Promise<Runner> {
  const losses = lossKeeper()
  const warm = performance.now()
  losses.keep(await run())
  const warmupMs = performance.now() - warm
  return {
    warmupMs,
    sample: async (budgetMs, minReps) => {
      const times: Array<number> = []
      const start = performance.now()
      while (times.length < minReps || (performance.now() - start < budgetMs && times.length < 1000)) {
        const t0 = performance.now()
        losses.keep(await run())
        times.push(performance.now() - t0)
      }
      return { medianMs: median(times), reps: times.length }
    },
    losses: losses.get,
    dispose
  }
}
