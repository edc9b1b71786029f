/**
 * The specialised fast paths of the WASM kernel set (2x2 / stride 2 max pooling, convolution backprop on
 * the implicit-im2col GEMM) against the portable JS kernels, on geometries that do and do not take them:
 * odd sizes, channel counts that are and are not multiples of the SIMD width, ties, NaN, -0.
 */
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { jsKernels, type Pool2dGeometry, wasmKernels } from "../src/internal/kernels/index.ts"
import { biasRelu, reluBackward, reluBackwardBiasGrad } from "../src/internal/kernels/js/fused.ts"
import { type Ctor, dtypes as allDtypes, expectNear, seeded } from "./kernels-reference.ts"

const dtypes: ReadonlyArray<readonly [string, Ctor]> = allDtypes.map(([name, ctor]) => [name, ctor] as const)

/** Bitwise equality (distinguishes -0 from +0 and compares NaN equal to NaN). */
function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`index ${i}: got ${got[i]}, want ${want[i]}`)
  }
}

/**
 * 2x2 pooling geometries (the shared Arbitrary.pool2dConfig): stride 2 mostly (the fast path), sometimes 1;
 * sizes even and odd; channel counts that are and are not multiples of the SIMD width.
 */
const pool2x2 = Arbitrary.pool2dConfig({
  batch: { min: 1, max: 3 },
  height: { min: 2, max: 9 },
  width: { min: 2, max: 9 },
  channels: fc.constantFrom(1, 2, 3, 4, 6, 8, 12, 24),
  poolSize: 2,
  strides: fc.constantFrom(2, 2, 2, 1),
  form: "number",
  padding: ["valid"],
  defaultStrides: false
}).map(({ input: [n, h, w, c], options }): Pool2dGeometry => {
  const stride = options.strides as number
  return {
    n,
    h,
    w,
    c,
    kh: 2,
    kw: 2,
    strideH: stride,
    strideW: stride,
    outH: Math.floor((h - 2) / stride) + 1,
    outW: Math.floor((w - 2) / stride) + 1,
    padTop: 0,
    padLeft: 0
  }
})

/** Few distinct values (ties), with NaN and -0 sprinkled in. */
const poolData = (g: Pool2dGeometry) =>
  fc.record({
    x: fc.array(fc.integer({ min: -4, max: 4 }).map((i) => (i === 4 ? Number.NaN : i === -4 ? -0 : i / 2)), {
      minLength: g.n * g.h * g.w * g.c,
      maxLength: g.n * g.h * g.w * g.c
    }),
    dy: fc.array(fc.integer({ min: -1000, max: 1000 }).map((i) => (i === 0 ? -0 : i / 1000)), {
      minLength: g.n * g.outH * g.outW * g.c,
      maxLength: g.n * g.outH * g.outW * g.c
    })
  })

describe("wasm max pooling 2x2 fast path", () => {
  for (const [dtype, ctor] of dtypes) {
    it(`${dtype}: forward and backward are bit-identical to the JS kernels`, () => {
      fc.assert(
        fc.property(pool2x2.chain((g) => fc.tuple(fc.constant(g), poolData(g))), ([g, { x, dy }]) => {
          const tx = ctor.from(x), tdy = ctor.from(dy)
          const size = g.n * g.outH * g.outW * g.c
          const want = new ctor(size), got = new ctor(size).fill(Number.NaN)
          jsKernels.maxPool2d(tx, want, g)
          wasmKernels.maxPool2d(tx, got, g)
          expectSameBits(got, want)
          const wantDx = new ctor(x.length), gotDx = new ctor(x.length).fill(Number.NaN)
          jsKernels.maxPool2dBackwardFromInput(tx, tdy, wantDx, g)
          wasmKernels.maxPool2dBackwardFromInput(tx, tdy, gotDx, g)
          expectSameBits(gotDx, wantDx)
        }),
        { numRuns: 150 }
      )
    })
  }

  it("large inputs stream through several chunks", () => {
    for (const [, ctor] of dtypes) {
      const g: Pool2dGeometry = {
        n: 5,
        h: 28,
        w: 28,
        c: 24,
        kh: 2,
        kw: 2,
        outH: 14,
        outW: 14,
        strideH: 2,
        strideW: 2,
        padTop: 0,
        padLeft: 0
      }
      const x = new ctor(g.n * g.h * g.w * g.c).map((_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1)
      const dy = new ctor(g.n * g.outH * g.outW * g.c).map((_, i) => Math.cos(i))
      const a = new ctor(dy.length), b = new ctor(dy.length)
      jsKernels.maxPool2d(x, a, g)
      wasmKernels.maxPool2d(x, b, g)
      expectSameBits(b, a)
      const da = new ctor(x.length), db = new ctor(x.length)
      jsKernels.maxPool2dBackwardFromInput(x, dy, da, g)
      wasmKernels.maxPool2dBackwardFromInput(x, dy, db, g)
      expectSameBits(db, da)
    }
  })
})

/** Convolutions large enough to cross the GEMM blocks: > MC (128) rows, > KC (256) pixels per slab. */
const bigConv = Arbitrary.conv2dConfig({
  batch: { min: 1, max: 3 },
  height: { min: 5, max: 17 },
  width: { min: 5, max: 17 },
  channels: { min: 1, max: 9 },
  filters: { min: 1, max: 19 },
  strides: { min: 1, max: 2 },
  form: "number",
  padding: ["explicit"]
})
  .map(({ input: [n, h, w, c], kernel: [kh, kw, , f], options }) => {
    const stride = options.strides as number
    const dilation = options.dilation as number
    const [[padTop, padBottom], [padLeft, padRight]] = options.padding as readonly [
      readonly [number, number],
      readonly [number, number]
    ]
    const effH = (kh - 1) * dilation + 1, effW = (kw - 1) * dilation + 1
    return {
      n,
      h,
      w,
      c,
      f,
      kh,
      kw,
      strideH: stride,
      strideW: stride,
      dilationH: dilation,
      dilationW: dilation,
      padTop,
      padLeft,
      outH: Math.floor((h + padTop + padBottom - effH) / stride) + 1,
      outW: Math.floor((w + padLeft + padRight - effW) / stride) + 1
    }
  })
  .filter((g) => g.outH >= 1 && g.outW >= 1)

describe("wasm convolution on blocked GEMM paths", () => {
  for (const [dtype, ctor] of dtypes) {
    const tol = dtype === "float32" ? 2e-4 : 1e-11
    it(`${dtype}: forward, backprop input and filter agree with the JS kernels`, () => {
      fc.assert(
        fc.property(bigConv, fc.integer(), (g, seed) => {
          const x = seeded(g.n * g.h * g.w * g.c, seed, ctor)
          const wt = seeded(g.kh * g.kw * g.c * g.f, seed + 1, ctor)
          const dy = seeded(g.n * g.outH * g.outW * g.f, seed + 2, ctor)
          const y1 = new ctor(dy.length), y2 = new ctor(dy.length).fill(Number.NaN)
          jsKernels.conv2d(x, wt, y1, g)
          wasmKernels.conv2d(x, wt, y2, g)
          expectNear(y2, y1, tol)
          const bias = seeded(g.f, seed + 3, ctor)
          const e1 = new ctor(dy.length), e2 = new ctor(dy.length).fill(Number.NaN)
          jsKernels.conv2d(x, wt, e1, g, { bias, relu: true })
          wasmKernels.conv2d(x, wt, e2, g, { bias, relu: true })
          expectNear(e2, e1, tol)
          const dx1 = new ctor(x.length), dx2 = new ctor(x.length).fill(Number.NaN)
          jsKernels.conv2dBackpropInput(dy, wt, dx1, g)
          wasmKernels.conv2dBackpropInput(dy, wt, dx2, g)
          expectNear(dx2, dx1, tol)
          const dw1 = new ctor(wt.length), dw2 = new ctor(wt.length).fill(Number.NaN)
          jsKernels.conv2dBackpropFilter(x, dy, dw1, g)
          wasmKernels.conv2dBackpropFilter(x, dy, dw2, g)
          expectNear(dw2, dw1, tol * 10)
        }),
        { numRuns: 40 }
      )
    })
  }
})

describe("fused elementwise kernels (prototypes for op-level fusion)", () => {
  for (const [dtype, ctor] of dtypes) {
    it(`${dtype}: biasRelu, reluBackward and reluBackwardBiasGrad match the reference formulas bit for bit`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 13 }),
          fc.integer(),
          (rows, cols, seed) => {
            const x = seeded(rows * cols, seed, ctor),
              bias = seeded(cols, seed + 1, ctor),
              ct = seeded(rows * cols, seed + 2, ctor)
            x[0] = Number.NaN
            if (x.length > 2) x[2] = -0
            const want = new ctor(rows * cols)
            for (let r = 0; r < rows; r++) {
              for (let j = 0; j < cols; j++) {
                const v = x[r * cols + j]! + bias[j]!
                want[r * cols + j] = v > 0 || v !== v ? v : 0
              }
            }
            const got = new ctor(rows * cols).fill(Number.NaN)
            biasRelu(x, bias, got, rows, cols)
            expectSameBits(got, want)
            const wantCt = ct.map((c, i) => (want[i]! > 0 ? c : 0))
            const gotCt = new ctor(ct.length).fill(Number.NaN)
            reluBackward(ct, want, gotCt, ct.length)
            expectSameBits(gotCt, wantCt)
            const db = new Float64Array(cols).fill(Number.NaN)
            reluBackwardBiasGrad(ct, want, gotCt, db, rows, cols)
            const wantDb = new Float64Array(cols)
            for (let i = 0; i < wantCt.length; i++) wantDb[i % cols] = wantDb[i % cols]! + wantCt[i]!
            expectSameBits(db, wantDb)
          }
        ),
        { numRuns: 100 }
      )
    })
  }
})

describe("wasm fused convolution epilogue", () => {
  for (const [dtype, ctor] of dtypes) {
    it(`${dtype}: bias + relu on NaN, infinities and -0 is bit-identical to the JS kernels (both GEMM paths)`, () => {
      for (const n of [5, 300]) {
        const g = {
          n,
          h: 1,
          w: 1,
          c: 1,
          kh: 1,
          kw: 1,
          f: 3,
          outH: 1,
          outW: 1,
          strideH: 1,
          strideW: 1,
          dilationH: 1,
          dilationW: 1,
          padTop: 0,
          padLeft: 0
        }
        const specials = [Number.NaN, -Infinity, -0, 0, 1, -1, Infinity]
        const x = new ctor(n).map((_, i) => specials[i % specials.length]!)
        const w = ctor.of(1, -1, 0.5)
        for (const epilogue of [{ bias: ctor.of(0, -0, 2), relu: true }, { bias: ctor.of(0, -0, 2) }, { relu: true }]) {
          const want = new ctor(3 * n), got = new ctor(3 * n).fill(Number.NaN)
          jsKernels.conv2d(x, w, want, g, epilogue)
          wasmKernels.conv2d(x, w, got, g, epilogue)
          expectSameBits(got, want)
        }
      }
    })
  }
})
