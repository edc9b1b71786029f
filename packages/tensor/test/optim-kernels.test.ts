// The fused optimizer kernels: the WebAssembly SIMD Adam against the JavaScript reference (float64: the same
// bits; float32: within float32 rounding), at 1, 2 and 3 threads (the same bits), at sizes around the
// vector width, the JavaScript cut-off and the per-thread share.
import { afterAll, describe, expect, it } from "vitest"
import { type AdamArgs, type FloatArray, jsKernels, wasmKernels } from "../src/internal/kernels/index.ts"
import { parallelJobCount, requestedThreadSetting, setThreads, threadStatus } from "../src/internal/threads/pool.ts"

const initial = requestedThreadSetting()
afterAll(() => setThreads(initial))

/** Below 256 the wasm kernel runs the JavaScript loop; 200,003 entries split across threads. */
const SIZES = [1, 3, 255, 256, 257, 1001, 200_003] as const

/** Uniform [0, 1) numbers from a seed (a linear congruential sequence). */
function uniform(seed: number): () => number {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296
}

const dtypes = [
  { name: "float32", make: (n: number): FloatArray => new Float32Array(n) },
  { name: "float64", make: (n: number): FloatArray => new Float64Array(n) }
] as const

function inputs<A extends FloatArray>(make: (n: number) => A, n: number, seed: number, withP: boolean) {
  const rand = uniform(seed)
  const fill = (scale: number, positive = false) => {
    const a = make(n)
    for (let i = 0; i < n; i++) a[i] = positive ? rand() * rand() * scale : (rand() - 0.5) * scale
    return a
  }
  const g = fill(2)
  // Some exact zeros in g and v: sqrt(0) + e must not divide by zero.
  if (n > 2) g[1] = 0
  return { g, p: withP ? fill(1) : undefined, m: fill(0.1), v: fill(0.01, true) }
}

function run<A extends FloatArray>(
  kernel: (args: AdamArgs<A>) => void,
  make: (n: number) => A,
  x: ReturnType<typeof inputs<A>>,
  step: number
) {
  const n = x.g.length
  const out = make(n), mOut = make(n), vOut = make(n)
  const b1 = 0.9, b2 = 0.999, lr = 1e-3, eps = 1e-7
  const s2 = Math.sqrt(1 - b2 ** step)
  kernel({ ...x, out, mOut, vOut, b1, b2, a: (-lr * s2) / (1 - b1 ** step), e: eps * s2 })
  return { out, mOut, vOut }
}

/**
 * The float32 kernel's arithmetic, emulated: every operation rounded to float32 (`Math.fround` of the
 * float64 result is the correctly rounded float32 result for +, *, / and sqrt of float32 operands).
 */
function adamFloat32Emulated(args: AdamArgs<FloatArray>): void {
  const f = Math.fround
  const { g, p, m, v, out, mOut, vOut } = args
  const b1 = f(args.b1), ob1 = f(1 - args.b1), b2 = f(args.b2), ob2 = f(1 - args.b2), a = f(args.a), e = f(args.e)
  const flush = (x: number) => (Math.abs(x) < 2 ** -126 ? 0 : x)
  for (let i = 0; i < g.length; i++) {
    const mi = flush(f(f(b1 * m[i]!) + f(ob1 * g[i]!)))
    const vi = flush(f(f(b2 * v[i]!) + f(f(ob2 * g[i]!) * g[i]!)))
    mOut[i] = mi
    vOut[i] = vi
    const u = f(f(a * mi) / f(f(Math.sqrt(vi)) + e))
    out[i] = p === undefined ? u : f(p[i]! + u)
  }
}

describe("Adam kernel", () => {
  for (const { name, make } of dtypes) {
    for (const withP of [true, false]) {
      it(`${name}, ${withP ? "parameter + update" : "update only"}: WebAssembly matches the reference at 1-3 threads`, () => {
        for (const n of SIZES) {
          const x = inputs(make, n, n + (withP ? 1 : 0), withP)
          // Below 256 entries the kernel is the JavaScript loop; from 256 on, float32 runs in float32 lanes.
          const want = run(name === "float32" && n >= 256 ? adamFloat32Emulated : jsKernels.adam, make, x, 3)
          const reference = run(jsKernels.adam, make, x, 3)
          let first: ReturnType<typeof run> | undefined
          for (const threads of [1, 2, 3]) {
            setThreads(threads)
            const got = run(wasmKernels.adam, make, x, 3)
            for (const key of ["out", "mOut", "vOut"] as const) {
              const a = got[key], b = want[key]
              for (let i = 0; i < n; i++) {
                if (!Object.is(a[i], b[i])) {
                  expect.fail(`${name} n=${n} ${threads} threads ${key}[${i}]: ${a[i]} vs ${b[i]}`)
                }
                // And within float32 rounding of the float64 reference (relative to the entry's scale).
                const r = reference[key][i]!
                if (Math.abs(a[i]! - r) > 1e-6 * Math.max(Math.abs(r), 0.01)) {
                  expect.fail(`${name} n=${n} ${key}[${i}]: ${a[i]} vs the float64 reference ${r}`)
                }
              }
              if (first !== undefined) expect(Array.from(a)).toEqual(Array.from(first[key]))
            }
            first ??= got
          }
        }
      })
    }
  }

  it("splits a large parameter across threads", () => {
    setThreads(2)
    if (threadStatus().threads < 2) return expect(threadStatus().reason).toMatch(/one thread/)
    const before = parallelJobCount()
    run(wasmKernels.adam, (n) => new Float32Array(n), inputs((n) => new Float32Array(n), 200_003, 9, true), 1)
    expect(parallelJobCount()).toBe(before + 1)
  })

  it("flushes moments below the smallest normal number to zero (no subnormal numbers, which are slow)", () => {
    for (const { name, make } of dtypes) {
      const tiny = name === "float32" ? 2 ** -126 : 2 ** -1022
      const n = 1000
      // Zero gradients and first moments from 1e3 times the smallest normal down into the subnormal range.
      const x = inputs(make, n, 3, true)
      for (let i = 0; i < n; i++) {
        x.g[i] = 0
        x.m[i] = tiny * 1000 * 0.97 ** i * (i % 2 === 0 ? 1 : -1)
        x.v[i] = tiny * 1000 * 0.97 ** i
      }
      for (const kernel of [jsKernels.adam, wasmKernels.adam]) {
        let state = { ...x }
        for (let step = 1; step <= 100; step++) {
          const r = run(kernel, make, state, step)
          state = { ...state, m: r.mOut, v: r.vOut, p: r.out }
        }
        for (const a of [state.m, state.v]) {
          const sub = Array.from(a).filter((y) => y !== 0 && Math.abs(y) < tiny)
          expect(sub, `${name}: subnormal moments`).toEqual([])
        }
        // The large ones are still there (0.9^100 of 1e3 times the smallest normal is below it: all flushed
        // for m; v decays by 0.999 and stays).
        expect(Array.from(state.v).some((y) => y >= tiny)).toBe(true)
      }
    }
  })

  it("reads its inputs only: g, m, v and p are unchanged", () => {
    const x = inputs((n) => new Float32Array(n), 1001, 5, true)
    const copies = [x.g, x.p!, x.m, x.v].map((a) => a.slice())
    run(wasmKernels.adam, (n) => new Float32Array(n), x, 1)
    ;[x.g, x.p!, x.m, x.v].forEach((a, k) => expect(a).toEqual(copies[k]))
  })
})
