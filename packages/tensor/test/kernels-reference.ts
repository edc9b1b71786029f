/** Plain, obviously-correct reference implementations for the kernel tests (float64 accumulation). */
import { expect } from "vitest"
import type { Conv2dGeometry, FloatArray, Pool2dGeometry } from "../src/internal/kernels/index.ts"

export type Ctor = Float32ArrayConstructor | Float64ArrayConstructor

/** The two element types, with the rounding tolerance of one product term in each. */
export const dtypes: ReadonlyArray<readonly [string, Ctor, number]> = [
  ["float32", Float32Array, 2e-6],
  ["float64", Float64Array, 1e-13]
]

/** `length` values in [-1, 1] with three decimals, from a seed (a linear congruential sequence). */
export function seeded(length: number, seed: number, ctor: Ctor): FloatArray {
  const out = new ctor(length)
  let s = seed >>> 0
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = Math.round((s / 4294967296) * 2000 - 1000) / 1000
  }
  return out
}

/** |got - want| <= tol (1 + |want|) elementwise, with the same length. */
export function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) {
      expect.fail(`index ${i}: got ${got[i]}, want ${want[i]}`)
    }
  }
}

export function naiveGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: ArrayLike<number>,
  aOffset: number,
  lda: number,
  b: ArrayLike<number>,
  bOffset: number,
  ldb: number
): Float64Array {
  const c = new Float64Array(m * n)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) {
        const av = transA ? a[aOffset + p * lda + i]! : a[aOffset + i * lda + p]!
        const bv = transB ? b[bOffset + j * ldb + p]! : b[bOffset + p * ldb + j]!
        s += av * bv
      }
      c[i * n + j] = s
    }
  }
  return c
}

/** Calls f(n, oy, ox, xPixel) for every tap of every output cell, in row-major window order. */
function forEachTap(
  g: Conv2dGeometry | (Pool2dGeometry & { dilationH?: number; dilationW?: number }),
  f: (n: number, oy: number, ox: number, xPixel: number) => void
): void {
  const dh = "dilationH" in g && g.dilationH !== undefined ? g.dilationH : 1
  const dw = "dilationW" in g && g.dilationW !== undefined ? g.dilationW : 1
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.strideH - g.padTop + ky * dh
            const ix = ox * g.strideW - g.padLeft + kx * dw
            const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w
            // xPixel: pixel index (n, iy, ix) of the tap, negative for a padded cell.
            f(n, oy, ox, inside ? (n * g.h + iy) * g.w + ix : -1)
          }
        }
      }
    }
  }
}

/** Direct convolution: y[n, oy, ox, f] = sum_{ky, kx, c} x[n, iy, ix, c] w[ky, kx, c, f]. */
export function naiveConv(x: ArrayLike<number>, w: ArrayLike<number>, g: Conv2dGeometry): Float64Array {
  const y = new Float64Array(g.n * g.outH * g.outW * g.f)
  eachConvTerm(g, (xi, wi, yi) => {
    y[yi] = y[yi]! + x[xi]! * w[wi]!
  })
  return y
}

export function naiveConvBackpropInput(dy: ArrayLike<number>, w: ArrayLike<number>, g: Conv2dGeometry): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.c)
  eachConvTerm(g, (xi, wi, yi) => {
    dx[xi] = dx[xi]! + dy[yi]! * w[wi]!
  })
  return dx
}

export function naiveConvBackpropFilter(x: ArrayLike<number>, dy: ArrayLike<number>, g: Conv2dGeometry): Float64Array {
  const dw = new Float64Array(g.kh * g.kw * g.c * g.f)
  eachConvTerm(g, (xi, wi, yi) => {
    dw[wi] = dw[wi]! + x[xi]! * dy[yi]!
  })
  return dw
}

/** The seven loops of a direct convolution; calls term(xIndex, wIndex, yIndex) for each product. */
function eachConvTerm(g: Conv2dGeometry, term: (xi: number, wi: number, yi: number) => void): void {
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.strideH - g.padTop + ky * g.dilationH
            const ix = ox * g.strideW - g.padLeft + kx * g.dilationW
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue
            for (let c = 0; c < g.c; c++) {
              for (let f = 0; f < g.f; f++) {
                term(
                  ((n * g.h + iy) * g.w + ix) * g.c + c,
                  ((ky * g.kw + kx) * g.c + c) * g.f + f,
                  ((n * g.outH + oy) * g.outW + ox) * g.f + f
                )
              }
            }
          }
        }
      }
    }
  }
}

export interface NaivePool {
  readonly max: Float64Array
  readonly argmax: Int32Array
  readonly avg: Float64Array
}

/** Max (first maximum wins, padding never wins) and average over real cells. */
export function naivePool(x: ArrayLike<number>, g: Pool2dGeometry): NaivePool {
  const size = g.n * g.outH * g.outW * g.c
  const max = new Float64Array(size).fill(-Infinity)
  const argmax = new Int32Array(size).fill(-1)
  const sum = new Float64Array(size)
  const count = new Float64Array(size)
  forEachTap(g, (n, oy, ox, xPixel) => {
    if (xPixel < 0) return
    for (let c = 0; c < g.c; c++) {
      const o = ((n * g.outH + oy) * g.outW + ox) * g.c + c
      const xi = xPixel * g.c + c
      const v = x[xi]!
      if (argmax[o]! < 0 || v > max[o]!) {
        max[o] = v
        argmax[o] = xi
      }
      sum[o] = sum[o]! + v
      count[o] = count[o]! + 1
    }
  })
  const avg = sum.map((s, i) => (count[i]! > 0 ? s / count[i]! : 0))
  return { max, argmax, avg }
}

/** Output size and leading padding of TensorFlow "same" / "valid" padding. */
export function tfPadding(
  size: number,
  k: number,
  stride: number,
  dilation: number,
  mode: "same" | "valid"
): { out: number; before: number } {
  const eff = (k - 1) * dilation + 1
  if (mode === "valid") return { out: Math.max(0, Math.ceil((size - eff + 1) / stride)), before: 0 }
  const out = Math.ceil(size / stride)
  const total = Math.max(0, (out - 1) * stride + eff - size)
  return { out, before: Math.floor(total / 2) }
}
