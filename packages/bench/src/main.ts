/**
 * typegrad vs TensorFlow.js (`cpu` and `wasm` backends): GFLOP/s of matmul and conv2d forward.
 *
 *   pnpm bench                 full run
 *   pnpm bench -- --quick      short run (fewer repetitions)
 *   pnpm bench -- --json       machine-readable output on stdout
 *   pnpm bench -- --filter conv   only cases whose name contains "conv"
 *   pnpm bench -- --no-ops     skip the public-ops column (Tensor.matmul / Tensor.conv2d)
 *   pnpm bench -- --filter train    only the MNIST CNN training-step group (typegrad vs tfjs)
 *   pnpm bench -- --filter memory   only the memory group (2000 grad steps, heap at intervals)
 *
 * Columns: typegrad-wasm / typegrad-js are the kernels called directly (WASM SIMD and portable JS);
 * typegrad-ops the public eager ops (whatever kernels they use); then the tfjs backends.
 */
import { jsKernels, type Kernels, wasmKernels, wasmSimdSupported } from "@typegrad/tensor/internal"
import { allCases, type BenchCase, type TensorOpsApi, type Thunk } from "./cases.ts"
import { registerTfGradients, tf, useTfBackend } from "./tfjs.ts"
import { loadTrainApi, memoryBench, trainBench } from "./train.ts"

interface Options {
  readonly quick: boolean
  readonly json: boolean
  readonly filter: string | undefined
  readonly ops: boolean
}

/** The public ops, when `@typegrad/tensor` exports working `Tensor.matmul` and `Tensor.conv2d`. */
async function loadOps(): Promise<TensorOpsApi | undefined> {
  try {
    const mod: { readonly Tensor?: unknown } = await import("@typegrad/tensor")
    // Checked below by a smoke test; the loose interface is documented in cases.ts.
    const api = mod.Tensor as TensorOpsApi | undefined
    if (api === undefined || typeof api.matmul !== "function" || typeof api.conv2d !== "function") return undefined
    api.matmul(api.fromArray([1, 2], [1, 2]), api.fromArray([3, 4], [2, 1]))
    api.conv2d(api.fromArray([1], [1, 1, 1, 1]), api.fromArray([2], [1, 1, 1, 1]), { padding: "same" })
    return api
  } catch {
    return undefined
  }
}

function parseArgs(argv: ReadonlyArray<string>): Options {
  const at = argv.indexOf("--filter")
  return {
    quick: argv.includes("--quick"),
    json: argv.includes("--json"),
    filter: at >= 0 ? argv[at + 1] : undefined,
    ops: !argv.includes("--no-ops")
  }
}

interface Timing {
  readonly medianMs: number
  readonly reps: number
}

/** Warm up, then repeat until the time budget is spent (at least `minReps` times); report the median. */
function time(run: Thunk, opts: Options): Timing {
  const budgetMs = opts.quick ? 300 : 1500
  const minReps = opts.quick ? 3 : 5
  const warm = performance.now()
  run()
  if (performance.now() - warm < budgetMs / 4) run()
  const samples: Array<number> = []
  const start = performance.now()
  while (samples.length < minReps || (performance.now() - start < budgetMs && samples.length < 1000)) {
    const t0 = performance.now()
    run()
    samples.push(performance.now() - t0)
  }
  samples.sort((a, b) => a - b)
  return { medianMs: samples[samples.length >> 1]!, reps: samples.length }
}

interface Row {
  readonly group: string
  readonly name: string
  readonly gflops: Record<string, number>
}

const log = (opts: Options, line: string): void => {
  if (opts.json) process.stderr.write(line + "\n")
  else console.log(line)
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const wants = (group: string): boolean => opts.filter === undefined || group.includes(opts.filter)
  if (opts.filter === "train" || opts.filter === "memory") {
    const api = await loadTrainApi()
    if (api === undefined) throw new Error("@typegrad/tensor and @typegrad/autodiff are needed for this group")
    if (opts.filter === "train") {
      await trainBench(api, {
        quick: opts.quick,
        tf,
        useTfBackend,
        registerTfGradients,
        log: (l) => log(opts, l)
      })
    } else memoryBench(api)
    return
  }
  const cases = allCases().filter((c) => opts.filter === undefined || c.name.includes(opts.filter))
  const impls: Array<readonly [string, Kernels]> = [["typegrad-js", jsKernels]]
  if (wasmSimdSupported()) impls.unshift(["typegrad-wasm", wasmKernels])

  const rows = new Map<BenchCase, Record<string, number>>(cases.map((c) => [c, {}]))
  for (const [label, kernels] of impls) {
    for (const c of cases) rows.get(c)![label] = c.flops / time(c.typegrad(kernels), opts).medianMs / 1e6
  }
  const ops = opts.ops ? await loadOps() : undefined
  if (ops !== undefined) {
    impls.push(["typegrad-ops", jsKernels])
    for (const c of cases) rows.get(c)!["typegrad-ops"] = c.flops / time(c.ops(ops), opts).medianMs / 1e6
  }
  const peers: Array<string> = []
  for (const backend of ["cpu", "wasm"] as const) {
    const info = await useTfBackend(backend)
    log(opts, `${info.name}: ${info.detail}`)
    peers.push(info.name)
    for (const c of cases) {
      const t = c.tfjs(tf)
      rows.get(c)![info.name] = c.flops / time(t.run, opts).medianMs / 1e6
      t.dispose()
    }
  }

  const result: Array<Row> = cases.map((c) => ({ group: c.group, name: c.name, gflops: rows.get(c)! }))
  if (opts.json) {
    console.log(JSON.stringify({ node: process.version, quick: opts.quick, rows: result }, null, 2))
    return
  }
  const ours = impls[0]![0]
  const columns = [...impls.map(([l]) => l), ...peers]
  const header = [
    "case".padEnd(30),
    ...columns.map((l) => l.padStart(14)),
    ...peers.map((p) => `x vs ${p}`.padStart(16))
  ]
  console.log(`\nGFLOP/s (float32, median; ratio = ${ours} / peer), Node ${process.version}`)
  console.log(header.join(" "))
  for (const r of result) {
    const g = r.gflops
    const cells = columns.map((l) => (g[l] ?? Number.NaN).toFixed(2).padStart(14))
    const ratios = peers.map((p) => ((g[ours] ?? Number.NaN) / (g[p] ?? Number.NaN)).toFixed(1).padStart(16))
    console.log([r.name.padEnd(30), ...cells, ...ratios].join(" "))
  }
  // The whole-model groups, after the kernel table in a full run.
  if (opts.filter === undefined && !opts.json) {
    const api = await loadTrainApi()
    if (api !== undefined) {
      if (wants("train")) {
        await trainBench(api, {
          quick: opts.quick,
          tf,
          useTfBackend,
          registerTfGradients,
          log: (l) => log(opts, l)
        })
      }
      if (wants("memory")) memoryBench(api)
    }
  }
}

await main()
