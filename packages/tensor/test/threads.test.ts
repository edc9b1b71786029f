import { Backend } from "@typegrad/tensor"
import { Effect } from "effect"
import fc from "fast-check"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import {
  configureWasmGemm,
  type Conv2dGeometry,
  type FloatArray,
  jsKernels,
  wasmFmaSupported,
  wasmGemmUsesFma,
  wasmKernels
} from "../src/internal/kernels/index.ts"
import { gemmModuleBytes } from "../src/internal/kernels/wasm/gemm-module.ts"
import { instantiate, memoryImport, sharedMemoryStatus, wasmHeap } from "../src/internal/kernels/wasm/runtime.ts"
import {
  parallelJobCount,
  registerParallel,
  requestedThreadSetting,
  runParallel,
  setThreads,
  share,
  threadStatus
} from "../src/internal/threads/pool.ts"
import { dtypes, expectNear, naiveGemm, seeded } from "./kernels-reference.ts"
/** 1 is the reference; 3 is more threads than this machine may have cores, and than some sizes have rows. */
const THREADS = [1, 2, 3] as const

const initial = requestedThreadSetting()
afterAll(() => setThreads(initial))

/** Runs `compute` at each thread count; every result must equal the 1-thread one bit for bit. */
function atEveryThreadCount(compute: () => FloatArray): FloatArray {
  setThreads(1)
  const reference = compute()
  for (const n of THREADS.slice(1)) {
    setThreads(n)
    const got = compute()
    expect(got.length).toBe(reference.length)
    for (let i = 0; i < got.length; i++) {
      if (!Object.is(got[i], reference[i])) {
        expect.fail(`${n} threads, index ${i}: ${got[i]} differs from 1 thread's ${reference[i]}`)
      }
    }
  }
  return reference
}

describe("thread pool", () => {
  it("shares are contiguous, cover every item once and differ in size by at most one", () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 64 }), (total, n) => {
        let next = 0
        const sizes: Array<number> = []
        for (let t = 0; t < n; t++) {
          const [lo, hi] = share(total, t, n)
          expect(lo).toBe(next)
          sizes.push(hi - lo)
          next = hi
        }
        expect(next).toBe(total)
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
      })
    )
  })

  it("memory is shared here (Node), so the requested threads are the threads", () => {
    expect(sharedMemoryStatus().shared).toBe(true)
    setThreads(3)
    expect(threadStatus()).toEqual({ requested: 3, threads: 3, reason: "3 threads sharing WebAssembly memory" })
    setThreads(1)
    expect(threadStatus().threads).toBe(1)
  })

  it("a bad thread count is refused with what is allowed", () => {
    expect(() => setThreads(0)).toThrow(/threads must be an integer from 1 to 64 or "auto", got 0/)
    expect(() => setThreads(2.5)).toThrow(/got 2\.5/)
  })

  it("a kernel that fails on a worker thread fails the job instead of hanging it", () => {
    const compiled = instantiate(gemmModuleBytes("f32", { mr: 4, nrv: 2 }, memoryImport()))
    const epi = registerParallel(compiled, "epi")
    setThreads(2)
    const heap = wasmHeap(1 << 16)
    const outside = heap.f32.byteLength + (1 << 20)
    // Thread 0 adds a bias to one in-bounds row; thread 1 is pointed past the end of memory and traps.
    expect(() => runParallel(epi, 2, (t) => t === 0 ? [0, 64, 1, 16, 0] : [outside, 64, 1, 16, 0])).toThrow(
      /a kernel failed on a worker thread/
    )
    // The pool is still usable afterwards.
    const before = parallelJobCount()
    runParallel(epi, 2, () => [0, 64, 1, 16, 0])
    expect(parallelJobCount()).toBe(before + 1)
  })
})

describe("wasm kernels give the same bits at 1, 2 and 3 threads", () => {
  for (const [dtype, ctor, tol] of dtypes) {
    it(`gemm ${dtype}: odd sizes, sizes below the thread count, every trans flag, both GEMM paths`, () => {
      const before = parallelJobCount()
      const cases: ReadonlyArray<readonly [number, number, number]> = [
        [1, 1, 1],
        [2, 3, 5],
        [3, 17, 9],
        [97, 61, 301],
        [300, 33, 70],
        [515, 24, 288],
        [129, 130, 257]
      ]
      for (const [m, n, k] of cases) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const accumulate of [false, true]) {
              const a = seeded(m * k, m + k, ctor), b = seeded(k * n, n + 7 * k, ctor)
              const c0 = seeded(m * n, 3 * m + n, ctor)
              const got = atEveryThreadCount(() => {
                const c = accumulate ? c0.slice() : new ctor(m * n).fill(Number.NaN)
                wasmKernels.gemm({
                  transA,
                  transB,
                  m,
                  n,
                  k,
                  a,
                  aOffset: 0,
                  lda: transA ? m : k,
                  b,
                  bOffset: 0,
                  ldb: transB ? k : n,
                  c,
                  cOffset: 0,
                  ldc: n,
                  accumulate
                })
                return c
              })
              const want = naiveGemm(transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n)
              if (accumulate) { for (let i = 0; i < want.length; i++) want[i] = want[i]! + c0[i]! }
              expectNear(got, want, tol * k)
            }
          }
        }
      }
      // Some of these jobs really ran on several threads.
      expect(parallelJobCount()).toBeGreaterThan(before)
    })

    it(`conv2d ${dtype}: forward with bias and relu, backprop input and filter`, () => {
      const geometries: ReadonlyArray<Conv2dGeometry> = [
        conv(24, 28, 28, 1, 3, 3, 32, 1, 0),
        conv(5, 26, 26, 32, 3, 3, 64, 1, 0),
        conv(3, 13, 11, 5, 4, 2, 7, 2, 1),
        conv(1, 2, 2, 1, 1, 1, 1, 1, 0)
      ]
      const before = parallelJobCount()
      for (const g of geometries) {
        const x = seeded(g.n * g.h * g.w * g.c, 1, ctor)
        const w = seeded(g.kh * g.kw * g.c * g.f, 2, ctor)
        const dy = seeded(g.n * g.outH * g.outW * g.f, 3, ctor)
        const bias = seeded(g.f, 4, ctor)
        const outLength = g.n * g.outH * g.outW * g.f
        const y = atEveryThreadCount(() => {
          const out = new ctor(outLength).fill(Number.NaN)
          wasmKernels.conv2d(x, w, out, g, { bias, relu: true })
          return out
        })
        const yRef = new ctor(outLength)
        jsKernels.conv2d(x, w, yRef, g, { bias, relu: true })
        expectNear(y, yRef, tol * 100)
        const dx = atEveryThreadCount(() => {
          const out = new ctor(x.length).fill(Number.NaN)
          wasmKernels.conv2dBackpropInput(dy, w, out, g)
          return out
        })
        const dxRef = new ctor(x.length)
        jsKernels.conv2dBackpropInput(dy, w, dxRef, g)
        expectNear(dx, dxRef, tol * 100)
        const dw = atEveryThreadCount(() => {
          const out = new ctor(w.length).fill(Number.NaN)
          wasmKernels.conv2dBackpropFilter(x, dy, out, g)
          return out
        })
        const dwRef = new ctor(w.length)
        jsKernels.conv2dBackpropFilter(x, dy, dwRef, g)
        expectNear(dw, dwRef, tol * 2000)
      }
      expect(parallelJobCount()).toBeGreaterThan(before)
    })
  }
})

describe("Backend.layer", () => {
  it("runs the kernels on the requested threads for its scope and restores the setting", async () => {
    setThreads("auto")
    const inside = await Effect.runPromise(
      Effect.provide(
        Effect.gen(function*() {
          const backend = yield* Backend.Backend
          return { backend, setting: requestedThreadSetting(), status: Backend.status() }
        }),
        Backend.layer({ threads: 3 })
      )
    )
    expect(inside.backend).toEqual({
      name: "wasm-simd",
      threads: 3,
      threadsReason: "3 threads sharing WebAssembly memory",
      fusedMultiplyAdd: wasmFmaSupported()
    })
    expect(inside.setting).toBe(3)
    expect(inside.status).toEqual(inside.backend)
    expect(requestedThreadSetting()).toBe("auto")
    const js = await Effect.runPromise(Effect.provide(Effect.service(Backend.Backend), Backend.js))
    expect(js).toEqual({
      name: "js",
      threads: 1,
      threadsReason: "the JavaScript kernels run on one thread",
      fusedMultiplyAdd: false
    })
  })

  it("a bad thread count fails the layer with the reason and leaves the backend as it was", async () => {
    const before = Backend.status()
    const exit = await Effect.runPromiseExit(Effect.provide(Effect.void, Backend.layer({ threads: 0 })))
    expect(exit._tag).toBe("Failure")
    expect(String(exit._tag === "Failure" ? exit.cause : "")).toMatch(/threads must be an integer from 1 to 64/)
    expect(Backend.status()).toEqual(before)
  })
})

function conv(
  n: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  f: number,
  stride: number,
  pad: number
): Conv2dGeometry {
  return {
    n,
    h,
    w,
    c,
    kh,
    kw,
    f,
    outH: Math.floor((h + 2 * pad - kh) / stride) + 1,
    outW: Math.floor((w + 2 * pad - kw) / stride) + 1,
    strideH: stride,
    strideW: stride,
    dilationH: 1,
    dilationW: 1,
    padTop: pad,
    padLeft: pad
  }
}

describe("relaxed SIMD multiply-add", () => {
  it("an engine with relaxed SIMD runs the multiply-add GEMM, as accurate and as deterministic", () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url))
    const fixture = fileURLToPath(new URL("./fixtures/fma-gemm.ts", import.meta.url))
    const out = execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", fixture], {
      cwd: root,
      encoding: "utf8"
    })
    const report = JSON.parse(out) as {
      supported: boolean
      used: boolean
      results: ReadonlyArray<{ dtype: string; k: number; maxRelErr: number; identical: boolean }>
    }
    expect(report.supported).toBe(true)
    expect(report.used).toBe(true)
    expect(report.results).toHaveLength(6)
    for (const r of report.results) {
      expect(r.identical).toBe(true)
      expect(r.maxRelErr).toBeLessThan((r.dtype === "Float32Array" ? 2e-6 : 1e-13) * r.k)
    }
  })

  it("without relaxed SIMD the plain multiply and add kernel runs, and asking for multiply-add says why not", () => {
    if (wasmFmaSupported()) {
      // This engine has relaxed SIMD (a newer Node): the fallback is forced and checked instead.
      configureWasmGemm({ fma: false })
      expect(wasmGemmUsesFma()).toBe(false)
      configureWasmGemm({})
      expect(wasmGemmUsesFma()).toBe(true)
      return
    }
    expect(wasmGemmUsesFma()).toBe(false)
    expect(() => configureWasmGemm({ fma: true })).toThrow(/this engine has no relaxed SIMD multiply-add/)
    expect(wasmGemmUsesFma()).toBe(false)
  })
})

describe("Backend.enableRelaxedSimd", () => {
  it("turns on multiply-add at run time where the engine has it behind a flag, kernels compiled before included", () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url))
    // A matmul first (the kernels compile without multiply-add), then the call, then the same matmul.
    const script = [
      `import { Backend, Tensor } from "@typegrad/tensor"`,
      `const a = Tensor.fromArray(Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i)), [64, 48])`,
      `const b = Tensor.fromArray(Array.from({ length: 48 * 40 }, (_, i) => Math.cos(i)), [48, 40])`,
      `const before = Backend.status().fusedMultiplyAdd`,
      `const first = Tensor.toArray(Tensor.matmul(a, b))`,
      `const enabled = Backend.enableRelaxedSimd()`,
      `const second = Tensor.toArray(Tensor.matmul(a, b))`,
      `const diff = Math.max(...first.map((x, i) => Math.abs(x - second[i])))`,
      `console.log(JSON.stringify({ before, enabled, after: Backend.status().fusedMultiplyAdd, diff }))`
    ].join("\n")
    const out = execFileSync(process.execPath, ["--input-type=module", "--import", "tsx", "-e", script], {
      cwd: root,
      encoding: "utf8"
    })
    const r = JSON.parse(out) as { before: boolean; enabled: boolean; after: boolean; diff: number }
    const major = Number(process.versions.node.split(".")[0])
    if (major === 20 || major === 21) expect(r.before).toBe(false)
    // x86-64 and arm64 V8 have relaxed SIMD once it is on.
    expect(r.enabled).toBe(true)
    expect(r.after).toBe(true)
    // The same product within float32 rounding (multiply-add rounds once where mul + add round twice).
    expect(r.diff).toBeLessThan(1e-4)
    // ... and not the same bits: the kernels compiled before the call were compiled again.
    expect(r.diff).toBeGreaterThan(0)
  })
})

describe("TYPEGRAD_THREADS", () => {
  const statusWith = (value: string): { threads: number; threadsReason: string } => {
    const root = fileURLToPath(new URL("../../..", import.meta.url))
    const script =
      `import("./packages/tensor/src/index.ts").then((m) => console.log(JSON.stringify(m.Backend.status())))`
    const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, TYPEGRAD_THREADS: value }
    })
    return JSON.parse(out) as { threads: number; threadsReason: string }
  }

  it("sets the default thread count of a process; a bad value is ignored and said so", () => {
    expect(statusWith("3")).toMatchObject({ threads: 3, threadsReason: "3 threads sharing WebAssembly memory" })
    expect(statusWith("1")).toMatchObject({ threads: 1, threadsReason: "one thread requested" })
    expect(statusWith("zero").threadsReason).toMatch(
      /TYPEGRAD_THREADS=zero ignored \(use an integer from 1 to 64 or "auto"\)/
    )
  })
})
