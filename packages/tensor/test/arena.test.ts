// Tensor data in the module memory (`kernels/wasm/arena.ts`): regions are handed out, reclaimed once their
// owner is collected, merged, and refused when the arena is full; and every WebAssembly kernel that reads or
// writes operands where they lie in the module memory gives the same bits as with operands copied in, at 1
// and 2 threads (GEMM by rows and by columns with every transpose flag, offsets and accumulation; the
// convolution forward, input and filter gradients; Adam).
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Tensor } from "../src/index.ts"
import { unsafeData } from "../src/internal/buffer.ts"
import { type Conv2dGeometry, type FloatArray, jsKernels, wasmKernels } from "../src/internal/kernels/index.ts"
import {
  ARENA_BASE,
  ARENA_BYTES,
  arenaAlloc,
  arenaOffset,
  arenaRegionOffset,
  arenaStats,
  configureArena
} from "../src/internal/kernels/wasm/arena.ts"
import { allocData, allocFilled } from "../src/internal/recycle.ts"
import { requestedThreadSetting, setThreads } from "../src/internal/threads/pool.ts"
import { type Ctor, dtypes, seeded } from "./kernels-reference.ts"

const initialThreads = requestedThreadSetting()
beforeAll(() => {
  // The arena starts with the kernels' memory: run one kernel first; serve small test buffers from it.
  wasmKernels.adam({
    g: new Float32Array(4),
    p: undefined,
    m: new Float32Array(4),
    v: new Float32Array(4),
    out: new Float32Array(4),
    mOut: new Float32Array(4),
    vOut: new Float32Array(4),
    b1: 0.9,
    b2: 0.999,
    a: -1e-3,
    e: 1e-7
  })
  wasmKernels.gemm({
    transA: false,
    transB: false,
    m: 1,
    n: 1,
    k: 1,
    a: new Float32Array(1),
    aOffset: 0,
    lda: 1,
    b: new Float32Array(1),
    bOffset: 0,
    ldb: 1,
    c: new Float32Array(1),
    cOffset: 0,
    ldc: 1,
    accumulate: false
  })
  configureArena({ minBytes: 4 })
})
afterAll(() => {
  configureArena({ minBytes: 64 * 1024 })
  setThreads(initialThreads)
})

/** A copy of `data` in the module memory (an arena region of its own). */
function inArena<A extends FloatArray>(data: A): A {
  const out = arenaAlloc(data instanceof Float64Array, data.length)
  if (out === undefined) throw new Error("the arena refused a test buffer")
  out.set(data)
  // Same element type as `data` (arenaAlloc's f64 flag follows it).
  return out as A
}

/** A region of `n` elements filled with NaN (so an output the kernel does not write shows). */
function nanRegion(ctor: Ctor, n: number): FloatArray {
  const out = arenaAlloc(ctor === Float64Array, n)
  if (out === undefined) throw new Error("the arena refused a test buffer")
  return out.fill(Number.NaN)
}

function expectSameBits(got: FloatArray, want: FloatArray, what: string): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}, index ${i}: ${got[i]} in place, ${want[i]} copied`)
  }
}

async function collect(): Promise<void> {
  setFlagsFromString("--expose-gc")
  const gc = runInNewContext("gc") as () => void
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe("arena regions", () => {
  it("kernel outputs (allocUninit) are served from the module memory, vector aligned, above the scratch", () => {
    const before = arenaStats()
    expect(before.enabled).toBe(true)
    const a = allocData("float32", 1000, false)
    const b = allocData("float64", 333, false)
    expect(arenaRegionOffset(a)).toBeGreaterThanOrEqual(ARENA_BASE)
    expect(arenaRegionOffset(b)).toBeGreaterThanOrEqual(ARENA_BASE)
    expect(arenaRegionOffset(a)! % 16).toBe(0)
    expect(arenaRegionOffset(b)! % 16).toBe(0)
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer)
    // Disjoint regions.
    const [lo, hi] = arenaRegionOffset(a)! < arenaRegionOffset(b)! ? [a, b] : [b, a]
    expect(lo.byteOffset + lo.byteLength).toBeLessThanOrEqual(hi.byteOffset)
    // A zero-filled buffer (a user's data) is not a kernel output: it stays an ordinary array.
    expect(arenaOffset(allocData("float32", 1000))).toBeUndefined()
    // A view into a region lies in the module memory but does not own the region.
    expect(arenaOffset(a.subarray(4))).toBe(a.byteOffset + 16)
    expect(arenaRegionOffset(a.subarray(4))).toBeUndefined()
    expect(arenaStats().served).toBe(before.served + 2)
  })

  it("a region returns once its owner is collected, merged with its neighbours, and is served again", async () => {
    await collect()
    const base = arenaStats().liveBytes
    let blocks: Array<Float32Array> | undefined = Array.from({ length: 8 }, () => arenaAlloc(false, 4096)!)
    expect(arenaStats().liveBytes).toBe(base + 8 * 16384)
    const first = blocks[0]!.byteOffset
    blocks = undefined
    await collect()
    expect(arenaStats().liveBytes).toBe(base)
    // The eight neighbours merged: one region of all of them fits where they were (or below).
    const big = arenaAlloc(false, 8 * 4096)!
    expect(big.byteOffset).toBeLessThanOrEqual(first)
  })

  it("a view made with subView keeps the region from being reused while it lives", async () => {
    const { subView } = await import("../src/internal/recycle.ts")
    let owner: Float32Array | undefined = arenaAlloc(false, 50_000)!
    owner.fill(7)
    const view = subView(owner, 10, 20)
    owner = undefined
    await collect()
    for (let i = 0; i < 20; i++) arenaAlloc(false, 50_000)!.fill(-1)
    expect(Array.from(view)).toEqual(Array.from({ length: 10 }, () => 7))
  })

  it("data a caller provides (fromArray) goes to the arena while small and while the arena is a quarter full", () => {
    const values = Float64Array.from({ length: 5000 }, (_, i) => i / 3 - 100)
    const t = Tensor.fromArray(values, [50, 100])
    const data = unsafeData(t)
    expect(arenaOffset(data)).toBeDefined()
    // Converted to float32 exactly as element by element.
    expect(Array.from(data)).toEqual(Array.from(values, Math.fround))
    // A plain array works the same; int32 data never goes to the arena.
    expect(Array.from(unsafeData(Tensor.fromArray([1.5, -2, 3], [3])))).toEqual([1.5, -2, 3])
    expect(arenaOffset(unsafeData(Tensor.fromArray([1, 2], [2], { dtype: "int32" })))).toBeUndefined()
    // More than 16 MiB: an ordinary array.
    expect(arenaOffset(allocFilled("float32", 2 ** 22 + 4))).toBeUndefined()
    // With the arena over a quarter full, an ordinary array too; kernel outputs still get regions.
    const held: Array<Float32Array> = []
    while (arenaStats().liveBytes < ARENA_BYTES / 4) held.push(arenaAlloc(false, 2 ** 20)!)
    expect(arenaOffset(allocFilled("float32", 5000))).toBeUndefined()
    expect(arenaOffset(allocData("float32", 5000, false))).toBeDefined()
    held.length = 0
  })

  it("a full arena refuses (the caller allocates plainly) and memory stays bounded", () => {
    const before = arenaStats()
    const held: Array<Float64Array> = []
    // 32 MiB at a time until refused: bounded by ARENA_BYTES.
    for (let i = 0; i < 2 * ARENA_BYTES / 2 ** 25; i++) {
      const r = arenaAlloc(true, 2 ** 22)
      if (r === undefined) break
      held.push(r)
    }
    expect(arenaStats().refused).toBe(before.refused + 1)
    expect(arenaStats().topBytes).toBeLessThanOrEqual(ARENA_BYTES)
    const plain = allocData("float64", 2 ** 22, false)
    expect(arenaOffset(plain)).toBeUndefined()
    expect(plain.length).toBe(2 ** 22)
    held.length = 0
  })

  it("a loop that yields gets its regions back without anyone collecting (the arena asks V8 for a collection)", async () => {
    // Run last in this group: earlier tests may have filled the arena; start from what is free now.
    await collect()
    const before = arenaStats()
    const chunk = 2 ** 22 // float64 elements: 32 MiB
    let served = 0
    for (let i = 0; i < (4 * ARENA_BYTES) / (8 * chunk); i++) {
      const r = arenaAlloc(true, chunk)
      if (r !== undefined) {
        r[0] = i
        served++
      }
      // A training loop's turn of the event loop between steps.
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // Four arenas' worth went through it: regions were reused, and a collection was asked for.
    expect(served * 8 * chunk).toBeGreaterThan(2 * ARENA_BYTES)
    expect(arenaStats().collectionsAsked).toBeGreaterThan(before.collectionsAsked)
  })

  it("data held past the collection threshold does not turn every allocation into a collection", async () => {
    await collect()
    // Hold 70% of the arena (past the 60% at which collections are asked for).
    const held: Array<Float32Array> = []
    while (arenaStats().liveBytes < 0.7 * ARENA_BYTES) held.push(arenaAlloc(false, 2 ** 20)!)
    const before = arenaStats().collectionsAsked
    // Then a yielding loop of small allocations: 200 of 1 MiB, a bit less than the arena's size.
    for (let i = 0; i < 200; i++) {
      arenaAlloc(false, 2 ** 18)![0] = i
      await new Promise((resolve) => setImmediate(resolve))
    }
    // One ask per fifth of the arena handed out at most (about 4 here), not one per allocation.
    const asked = arenaStats().collectionsAsked - before
    expect(asked).toBeGreaterThan(0)
    expect(asked).toBeLessThanOrEqual(Math.ceil((200 * 2 ** 20) / (0.2 * ARENA_BYTES)) + 1)
    held.length = 0
    await collect()
  })

  it("while the arena is in use, other large buffers are plain (not recycled: their memory makes V8 collect)", async () => {
    const { recycleStats } = await import("../src/internal/recycle.ts")
    const before = recycleStats()
    const zeroed = allocData("float32", 100_000)
    expect(arenaOffset(zeroed)).toBeUndefined()
    expect(recycleStats().fresh).toBe(before.fresh)
    expect(recycleStats().pendingBytes).toBe(before.pendingBytes)
    // Turned off, the recycled buffers serve again.
    configureArena({ off: true })
    try {
      allocData("float32", 100_000)
      expect(recycleStats().fresh + recycleStats().reused).toBe(before.fresh + before.reused + 1)
    } finally {
      configureArena({ off: false })
    }
  })

  it("turned off, nothing is served", () => {
    configureArena({ off: true })
    try {
      expect(arenaAlloc(false, 1000)).toBeUndefined()
      expect(arenaOffset(allocData("float32", 100_000, false))).toBeUndefined()
    } finally {
      configureArena({ off: false })
    }
  })
})

interface GemmShape {
  readonly m: number
  readonly n: number
  readonly k: number
  readonly transA: boolean
  readonly transB: boolean
  readonly offset: number
  readonly pad: number
  readonly accumulate: boolean
}

/** Rows path (tall m, small B), columns path, exact tiles (direct C) and ragged ones, offsets, pads. */
const GEMM_SHAPES: ReadonlyArray<GemmShape> = [
  { m: 260, n: 16, k: 9, transA: false, transB: false, offset: 0, pad: 0, accumulate: false },
  { m: 260, n: 16, k: 9, transA: true, transB: true, offset: 3, pad: 2, accumulate: true },
  { m: 261, n: 13, k: 30, transA: false, transB: true, offset: 1, pad: 0, accumulate: false },
  { m: 8, n: 64, k: 300, transA: false, transB: false, offset: 0, pad: 0, accumulate: false },
  { m: 8, n: 64, k: 300, transA: true, transB: false, offset: 0, pad: 0, accumulate: true },
  { m: 7, n: 530, k: 270, transA: false, transB: true, offset: 2, pad: 3, accumulate: false },
  { m: 12, n: 40, k: 1, transA: true, transB: true, offset: 0, pad: 0, accumulate: false },
  // Large enough for two threads: by rows and by columns.
  { m: 520, n: 64, k: 64, transA: false, transB: false, offset: 0, pad: 0, accumulate: true },
  { m: 16, n: 1024, k: 128, transA: true, transB: false, offset: 0, pad: 0, accumulate: false }
]

const THREADS = [1, 2] as const

describe("kernels with operands in the module memory give the bits of copied operands", () => {
  // Whatever the tests above left in the arena is collected first: every operand below gets a region.
  beforeAll(collect)
  for (const [dtype, ctor] of dtypes) {
    for (const threads of THREADS) {
      it(`gemm ${dtype}, ${threads} thread(s)`, () => {
        setThreads(threads)
        GEMM_SHAPES.forEach((s, i) => {
          const lda = (s.transA ? s.m : s.k) + s.pad, ldb = (s.transB ? s.k : s.n) + s.pad
          const a = seeded(s.offset + (s.transA ? s.k : s.m) * lda, 10 + i, ctor)
          const b = seeded(s.offset + (s.transB ? s.n : s.k) * ldb, 20 + i, ctor)
          // C owns its region with no offset or pad when the shape allows direct writes.
          const cOffset = s.pad === 0 ? 0 : s.offset, ldc = s.n + s.pad
          const c0 = seeded(cOffset + s.m * ldc, 30 + i, ctor)
          const run = (left: FloatArray, right: FloatArray, c: FloatArray) => {
            wasmKernels.gemm({
              ...s,
              a: left,
              aOffset: s.offset,
              lda,
              b: right,
              bOffset: s.offset,
              ldb,
              c,
              cOffset,
              ldc
            })
            return c
          }
          const want = run(a, b, c0.slice())
          const got = run(inArena(a), inArena(b), inArena(c0))
          expectSameBits(got, want, `gemm case ${i}`)
        })
      })

      it(`conv2d forward, input and filter gradients ${dtype}, ${threads} thread(s)`, () => {
        setThreads(threads)
        const geometries: ReadonlyArray<Conv2dGeometry> = [
          // Exact tiles (direct outputs): 24 filters, 4 x 14 x 14 pixels.
          conv({ n: 4, h: 14, w: 14, c: 3, kh: 2, kw: 2, f: 24, pad: 0 }),
          conv({ n: 3, h: 9, w: 7, c: 5, kh: 3, kw: 3, f: 16, pad: 1 }),
          // Large enough for two threads.
          conv({ n: 8, h: 28, w: 28, c: 4, kh: 3, kw: 3, f: 16, pad: 0 }),
          // Ragged: filters off the tile width, odd pixel counts.
          conv({ n: 1, h: 5, w: 5, c: 2, kh: 3, kw: 2, f: 5, pad: 0 })
        ]
        geometries.forEach((g, i) => {
          const x = seeded(g.n * g.h * g.w * g.c, 40 + i, ctor)
          const w = seeded(g.kh * g.kw * g.c * g.f, 50 + i, ctor)
          const bias = seeded(g.f, 60 + i, ctor)
          const dy = seeded(g.n * g.outH * g.outW * g.f, 70 + i, ctor)
          const copied = { y: new ctor(dy.length), dx: new ctor(x.length), dw: new ctor(w.length) }
          wasmKernels.conv2d(x, w, copied.y, g, { bias, relu: true })
          wasmKernels.conv2dBackpropInput(dy, w, copied.dx, g)
          wasmKernels.conv2dBackpropFilter(x, dy, copied.dw, g)
          const inPlace = {
            y: nanRegion(ctor, dy.length),
            dx: nanRegion(ctor, x.length),
            dw: nanRegion(ctor, w.length)
          }
          wasmKernels.conv2d(inArena(x), inArena(w), inPlace.y, g, { bias, relu: true })
          wasmKernels.conv2dBackpropInput(inArena(dy), inArena(w), inPlace.dx, g)
          wasmKernels.conv2dBackpropFilter(inArena(x), inArena(dy), inPlace.dw, g)
          expectSameBits(inPlace.y, copied.y, `conv forward case ${i}`)
          expectSameBits(inPlace.dx, copied.dx, `conv input gradient case ${i}`)
          expectSameBits(inPlace.dw, copied.dw, `conv filter gradient case ${i}`)
        })
      })

      it(`max pooling 2x2 forward and backward ${dtype}, ${threads} thread(s)`, () => {
        setThreads(threads)
        // Channels a multiple of the vector width (the SIMD kernel's case); one pair, and enough pairs for two threads.
        for (const [n, h, w, c] of [[1, 2, 2, 4], [9, 28, 28, 24], [2, 14, 6, 48]] as const) {
          const g = {
            n,
            h,
            w,
            c,
            kh: 2,
            kw: 2,
            strideH: 2,
            strideW: 2,
            outH: h / 2,
            outW: w / 2,
            padTop: 0,
            padLeft: 0
          }
          // Few distinct values: ties are frequent (the first maximum wins).
          const x = seeded(n * h * w * c, 8, ctor).map((v) => Math.round(v * 3) / 2)
          const dy = seeded(n * g.outH * g.outW * c, 9, ctor)
          const copied = { y: new ctor(dy.length), dx: new ctor(x.length) }
          wasmKernels.maxPool2d(x, copied.y, g)
          wasmKernels.maxPool2dBackwardFromInput(x, dy, copied.dx, g)
          const inPlace = { y: nanRegion(ctor, dy.length), dx: nanRegion(ctor, x.length) }
          const xIn = inArena(x)
          wasmKernels.maxPool2d(xIn, inPlace.y, g)
          wasmKernels.maxPool2dBackwardFromInput(xIn, inArena(dy), inPlace.dx, g)
          expectSameBits(inPlace.y, copied.y, `max pool ${n}x${h}x${w}x${c}`)
          expectSameBits(inPlace.dx, copied.dx, `max pool backward ${n}x${h}x${w}x${c}`)
          // Against the JavaScript reference too.
          const reference = { y: new ctor(dy.length), dx: new ctor(x.length) }
          jsKernels.maxPool2d(x, reference.y, g)
          jsKernels.maxPool2dBackwardFromInput(x, dy, reference.dx, g)
          expectSameBits(inPlace.y, reference.y, `max pool ${n}x${h}x${w}x${c} against the reference`)
          expectSameBits(inPlace.dx, reference.dx, `max pool backward ${n}x${h}x${w}x${c} against the reference`)
        }
      })

      it(`relu backward ${dtype}, ${threads} thread(s): the JavaScript reference's bits`, () => {
        setThreads(threads)
        for (const n of [1, 5, 1001, 70_001]) {
          const ct = seeded(n, 5, ctor), y = seeded(n, 6, ctor)
          // Signed zeros, NaN and infinities in y; a negative zero and NaN in ct.
          const special = [0, -0, Number.NaN, Infinity, -Infinity]
          special.forEach((v, i) => i < n && (y[(i * 7) % n] = v))
          if (n > 3) {
            ct[1] = -0
            ct[2] = Number.NaN
          }
          const want = new ctor(n)
          jsKernels.reluBackward(ct, y, want, n)
          const got = nanRegion(ctor, n)
          wasmKernels.reluBackward(inArena(ct), inArena(y), got, n)
          expectSameBits(got, want, `relu backward n=${n}`)
          // The mask is real: y > 0 keeps ct's bits, anything else gives +0.
          for (let i = 0; i < n; i++) expect(Object.is(got[i], y[i]! > 0 ? ct[i] : 0)).toBe(true)
        }
      })

      it(`column sums ${dtype}, ${threads} thread(s): the JavaScript reference's bits`, () => {
        setThreads(threads)
        const lanes = ctor === Float32Array ? 4 : 2
        // Rows: none, fewer than a group of four, groups and a remainder, many (split across threads);
        // columns: one vector, a few, the bias widths of the reference CNN, and a width that is not whole
        // vectors (the JavaScript loop then).
        const shapes: ReadonlyArray<readonly [number, number]> = [
          [0, lanes],
          [3, lanes],
          [5, 2 * lanes],
          [17, 3 * lanes],
          [50_001, 24],
          [6_001, 48],
          [9, 10]
        ]
        for (const [rows, n] of shapes) {
          const data = seeded(rows * n + 3, 7, ctor)
          data[0] = -0
          if (rows * n > 5) data[5] = 1e30
          const acc0 = seeded(n, 8, Float64Array) as Float64Array
          const want = Float64Array.from(acc0)
          jsKernels.sumRows(data.subarray(1, 1 + rows * n), rows, n, want)
          // In the module memory, at an offset that is not a whole vector (a view into a region).
          const got = Float64Array.from(acc0)
          wasmKernels.sumRows(inArena(data).subarray(1, 1 + rows * n), rows, n, got)
          expectSameBits(got, want, `column sums ${rows}x${n}`)
          // Against a plain float64 sum in the reference's order, so the reference itself is checked.
          const plain = Float64Array.from(acc0)
          let r = 0
          for (; r + 4 <= rows; r += 4) {
            for (let j = 0; j < n; j++) {
              const at = 1 + r * n + j
              plain[j] = plain[j]! + ((data[at]! + data[at + n]!) + (data[at + 2 * n]! + data[at + 3 * n]!))
            }
          }
          for (; r < rows; r++) for (let j = 0; j < n; j++) plain[j] = plain[j]! + data[1 + r * n + j]!
          expectSameBits(got, plain, `column sums ${rows}x${n} against plain float64 sums`)
        }
      })

      it(`adam ${dtype}, ${threads} thread(s), against the JavaScript reference`, () => {
        setThreads(threads)
        for (const n of [256, 1001, 70_001]) {
          const g = seeded(n, 1, ctor), p = seeded(n, 2, ctor), m = seeded(n, 3, ctor)
          const v = seeded(n, 4, ctor).map(Math.abs)
          const constants = { b1: 0.9, b2: 0.999, a: -1e-3, e: 1e-7 }
          const copied = { out: new ctor(n), mOut: new ctor(n), vOut: new ctor(n) }
          wasmKernels.adam({ g, p, m, v, ...copied, ...constants })
          const inPlace = { out: nanRegion(ctor, n), mOut: nanRegion(ctor, n), vOut: nanRegion(ctor, n) }
          wasmKernels.adam({ g: inArena(g), p: inArena(p), m: inArena(m), v: inArena(v), ...inPlace, ...constants })
          expectSameBits(inPlace.out, copied.out, `adam n=${n} parameters`)
          expectSameBits(inPlace.mOut, copied.mOut, `adam n=${n} first moments`)
          expectSameBits(inPlace.vOut, copied.vOut, `adam n=${n} second moments`)
          if (ctor === Float64Array) {
            const reference = { out: new ctor(n), mOut: new ctor(n), vOut: new ctor(n) }
            jsKernels.adam({ g, p, m, v, ...reference, ...constants })
            expectSameBits(inPlace.out, reference.out, `adam n=${n} against the reference`)
          }
        }
      })
    }
  }
})

function conv(
  s: { n: number; h: number; w: number; c: number; kh: number; kw: number; f: number; pad: number }
): Conv2dGeometry {
  return {
    n: s.n,
    h: s.h,
    w: s.w,
    c: s.c,
    kh: s.kh,
    kw: s.kw,
    f: s.f,
    outH: s.h + 2 * s.pad - s.kh + 1,
    outW: s.w + 2 * s.pad - s.kw + 1,
    strideH: 1,
    strideW: 1,
    dilationH: 1,
    dilationW: 1,
    padTop: s.pad,
    padLeft: s.pad
  }
}
