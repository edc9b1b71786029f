/**
 * PyTorch peer: `python/torch_peer.py` in a child process per thread count (settings `torch-1t`,
 * `torch-2t`), driven over JSON lines. Layout NCHW / OIHW, PyTorch's own; the CNN is an `nn.Sequential`
 * of `nn.Conv2d` / `nn.MaxPool2d` / `nn.Dropout` / `nn.Linear` built from the workload's layer plan,
 * trained with `F.cross_entropy` and `torch.optim.Adam`.
 *
 * The interpreter: `TYPEGRAD_BENCH_PYTHON` if set, else the first of `python3`, `/usr/bin/python3` that
 * can `import torch` (Debian's `python3-torch` is for `/usr/bin/python3`). Without one, the peer is
 * skipped with a message.
 *
 * BLAS: Debian's torch calls whatever `libblas.so.3` resolves to. With `libopenblas0-pthread` that is
 * OpenBLAS; without it, the netlib reference BLAS, about 4x slower at GEMM, and a comparison against it
 * would be a false win. The script reports the library its `sgemm_` comes from (and a GEMM GFLOP/s figure);
 * a reference or unidentified BLAS marks the columns invalid: printed with `!`, no ratio against them.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import type { PeerStart, Runner, Sample, Setting } from "../measure.ts"
import { planCnn, type Workload } from "../workloads.ts"

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "python", "torch_peer.py")

/** Thread counts run side by side (the machines here have 2 cores). */
const THREADS = [1, 2] as const

/** Below this GEMM 256 GFLOP/s at one thread an unidentified BLAS is taken for the reference one. */
const SLOW_GEMM_GFLOPS = 6

interface Info {
  readonly torch: string
  readonly python: string
  readonly threads: number
  readonly blas: "openblas" | "mkl" | "blis" | "reference" | "unknown"
  readonly sgemm_provider: string | null
  readonly blas_build: string
  readonly gemm256_gflops: number
}

type Reply = Record<string, unknown> & { readonly error?: string }

/** One `torch_peer.py` process: requests answered in order, one JSON line each. */
class Child {
  private readonly pending: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = []
  private stderr = ""
  private exited: string | undefined
  private readonly proc: ChildProcessWithoutNullStreams

  constructor(proc: ChildProcessWithoutNullStreams) {
    this.proc = proc
    createInterface({ input: proc.stdout }).on("line", (line) => {
      const p = this.pending.shift()
      if (p === undefined) return
      try {
        p.resolve(JSON.parse(line) as Reply)
      } catch {
        p.reject(new Error(`torch_peer.py printed a line that is not JSON: ${line.slice(0, 200)}`))
      }
    })
    proc.stderr.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000)
    })
    proc.on("exit", (code, signal) => {
      this.exited = `torch_peer.py exited (${signal ?? code}): ${this.stderr.trim()}`
      for (const p of this.pending.splice(0)) p.reject(new Error(this.exited))
    })
  }

  async request(req: Record<string, unknown>): Promise<Reply> {
    if (this.exited !== undefined) throw new Error(this.exited)
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject })
      this.proc.stdin.write(JSON.stringify(req) + "\n")
    })
    if (reply.error !== undefined) throw new Error(reply.error)
    return reply
  }

  close(): Promise<void> {
    if (this.exited !== undefined) return Promise.resolve()
    return new Promise((resolve) => {
      this.proc.once("exit", () => resolve())
      this.proc.stdin.end()
    })
  }
}

/** The interpreter to use, or why there is none. */
function findPython(): { readonly python: string } | { readonly missing: string } {
  const forced = process.env["TYPEGRAD_BENCH_PYTHON"]
  const candidates = forced !== undefined ? [forced] : ["python3", "/usr/bin/python3"]
  const tried: Array<string> = []
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 })
    if (r.status === 0) return { python }
    const why = r.error !== undefined ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)
    tried.push(`${python}: ${why}`)
  }
  return {
    missing: `no Python with torch (${tried.join("; ")}); Debian: apt-get install python3-torch libopenblas0-pthread`
  }
}

/** The child's environment: the thread count fixed, OpenBLAS's core-type and cache overrides removed. */
function childEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env["OPENBLAS_CORETYPE"]
  delete env["OPENBLAS_L2_SIZE"]
  for (const k of ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]) env[k] = String(threads)
  return env
}

/** Why figures from this BLAS must not be compared, or undefined when they may. */
function blasProblem(info: Info): string | undefined {
  if (info.blas === "openblas" || info.blas === "mkl" || info.blas === "blis") return undefined
  if (info.blas === "reference") {
    return `PyTorch runs on the reference BLAS (sgemm_ from ${info.sgemm_provider}): about 4x slower than OpenBLAS, ` +
      `not a fair peer; install libopenblas0-pthread`
  }
  if (info.gemm256_gflops < SLOW_GEMM_GFLOPS) {
    return `unidentified BLAS (sgemm_ from ${info.sgemm_provider ?? "?"}) and GEMM 256 at ` +
      `${info.gemm256_gflops.toFixed(1)} GFLOP/s: looks like the reference BLAS`
  }
  return undefined
}

/** What the script needs of a workload (its own layout is NCHW). */
function spec(w: Workload): Record<string, unknown> {
  switch (w.kind) {
    case "gemm":
      return { kind: "gemm", n: w.n }
    case "conv":
      return { kind: "conv", batch: w.batch, h: w.h, w: w.w, c: w.c, f: w.f, k: w.k, padding: w.padding }
    case "train":
    case "infer":
      return { kind: w.kind, batch: w.batch, plan: planCnn(w.model) }
  }
}

let nextId = 0

export async function startTorch(log: (line: string) => void): Promise<PeerStart> {
  const found = findPython()
  if ("missing" in found) return { skipped: found.missing }
  const children: Array<Child> = []
  const settings: Array<Setting> = []
  try {
    for (const threads of THREADS) {
      const child = new Child(
        spawn(found.python, [SCRIPT, "--threads", String(threads)], { env: childEnv(threads), stdio: "pipe" })
      )
      children.push(child)
      const info = (await child.request({ op: "info" })) as unknown as Info
      const problem = blasProblem(info)
      const blas = `BLAS ${info.blas}${info.sgemm_provider === null ? "" : ` (sgemm_ from ${info.sgemm_provider})`}, ` +
        `build ${info.blas_build}`
      const slow = problem === undefined && info.gemm256_gflops < SLOW_GEMM_GFLOPS
        ? ` [warning: GEMM 256 only ${info.gemm256_gflops.toFixed(1)} GFLOP/s: a loaded machine?]`
        : ""
      if (problem !== undefined) log(`torch-${threads}t: INVALID: ${problem}`)
      settings.push({
        name: `torch-${threads}t`,
        peer: "torch",
        detail: `PyTorch ${info.torch} (${found.python}, Python ${info.python}), ${info.threads} thread(s), ${blas}, ` +
          `GEMM 256 ${info.gemm256_gflops.toFixed(1)} GFLOP/s${slow}`,
        invalid: problem,
        settleMs: threads > 1 ? 200 : 0,
        prepare: async (w): Promise<Runner> => {
          const id = `w${nextId++}`
          const prepared = await child.request({ op: "prepare", id, workload: spec(w) })
          const first = prepared["loss"] as number | undefined
          let last = first, steps = first === undefined ? 0 : 1
          return {
            warmupMs: prepared["warmup_ms"] as number,
            losses: () => (first === undefined ? undefined : { first, last: last!, steps }),
            sample: async (budgetMs, minReps): Promise<Sample> => {
              const r = await child.request({ op: "sample", id, budget_ms: budgetMs, min_reps: minReps })
              if (typeof r["loss"] === "number") {
                last = r["loss"]
                steps += r["reps"] as number
              }
              return { medianMs: r["median_ms"] as number, reps: r["reps"] as number }
            },
            dispose: async () => void (await child.request({ op: "dispose", id }))
          }
        }
      })
    }
  } catch (e) {
    await Promise.all(children.map((c) => c.close()))
    return { skipped: `torch_peer.py failed to start: ${String(e)}` }
  }
  return { settings, close: async () => void (await Promise.all(children.map((c) => c.close()))) }
}
