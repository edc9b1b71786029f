/**
 * Forward convolution on the WebAssembly GEMM with implicit im2col: the column matrix is never
 * materialised; its rows are gathered from X straight into the micro-kernel's packed-A layout.
 */
import { type ConvKernels, makeConvKernels } from "../im2col.ts"
import type { Conv2dGeometry, FloatArray } from "../types.ts"
import { gemmWasm, gemmWasmWith } from "./gemm-wasm.ts"

const generic = makeConvKernels(gemmWasm)

/** Rows of the implicit column matrix per GEMM call (bounds the packed-A and C scratch). */
const ROW_LIMIT = 1 << 16

interface Taps {
  /** Offset of tap p from the window's top-left element (ky * dh * w + kx * dw) * c + ci. */
  readonly offset: Int32Array
  readonly dy: Int32Array
  readonly dx: Int32Array
}

function taps(g: Conv2dGeometry): Taps {
  const kkc = g.kh * g.kw * g.c
  const offset = new Int32Array(kkc), dy = new Int32Array(kkc), dx = new Int32Array(kkc)
  let p = 0
  for (let ky = 0; ky < g.kh; ky++) {
    for (let kx = 0; kx < g.kw; kx++) {
      for (let ci = 0; ci < g.c; ci++, p++) {
        offset[p] = (ky * g.dilationH * g.w + kx * g.dilationW) * g.c + ci
        dy[p] = ky * g.dilationH
        dx[p] = kx * g.dilationW
      }
    }
  }
  return { offset, dy, dx }
}

/** Packs rows [row0, row0 + m) x taps [pc, pc + kc) of im2col(X) as [kc][mr] slivers at pa[base..]. */
export function packIm2col(
  x: FloatArray,
  g: Conv2dGeometry,
  t: Taps,
  row0: number,
  m: number,
  pa: FloatArray,
  base: number,
  pc: number,
  kc: number,
  mr: number
): void {
  const { h, w, c, outH, outW, strideH, strideW, padTop, padLeft } = g
  const effH = (g.kh - 1) * g.dilationH + 1, effW = (g.kw - 1) * g.dilationW + 1
  const { offset, dy, dx } = t
  const pixels = outH * outW
  const pEnd = pc + kc
  // Output coordinates of the current row, advanced incrementally (no divisions per row).
  // `| 0` keeps the counters small integers (int32 index arithmetic in optimized code).
  let img = (row0 / pixels) | 0
  let oy = ((row0 - img * pixels) / outW) | 0
  let ox = (row0 - img * pixels - oy * outW) | 0
  for (let i0 = 0, dst = base; i0 < m; i0 += mr, dst += kc * mr) {
    for (let r = 0; r < mr; r++) {
      let d = dst + r
      if (i0 + r >= m) {
        for (let p = pc; p < pEnd; p++, d += mr) pa[d] = 0
        continue
      }
      const iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft
      const xBase = ((img * h + iy0) * w + ix0) * c
      if (iy0 >= 0 && ix0 >= 0 && iy0 + effH <= h && ix0 + effW <= w) {
        for (let p = pc; p < pEnd; p++, d += mr) pa[d] = x[xBase + offset[p]!]!
      } else {
        for (let p = pc; p < pEnd; p++, d += mr) {
          const iy = iy0 + dy[p]!, ix = ix0 + dx[p]!
          pa[d] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[xBase + offset[p]!]! : 0
        }
      }
      if (++ox === outW) {
        ox = 0
        if (++oy === outH) {
          oy = 0
          img++
        }
      }
    }
  }
}

/**
 * Packs taps [t0, t0 + mt) x rows [pc, pc + kc) of im2col(X)^T (rows of op(A) are taps, its columns are
 * output pixels: the A of the filter gradient dW = col(X)^T dY) as [kc][mr] slivers at pa[base..], zero
 * taps past mt. Walks pixels in order so each pixel's window is located once.
 */
export function packIm2colT(
  x: FloatArray,
  g: Conv2dGeometry,
  t: Taps,
  t0: number,
  mt: number,
  pa: FloatArray,
  base: number,
  pc: number,
  kc: number,
  mr: number
): void {
  const { h, w, c, outH, outW, strideH, strideW, padTop, padLeft } = g
  const effH = (g.kh - 1) * g.dilationH + 1, effW = (g.kw - 1) * g.dilationW + 1
  const { offset, dy, dx } = t
  const pixels = outH * outW
  const mPad = Math.ceil(mt / mr) * mr
  // Where tap t0 + j of pixel 0 lands in the packed block.
  const dst = new Int32Array(mPad)
  for (let j = 0; j < mPad; j++) dst[j] = base + ((j / mr) | 0) * kc * mr + (j % mr)
  let img = (pc / pixels) | 0
  let oy = ((pc - img * pixels) / outW) | 0
  let ox = (pc - img * pixels - oy * outW) | 0
  for (let q = 0, qo = 0; q < kc; q++, qo += mr) {
    const iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft
    const xBase = ((img * h + iy0) * w + ix0) * c
    if (iy0 >= 0 && ix0 >= 0 && iy0 + effH <= h && ix0 + effW <= w) {
      for (let j = 0; j < mt; j++) pa[dst[j]! + qo] = x[xBase + offset[t0 + j]!]!
    } else {
      for (let j = 0; j < mt; j++) {
        const iy = iy0 + dy[t0 + j]!, ix = ix0 + dx[t0 + j]!
        pa[dst[j]! + qo] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[xBase + offset[t0 + j]!]! : 0
      }
    }
    for (let j = mt; j < mPad; j++) pa[dst[j]! + qo] = 0
    if (++ox === outW) {
      ox = 0
      if (++oy === outH) {
        oy = 0
        img++
      }
    }
  }
}

export const wasmConvKernels: ConvKernels = {
  conv2d(x, w, y, g, epilogue) {
    const pixels = g.outH * g.outW
    const kkc = g.kh * g.kw * g.c
    const rowsTotal = g.n * pixels
    if (rowsTotal === 0 || g.f === 0) return
    const t = taps(g)
    for (let row0 = 0; row0 < rowsTotal; row0 += ROW_LIMIT) {
      const m = Math.min(ROW_LIMIT, rowsTotal - row0)
      gemmWasmWith(
        m,
        g.f,
        kkc,
        (pa, base, pc, kc, mr, i0, mc) => packIm2col(x, g, t, row0 + i0, mc, pa, base, pc, kc, mr),
        {
          b: w,
          bOffset: 0,
          ldb: g.f,
          transB: false,
          c: y,
          cOffset: row0 * g.f,
          ldc: g.f,
          accumulate: false
        },
        epilogue
      )
    }
  },
  conv2dBackpropInput: generic.conv2dBackpropInput,
  conv2dBackpropFilter(x, dy, dw, g) {
    // dW[KKC, F] = col(X)^T dY with the transposed column matrix gathered straight from X.
    const rows = g.n * g.outH * g.outW
    const kkc = g.kh * g.kw * g.c
    if (kkc === 0 || g.f === 0) return
    if (rows === 0) {
      dw.fill(0, 0, kkc * g.f)
      return
    }
    const t = taps(g)
    gemmWasmWith(kkc, g.f, rows, (pa, base, pc, kc, mr, i0, mc) => packIm2colT(x, g, t, i0, mc, pa, base, pc, kc, mr), {
      b: dy,
      bOffset: 0,
      ldb: g.f,
      transB: false,
      c: dw,
      cOffset: 0,
      ldc: g.f,
      accumulate: false
    })
  }
}
