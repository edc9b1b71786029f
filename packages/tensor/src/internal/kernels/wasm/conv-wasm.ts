/**
 * Convolution on the WebAssembly GEMM with implicit im2col: the column matrix is never materialised; its
 * rows are gathered from X straight into the micro-kernel's packed-A layout. The forward pass runs as
 * per-thread row tasks inside the module (`row-tasks.ts`); the filter gradient gathers the transposed
 * column matrix in JavaScript and runs the micro-kernel on every thread.
 */
import { runParallel, share, threadsFor } from "../../threads/pool.ts"
import { type ConvKernels, makeConvKernels } from "../im2col.ts"
import { scratchLike } from "../scratch.ts"
import type { Conv2dEpilogue, Conv2dGeometry, FloatArray } from "../types.ts"
import { arenaOffset, arenaRegionOffset } from "./arena.ts"
import {
  align16,
  engineFor,
  FLOPS_PER_THREAD,
  gemmWasm,
  gemmWasmWith,
  KC,
  loadBias,
  packB,
  rowsPerBlock
} from "./gemm-wasm.ts"
import { type Geometry, GEOMETRY_BYTES, geometryValues } from "./row-tasks.ts"
import { wasmHeap } from "./runtime.ts"

const generic = makeConvKernels(gemmWasm)

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

/** The geometry fields every convolution task reads (window, taps, input). */
function convFields(g: Conv2dGeometry, tapsAt: number, xAt: number): Geometry {
  return {
    h: g.h,
    w: g.w,
    c: g.c,
    outW: g.outW,
    strideH: g.strideH,
    strideW: g.strideW,
    padTop: g.padTop,
    padLeft: g.padLeft,
    kkc: g.kh * g.kw * g.c,
    taps: tapsAt,
    x: xAt,
    pixels: g.outH * g.outW,
    effH: (g.kh - 1) * g.dilationH + 1,
    effW: (g.kw - 1) * g.dilationW + 1
  }
}

/**
 * Writes the geometry block at address 0 and the tap tables (offsets, dy, dx) at `tapsAt` into the module
 * memory, and copies X to `xAt` (unless X is in the module memory already: then `xAt` is its address).
 */
function writeConvInputs(
  heap: { readonly f32: Float32Array },
  view: FloatArray,
  g: Conv2dGeometry,
  x: FloatArray,
  tapsAt: number,
  xAt: number,
  fields: Geometry
): void {
  const kkc = g.kh * g.kw * g.c
  const ints = new Int32Array(heap.f32.buffer, 0, tapsAt / 4 + 3 * kkc)
  const t = taps(g)
  ints.set(t.offset, tapsAt / 4)
  ints.set(t.dy, tapsAt / 4 + kkc)
  ints.set(t.dx, tapsAt / 4 + 2 * kkc)
  ints.set(geometryValues(fields), 0)
  if (arenaOffset(x) === undefined) view.set(x, xAt / (view instanceof Float32Array ? 4 : 8))
}

/**
 * Forward convolution as per-thread row tasks in WebAssembly (`convRows`): X is copied into the module
 * memory once, W is packed once, then each thread gathers, multiplies and applies the epilogue to its own
 * rows; the result is copied out once. Each output row is computed by one thread in the same order
 * whatever the thread count.
 */
function conv2dRows<A extends FloatArray>(x: A, w: A, y: A, g: Conv2dGeometry, epilogue?: Conv2dEpilogue<A>): void {
  const is32 = y instanceof Float32Array
  const e = engineFor(is32)
  const { mr, nr, elem } = e
  const m = g.n * g.outH * g.outW
  const kkc = g.kh * g.kw * g.c
  const nPad = Math.ceil(g.f / nr) * nr
  const slivers = Math.ceil(m / mr)
  const kcMax = Math.min(KC, kkc)
  const mcb = rowsPerBlock(kcMax, nPad, mr)
  const threads = Math.min(Math.ceil(m / mcb), threadsFor(m * nPad * kkc, FLOPS_PER_THREAD))
  // Layout (bytes): [geometry][taps][x][packed W][bias][out: slivers * mr rows of nPad][A scratch per thread].
  // X in the module memory already (the arena) is read where it is; Y is written where it is when it owns
  // an arena region that the padded rows and columns fit exactly.
  const tapsAt = GEOMETRY_BYTES
  const xIn = arenaOffset(x)
  const xLocal = tapsAt + align16(3 * kkc * 4)
  const xAt = xIn ?? xLocal
  const bAt = xLocal + (xIn === undefined ? align16(x.length * elem) : 0)
  const biasAt = bAt + kkc * nPad * elem
  const outDirect = nPad === g.f && m % mr === 0 ? arenaRegionOffset(y) : undefined
  const outLocal = biasAt + nPad * elem
  const outAt = outDirect ?? outLocal
  const scratchAt = outLocal + (outDirect === undefined ? slivers * mr * nPad * elem : 0)
  const scratchBytes = mcb * kcMax * elem
  const heap = wasmHeap(scratchAt + threads * scratchBytes)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  const wArgs = { b: w, bOffset: 0, ldb: g.f, transB: false, c: y, cOffset: 0, ldc: g.f, accumulate: false }
  for (let pc = 0; pc < kkc; pc += KC) {
    packB(wArgs, view, bAt / elem + pc * nPad, pc, 0, Math.min(KC, kkc - pc), g.f, nr)
  }
  if (epilogue !== undefined) loadBias(view, biasAt / elem, nPad, g.f, epilogue)
  writeConvInputs(heap, view, g, x, tapsAt, xAt, {
    ...convFields(g, tapsAt, xAt),
    packedB: bAt,
    nBlocks: nPad / nr,
    ldcBytes: nPad * elem,
    bias: biasAt,
    relu: epilogue?.relu === true ? 1 : 0,
    epilogue: epilogue === undefined ? 0 : 1,
    mcb,
    kcMax
  })
  // Every thread gets all rows and claims blocks of them (see row-tasks.ts).
  runParallel(e.convRows, threads, (thread) => [0, 0, m, scratchAt + thread * scratchBytes, outAt])
  if (outDirect !== undefined) return
  const outBase = outAt / elem
  if (nPad === g.f) y.set(view.subarray(outBase, outBase + m * g.f))
  else for (let i = 0; i < m; i++) y.set(view.subarray(outBase + i * nPad, outBase + i * nPad + g.f), i * g.f)
}

/**
 * With stride 1, the input gradient is itself a convolution: dX[iy, ix, ci] = sum over (ky, kx, f) of
 * dY[iy + padTop - ky dh, ix + padLeft - kx dw, f] W[ky, kx, ci, f], i.e. dY convolved with W rotated by
 * 180 degrees and transposed to [kh, kw, f, c], padded by (kh - 1) dh - padTop on top ((kw - 1) dw - padLeft on
 * the left), with output size h x w. Computed that way it needs no scatter (col2im) and runs on every thread.
 */
function transposedGeometry(g: Conv2dGeometry): Conv2dGeometry {
  return {
    n: g.n,
    h: g.outH,
    w: g.outW,
    c: g.f,
    kh: g.kh,
    kw: g.kw,
    f: g.c,
    outH: g.h,
    outW: g.w,
    strideH: 1,
    strideW: 1,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
    padTop: (g.kh - 1) * g.dilationH - g.padTop,
    padLeft: (g.kw - 1) * g.dilationW - g.padLeft
  }
}

/** W [kh, kw, c, f] rotated by 180 degrees and transposed to [kh, kw, f, c]. */
function flipFilter<A extends FloatArray>(w: A, g: Conv2dGeometry): A {
  const { kh, kw, c, f } = g
  const out = scratchLike(w, "conv.flippedFilter", kh * kw * c * f)
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const src = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * c * f
      const dst = (ky * kw + kx) * f * c
      for (let ci = 0; ci < c; ci++) for (let fi = 0; fi < f; fi++) out[dst + fi * c + ci] = w[src + ci * f + fi]!
    }
  }
  return out
}

/**
 * Filter gradient as per-thread tasks in WebAssembly (`convFilterRows`): X and dY are copied into the
 * module memory once; each thread gathers the transposed column blocks of its taps and multiplies them
 * with dY read in place. Needs f a multiple of the micro-tile width (dY's rows are the GEMM's B panels).
 */
function conv2dFilterRows<A extends FloatArray>(x: A, dy: A, dw: A, g: Conv2dGeometry): void {
  const is32 = dw instanceof Float32Array
  const e = engineFor(is32)
  const { mr, elem } = e
  const rows = g.n * g.outH * g.outW
  const kkc = g.kh * g.kw * g.c
  const slivers = Math.ceil(kkc / mr)
  const kcMax = Math.min(KC, rows)
  const threads = Math.min(slivers, threadsFor(rows * g.f * kkc, FLOPS_PER_THREAD))
  // Layout (bytes): [geometry][taps][x][dY][out: slivers * mr rows of f][A scratch per thread]. Operands
  // in the module memory already are read (and dW written) where they are, as in `conv2dRows`.
  const tapsAt = GEOMETRY_BYTES
  const xIn = arenaOffset(x), dyIn = arenaOffset(dy)
  const xLocal = tapsAt + align16(3 * kkc * 4)
  const xAt = xIn ?? xLocal
  const dyLocal = xLocal + (xIn === undefined ? align16(x.length * elem) : 0)
  const dyAt = dyIn ?? dyLocal
  const outDirect = kkc % mr === 0 ? arenaRegionOffset(dw) : undefined
  const outLocal = dyLocal + (dyIn === undefined ? align16(rows * g.f * elem) : 0)
  const outAt = outDirect ?? outLocal
  const scratchAt = outLocal + (outDirect === undefined ? slivers * mr * g.f * elem : 0)
  // A thread's scratch holds its taps' slab: placed by its first tap, so any split (fewer threads while
  // workers start) keeps the regions apart.
  const heap = wasmHeap(scratchAt + slivers * mr * kcMax * elem)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  if (dyIn === undefined) view.set(dy.subarray(0, rows * g.f), dyAt / elem)
  writeConvInputs(heap, view, g, x, tapsAt, xAt, {
    ...convFields(g, tapsAt, xAt),
    packedB: dyAt,
    nBlocks: g.f / e.nr,
    ldcBytes: g.f * elem,
    kcMax,
    rows,
    bRowBytes: g.f * elem
  })
  runParallel(e.convFilterRows, threads, (thread, n) => {
    const [lo, hi] = share(slivers, thread, n)
    return [0, lo * mr, Math.min(hi * mr, kkc), scratchAt + lo * mr * kcMax * elem, outAt]
  })
  if (outDirect === undefined) dw.set(view.subarray(outAt / elem, outAt / elem + kkc * g.f))
}

export const wasmConvKernels: ConvKernels = {
  conv2d(x, w, y, g, epilogue) {
    if (g.n * g.outH * g.outW === 0 || g.f === 0) return
    if (g.kh * g.kw * g.c === 0) {
      generic.conv2d(x, w, y, g, epilogue)
      return
    }
    conv2dRows(x, w, y, g, epilogue)
  },
  conv2dBackpropInput(dy, w, dx, g) {
    if (g.strideH !== 1 || g.strideW !== 1 || g.n * g.h * g.w * g.c === 0 || g.f === 0) {
      generic.conv2dBackpropInput(dy, w, dx, g)
      return
    }
    conv2dRows(dy, flipFilter(w, g), dx, transposedGeometry(g))
  },
  conv2dBackpropFilter(x, dy, dw, g) {
    // dW[KKC, F] = col(X)^T dY with the transposed column matrix gathered straight from X.
    const rows = g.n * g.outH * g.outW
    const kkc = g.kh * g.kw * g.c
    if (kkc === 0 || g.f === 0) return
    if (rows === 0) {
      dw.fill(0, 0, kkc * g.f)
      return
    }
    if (g.f % engineFor(dw instanceof Float32Array).nr === 0) {
      conv2dFilterRows(x, dy, dw, g)
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
