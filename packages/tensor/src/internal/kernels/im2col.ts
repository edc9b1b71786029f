/**
 * 2-D convolution (NHWC, weights [KH, KW, C, F]) as im2col + GEMM, over any GEMM implementation.
 *
 * The column matrix of a batch chunk is [rows = images * outH * outW, KH * KW * C] in the same (ky, kx, c)
 * order as the flattened weights [KH * KW * C, F], so
 *   forward:         Y[rows, F]        = col(X) W
 *   backprop input:  dcol[rows, KKC]   = dY W^T, then col2im (scatter-add) into dX
 *   backprop filter: dW[KKC, F]       += col(X)^T dY   (summed over chunks)
 * Chunks are sized so the column scratch stays under COL_LIMIT elements (at least one image per chunk).
 * A 1x1 kernel with stride 1 and no padding uses X itself as the column matrix.
 */
import { biasRelu, reluInPlace } from "./js/fused.ts"
import { scratchLike } from "./scratch.ts"
import type { Conv2dEpilogue, Conv2dGeometry, FloatArray, GemmArgs } from "./types.ts"

export type Gemm = <A extends FloatArray>(args: GemmArgs<A>) => void

const COL_LIMIT = 1 << 21

function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 &&
    g.outH === g.h && g.outW === g.w
}

function imagesPerChunk(g: Conv2dGeometry): number {
  const perImage = g.outH * g.outW * g.kh * g.kw * g.c
  return Math.max(1, Math.min(g.n, Math.floor(COL_LIMIT / Math.max(1, perImage))))
}

/** col[(img - n0) * outH * outW + oy * outW + ox, (ky * kw + kx) * c + ci] for images n0 .. n0 + count. */
export function im2col<A extends FloatArray>(x: A, col: A, g: Conv2dGeometry, n0: number, count: number): void {
  const { h, w, c, kh, kw, outH, outW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g
  let dst = 0
  for (let img = n0; img < n0 + count; img++) {
    const xImg = img * h * w * c
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dilationH
          if (iy < 0 || iy >= h) {
            col.fill(0, dst, dst + kw * c)
            dst += kw * c
            continue
          }
          const xRow = xImg + iy * w * c
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dilationW
            if (ix < 0 || ix >= w) {
              for (let ci = 0; ci < c; ci++) col[dst + ci] = 0
            } else {
              const src = xRow + ix * c
              for (let ci = 0; ci < c; ci++) col[dst + ci] = x[src + ci]!
            }
            dst += c
          }
        }
      }
    }
  }
}

/** dx[images n0 .. n0 + count] += scatter of col (the adjoint of im2col). */
export function col2im<A extends FloatArray>(col: A, dx: A, g: Conv2dGeometry, n0: number, count: number): void {
  const { h, w, c, kh, kw, outH, outW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g
  let src = 0
  for (let img = n0; img < n0 + count; img++) {
    const xImg = img * h * w * c
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dilationH
          if (iy < 0 || iy >= h) {
            src += kw * c
            continue
          }
          const xRow = xImg + iy * w * c
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dilationW
            if (ix >= 0 && ix < w) {
              const d = xRow + ix * c
              for (let ci = 0; ci < c; ci++) dx[d + ci] = dx[d + ci]! + col[src + ci]!
            }
            src += c
          }
        }
      }
    }
  }
}

/** y[rows, f] += bias, then relu, in place (branch-free: see fused.ts). */
export function applyEpilogue<A extends FloatArray>(
  y: A,
  start: number,
  rows: number,
  f: number,
  e: Conv2dEpilogue<A>
): void {
  const bias = e.bias
  const relu = e.relu === true
  const block = y.subarray(start, start + rows * f) as A
  if (bias !== undefined && relu) biasRelu(block, bias, block, rows, f)
  else if (bias !== undefined) {
    for (let o = 0; o < rows * f; o += f) {
      for (let j = 0; j < f; j++) block[o + j] = block[o + j]! + bias[j]!
    }
  } else if (relu) reluInPlace(block)
}

export interface ConvKernels {
  conv2d<A extends FloatArray>(x: A, w: A, y: A, g: Conv2dGeometry, epilogue?: Conv2dEpilogue<A>): void
  conv2dBackpropInput<A extends FloatArray>(dy: A, w: A, dx: A, g: Conv2dGeometry): void
  conv2dBackpropFilter<A extends FloatArray>(x: A, dy: A, dw: A, g: Conv2dGeometry): void
}

export function makeConvKernels(gemm: Gemm): ConvKernels {
  return {
    conv2d(x, w, y, g, epilogue) {
      const pixels = g.outH * g.outW
      const kkc = g.kh * g.kw * g.c
      const f = g.f
      if (g.n === 0 || pixels === 0 || f === 0) return
      const pointwise = isPointwise(g)
      const chunk = pointwise ? g.n : imagesPerChunk(g)
      const col = pointwise ? x : scratchLike(x, "conv.col", chunk * pixels * kkc)
      for (let n0 = 0; n0 < g.n; n0 += chunk) {
        const count = Math.min(chunk, g.n - n0)
        if (!pointwise) im2col(x, col, g, n0, count)
        const rows = count * pixels
        gemm({
          transA: false,
          transB: false,
          m: rows,
          n: f,
          k: kkc,
          a: col,
          aOffset: pointwise ? n0 * pixels * kkc : 0,
          lda: kkc,
          b: w,
          bOffset: 0,
          ldb: f,
          c: y,
          cOffset: n0 * pixels * f,
          ldc: f,
          accumulate: false
        })
        if (epilogue !== undefined) applyEpilogue(y, n0 * pixels * f, rows, f, epilogue)
      }
    },

    conv2dBackpropInput(dy, w, dx, g) {
      dx.fill(0, 0, g.n * g.h * g.w * g.c)
      const pixels = g.outH * g.outW
      const kkc = g.kh * g.kw * g.c
      if (g.n === 0 || pixels === 0 || kkc === 0 || g.f === 0) return
      const pointwise = isPointwise(g)
      const chunk = pointwise ? g.n : imagesPerChunk(g)
      const col = pointwise ? dx : scratchLike(dx, "conv.col", chunk * pixels * kkc)
      for (let n0 = 0; n0 < g.n; n0 += chunk) {
        const count = Math.min(chunk, g.n - n0)
        gemm({
          transA: false,
          transB: true,
          m: count * pixels,
          n: kkc,
          k: g.f,
          a: dy,
          aOffset: n0 * pixels * g.f,
          lda: g.f,
          b: w,
          bOffset: 0,
          ldb: g.f,
          c: col,
          cOffset: pointwise ? n0 * pixels * kkc : 0,
          ldc: kkc,
          accumulate: false
        })
        if (!pointwise) col2im(col, dx, g, n0, count)
      }
    },

    conv2dBackpropFilter(x, dy, dw, g) {
      const pixels = g.outH * g.outW
      const kkc = g.kh * g.kw * g.c
      if (g.n === 0 || pixels === 0) {
        dw.fill(0, 0, kkc * g.f)
        return
      }
      if (kkc === 0 || g.f === 0) return
      const pointwise = isPointwise(g)
      const chunk = pointwise ? g.n : imagesPerChunk(g)
      const col = pointwise ? x : scratchLike(x, "conv.col", chunk * pixels * kkc)
      for (let n0 = 0; n0 < g.n; n0 += chunk) {
        const count = Math.min(chunk, g.n - n0)
        if (!pointwise) im2col(x, col, g, n0, count)
        gemm({
          transA: true,
          transB: false,
          m: kkc,
          n: g.f,
          k: count * pixels,
          a: col,
          aOffset: pointwise ? n0 * pixels * kkc : 0,
          lda: kkc,
          b: dy,
          bOffset: n0 * pixels * g.f,
          ldb: g.f,
          c: dw,
          cOffset: 0,
          ldc: g.f,
          accumulate: n0 > 0
        })
      }
    }
  }
}
