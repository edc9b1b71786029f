/**
 * Memory group (typegrad only): many training steps, exactly as `Train.fit` runs them, of a small model
 * (`@typegrad/nn` MLP 64 -> dense 128 relu -> dropout 0.5 -> dense 10 softmax, batch 32, Adam), with the
 * RSS (and the JS heap) sampled after a full GC every tenth of the run. A flat RSS means nothing is kept
 * across steps; the slope (least squares, MB per 1,000 steps) says how flat.
 */
import { Layer, Model } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { trainStep } from "./peers/typegrad.ts"
import { random } from "./workloads.ts"

export interface MemorySample {
  readonly step: number
  readonly rssMB: number
  readonly heapUsedMB: number
}

export interface MemoryResult {
  readonly steps: number
  readonly every: number
  readonly gc: boolean
  readonly samples: ReadonlyArray<MemorySample>
  readonly rss: {
    readonly firstMB: number
    readonly lastMB: number
    readonly maxMB: number
    /** Least-squares slope over the samples after the first (the warm-up), MB per 1,000 steps. */
    readonly slopeMBPer1000: number
    /** The same over the second half of the run (where a steady state shows as about 0). */
    readonly slopeSecondHalfMBPer1000: number
  }
  readonly stepsPerSecond: number
}

const mlp = Model.input([64])
  .add(Layer.dense({ units: 128, activation: "relu" }))
  .add(Layer.dropout(0.5))
  .add(Layer.dense({ units: 10, activation: "softmax" }))

/** Least-squares slope of y over x. */
function slope(xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): number {
  const n = xs.length
  if (n < 2) return Number.NaN
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0, den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return num / den
}

export function memoryBench(steps: number, log: (line: string) => void): MemoryResult {
  const every = Math.max(1, Math.floor(steps / 10))
  const batch = 32
  const x = Tensor.fromArray(random(batch * 64, 1), [batch, 64])
  const yData = new Float32Array(batch * 10)
  for (let i = 0; i < batch; i++) yData[i * 10 + (i % 10)] = 1
  const y = Tensor.fromArray(yData, [batch, 10])
  const step = trainStep(mlp, x, y)
  const gc = (globalThis as { gc?: () => void }).gc
  const mb = (b: number) => b / 1048576
  log(
    `memory: ${steps} training steps (as Train.fit runs them) of an nn MLP 64-128-10, batch ${batch}, RSS every ${every}` +
      (gc ? ", after gc()" : " (no gc(): run node with --expose-gc for steadier numbers)")
  )
  const samples: Array<MemorySample> = []
  const take = (s: number) => {
    gc?.()
    const m = process.memoryUsage()
    const sample = { step: s, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed) }
    samples.push(sample)
    log(
      `  step ${String(s).padStart(6)}: rss ${sample.rssMB.toFixed(1)} MB, heapUsed ${sample.heapUsedMB.toFixed(1)} MB`
    )
  }
  take(0)
  const t0 = performance.now()
  for (let s = 1; s <= steps; s++) {
    step()
    if (s % every === 0 || s === steps) take(s)
  }
  const seconds = (performance.now() - t0) / 1000
  const rss = samples.map((s) => s.rssMB)
  const tail = samples.slice(1)
  const half = samples.filter((s) => s.step >= steps / 2)
  return {
    steps,
    every,
    gc: gc !== undefined,
    samples,
    rss: {
      firstMB: rss[0]!,
      lastMB: rss[rss.length - 1]!,
      maxMB: Math.max(...rss),
      slopeMBPer1000: slope(tail.map((s) => s.step), tail.map((s) => s.rssMB)) * 1000,
      slopeSecondHalfMBPer1000: slope(half.map((s) => s.step), half.map((s) => s.rssMB)) * 1000
    },
    stepsPerSecond: steps / seconds
  }
}

/**
 * Runs `memoryBench` in a fresh Node process (same flags as this one: `--expose-gc`, the tsx loader), its
 * progress lines passed to `log`.
 */
export function memoryBenchInChild(steps: number, log: (line: string) => void): Promise<MemoryResult> {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), "memoryMain.ts")
  const child = spawn(process.execPath, [...process.execArgv, entry, String(steps)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
  createInterface({ input: child.stderr }).on("line", log)
  return new Promise((resolve, reject) => {
    child.on("error", reject)
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`memory group: child process exited with ${code}`))
      else resolve(JSON.parse(stdout) as MemoryResult)
    })
  })
}
