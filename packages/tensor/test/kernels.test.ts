import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type Conv2dGeometry,
  type FloatArray,
  jsKernels,
  type Kernels,
  type Pool2dGeometry,
  wasmKernels
} from "../src/internal/kernels/index.ts"
import {
  naiveConv,
  naiveConvBackpropFilter,
  naiveConvBackpropInput,
  naiveGemm,
  naivePool,
  tfPadding
} from "./kernels-reference.ts"
import { type Ctor, dtypes } from "./kernels-reference.ts"

const backends: ReadonlyArray<Kernels> = [jsKernels, wasmKernels]

/** Values in [-1, 1] with a few decimals (integers mapped, not fc.double). */
const values = (length: number): fc.Arbitrary<Array<number>> =>
  fc.array(fc.integer({ min: -1000, max: 1000 }).map((i) => i / 1000), { minLength: length, maxLength: length })

/** |got - want| <= tol * (terms + 1) elementwise: the error of a sum of `terms` products of values in [-1, 1]. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, terms: number): void {
  expect(got.length).toBe(want.length)
  const bound = tol * (terms + 1)
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!)
    if (!(d <= bound)) expect.fail(`index ${i}: got ${got[i]}, want ${want[i]} (|diff| ${d} > ${bound})`)
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

interface GemmCase {
  readonly transA: boolean
  readonly transB: boolean
  readonly m: number
  readonly n: number
  readonly k: number
  readonly padA: number
  readonly padB: number
  readonly padC: number
  readonly offset: number
  readonly accumulate: boolean
}

const gemmCase: fc.Arbitrary<GemmCase> = fc.record({
  transA: fc.boolean(),
  transB: fc.boolean(),
  m: fc.integer({ min: 1, max: 19 }),
  n: fc.integer({ min: 1, max: 21 }),
  k: fc.integer({ min: 1, max: 17 }),
  padA: fc.integer({ min: 0, max: 3 }),
  padB: fc.integer({ min: 0, max: 3 }),
  padC: fc.integer({ min: 0, max: 3 }),
  offset: fc.integer({ min: 0, max: 5 }),
  accumulate: fc.boolean()
})

function checkGemm(kernels: Kernels, ctor: Ctor, tol: number, g: GemmCase, seed: number): void {
  const { transA, transB, m, n, k, offset, accumulate } = g
  const lda = (transA ? m : k) + g.padA
  const ldb = (transB ? k : n) + g.padB
  const ldc = n + g.padC
  let s = seed
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return Math.round((s / 0x7fffffff) * 2000 - 1000) / 1000
  }
  const filled = (length: number): FloatArray => {
    const out = new ctor(length)
    for (let i = 0; i < length; i++) out[i] = rnd()
    return out
  }
  const a = filled(offset + (transA ? k : m) * lda)
  const b = filled(offset + (transB ? n : k) * ldb)
  const c = filled(offset + m * ldc)
  const c0 = c.slice()
  kernels.gemm({
    transA,
    transB,
    m,
    n,
    k,
    a,
    aOffset: offset,
    lda,
    b,
    bOffset: offset,
    ldb,
    c,
    cOffset: offset,
    ldc,
    accumulate
  })
  const ref = naiveGemm(transA, transB, m, n, k, a, offset, lda, b, offset, ldb)
  const got = new Float64Array(m * n)
  const want = new Float64Array(m * n)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      got[i * n + j] = c[offset + i * ldc + j]!
      want[i * n + j] = ref[i * n + j]! + (accumulate ? c0[offset + i * ldc + j]! : 0)
    }
  }
  expectClose(got, want, tol, k + 1)
  // Cells outside the m x n window (padding columns, the prefix) are untouched.
  for (let i = 0; i < c.length; i++) {
    const row = Math.floor((i - offset) / ldc), col = (i - offset) % ldc
    if (i < offset || col >= n || row >= m) expect(c[i]).toBe(c0[i])
  }
}

/** The shared Arbitrary.conv2dConfig (same, valid, explicit pads 1/3 each), geometry computed here. */
const convGeometry: fc.Arbitrary<Conv2dGeometry> = Arbitrary.conv2dConfig({
  channels: { min: 1, max: 4 },
  filters: { min: 1, max: 5 },
  form: "pair",
  padding: ["same", "valid", "explicit"]
})
  .map(({ input: [n, h, w, c], kernel: [kh, kw, , f], options }) => {
    const [strideH, strideW] = options.strides as readonly [number, number]
    const [dilationH, dilationW] = options.dilation as readonly [number, number]
    const r = { n, h, w, c, f, kh, kw, strideH, strideW, dilationH, dilationW }
    if (options.padding !== "same" && options.padding !== "valid") {
      const [[pt, pb], [pl, pr]] = options.padding as readonly [readonly [number, number], readonly [number, number]]
      const effH = (r.kh - 1) * r.dilationH + 1, effW = (r.kw - 1) * r.dilationW + 1
      return {
        ...r,
        outH: Math.floor((r.h + pt + pb - effH) / r.strideH) + 1,
        outW: Math.floor((r.w + pl + pr - effW) / r.strideW) + 1,
        padTop: pt,
        padLeft: pl
      }
    }
    const ph = tfPadding(r.h, r.kh, r.strideH, r.dilationH, options.padding)
    const pw = tfPadding(r.w, r.kw, r.strideW, r.dilationW, options.padding)
    return { ...r, outH: ph.out, outW: pw.out, padTop: ph.before, padLeft: pw.before }
  })
  .filter((g) => g.outH >= 1 && g.outW >= 1)

const convCase = convGeometry.chain((g) =>
  fc.record({
    g: fc.constant(g),
    x: values(g.n * g.h * g.w * g.c),
    w: values(g.kh * g.kw * g.c * g.f),
    dy: values(g.n * g.outH * g.outW * g.f),
    bias: values(g.f)
  })
)

/** The shared Arbitrary.pool2dConfig (strides always written; valid, same and explicit pads), its geometry. */
const poolGeometry: fc.Arbitrary<Pool2dGeometry> = Arbitrary.pool2dConfig({
  form: "pair",
  defaultStrides: false,
  padding: ["valid", "same", "number", "pair", "explicit"]
})
  .map(({ input: [n, h, w, c], geometry: g }) => ({
    n,
    h,
    w,
    c,
    kh: g.kh,
    kw: g.kw,
    strideH: g.strideH,
    strideW: g.strideW,
    outH: g.outH,
    outW: g.outW,
    padTop: g.padTop,
    padLeft: g.padLeft
  }))
  .filter((g) => g.outH >= 1 && g.outW >= 1)

/** Few distinct values so that ties (first maximum wins) are frequent. */
const poolCase = poolGeometry.chain((g) =>
  fc.record({
    g: fc.constant(g),
    x: fc.array(fc.integer({ min: -3, max: 3 }).map((i) => i / 2), {
      minLength: g.n * g.h * g.w * g.c,
      maxLength: g.n * g.h * g.w * g.c
    }),
    dy: values(g.n * g.outH * g.outW * g.c)
  })
)

const RUNS = { numRuns: 60 }

for (const kernels of backends) {
  describe(`kernels (${kernels.name})`, () => {
    it("gemm: exact 2x3 * 3x2", () => {
      const a = Float64Array.of(1, 2, 3, 4, 5, 6)
      const b = Float64Array.of(7, 8, 9, 10, 11, 12)
      const c = new Float64Array(4)
      kernels.gemm({
        transA: false,
        transB: false,
        m: 2,
        n: 2,
        k: 3,
        a,
        aOffset: 0,
        lda: 3,
        b,
        bOffset: 0,
        ldb: 2,
        c,
        cOffset: 0,
        ldc: 2,
        accumulate: false
      })
      expect(Array.from(c)).toEqual([58, 64, 139, 154])
      const ct = new Float64Array(9)
      kernels.gemm({
        transA: true,
        transB: true,
        m: 3,
        n: 3,
        k: 2,
        a,
        aOffset: 0,
        lda: 3,
        b,
        bOffset: 0,
        ldb: 2,
        c: ct,
        cOffset: 0,
        ldc: 3,
        accumulate: false
      })
      expect(Array.from(ct)).toEqual([39, 49, 59, 54, 68, 82, 69, 87, 105])
    })

    it("gemm: k = 0 clears C unless accumulating", () => {
      const c = Float32Array.of(1, 2, 3, 4)
      const empty = new Float32Array(0)
      kernels.gemm({
        transA: false,
        transB: false,
        m: 2,
        n: 2,
        k: 0,
        a: empty,
        aOffset: 0,
        lda: 0,
        b: empty,
        bOffset: 0,
        ldb: 2,
        c,
        cOffset: 0,
        ldc: 2,
        accumulate: true
      })
      expect(Array.from(c)).toEqual([1, 2, 3, 4])
      kernels.gemm({
        transA: false,
        transB: false,
        m: 2,
        n: 2,
        k: 0,
        a: empty,
        aOffset: 0,
        lda: 0,
        b: empty,
        bOffset: 0,
        ldb: 2,
        c,
        cOffset: 0,
        ldc: 2,
        accumulate: false
      })
      expect(Array.from(c)).toEqual([0, 0, 0, 0])
    })

    for (const [dtype, ctor, tol] of dtypes) {
      it(`gemm ${dtype}: all trans flags, offsets, leading dims, accumulate vs naive`, () => {
        fc.assert(fc.property(gemmCase, fc.nat(), (g, seed) => checkGemm(kernels, ctor, tol, g, seed)), {
          numRuns: 150
        })
      })

      it(`gemm ${dtype}: sizes crossing the cache blocks`, () => {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            checkGemm(kernels, ctor, tol, {
              transA,
              transB,
              m: 131,
              n: 530,
              k: 270,
              padA: 1,
              padB: 2,
              padC: 3,
              offset: 2,
              accumulate: transA
            }, 7)
          }
        }
      })

      it(`conv2d ${dtype}: forward (+ bias, relu) vs direct convolution`, () => {
        fc.assert(
          fc.property(convCase, fc.boolean(), fc.boolean(), ({ g, x, w, bias }, withBias, relu) => {
            const y = new ctor(g.n * g.outH * g.outW * g.f).fill(Number.NaN)
            const b = ctor.from(bias)
            kernels.conv2d(ctor.from(x), ctor.from(w), y, g, withBias ? { bias: b, relu } : { relu })
            const want = naiveConv(x, w, g).map((v, i) => {
              const s = withBias ? v + bias[i % g.f]! : v
              return relu && s < 0 ? 0 : s
            })
            expectClose(y, want, tol, g.kh * g.kw * g.c + 1)
          }),
          RUNS
        )
      })

      it(`conv2d ${dtype}: backprop input and filter vs naive, and the adjoint identity`, () => {
        fc.assert(
          fc.property(convCase, ({ g, x, w, dy }) => {
            const [tx, tw, tdy] = [ctor.from(x), ctor.from(w), ctor.from(dy)]
            const dx = new ctor(x.length).fill(Number.NaN)
            const dw = new ctor(w.length).fill(Number.NaN)
            kernels.conv2dBackpropInput(tdy, tw, dx, g)
            kernels.conv2dBackpropFilter(tx, tdy, dw, g)
            expectClose(dx, naiveConvBackpropInput(dy, w, g), tol, g.kh * g.kw * g.f)
            expectClose(dw, naiveConvBackpropFilter(x, dy, g), tol, g.n * g.outH * g.outW)
            const y = new ctor(dy.length)
            kernels.conv2d(tx, tw, y, g)
            const total = g.n * g.outH * g.outW * g.kh * g.kw * g.c * g.f
            const lhs = dot(y, dy)
            expect(Math.abs(lhs - dot(x, dx))).toBeLessThanOrEqual(tol * (total + 1))
            expect(Math.abs(lhs - dot(w, dw))).toBeLessThanOrEqual(tol * (total + 1))
          }),
          RUNS
        )
      })

      it(`pooling ${dtype}: max (with argmax, ties) and avg, forward and backward vs naive`, () => {
        fc.assert(
          fc.property(poolCase, ({ g, x, dy }) => {
            const tx = ctor.from(x), tdy = ctor.from(dy)
            const size = g.n * g.outH * g.outW * g.c
            const ref = naivePool(x, g)
            const y = new ctor(size).fill(Number.NaN)
            const argmax = new Int32Array(size).fill(-7)
            kernels.maxPool2d(tx, y, g, argmax)
            expect(Array.from(y)).toEqual(Array.from(ref.max))
            expect(Array.from(argmax)).toEqual(Array.from(ref.argmax))
            const y2 = new ctor(size)
            kernels.maxPool2d(tx, y2, g)
            expect(Array.from(y2)).toEqual(Array.from(ref.max))

            const wantDx = new Float64Array(x.length)
            ref.argmax.forEach((j, i) => {
              if (j >= 0) wantDx[j] = wantDx[j]! + dy[i]!
            })
            const dx = new ctor(x.length).fill(Number.NaN)
            kernels.maxPool2dBackward(tdy, argmax, dx, g)
            expectClose(dx, wantDx, tol, g.kh * g.kw)
            const dx2 = new ctor(x.length).fill(Number.NaN)
            kernels.maxPool2dBackwardFromInput(tx, tdy, dx2, g)
            expect(Array.from(dx2)).toEqual(Array.from(dx))

            const avg = new ctor(size).fill(Number.NaN)
            kernels.avgPool2d(tx, avg, g)
            expectClose(avg, ref.avg, tol, g.kh * g.kw)
            // Average pooling backward is the adjoint of the forward.
            const dxa = new ctor(x.length).fill(Number.NaN)
            kernels.avgPool2dBackward(tdy, dxa, g)
            expect(Math.abs(dot(avg, dy) - dot(x, dxa))).toBeLessThanOrEqual(tol * 10 * (size + 1))
          }),
          RUNS
        )
      })
    }

    it("conv2d: exact 1-channel 2x2 'same' case (TF pads bottom/right)", () => {
      // x 3x3 = 1..9, w 2x2 = [1, 0; 0, 1] (a + d of each window), same padding: pad bottom/right by 1.
      const g: Conv2dGeometry = {
        n: 1,
        h: 3,
        w: 3,
        c: 1,
        kh: 2,
        kw: 2,
        f: 1,
        outH: 3,
        outW: 3,
        strideH: 1,
        strideW: 1,
        dilationH: 1,
        dilationW: 1,
        padTop: 0,
        padLeft: 0
      }
      const x = Float32Array.from({ length: 9 }, (_, i) => i + 1)
      const y = new Float32Array(9)
      kernels.conv2d(x, Float32Array.of(1, 0, 0, 1), y, g, { bias: Float32Array.of(-7), relu: true })
      // Raw: [1+5, 2+6, 3, 4+8, 5+9, 6, 7, 8, 9] - 7, relu.
      expect(Array.from(y)).toEqual([0, 1, 0, 5, 7, 0, 0, 1, 2])
    })

    it("pooling: exact 'same' average counts only real cells; max ties pick the first", () => {
      const g: Pool2dGeometry = {
        n: 1,
        h: 3,
        w: 3,
        c: 1,
        kh: 2,
        kw: 2,
        outH: 2,
        outW: 2,
        strideH: 2,
        strideW: 2,
        padTop: 0,
        padLeft: 0
      }
      const x = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)
      const avg = new Float64Array(4)
      kernels.avgPool2d(x, avg, g)
      expect(Array.from(avg)).toEqual([3, 4.5, 7.5, 9])
      const ties = Float64Array.of(5, 5, 1, 5, 5, 1, 1, 1, 1)
      const y = new Float64Array(4), am = new Int32Array(4)
      kernels.maxPool2d(ties, y, g, am)
      expect(Array.from(y)).toEqual([5, 1, 1, 1])
      expect(Array.from(am)).toEqual([0, 2, 6, 8])
    })
  })
}

describe("backends agree", () => {
  it("js and wasm give the same float64 conv within rounding", () => {
    fc.assert(
      fc.property(convCase, ({ g, x, w }) => {
        const a = new Float64Array(g.n * g.outH * g.outW * g.f), b = a.slice()
        jsKernels.conv2d(Float64Array.from(x), Float64Array.from(w), a, g)
        wasmKernels.conv2d(Float64Array.from(x), Float64Array.from(w), b, g)
        expectClose(a, b, 1e-13, g.kh * g.kw * g.c)
      }),
      { numRuns: 30 }
    )
  })
})
