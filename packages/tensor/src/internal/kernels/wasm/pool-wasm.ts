/**
 * Max pooling 2x2 with stride 2 ("valid", even input sizes, NHWC, channels a multiple of the SIMD width):
 * the pooling of nearly every CNN, as a WebAssembly SIMD kernel. Each window is four vector loads and a
 * chain of `gt` + `bitselect`, so there is no data-dependent branch (JS pooling mispredicts on about half
 * the comparisons of real activations). Other geometries fall back to the portable kernels.
 *
 * Operands in the module memory already (tensor data in the arena, `arena.ts`) are read and written where
 * they are, the row pairs (a row pair of the input maps to one output row) split across the kernel threads.
 * Other data is streamed through the module memory in chunks of whole row pairs, so the copies in and out
 * stay in cache.
 *
 * Semantics match `pool.ts` exactly: the maximum is the first one in window order that no later cell
 * beats strictly (`v > best`), so NaN never replaces a number and a NaN in the first cell wins; the
 * backward pass sends each dy to that cell, +0 everywhere else.
 */
import { type ParallelFn, registerParallel, runParallel, share, threadsFor } from "../../threads/pool.ts"
import { maxPool2d as maxPool2dJs, maxPool2dBackwardFromInput as maxPool2dBackwardFromInputJs } from "../js/pool.ts"
import type { FloatArray, Pool2dGeometry } from "../types.ts"
import { arenaOffset } from "./arena.ts"
import { type Bytes, encodeModule, I32, type MemoryImport, op, V128 } from "./encoder.ts"
import type { WasmDtype } from "./gemm-module.ts"
import { instantiate, memoryImport, wasmHeap } from "./runtime.ts"

/** fwd(x, y, pairs, outW, cBytes, rowBytes); bwd(x, dy, dx, pairs, outW, cBytes, rowBytes). Byte addresses. */
export function poolModuleBytes(dtype: WasmDtype, memory?: MemoryImport): Uint8Array<ArrayBuffer> {
  const gt = dtype === "f32" ? op.f32x4Gt : op.f64x2Gt
  const add = dtype === "f32" ? op.f32x4Add : op.f64x2Add

  const fwd = (): Bytes => {
    const X = 0, Y = 1, PAIRS = 2, OUTW = 3, CB = 4, ROWB = 5
    const ROW = 6, P = 7, Q = 8, OX = 9, V = 10, A0 = 11, A2 = 12
    const BEST = 13, XV = 14
    const b: Bytes = []
    const e = (...parts: Array<Bytes>) => parts.forEach((p) => b.push(...p))
    const candidate = (addr: Array<Bytes>) =>
      e(
        ...addr,
        op.v128Load(0),
        op.localSet(XV),
        op.localGet(XV),
        op.localGet(BEST),
        op.localGet(XV),
        op.localGet(BEST),
        gt(),
        op.v128Bitselect(),
        op.localSet(BEST)
      )
    e(op.localGet(X), op.localSet(ROW), op.localGet(Y), op.localSet(Q))
    e(op.loop())
    e(op.localGet(ROW), op.localSet(P), op.localGet(OUTW), op.localSet(OX))
    e(op.loop())
    e(op.i32Const(0), op.localSet(V))
    e(op.loop())
    e(op.localGet(P), op.localGet(V), op.i32Add(), op.localTee(A0), op.v128Load(0), op.localSet(BEST))
    candidate([op.localGet(A0), op.localGet(CB), op.i32Add()])
    e(op.localGet(A0), op.localGet(ROWB), op.i32Add(), op.localTee(A2))
    e(
      op.v128Load(0),
      op.localSet(XV),
      op.localGet(XV),
      op.localGet(BEST),
      op.localGet(XV),
      op.localGet(BEST),
      gt(),
      op.v128Bitselect(),
      op.localSet(BEST)
    )
    candidate([op.localGet(A2), op.localGet(CB), op.i32Add()])
    e(op.localGet(Q), op.localGet(V), op.i32Add(), op.localGet(BEST), op.v128Store(0))
    e(op.localGet(V), op.i32Const(16), op.i32Add(), op.localTee(V), op.localGet(CB), op.i32Ne(), op.brIf(0))
    e(op.end())
    e(op.localGet(P), op.localGet(CB), op.i32Const(2), op.i32Mul(), op.i32Add(), op.localSet(P))
    e(op.localGet(Q), op.localGet(CB), op.i32Add(), op.localSet(Q))
    e(op.localGet(OX), op.i32Const(1), op.i32Sub(), op.localTee(OX), op.brIf(0))
    e(op.end())
    e(op.localGet(ROW), op.localGet(ROWB), op.i32Const(2), op.i32Mul(), op.i32Add(), op.localSet(ROW))
    e(op.localGet(PAIRS), op.i32Const(1), op.i32Sub(), op.localTee(PAIRS), op.brIf(0))
    e(op.end())
    return b
  }

  const bwd = (): Bytes => {
    const X = 0, DY = 1, DX = 2, PAIRS = 3, OUTW = 4, CB = 5, ROWB = 6
    const ROW = 7, P = 8, Q = 9, OX = 10, V = 11, A0 = 12, A2 = 13, OFF = 14
    const X0 = 15, X1 = 16, X2 = 17, X3 = 18, BEST = 19, G1 = 20, G2 = 21, G3 = 22, D = 23, T = 24
    const b: Bytes = []
    const e = (...parts: Array<Bytes>) => parts.forEach((p) => b.push(...p))
    e(op.localGet(DX), op.localGet(X), op.i32Sub(), op.localSet(OFF))
    e(op.localGet(X), op.localSet(ROW), op.localGet(DY), op.localSet(Q))
    e(op.loop())
    e(op.localGet(ROW), op.localSet(P), op.localGet(OUTW), op.localSet(OX))
    e(op.loop())
    e(op.i32Const(0), op.localSet(V))
    e(op.loop())
    e(op.localGet(P), op.localGet(V), op.i32Add(), op.localTee(A0), op.v128Load(0), op.localSet(X0))
    e(op.localGet(A0), op.localGet(CB), op.i32Add(), op.v128Load(0), op.localSet(X1))
    e(op.localGet(A0), op.localGet(ROWB), op.i32Add(), op.localTee(A2), op.v128Load(0), op.localSet(X2))
    e(op.localGet(A2), op.localGet(CB), op.i32Add(), op.v128Load(0), op.localSet(X3))
    // g1 = x1 > x0; best = g1 ? x1 : x0; g2 = x2 > best; best = g2 ? x2 : best; g3 = x3 > best.
    e(op.localGet(X1), op.localGet(X0), gt(), op.localSet(G1))
    e(op.localGet(X1), op.localGet(X0), op.localGet(G1), op.v128Bitselect(), op.localSet(BEST))
    e(op.localGet(X2), op.localGet(BEST), gt(), op.localSet(G2))
    e(op.localGet(X2), op.localGet(BEST), op.localGet(G2), op.v128Bitselect(), op.localSet(BEST))
    e(op.localGet(X3), op.localGet(BEST), gt(), op.localSet(G3))
    // d = dy + 0 (so -0 lands as +0, as in `0 + dy`); cell 3 wins where g3, 2 where g2 & !g3, ...
    e(op.localGet(Q), op.localGet(V), op.i32Add(), op.v128Load(0), op.v128Zero(), add(), op.localSet(D))
    e(
      op.localGet(A2),
      op.localGet(CB),
      op.i32Add(),
      op.localGet(OFF),
      op.i32Add(),
      op.localGet(D),
      op.localGet(G3),
      op.v128And(),
      op.v128Store(0)
    )
    e(op.localGet(D), op.localGet(G3), op.v128AndNot(), op.localSet(T))
    e(op.localGet(A2), op.localGet(OFF), op.i32Add(), op.localGet(T), op.localGet(G2), op.v128And(), op.v128Store(0))
    e(op.localGet(T), op.localGet(G2), op.v128AndNot(), op.localSet(T))
    e(
      op.localGet(A0),
      op.localGet(CB),
      op.i32Add(),
      op.localGet(OFF),
      op.i32Add(),
      op.localGet(T),
      op.localGet(G1),
      op.v128And(),
      op.v128Store(0)
    )
    e(op.localGet(A0), op.localGet(OFF), op.i32Add(), op.localGet(T), op.localGet(G1), op.v128AndNot(), op.v128Store(0))
    e(op.localGet(V), op.i32Const(16), op.i32Add(), op.localTee(V), op.localGet(CB), op.i32Ne(), op.brIf(0))
    e(op.end())
    e(op.localGet(P), op.localGet(CB), op.i32Const(2), op.i32Mul(), op.i32Add(), op.localSet(P))
    e(op.localGet(Q), op.localGet(CB), op.i32Add(), op.localSet(Q))
    e(op.localGet(OX), op.i32Const(1), op.i32Sub(), op.localTee(OX), op.brIf(0))
    e(op.end())
    e(op.localGet(ROW), op.localGet(ROWB), op.i32Const(2), op.i32Mul(), op.i32Add(), op.localSet(ROW))
    e(op.localGet(PAIRS), op.i32Const(1), op.i32Sub(), op.localTee(PAIRS), op.brIf(0))
    e(op.end())
    return b
  }

  return encodeModule([
    { name: "fwd", params: [I32, I32, I32, I32, I32, I32], locals: [[7, I32], [2, V128]], body: fwd() },
    { name: "bwd", params: [I32, I32, I32, I32, I32, I32, I32], locals: [[8, I32], [10, V128]], body: bwd() }
  ], memory)
}

type Fwd = (x: number, y: number, pairs: number, outW: number, cBytes: number, rowBytes: number) => void
type Bwd = (x: number, dy: number, dx: number, pairs: number, outW: number, cBytes: number, rowBytes: number) => void
interface PoolEngine {
  readonly fwd: Fwd
  readonly bwd: Bwd
  /** The same functions as per-thread jobs (for operands in the module memory). */
  readonly fwdParallel: ParallelFn
  readonly bwdParallel: ParallelFn
}

function makeEngine(dtype: WasmDtype): PoolEngine {
  const compiled = instantiate(poolModuleBytes(dtype, memoryImport()))
  // The generated module exports exactly these two functions with these signatures.
  const exports = compiled.exports as unknown as { fwd: Fwd; bwd: Bwd }
  return {
    fwd: exports.fwd,
    bwd: exports.bwd,
    fwdParallel: registerParallel(compiled, "fwd"),
    bwdParallel: registerParallel(compiled, "bwd")
  }
}

let engines: { f32: PoolEngine; f64: PoolEngine } | undefined
function engine(is32: boolean): PoolEngine {
  engines ??= { f32: makeEngine("f32"), f64: makeEngine("f64") }
  return is32 ? engines.f32 : engines.f64
}

/** Input elements below which a pass over operands in the module memory stays on one thread. */
const ELEMS_PER_THREAD = 1 << 16

/**
 * Row pairs [lo, hi) of thread t: the kernel's output rows are whole vectors (`isPool2x2`), so operands
 * anywhere in the module memory are read and written in place, each pair by one thread.
 */
function pairsOf(pairs: number, pairIn: number): number {
  return Math.min(pairs, threadsFor(pairs * pairIn, ELEMS_PER_THREAD))
}

/** Input elements streamed per kernel call (about 64 KiB of float32). */
const CHUNK_ELEMS = 1 << 14

/** Whether `g` is the 2x2 / stride 2 / valid / even-size case with vector-aligned channels. */
export function isPool2x2(g: Pool2dGeometry, elemBytes: number): boolean {
  return g.kh === 2 && g.kw === 2 && g.strideH === 2 && g.strideW === 2 && g.padTop === 0 && g.padLeft === 0 &&
    g.h === 2 * g.outH && g.w === 2 * g.outW && g.c > 0 && (g.c * elemBytes) % 16 === 0 && g.n * g.outH * g.outW > 0
}

export function maxPool2dWasm<A extends FloatArray>(x: A, y: A, g: Pool2dGeometry, argmax?: Int32Array): void {
  const elem = x.BYTES_PER_ELEMENT
  if (argmax !== undefined || !isPool2x2(g, elem)) return maxPool2dJs(x, y, g, argmax)
  const is32 = x instanceof Float32Array
  const e = engine(is32)
  const pairIn = 2 * g.w * g.c, pairOut = g.outW * g.c
  const pairs = g.n * g.outH
  const xAt = arenaOffset(x), yAt = arenaOffset(y)
  if (xAt !== undefined && yAt !== undefined) {
    runParallel(e.fwdParallel, pairsOf(pairs, pairIn), (t, n) => {
      const [lo, hi] = share(pairs, t, n)
      return [xAt + lo * pairIn * elem, yAt + lo * pairOut * elem, hi - lo, g.outW, g.c * elem, g.w * g.c * elem]
    })
    return
  }
  const k = Math.max(1, Math.min(pairs, Math.floor(CHUNK_ELEMS / pairIn)))
  const heap = wasmHeap((k * (pairIn + pairOut)) * elem)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  const yBase = k * pairIn
  for (let p0 = 0; p0 < pairs; p0 += k) {
    const count = Math.min(k, pairs - p0)
    view.set(x.subarray(p0 * pairIn, (p0 + count) * pairIn), 0)
    e.fwd(0, yBase * elem, count, g.outW, g.c * elem, g.w * g.c * elem)
    y.set(view.subarray(yBase, yBase + count * pairOut), p0 * pairOut)
  }
}

export function maxPool2dBackwardFromInputWasm<A extends FloatArray>(x: A, dy: A, dx: A, g: Pool2dGeometry): void {
  const elem = x.BYTES_PER_ELEMENT
  if (!isPool2x2(g, elem)) return maxPool2dBackwardFromInputJs(x, dy, dx, g)
  const is32 = x instanceof Float32Array
  const e = engine(is32)
  const pairIn = 2 * g.w * g.c, pairOut = g.outW * g.c
  const pairs = g.n * g.outH
  const xAt = arenaOffset(x), dyAt = arenaOffset(dy), dxAt = arenaOffset(dx)
  if (xAt !== undefined && dyAt !== undefined && dxAt !== undefined) {
    runParallel(e.bwdParallel, pairsOf(pairs, pairIn), (t, n) => {
      const [lo, hi] = share(pairs, t, n)
      const rowBytes = g.w * g.c * elem
      return [
        xAt + lo * pairIn * elem,
        dyAt + lo * pairOut * elem,
        dxAt + lo * pairIn * elem,
        hi - lo,
        g.outW,
        g.c * elem,
        rowBytes
      ]
    })
    return
  }
  const k = Math.max(1, Math.min(pairs, Math.floor(CHUNK_ELEMS / pairIn)))
  const heap = wasmHeap((k * (2 * pairIn + pairOut)) * elem)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  const dyBase = k * pairIn, dxBase = dyBase + k * pairOut
  for (let p0 = 0; p0 < pairs; p0 += k) {
    const count = Math.min(k, pairs - p0)
    view.set(x.subarray(p0 * pairIn, (p0 + count) * pairIn), 0)
    view.set(dy.subarray(p0 * pairOut, (p0 + count) * pairOut), dyBase)
    e.bwd(0, dyBase * elem, dxBase * elem, count, g.outW, g.c * elem, g.w * g.c * elem)
    dx.set(view.subarray(dxBase, dxBase + count * pairIn), p0 * pairIn)
  }
}
