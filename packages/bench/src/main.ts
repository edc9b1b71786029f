/**
 * typegrad next to its peers, measured in one run: PyTorch (1 and 2 threads), jax-js (`lax.conv` and
 * im2col + matmul) and TensorFlow.js (`cpu`, `wasm`), on the workloads of `workloads.ts`; then the memory
 * group (typegrad alone).
 *
 *   pnpm bench                          everything (rounds of every workload, each peer in turn)
 *   pnpm bench -- --quick               2 short rounds per workload, 1,000 memory steps
 *   pnpm bench -- --json                machine-readable result on stdout (progress on stderr)
 *   pnpm bench -- --filter conv         workloads whose name or kind contains "conv" (gemm, conv, train,
 *                                       infer, memory, or any part of a name)
 *   pnpm bench -- --peers torch,jax     which peers run next to typegrad (default torch,jax,tfjs)
 *   pnpm bench -- --rounds 7            rounds per workload (default 5, --quick 2)
 *   pnpm bench -- --memory-steps 20000  steps of the memory group (default 10,000, --quick 1,000)
 *   pnpm bench -- --model both          the CNN workloads on reference (default: the network pnpm mnist trains), keras or both
 *
 * A figure is a rate (GFLOP/s or samples/s, higher is better): the median over the rounds of each
 * round's median. Ratios are typegrad / peer: above 1, typegrad is faster.
 */
import { Backend } from "@typegrad/tensor"
import * as os from "node:os"
import { type Losses, median, type PeerName, PEERS, type Runner, type Setting, type StartedPeer } from "./measure.ts"
import { memoryBenchInChild, type MemoryResult } from "./memory.ts"
import { startJax } from "./peers/jax.ts"
import { startTfjs } from "./peers/tfjs.ts"
import { startTorch } from "./peers/torch.ts"
import { startTypegrad } from "./peers/typegrad.ts"
import { allWorkloads, type CnnModelName, figureOf, matches, unitOf, type Workload } from "./workloads.ts"

interface Options {
  readonly quick: boolean
  readonly json: boolean
  readonly filter: string | undefined
  readonly peers: ReadonlyArray<Exclude<PeerName, "typegrad">>
  readonly rounds: number
  readonly memorySteps: number
  readonly models: ReadonlyArray<CnnModelName>
}

function modelsOf(flag: string): ReadonlyArray<CnnModelName> {
  if (flag === "both") return ["reference", "keras"]
  if (flag === "keras" || flag === "reference") return [flag]
  throw new Error(`--model: keras, reference or both, got ${flag}`)
}

function parseArgs(argv: ReadonlyArray<string>): Options {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag)
    return at >= 0 ? argv[at + 1] : undefined
  }
  const int = (flag: string, fallback: number): number => {
    const v = value(flag)
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a positive integer, got ${v}`)
    return n
  }
  const quick = argv.includes("--quick")
  const peers = (value("--peers") ?? PEERS.join(",")).split(",").map((p) => p.trim()).filter((p) => p !== "")
  for (const p of peers) {
    if (!(PEERS as ReadonlyArray<string>).includes(p)) {
      throw new Error(`--peers: unknown peer ${p} (known: ${PEERS.join(", ")})`)
    }
  }
  return {
    quick,
    json: argv.includes("--json"),
    filter: value("--filter"),
    peers: peers as Array<Exclude<PeerName, "typegrad">>,
    rounds: int("--rounds", quick ? 2 : 5),
    memorySteps: int("--memory-steps", quick ? 1000 : 10_000),
    models: modelsOf(value("--model") ?? "reference")
  }
}

interface Figure {
  /** Median over the rounds (GFLOP/s or samples/s). */
  readonly median: number
  readonly rounds: ReadonlyArray<number>
  /**
   * Set when the setting was too slow for rounds (printed with `~`): "one run" after the warm-up, or the
   * "warm-up" run itself when even that was too long to repeat.
   */
  readonly single?: "one run" | "warm-up"
}

interface Row {
  readonly workload: string
  readonly kind: Workload["kind"]
  readonly unit: string
  readonly figures: Record<string, Figure>
  readonly errors: Record<string, string>
  /** Training workloads: each setting's first (warm-up) and latest loss. */
  readonly losses: Record<string, Losses>
  /** Settings not run on this workload, and why (too slow on an earlier workload of its family). */
  readonly skipped: Record<string, string>
  /** The fastest valid peer setting, and typegrad / it. */
  readonly bestPeer: string | undefined
  readonly ratio: number | undefined
}

const TYPEGRAD = "typegrad"

/** Time budget and minimum repetitions of one sample. A CNN step can take seconds on a slow peer. */
function sampling(w: Workload, quick: boolean): { readonly budgetMs: number; readonly minReps: number } {
  const slow = w.kind === "train" || w.kind === "infer"
  return { budgetMs: quick ? (slow ? 300 : 200) : (slow ? 2000 : 1000), minReps: slow ? 1 : 3 }
}

/**
 * Limits for very slow settings (TensorFlow.js `cpu` and jax-js `lax.conv` train the CNN at well under one
 * sample per second). After a warm-up run longer than `warmupOnlyMs` the setting runs the workload once
 * more, and that single run is its figure (marked `~`); after one longer than `skipMs`, the warm-up run
 * itself is (a pessimistic figure: it includes the first-run costs, jit compilation). A setting whose last figure
 * in a workload family (GEMM, convolution, the CNN) predicts a run longer than `skipMs` for the next
 * workload of that family is skipped there, with a note.
 */
const limits = (quick: boolean) => ({ warmupOnlyMs: quick ? 5_000 : 30_000, skipMs: quick ? 15_000 : 90_000 })

const familyOf = (w: Workload): string => (w.kind === "train" || w.kind === "infer" ? `cnn ${w.model}` : w.kind)

/** The time one run of `w` takes at `figure` (the inverse of `figureOf`). */
const msAt = (w: Workload, figure: number): number =>
  w.kind === "gemm" || w.kind === "conv" ? w.flops / figure / 1e6 : w.batch / figure * 1000

/** Per setting and family: the latest figure and the workload it came from. */
const lastFigure = new Map<string, { readonly figure: number; readonly workload: string }>()

/** Runs one workload on every setting, `rounds` times, the order rotating each round. */
async function runWorkload(
  w: Workload,
  settings: ReadonlyArray<Setting>,
  opts: Options,
  log: (line: string) => void
): Promise<Row> {
  const runners: Array<readonly [Setting, Runner]> = []
  const errors: Record<string, string> = {}
  const skipped: Record<string, string> = {}
  const { warmupOnlyMs, skipMs } = limits(opts.quick)
  const figures: Record<string, Figure> = {}
  const losses: Record<string, Losses> = {}
  const keepLosses = (s: Setting, r: Runner) => {
    const l = r.losses?.()
    if (l !== undefined) losses[s.name] = l
  }
  for (const s of settings) {
    const last = lastFigure.get(`${s.name} ${familyOf(w)}`)
    if (last !== undefined && msAt(w, last.figure) > skipMs) {
      skipped[s.name] = `too slow: at its ${fmt(last.figure)} on ${last.workload}, one run would take ~${
        (msAt(w, last.figure) / 1000).toFixed(0)
      } s`
      continue
    }
    try {
      const r = await s.prepare(w)
      if (r === undefined) continue
      if (r.warmupMs > warmupOnlyMs) {
        const again = r.warmupMs <= skipMs
        const f = figureOf(w, again ? (await r.sample(0, 1)).medianMs : r.warmupMs)
        figures[s.name] = { median: f, rounds: [f], single: again ? "one run" : "warm-up" }
        keepLosses(s, r)
        await r.dispose()
      } else runners.push([s, r])
    } catch (e) {
      errors[s.name] = String(e)
      log(`  ${s.name}: failed to prepare: ${String(e)}`)
    }
  }
  const perRound = new Map<string, Array<number>>(runners.map(([s]) => [s.name, []]))
  const { budgetMs, minReps } = sampling(w, opts.quick)
  for (let round = 0; round < opts.rounds; round++) {
    for (let i = 0; i < runners.length; i++) {
      const [s, r] = runners[(i + round) % runners.length]!
      if (errors[s.name] !== undefined) continue
      try {
        const sample = await r.sample(budgetMs, minReps)
        perRound.get(s.name)!.push(figureOf(w, sample.medianMs))
        if ((s.settleMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, s.settleMs))
      } catch (e) {
        errors[s.name] = String(e)
        log(`  ${s.name}: failed: ${String(e)}`)
      }
    }
  }
  for (const [s, r] of runners) {
    keepLosses(s, r)
    try {
      await r.dispose()
    } catch (e) {
      log(`  ${s.name}: dispose failed: ${String(e)}`)
    }
  }
  for (const [name, rounds] of perRound) {
    if (rounds.length > 0 && errors[name] === undefined) {
      figures[name] = { median: median(rounds), rounds }
    }
  }
  for (const [name, f] of Object.entries(figures)) {
    lastFigure.set(`${name} ${familyOf(w)}`, { figure: f.median, workload: w.name })
  }
  const peers = settings.filter((s) => s.peer !== "typegrad" && s.invalid === undefined && figures[s.name])
  const best = peers.toSorted((a, b) => figures[b.name]!.median - figures[a.name]!.median)[0]
  const ours = figures[TYPEGRAD]?.median
  const row: Row = {
    workload: w.name,
    kind: w.kind,
    unit: unitOf(w),
    figures,
    errors,
    losses,
    skipped,
    bestPeer: best?.name,
    ratio: best === undefined || ours === undefined ? undefined : ours / figures[best.name]!.median
  }
  const parts = settings.filter((s) => figures[s.name]).map((s) => {
    const f = figures[s.name]!.median
    const vs = s.peer === "typegrad" || ours === undefined
      ? ""
      : s.invalid !== undefined
      ? " (invalid, no ratio)"
      : ` (typegrad x${(ours / f).toFixed(2)})`
    return `${s.name} ${fmt(f)}${figures[s.name]!.single !== undefined ? "~" : ""}${vs}`
  })
  const notes = Object.entries(skipped).map(([name, why]) => `${name} skipped (${why})`)
  log(`${w.name} [${row.unit}]: ${[...parts, ...notes].join(", ")}`)
  const lossText = Object.entries(losses).map(([name, l]) =>
    `${name} ${l.first.toFixed(3)} -> ${l.last.toFixed(3)} (${l.steps} steps)`
  )
  if (lossText.length > 0) log(`  loss, first -> latest step: ${lossText.join(", ")}`)
  return row
}

const fmt = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? "-" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)

function printSummary(rows: ReadonlyArray<Row>, settings: ReadonlyArray<Setting>, opts: Options): void {
  const columns = settings.filter((s) => rows.some((r) => r.figures[s.name] !== undefined))
  const nameWidth = Math.max(8, ...rows.map((r) => r.workload.length))
  const widthOf = (s: Setting): number => Math.max(9, s.name.length + 1)
  const header = [
    "workload".padEnd(nameWidth),
    "unit".padEnd(9),
    ...columns.map((s) => (s.invalid !== undefined ? `${s.name}!` : s.name).padStart(widthOf(s))),
    "best peer".padStart(12),
    "typegrad/best".padStart(14)
  ]
  console.log(
    `\nSummary (median of ${opts.rounds} rounds; higher is better; typegrad/best = typegrad / the fastest valid peer setting)`
  )
  console.log(header.join(" "))
  for (const r of rows) {
    const cells = columns.map((s) => {
      const f = r.figures[s.name]
      const text = f === undefined
        ? (r.errors[s.name] !== undefined ? "failed" : r.skipped[s.name] !== undefined ? "slow" : "-")
        : `${fmt(f.median)}${f.single !== undefined ? "~" : ""}${s.invalid !== undefined ? "!" : ""}`
      return text.padStart(widthOf(s))
    })
    console.log(
      [
        r.workload.padEnd(nameWidth),
        r.unit.padEnd(9),
        ...cells,
        (r.bestPeer ?? "-").padStart(12),
        (r.ratio === undefined ? "-" : `x${r.ratio.toFixed(2)}`).padStart(14)
      ].join(" ")
    )
  }
  console.log(
    "~ = a single run, the setting being too slow for rounds (the warm-up run itself when that took over " +
      `${limits(opts.quick).skipMs / 1000} s); slow = not run, its figure on an ` +
      "earlier workload of the family predicting too long a run; - = not run (jax-im2col has no GEMM of its own, " +
      "typegrad-kernel no CNN); ! = invalid, not compared"
  )
  for (const s of columns.filter((c) => c.invalid !== undefined)) {
    console.log(`${s.name}!: INVALID, not compared: ${s.invalid}`)
  }
  for (const r of rows) {
    for (const [name, why] of Object.entries(r.errors)) console.log(`${r.workload}: ${name} failed: ${why}`)
    for (const [name, why] of Object.entries(r.skipped)) console.log(`${r.workload}: ${name} skipped: ${why}`)
  }
}

function printMemory(m: MemoryResult): void {
  console.log(
    `\nMemory (typegrad, ${m.steps} training steps, RSS every ${m.every}${m.gc ? " after gc()" : ""}, ` +
      `${m.stepsPerSecond.toFixed(0)} steps/s): RSS first ${m.rss.firstMB.toFixed(1)} MB, last ${
        m.rss.lastMB.toFixed(1)
      } MB, max ${m.rss.maxMB.toFixed(1)} MB, slope ${m.rss.slopeMBPer1000.toFixed(2)} MB / 1000 steps (second half ${
        m.rss.slopeSecondHalfMBPer1000.toFixed(2)
      })`
  )
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const log = (line: string): void => {
    if (opts.json) process.stderr.write(line + "\n")
    else console.log(line)
  }
  const loadBefore = os.loadavg()
  // As the typegrad command does: fused multiply-add where the engine has it only behind a flag (Node 20).
  const fma = Backend.enableRelaxedSimd()
  const workloads = allWorkloads(opts.models).filter((w) => matches(w, opts.filter))
  const wantMemory = opts.filter === undefined || "memory".includes(opts.filter)
  if (workloads.length === 0 && !wantMemory) throw new Error(`--filter ${opts.filter}: no workload matches`)
  log(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load ${
      loadBefore.map((l) => l.toFixed(2)).join(" ")
    }; ${opts.rounds} rounds, ${opts.quick ? "quick" : "full"}; typegrad's GEMM ${
      fma ? "with" : "without"
    } relaxed-SIMD multiply-add`
  )

  const started: Array<StartedPeer> = [startTypegrad()]
  const skipped: Record<string, string> = {}
  const rows: Array<Row> = []
  let memory: MemoryResult | undefined
  try {
    if (workloads.length > 0) {
      for (const peer of opts.peers) {
        const s = peer === "torch" ? await startTorch(log) : peer === "jax" ? await startJax() : await startTfjs()
        if ("skipped" in s) {
          skipped[peer] = s.skipped
          log(`${peer}: SKIPPED: ${s.skipped}`)
        } else started.push(s)
      }
    }
    const settings = started.flatMap((p) => p.settings)
    for (const s of settings) log(`${s.name}: ${s.detail}${s.invalid !== undefined ? ` INVALID: ${s.invalid}` : ""}`)
    for (const w of workloads) rows.push(await runWorkload(w, settings, opts, log))
    if (wantMemory) memory = await memoryBenchInChild(opts.memorySteps, log)
    const loadAfter = os.loadavg()
    if (opts.json) {
      const result = {
        node: process.version,
        cpus: os.cpus().length,
        quick: opts.quick,
        rounds: opts.rounds,
        load: { before: loadBefore, after: loadAfter },
        settings: settings.map((s) => ({ name: s.name, peer: s.peer, detail: s.detail, invalid: s.invalid ?? null })),
        skipped,
        rows,
        memory: memory ?? null
      }
      console.log(JSON.stringify(result, null, 2))
      return
    }
    if (rows.length > 0) printSummary(rows, settings, opts)
    for (const [peer, why] of Object.entries(skipped)) console.log(`${peer}: skipped: ${why}`)
    if (memory !== undefined) printMemory(memory)
    console.log(
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${
        loadAfter.map((l) => l.toFixed(2)).join(" ")
      }`
    )
  } finally {
    await Promise.all(started.map((p) => p.close()))
  }
}

await main()
