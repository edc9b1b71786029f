/**
 * GEMM on the WebAssembly SIMD micro-kernel. JavaScript packs op(A) and op(B) into the module's memory
 * (per KC slab of k; B further split into NC-column blocks that stay in L2), the module computes into a
 * padded C scratch there, and the result is copied out once.
 *
 * Memory layout (bytes): [C scratch: mPad x nPad][packed A: mPad x KC][packed B: KC x NC].
 */
import { type ParallelFn, registerParallel, runParallel, share, threadsFor } from "../../threads/pool.ts"
import { applyEpilogue } from "../im2col.ts"
import type { Conv2dEpilogue, FloatArray, GemmArgs } from "../types.ts"
import { arenaOffset, arenaRegionOffset } from "./arena.ts"
import { gemmModuleBytes, lanes, type MicroKernelShape, type WasmDtype } from "./gemm-module.ts"
import { type Geometry, GEOMETRY_BYTES, GEOMETRY_FIELDS, geometryValues } from "./row-tasks.ts"
import { instantiate, memoryImport, validates, wasmHeap } from "./runtime.ts"

export interface Engine {
  /** convRows(geom, row0, row1, aScratch, out), see row-tasks.ts. */
  readonly convRows: ParallelFn
  /** convFilterRows(geom, t0, t1, aScratch, out), see row-tasks.ts. */
  readonly convFilterRows: ParallelFn
  /** gemmRows(geom, row0, row1, aScratch, out), see row-tasks.ts. */
  readonly gemmRows: ParallelFn
  /** gemmCols(geom, j0, j1, bScratch, out), see row-tasks.ts. */
  readonly gemmCols: ParallelFn
  /** packA(geom, s0, s1, src, out), see row-tasks.ts. */
  readonly packA: ParallelFn
  /** gemm(ap, bp, c, mBlocks, nBlocks, kc, ldcBytes, accumulate, bRowBytes, bPanelBytes), see gemm-module.ts. */
  readonly kernel: ParallelFn
  /** epi(c, bias, rows, rowBytes, relu), see gemm-module.ts. */
  readonly epi: ParallelFn
  readonly mr: number
  readonly nr: number
  readonly elem: number
}

export const KC = 256
const NC_BYTES = 512 * 1024 // packed B block budget (about a quarter of L2)
/** Multiply-adds below which a micro-kernel call stays on one thread (a wake-up costs about 10 us). */
export const FLOPS_PER_THREAD = 1_000_000
/** Entries of op(A) below which packing it stays on one thread. */
const ENTRIES_PER_PACKING_THREAD = 1 << 16
/** Output bytes below which an epilogue stays on one thread. */
const EPILOGUE_BYTES_PER_THREAD = 1024 * 1024

export const DEFAULT_SHAPES: Readonly<Record<WasmDtype, MicroKernelShape>> = {
  f32: { mr: 4, nrv: 2 },
  f64: { mr: 4, nrv: 2 }
}

function makeEngine(dtype: WasmDtype, shape: MicroKernelShape, fma: boolean): Engine {
  const compiled = instantiate(gemmModuleBytes(dtype, shape, memoryImport(), fma))
  return {
    kernel: registerParallel(compiled, "gemm"),
    convRows: registerParallel(compiled, "convRows"),
    convFilterRows: registerParallel(compiled, "convFilterRows"),
    gemmRows: registerParallel(compiled, "gemmRows"),
    gemmCols: registerParallel(compiled, "gemmCols"),
    packA: registerParallel(compiled, "packA"),
    epi: registerParallel(compiled, "epi"),
    mr: shape.mr,
    nr: shape.nrv * lanes(dtype),
    elem: dtype === "f32" ? 4 : 8
  }
}

/** Whether this engine can run WebAssembly SIMD (validates a generated module). */
export function wasmSimdSupported(): boolean {
  return validates(gemmModuleBytes("f32", DEFAULT_SHAPES.f32))
}

/** Whether this engine has relaxed SIMD's multiply-add (then the GEMM uses it). */
export function wasmFmaSupported(): boolean {
  return validates(gemmModuleBytes("f32", DEFAULT_SHAPES.f32, undefined, true))
}

interface GemmConfig {
  readonly shapes: Readonly<Record<WasmDtype, MicroKernelShape>>
  /** Use relaxed SIMD multiply-add (default: where the engine has it). */
  readonly fma: boolean
}

let engines: { f32: Engine; f64: Engine; fma: boolean } | undefined

/** Replace the micro-kernel shapes, or turn multiply-add off (for tuning experiments and tests). */
export function configureWasmGemm(config: Partial<GemmConfig>): void {
  const shapes = config.shapes ?? DEFAULT_SHAPES
  const fma = config.fma ?? wasmFmaSupported()
  if (fma && !wasmFmaSupported()) throw new Error("this engine has no relaxed SIMD multiply-add")
  engines = { f32: makeEngine("f32", shapes.f32, fma), f64: makeEngine("f64", shapes.f64, fma), fma }
}

/** The micro-kernel engine for one element type (starts the engines if needed). */
export function engineFor(is32: boolean): Engine {
  if (engines === undefined) configureWasmGemm({})
  return is32 ? engines!.f32 : engines!.f64
}

/** Whether the GEMM uses relaxed SIMD multiply-add (starts the engines if needed). */
export function wasmGemmUsesFma(): boolean {
  if (engines === undefined) configureWasmGemm({})
  return engines!.fma
}

/**
 * The micro-kernel over mBlocks row slivers, split across threads by slivers: each C row is computed by
 * one thread, in the same order whatever the thread count.
 */
function runKernel(
  e: Engine,
  ap: number,
  bp: number,
  c: number,
  mBlocks: number,
  nBlocks: number,
  kc: number,
  ldcBytes: number,
  accumulate: number,
  bRowBytes: number,
  bPanelBytes: number
): void {
  const threads = Math.min(mBlocks, threadsFor(mBlocks * e.mr * nBlocks * e.nr * kc, FLOPS_PER_THREAD))
  runParallel(e.kernel, threads, (t, n) => {
    const [lo, hi] = share(mBlocks, t, n)
    return [
      ap + lo * kc * e.mr * e.elem,
      bp,
      c + lo * e.mr * ldcBytes,
      hi - lo,
      nBlocks,
      kc,
      ldcBytes,
      accumulate,
      bRowBytes,
      bPanelBytes
    ]
  })
}

/** The fused bias/relu epilogue over `rows` rows of C, split across threads by rows. */
function runEpilogue(e: Engine, c: number, bias: number, rows: number, rowBytes: number, relu: number): void {
  const threads = Math.min(rows, threadsFor(rows * rowBytes, EPILOGUE_BYTES_PER_THREAD))
  runParallel(e.epi, threads, (t, n) => {
    const [lo, hi] = share(rows, t, n)
    return [c + lo * rowBytes, bias, hi - lo, rowBytes, relu]
  })
}

export function gemmWasm<A extends FloatArray>(args: GemmArgs<A>): void {
  const { m, n, k } = args
  if (m <= 0 || n <= 0 || k <= 0) {
    gemmWasmWith(m, n, k, () => {}, args)
    return
  }
  const e = engineFor(args.c instanceof Float32Array)
  if (m > MC && k * Math.ceil(n / e.nr) * e.nr * e.elem <= B_RESIDENT_BYTES) gemmRows(e, args)
  else gemmCols(e, args)
}

/**
 * GEMM whose op(B) is too large to pack once (or whose A is short) as per-thread column tasks in
 * WebAssembly (`gemmCols`): op(A) is packed once for all KC slabs by every thread (`packA`), A and B read
 * where they lie in the module memory or copied into it once; each thread packs its own blocks of B's
 * columns and multiplies every row sliver with them.
 */
function gemmCols<A extends FloatArray>(e: Engine, args: GemmArgs<A>): void {
  const { m, n, k, transA, transB, c, cOffset, ldc, accumulate } = args
  const is32 = c instanceof Float32Array
  const { mr, nr, elem } = e
  const nPad = Math.ceil(n / nr) * nr
  const mPad = Math.ceil(m / mr) * mr
  const panels = nPad / nr
  const kcMax = Math.min(KC, k)
  const threads = Math.min(panels, threadsFor(mPad * nPad * k, FLOPS_PER_THREAD))
  // Column blocks: as wide as the L2 budget allows, but at least about four per thread so that a thread
  // that wakes late takes fewer of them.
  const ncFit = Math.max(nr, Math.min(nPad, Math.floor(NC_BYTES / (kcMax * elem * nr)) * nr))
  const ncMax = threads === 1 ? ncFit : Math.max(nr, Math.min(ncFit, Math.ceil(panels / (4 * threads)) * nr))
  // Layout (bytes): [geometry][packed A: per slab, mPad x kc][A compacted][B compacted][out: mPad x nPad]
  // [B scratch per thread]. A and B in the module memory already (the arena) are read where they are, and
  // C written where it is when it can be (`directOut`).
  const aAt = GEOMETRY_BYTES
  const aIn = arenaOffset(args.a)
  const bIn = arenaOffset(args.b)
  const aLocal = aAt + align16(mPad * k * elem)
  const bLocal = aLocal + (aIn === undefined ? align16(m * k * elem) : 0)
  const outDirect = directOut(args, mPad, nPad)
  const outLocal = bLocal + (bIn === undefined ? align16(k * n * elem) : 0)
  const outAt = outDirect ?? outLocal
  const scratchAt = outLocal + (outDirect === undefined ? mPad * nPad * elem : 0)
  const scratchBytes = kcMax * ncMax * elem
  const heap = wasmHeap(scratchAt + threads * scratchBytes)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  const aSrc = aIn === undefined ? aLocal : aIn + args.aOffset * elem
  if (aIn === undefined) {
    if (transA) copyRows(args.a, args.aOffset, args.lda, view, aLocal / elem, m, k, m)
    else copyRows(args.a, args.aOffset, args.lda, view, aLocal / elem, k, m, k)
  }
  const bAt = bIn === undefined ? bLocal : bIn + args.bOffset * elem
  if (bIn === undefined) {
    if (transB) copyRows(args.b, args.bOffset, args.ldb, view, bAt / elem, k, n, k)
    else copyRows(args.b, args.bOffset, args.ldb, view, bAt / elem, n, k, n)
  }
  if (accumulate && outDirect === undefined) copyIn(c, cOffset, ldc, view, outAt / elem, nPad, m, n)
  const fields: Geometry = {
    kkc: k,
    kcMax,
    ldcBytes: nPad * elem,
    a: aAt,
    lda: aIn === undefined ? (transA ? m : k) : args.lda,
    transA: transA ? 1 : 0,
    rows: m,
    accumulate: accumulate ? 1 : 0,
    b: bAt,
    ldb: bIn === undefined ? (transB ? k : n) : args.ldb,
    transB: transB ? 1 : 0,
    n,
    mBlocks: mPad / mr,
    ncMax
  }
  new Int32Array(heap.f32.buffer, 0, GEOMETRY_FIELDS + 1).set(geometryValues(fields))
  // op(A) packed for every slab by all threads (slivers split between them), then every thread gets all
  // columns and claims blocks of them (see row-tasks.ts).
  const slivers = mPad / mr
  runParallel(e.packA, Math.min(slivers, threadsFor(m * k, ENTRIES_PER_PACKING_THREAD)), (t, nt) => {
    const [lo, hi] = share(slivers, t, nt)
    return [0, lo, hi, aSrc, aAt]
  })
  runParallel(e.gemmCols, threads, (thread) => [0, 0, nPad, scratchAt + thread * scratchBytes, outAt])
  if (outDirect === undefined) copyOut(view, outAt / elem, nPad, c, cOffset, ldc, m, n)
}

/**
 * Tall GEMM with a small op(B) as per-thread row tasks in WebAssembly (`gemmRows`): A is copied into the
 * module memory once (compacted), B packed once; each thread packs its own A blocks and multiplies them;
 * C is copied out once. Each C row is computed by one thread in the same order whatever the thread count.
 */
function gemmRows<A extends FloatArray>(e: Engine, args: GemmArgs<A>): void {
  const { m, n, k, transA, c, cOffset, ldc, accumulate } = args
  const is32 = c instanceof Float32Array
  const { mr, nr, elem } = e
  const nPad = Math.ceil(n / nr) * nr
  const slivers = Math.ceil(m / mr)
  const kcMax = Math.min(KC, k)
  const mcb = rowsPerBlock(kcMax, nPad, mr)
  const threads = Math.min(Math.ceil(m / mcb), threadsFor(m * nPad * k, FLOPS_PER_THREAD))
  // Layout (bytes): [geometry][A compacted: [m, k] or [k, m]][packed B][out: slivers * mr rows of nPad]
  // [A scratch per thread]. A in the module memory already (the arena) is read where it is, and C written
  // where it is when it can be (`directOut`).
  const aIn = arenaOffset(args.a)
  const aAt = aIn === undefined ? GEOMETRY_BYTES : aIn + args.aOffset * elem
  const bAt = GEOMETRY_BYTES + (aIn === undefined ? align16(m * k * elem) : 0)
  const outDirect = directOut(args, slivers * mr, nPad)
  const outLocal = bAt + k * nPad * elem
  const outAt = outDirect ?? outLocal
  const scratchAt = outLocal + (outDirect === undefined ? slivers * mr * nPad * elem : 0)
  const scratchBytes = mcb * kcMax * elem
  const heap = wasmHeap(scratchAt + threads * scratchBytes)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  if (aIn === undefined) {
    if (transA) copyRows(args.a, args.aOffset, args.lda, view, aAt / elem, m, k, m)
    else copyRows(args.a, args.aOffset, args.lda, view, aAt / elem, k, m, k)
  }
  for (let pc = 0; pc < k; pc += KC) packB(args, view, bAt / elem + pc * nPad, pc, 0, Math.min(KC, k - pc), n, nr)
  if (accumulate && outDirect === undefined) copyIn(c, cOffset, ldc, view, outAt / elem, nPad, m, n)
  const fields: Geometry = {
    kkc: k,
    packedB: bAt,
    nBlocks: nPad / nr,
    ldcBytes: nPad * elem,
    mcb,
    kcMax,
    a: aAt,
    lda: aIn === undefined ? (transA ? m : k) : args.lda,
    transA: transA ? 1 : 0,
    accumulate: accumulate ? 1 : 0
  }
  new Int32Array(heap.f32.buffer, 0, GEOMETRY_FIELDS + 1).set(geometryValues(fields))
  // Every thread gets all rows and claims blocks of them (see row-tasks.ts).
  runParallel(e.gemmRows, threads, (thread) => [0, 0, m, scratchAt + thread * scratchBytes, outAt])
  if (outDirect === undefined) copyOut(view, outAt / elem, nPad, c, cOffset, ldc, m, n)
}

/**
 * The address to write C at directly: C owns an arena region that the kernel's output (`rows` rows of
 * `nPad`, padding included) fills exactly, starting at its first element.
 */
function directOut<A extends FloatArray>(args: GemmArgs<A>, rows: number, nPad: number): number | undefined {
  const { c, cOffset, ldc, m, n } = args
  if (cOffset !== 0 || ldc !== n || n !== nPad || rows !== m || c.length !== m * n) return undefined
  return arenaRegionOffset(c)
}

/** Bytes rounded up to a whole number of 16-byte vectors. */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16

/**
 * Packs rows [i0, i0 + mc) x columns [pc, pc + kc) of op(A) into `pa` from element `base`, as slivers of
 * [kc][mr] (zero rows past mc). Lets a caller feed the micro-kernel without materialising op(A) (implicit
 * im2col).
 */
export type PackA = (pa: FloatArray, base: number, pc: number, kc: number, mr: number, i0: number, mc: number) => void

/** The B and C side of a GEMM (A is supplied by a `PackA`). */
export type GemmBC<A extends FloatArray> = Pick<
  GemmArgs<A>,
  "b" | "bOffset" | "ldb" | "transB" | "c" | "cOffset" | "ldc" | "accumulate"
>

/** Packed B up to this size is packed once and kept; A and C are then streamed in row blocks of MC. */
const B_RESIDENT_BYTES = 1 << 20
/**
 * Rows per block when B is resident: at least MC; more when k and n are small, so that tiny-k GEMMs
 * (a 2x2 convolution over one channel has k = 4) do not pay the per-block overhead thousands of times.
 * The packed A block (rows x KC) stays under 64 KiB of elements' worth and the C block under 64 Ki elements.
 */
const MC = 128
export function rowsPerBlock(kc: number, nPad: number, mr: number): number {
  const fit = Math.min(Math.floor(16384 / kc), Math.floor(65536 / nPad))
  return Math.max(MC, Math.floor(Math.min(4096, fit) / mr) * mr)
}

/**
 * `C (+)= A op(B)` with A [m, k] produced by `packA`; then, when `epilogue` is given, C = relu?(C + bias),
 * fused: applied by the module to each block of C while it is in cache, before it is copied out.
 */
export function gemmWasmWith<A extends FloatArray>(
  m: number,
  n: number,
  k: number,
  packA: PackA,
  bc: GemmBC<A>,
  epilogue?: Conv2dEpilogue<A>
): void {
  const { c, cOffset, ldc, accumulate } = bc
  if (m <= 0 || n <= 0) return
  if (k <= 0) {
    if (!accumulate) { for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n) }
    if (epilogue !== undefined) { for (let i = 0; i < m; i++) applyEpilogue(c, cOffset + i * ldc, 1, n, epilogue) }
    return
  }
  if (engines === undefined) configureWasmGemm({})
  const is32 = c instanceof Float32Array
  const e = is32 ? engines!.f32 : engines!.f64
  const { mr, nr, elem } = e
  const nPad = Math.ceil(n / nr) * nr
  const kcMax = Math.min(KC, k)
  if (m > MC && k * nPad * elem <= B_RESIDENT_BYTES) {
    residentB(e, m, n, k, nPad, packA, bc, epilogue)
    return
  }
  const mPad = Math.ceil(m / mr) * mr
  const ncMax = Math.max(nr, Math.min(nPad, Math.floor(NC_BYTES / (kcMax * elem * nr)) * nr))
  // Element offsets into the typed views (all regions are vector aligned).
  const cBase = 0
  const aBase = mPad * nPad
  const bBase = aBase + mPad * kcMax
  const biasBase = bBase + kcMax * ncMax
  const heap = wasmHeap((biasBase + nPad) * elem)
  const view: FloatArray = is32 ? heap.f32 : heap.f64

  if (accumulate) copyIn(c, cOffset, ldc, view, cBase, nPad, m, n)
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc)
    packA(view, aBase, pc, kc, mr, 0, m)
    for (let jc = 0; jc < n; jc += ncMax) {
      const nc = Math.min(ncMax, n - jc)
      const ncPad = Math.ceil(nc / nr) * nr
      // Non-transposed B is read in place (rows copied into the module with stride ncPad, no repacking);
      // columns past nc only feed C's padding columns, which are never copied out.
      const direct = !bc.transB
      if (direct) copyRows(bc.b, bc.bOffset + pc * bc.ldb + jc, bc.ldb, view, bBase, ncPad, kc, nc)
      else packB(bc, view, bBase, pc, jc, kc, nc, nr)
      runKernel(
        e,
        aBase * elem,
        bBase * elem,
        (cBase + jc) * elem,
        mPad / mr,
        ncPad / nr,
        kc,
        nPad * elem,
        accumulate || pc > 0 ? 1 : 0,
        direct ? ncPad * elem : nr * elem,
        direct ? nr * elem : kc * nr * elem
      )
    }
  }
  if (epilogue !== undefined) {
    loadBias(view, biasBase, nPad, n, epilogue)
    runEpilogue(e, cBase * elem, biasBase * elem, m, nPad * elem, epilogue.relu === true ? 1 : 0)
  }
  copyOut(view, cBase, nPad, c, cOffset, ldc, m, n)
}

/** bias (zero when absent) into view[base .. base + nPad), zero padded. */
export function loadBias(
  view: FloatArray,
  base: number,
  nPad: number,
  n: number,
  epilogue: Conv2dEpilogue<FloatArray>
): void {
  view.fill(0, base, base + nPad)
  if (epilogue.bias !== undefined) view.set(epilogue.bias.subarray(0, n), base)
}

/**
 * Tall GEMM with a small op(B) (convolutions: m = pixels, k and n = taps and channels): op(B) is packed
 * once, then rows are processed in blocks of MC so the packed A block and the C block stay in cache
 * instead of round-tripping the whole packed A and C through memory.
 */
function residentB<A extends FloatArray>(
  e: Engine,
  m: number,
  n: number,
  k: number,
  nPad: number,
  packA: PackA,
  bc: GemmBC<A>,
  epilogue: Conv2dEpilogue<A> | undefined
): void {
  const { mr, nr, elem } = e
  const { c, cOffset, ldc, accumulate } = bc
  const is32 = c instanceof Float32Array
  const kcMax = Math.min(KC, k)
  const mcMax = rowsPerBlock(kcMax, nPad, mr)
  // Layout: [packed B: per KC slab, nPad / nr panels of [kc][nr]][C block: mcMax x nPad][A block: mcMax x KC].
  const bBase = 0
  const cBase = k * nPad
  const aBase = cBase + mcMax * nPad
  const biasBase = aBase + mcMax * kcMax
  const heap = wasmHeap((biasBase + nPad) * elem)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  if (epilogue !== undefined) loadBias(view, biasBase, nPad, n, epilogue)
  for (let pc = 0; pc < k; pc += KC) packB(bc, view, bBase + pc * nPad, pc, 0, Math.min(KC, k - pc), n, nr)
  for (let i0 = 0; i0 < m; i0 += mcMax) {
    const mc = Math.min(mcMax, m - i0)
    if (accumulate) copyIn(c, cOffset + i0 * ldc, ldc, view, cBase, nPad, mc, n)
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc)
      packA(view, aBase, pc, kc, mr, i0, mc)
      runKernel(
        e,
        aBase * elem,
        (bBase + pc * nPad) * elem,
        cBase * elem,
        Math.ceil(mc / mr),
        nPad / nr,
        kc,
        nPad * elem,
        accumulate || pc > 0 ? 1 : 0,
        nr * elem,
        kc * nr * elem
      )
    }
    if (epilogue !== undefined) {
      runEpilogue(e, cBase * elem, biasBase * elem, mc, nPad * elem, epilogue.relu === true ? 1 : 0)
    }
    copyOut(view, cBase, nPad, c, cOffset + i0 * ldc, ldc, mc, n)
  }
}

/** view[base + i * ld .. + n] = src[offset + i * lds .. + n] for i < rows (one copy when contiguous). */
function copyRows(
  src: FloatArray,
  offset: number,
  lds: number,
  view: FloatArray,
  base: number,
  ld: number,
  rows: number,
  n: number
): void {
  if (lds === n && ld === n) {
    view.set(src.subarray(offset, offset + rows * n), base)
    return
  }
  for (let i = 0; i < rows; i++) view.set(src.subarray(offset + i * lds, offset + i * lds + n), base + i * ld)
}

function copyIn(
  c: FloatArray,
  cOffset: number,
  ldc: number,
  view: FloatArray,
  base: number,
  ld: number,
  m: number,
  n: number
): void {
  if (ldc === n && ld === n) {
    view.set(c.subarray(cOffset, cOffset + m * n), base)
    return
  }
  for (let i = 0; i < m; i++) {
    const s = cOffset + i * ldc
    view.set(c.subarray(s, s + n), base + i * ld)
  }
}

function copyOut(
  view: FloatArray,
  base: number,
  ld: number,
  c: FloatArray,
  cOffset: number,
  ldc: number,
  m: number,
  n: number
): void {
  if (ldc === n && ld === n) {
    c.set(view.subarray(base, base + m * n), cOffset)
    return
  }
  for (let i = 0; i < m; i++) {
    const s = base + i * ld
    c.set(view.subarray(s, s + n), cOffset + i * ldc)
  }
}

/** Pack op(B)[pc:pc+kc, jc:jc+nc] as panels of [kc][nr], zero columns past nc. */
export function packB(
  args: GemmBC<FloatArray>,
  pb: FloatArray,
  base: number,
  pc: number,
  jc: number,
  kc: number,
  nc: number,
  nr: number
): void {
  const { b, bOffset, ldb, transB } = args
  let dst = base
  for (let j0 = 0; j0 < nc; j0 += nr) {
    const cols = Math.min(nr, nc - j0)
    if (!transB) {
      let src = bOffset + pc * ldb + jc + j0
      if (cols === nr) {
        for (let p = 0; p < kc; p++, dst += nr, src += ldb) {
          for (let q = 0; q < nr; q++) pb[dst + q] = b[src + q]!
        }
      } else {
        for (let p = 0; p < kc; p++, dst += nr, src += ldb) {
          let q = 0
          for (; q < cols; q++) pb[dst + q] = b[src + q]!
          for (; q < nr; q++) pb[dst + q] = 0
        }
      }
    } else {
      for (let q = 0; q < nr; q++) {
        let d = dst + q
        if (q < cols) {
          let src = bOffset + (jc + j0 + q) * ldb + pc
          for (let p = 0; p < kc; p++, d += nr) pb[d] = b[src++]!
        } else {
          for (let p = 0; p < kc; p++, d += nr) pb[d] = 0
        }
      }
      dst += kc * nr
    }
  }
}
