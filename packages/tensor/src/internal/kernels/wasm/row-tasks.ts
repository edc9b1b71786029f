/**
 * Per-thread tasks, generated into the GEMM module so they call the micro-kernel (function 0) and the
 * epilogue (function 1) directly: `gemmRows` (a plain GEMM's rows), `convRows` (the forward convolution's
 * rows) and `convFilterRows` (the filter gradient's taps). Each packs its own A blocks, so packing runs on
 * every thread too. All take a pointer to a block of GEOMETRY i32 fields.
 *
 * The forward convolution:
 *
 *   convRows(geom, row0, row1, aScratch, out)
 *
 * computes output rows [row0, row1) of Y = im2col(X) W (+ bias) (relu): for each block of `mcb` rows and
 * each KC slab of taps, it gathers the rows of the implicit column matrix from X straight into the packed-A
 * layout ([kc][mr] slivers) in `aScratch`, runs the micro-kernel against W packed once by the caller, then
 * applies the epilogue to the block while it is in cache. Rows are written to `out` with the row stride of
 * the geometry (the C tile grid: a partial last sliver writes up to mr - 1 rows past row1, so `out` holds
 * whole slivers, and threads split rows on sliver boundaries).
 *
 * `geom` points at GEOMETRY_FIELDS i32 values in this order (byte addresses for pointers).
 */
import { type Bytes, F32, F64, I32, op } from "./encoder.ts"
import type { MicroKernelShape, WasmDtype } from "./gemm-module.ts"

/** Field order of the geometry block. */
export const GEOMETRY = [
  "h",
  "w",
  "c",
  "outW",
  "strideH",
  "strideW",
  "padTop",
  "padLeft",
  "kkc",
  /** i32[kkc] x offsets of each tap from the window's top-left element, then i32[kkc] dy, then i32[kkc] dx. */
  "taps",
  "x",
  /** W packed per KC slab as nBlocks panels of [kc][nr]: slab pc starts at packedB + pc * nBlocks * nr * elem. */
  "packedB",
  "nBlocks",
  "ldcBytes",
  "bias",
  "relu",
  "epilogue",
  "mcb",
  "kcMax",
  "pixels",
  /** Filter gradient: rows of dY (images x pixels), the k of its GEMM. */
  "rows",
  /** Filter gradient: bytes between rows of dY (f * elem), read in place as the GEMM's B. */
  "bRowBytes",
  /** Plain GEMM: A's address, its leading dimension in elements, whether op(A) = A^T, and C += A B. */
  "a",
  "lda",
  "transA",
  "accumulate",
  /** Column tasks: B's address (compacted), its leading dimension, whether op(B) = B^T, n, row slivers of A. */
  "b",
  "ldb",
  "transB",
  "n",
  "mBlocks",
  /** Column tasks: columns per packed B block (a multiple of nr). */
  "ncMax",
  /** Convolution tasks: the dilated window's height and width, (kh - 1) dh + 1 and (kw - 1) dw + 1. */
  "effH",
  "effW"
] as const

export const GEOMETRY_FIELDS = GEOMETRY.length

/** A geometry block's fields; those a task does not read may be left out (written as 0). */
export type Geometry = Partial<Record<(typeof GEOMETRY)[number], number>>

/** The i32 values of a geometry block, in field order. */
export const geometryValues = (fields: Geometry): Array<number> => GEOMETRY.map((name) => fields[name] ?? 0)

/**
 * The filter gradient's per-thread task, `convFilterRows(geom, t0, t1, aScratch, out)`: rows [t0, t1) of
 * dW[kkc, f] = im2col(X)^T dY (t0 a multiple of mr). For each KC slab of dY's rows it gathers the
 * transposed column block (taps x pixels) from X into `aScratch` as [kc][mr] slivers, then runs the
 * micro-kernel with dY read in place (`packedB` points at dY, `bRowBytes` its row stride; f a multiple of
 * nr), accumulating over slabs. Each dW row is computed by one thread in the same order whatever the split.
 */
export function convFilterRowsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number) {
  const { mr } = shape
  const elem = dtype === "f32" ? 4 : 8
  const nr = shape.nrv * lanes
  const load = dtype === "f32" ? op.f32Load : op.f64Load
  const store = dtype === "f32" ? op.f32Store : op.f64Store
  const zero = dtype === "f32" ? op.f32Zero : op.f64Zero

  const GEOM = 0, T0 = 1, T1 = 2, ASCR = 3, OUT = 4
  let next = 5
  // Local index of each geometry field (filled right below, one per name).
  const field = {} as Record<(typeof GEOMETRY)[number], number>
  for (const name of GEOMETRY) field[name] = next++
  const PC = next++, KC = next++, MT = next++, MTPAD = next++, Q = next++, J = next++, DST = next++
  const ROW = next++, IMG = next++, REM = next++, IY0 = next++, IX0 = next++, XBASE = next++, P = next++
  const TDY = next++, TDX = next++
  const i32Locals = next - 5
  const VAL = next++

  const b: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => b.push(...x))
  const get = op.localGet, set = op.localSet, c = op.i32Const

  GEOMETRY.forEach((name, i) => e(get(GEOM), op.i32Load(4 * i), set(field[name])))
  e(get(field.taps), get(field.kkc), c(4), op.i32Mul(), op.i32Add(), set(TDY))
  e(get(TDY), get(field.kkc), c(4), op.i32Mul(), op.i32Add(), set(TDX))
  e(get(T1), get(T0), op.i32Sub(), set(MT))
  e(get(MT), c(mr - 1), op.i32Add(), c(mr), op.i32DivU(), c(mr), op.i32Mul(), set(MTPAD))
  e(c(0), set(PC))
  e(op.block(), get(MT), op.i32Eqz(), op.brIf(0))
  e(op.loop()) // KC slabs of dY's rows
  {
    e(get(field.rows), get(PC), op.i32Sub(), get(field.kcMax), get(field.rows), get(PC), op.i32Sub())
    e(get(field.kcMax), op.i32LtS(), op.select(), set(KC))
    e(c(0), set(Q))
    e(op.loop()) // pixels of the slab
    {
      e(get(PC), get(Q), op.i32Add(), set(ROW))
      e(get(ROW), get(field.pixels), op.i32DivU(), set(IMG))
      e(get(ROW), get(IMG), get(field.pixels), op.i32Mul(), op.i32Sub(), set(REM))
      e(get(REM), get(field.outW), op.i32DivU(), get(field.strideH), op.i32Mul(), get(field.padTop), op.i32Sub())
      e(set(IY0))
      e(get(REM), get(field.outW), op.i32RemU(), get(field.strideW), op.i32Mul(), get(field.padLeft), op.i32Sub())
      e(set(IX0))
      e(get(IMG), get(field.h), op.i32Mul(), get(IY0), op.i32Add(), get(field.w), op.i32Mul(), get(IX0))
      e(op.i32Add(), get(field.c), op.i32Mul(), c(elem), op.i32Mul(), get(field.x), op.i32Add(), set(XBASE))
      e(c(0), set(J))
      // dst(j) = aScratch + ((j / mr) * kc * mr + q * mr + j % mr) * elem: taps as [kc][mr] slivers.
      const dstOfJ = () => {
        e(get(J), c(mr), op.i32DivU(), get(KC), op.i32Mul(), get(Q), op.i32Add(), c(mr), op.i32Mul())
        e(get(J), c(mr), op.i32RemU(), op.i32Add(), c(elem), op.i32Mul(), get(ASCR), op.i32Add(), set(DST))
      }
      e(c(0), set(J))
      // The whole window inside X (most pixels): no bounds checks.
      e(get(IY0), c(0), op.i32GeS(), get(IX0), c(0), op.i32GeS(), op.i32And())
      e(get(IY0), get(field.effH), op.i32Add(), get(field.h), op.i32LeS(), op.i32And())
      e(get(IX0), get(field.effW), op.i32Add(), get(field.w), op.i32LeS(), op.i32And())
      e(op.if_())
      {
        e(op.loop())
        dstOfJ()
        e(get(DST), get(XBASE), get(field.taps), get(T0), get(J), op.i32Add(), c(4), op.i32Mul(), op.i32Add())
        e(op.i32Load(0), c(elem), op.i32Mul(), op.i32Add(), load(0), store(0))
        e(get(J), c(1), op.i32Add(), op.localTee(J), get(MT), op.i32LtS(), op.brIf(0))
        e(op.end())
      }
      e(op.else_())
      {
        e(op.loop())
        dstOfJ()
        e(zero(), set(VAL))
        e(get(T0), get(J), op.i32Add(), c(4), op.i32Mul(), set(P))
        e(get(IY0), get(TDY), get(P), op.i32Add(), op.i32Load(0), op.i32Add(), get(field.h), op.i32LtU())
        e(get(IX0), get(TDX), get(P), op.i32Add(), op.i32Load(0), op.i32Add(), get(field.w), op.i32LtU())
        e(op.i32And(), op.if_())
        e(get(XBASE), get(field.taps), get(P), op.i32Add(), op.i32Load(0), c(elem), op.i32Mul(), op.i32Add())
        e(load(0), set(VAL), op.end())
        e(get(DST), get(VAL), store(0))
        e(get(J), c(1), op.i32Add(), op.localTee(J), get(MT), op.i32LtS(), op.brIf(0))
        e(op.end())
      }
      e(op.end())
      // Taps past the thread's last one, up to a whole sliver: zeros.
      e(op.block(), get(J), get(MTPAD), op.i32GeS(), op.brIf(0))
      e(op.loop())
      dstOfJ()
      e(get(DST), zero(), store(0))
      e(get(J), c(1), op.i32Add(), op.localTee(J), get(MTPAD), op.i32LtS(), op.brIf(0))
      e(op.end(), op.end())
      e(get(Q), c(1), op.i32Add(), op.localTee(Q), get(KC), op.i32LtS(), op.brIf(0))
    }
    e(op.end())
    // gemm(aScratch, dY + pc * bRowBytes, out + t0 * ldc, mtPad / mr, nBlocks, kc, ldc, pc != 0,
    //      bRowBytes, nr * elem)
    e(get(ASCR), get(field.packedB), get(PC), get(field.bRowBytes), op.i32Mul(), op.i32Add())
    e(get(OUT), get(T0), get(field.ldcBytes), op.i32Mul(), op.i32Add())
    e(get(MTPAD), c(mr), op.i32DivU(), get(field.nBlocks), get(KC), get(field.ldcBytes))
    e(get(PC), c(0), op.i32Ne(), get(field.bRowBytes), c(nr * elem), op.call(0))
    e(get(PC), get(KC), op.i32Add(), op.localTee(PC), get(field.rows), op.i32LtS(), op.brIf(0))
  }
  e(op.end(), op.end())
  return {
    name: "convFilterRows",
    params: [I32, I32, I32, I32, I32],
    locals: [[i32Locals, I32], [1, dtype === "f32" ? F32 : F64]] as Array<readonly [number, number]>,
    body: b
  }
}

/** The function definition of `convRows` (params: geom, row0, row1, aScratch, out). */
export function convRowsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number) {
  const { mr } = shape
  const elem = dtype === "f32" ? 4 : 8
  const nr = shape.nrv * lanes
  const load = dtype === "f32" ? op.f32Load : op.f64Load
  const store = dtype === "f32" ? op.f32Store : op.f64Store
  const zero = dtype === "f32" ? op.f32Zero : op.f64Zero

  const GEOM = 0, ROW0 = 1, ROW1 = 2, ASCR = 3, OUT = 4
  let next = 5
  // Local index of each geometry field (filled right below, one per name).
  const field = {} as Record<(typeof GEOMETRY)[number], number>
  for (const name of GEOMETRY) field[name] = next++
  const I0 = next++, MC = next++, RPAD = next++, PC = next++, KC = next++, R = next++, DST = next++
  const ROW = next++, IMG = next++, REM = next++, IY0 = next++, IX0 = next++, XBASE = next++, P = next++
  const PEND = next++, TDY = next++, TDX = next++
  const i32Locals = next - 5
  const VAL = next++

  const b: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => b.push(...x))
  const get = op.localGet, set = op.localSet, c = op.i32Const

  // Geometry into locals; tap tables.
  GEOMETRY.forEach((name, i) => e(get(GEOM), op.i32Load(4 * i), set(field[name])))
  e(get(field.taps), get(field.kkc), c(4), op.i32Mul(), op.i32Add(), set(TDY))
  e(get(TDY), get(field.kkc), c(4), op.i32Mul(), op.i32Add(), set(TDX))
  e(get(ROW0), set(I0))

  e(op.block(), op.loop()) // blocks of rows
  {
    e(get(I0), get(ROW1), op.i32GeS(), op.brIf(1))
    // mc = min(mcb, row1 - i0); rpad = ceil(mc / mr) * mr
    e(get(ROW1), get(I0), op.i32Sub(), get(field.mcb), get(ROW1), get(I0), op.i32Sub(), get(field.mcb), op.i32LtS())
    e(op.select(), set(MC))
    e(get(MC), c(mr - 1), op.i32Add(), c(mr), op.i32DivU(), c(mr), op.i32Mul(), set(RPAD))
    e(c(0), set(PC))
    e(op.loop()) // KC slabs of taps
    {
      // kc = min(kcMax, kkc - pc)
      e(get(field.kkc), get(PC), op.i32Sub(), get(field.kcMax), get(field.kkc), get(PC), op.i32Sub())
      e(get(field.kcMax), op.i32LtS(), op.select(), set(KC))
      e(c(0), set(R))
      e(op.loop()) // rows of the block, packed as [kc][mr] slivers
      {
        // dst = aScratch + ((r / mr) * kc * mr + r % mr) * elem
        e(get(R), c(mr), op.i32DivU(), get(KC), op.i32Mul(), c(mr), op.i32Mul(), get(R), c(mr), op.i32RemU())
        e(op.i32Add(), c(elem), op.i32Mul(), get(ASCR), op.i32Add(), set(DST))
        e(get(PC), set(P), get(PC), get(KC), op.i32Add(), set(PEND))
        e(get(R), get(MC), op.i32GeS(), op.if_())
        {
          // Rows past the block's end: zeros.
          e(op.loop(), get(DST), zero(), store(0))
          e(get(DST), c(mr * elem), op.i32Add(), set(DST))
          e(get(P), c(1), op.i32Add(), op.localTee(P), get(PEND), op.i32LtS(), op.brIf(0), op.end())
        }
        e(op.else_())
        {
          // The output pixel of this row and its window's top-left corner.
          e(get(I0), get(R), op.i32Add(), set(ROW))
          e(get(ROW), get(field.pixels), op.i32DivU(), set(IMG))
          e(get(ROW), get(IMG), get(field.pixels), op.i32Mul(), op.i32Sub(), set(REM))
          e(get(REM), get(field.outW), op.i32DivU(), get(field.strideH), op.i32Mul(), get(field.padTop), op.i32Sub())
          e(set(IY0))
          e(get(REM), get(field.outW), op.i32RemU(), get(field.strideW), op.i32Mul(), get(field.padLeft), op.i32Sub())
          e(set(IX0))
          // xBase = x + ((img * h + iy0) * w + ix0) * c * elem (only dereferenced for cells inside X)
          e(get(IMG), get(field.h), op.i32Mul(), get(IY0), op.i32Add(), get(field.w), op.i32Mul(), get(IX0))
          e(op.i32Add(), get(field.c), op.i32Mul(), c(elem), op.i32Mul(), get(field.x), op.i32Add(), set(XBASE))
          // The whole window inside X (most rows): no bounds checks.
          e(get(IY0), c(0), op.i32GeS(), get(IX0), c(0), op.i32GeS(), op.i32And())
          e(get(IY0), get(field.effH), op.i32Add(), get(field.h), op.i32LeS(), op.i32And())
          e(get(IX0), get(field.effW), op.i32Add(), get(field.w), op.i32LeS(), op.i32And())
          e(op.if_())
          {
            e(op.loop())
            e(get(DST), get(XBASE), get(field.taps), get(P), c(4), op.i32Mul(), op.i32Add(), op.i32Load(0), c(elem))
            e(op.i32Mul(), op.i32Add(), load(0), store(0))
            e(get(DST), c(mr * elem), op.i32Add(), set(DST))
            e(get(P), c(1), op.i32Add(), op.localTee(P), get(PEND), op.i32LtS(), op.brIf(0))
            e(op.end())
          }
          e(op.else_())
          {
            e(op.loop())
            e(get(DST))
            // inside = (iy0 + dy[p]) <u h && (ix0 + dx[p]) <u w
            e(get(IY0), get(TDY), get(P), c(4), op.i32Mul(), op.i32Add(), op.i32Load(0), op.i32Add())
            e(get(field.h), op.i32LtU())
            e(get(IX0), get(TDX), get(P), c(4), op.i32Mul(), op.i32Add(), op.i32Load(0), op.i32Add())
            e(get(field.w), op.i32LtU(), op.i32And())
            e(op.if_())
            e(get(XBASE), get(field.taps), get(P), c(4), op.i32Mul(), op.i32Add(), op.i32Load(0), c(elem))
            e(op.i32Mul(), op.i32Add(), load(0), set(VAL))
            e(op.else_(), zero(), set(VAL), op.end())
            e(get(VAL), store(0))
            e(get(DST), c(mr * elem), op.i32Add(), set(DST))
            e(get(P), c(1), op.i32Add(), op.localTee(P), get(PEND), op.i32LtS(), op.brIf(0))
            e(op.end())
          }
          e(op.end())
        }
        e(op.end())
        e(get(R), c(1), op.i32Add(), op.localTee(R), get(RPAD), op.i32LtS(), op.brIf(0))
      }
      e(op.end())
      // gemm(aScratch, packedB + pc * nBlocks * nr * elem, out + i0 * ldc, rpad / mr, nBlocks, kc, ldc,
      //      pc != 0, nr * elem, kc * nr * elem)
      e(get(ASCR))
      e(get(field.packedB), get(PC), get(field.nBlocks), op.i32Mul(), c(nr * elem), op.i32Mul(), op.i32Add())
      e(get(OUT), get(I0), get(field.ldcBytes), op.i32Mul(), op.i32Add())
      e(get(RPAD), c(mr), op.i32DivU(), get(field.nBlocks), get(KC), get(field.ldcBytes))
      e(get(PC), c(0), op.i32Ne(), c(nr * elem), get(KC), c(nr * elem), op.i32Mul(), op.call(0))
      e(get(PC), get(KC), op.i32Add(), op.localTee(PC), get(field.kkc), op.i32LtS(), op.brIf(0))
    }
    e(op.end())
    // epi(out + i0 * ldc, bias, mc, ldc, relu)
    e(get(field.epilogue), op.if_())
    e(get(OUT), get(I0), get(field.ldcBytes), op.i32Mul(), op.i32Add(), get(field.bias), get(MC))
    e(get(field.ldcBytes), get(field.relu), op.call(1), op.end())
    e(get(I0), get(MC), op.i32Add(), set(I0), op.br(0))
  }
  e(op.end(), op.end())
  return {
    name: "convRows",
    params: [I32, I32, I32, I32, I32],
    locals: [[i32Locals, I32], [1, dtype === "f32" ? F32 : F64]] as Array<readonly [number, number]>,
    body: b
  }
}

/**
 * `gemmRows(geom, row0, row1, aScratch, out)`: rows [row0, row1) of C (+)= op(A) B (+ bias) (relu) for a
 * plain A in the module memory (`a`, `lda`, `transA`; k is `kkc`), B packed once by the caller as for
 * `convRows`. Same blocking, sliver alignment and epilogue as `convRows`; with `accumulate`, C's rows are
 * read from `out` (the caller copied them in).
 */
export function gemmRowsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number) {
  const { mr } = shape
  const elem = dtype === "f32" ? 4 : 8
  const nr = shape.nrv * lanes
  const load = dtype === "f32" ? op.f32Load : op.f64Load
  const store = dtype === "f32" ? op.f32Store : op.f64Store
  const zero = dtype === "f32" ? op.f32Zero : op.f64Zero

  const GEOM = 0, ROW0 = 1, ROW1 = 2, ASCR = 3, OUT = 4
  let next = 5
  // Local index of each geometry field (filled right below, one per name).
  const field = {} as Record<(typeof GEOMETRY)[number], number>
  for (const name of GEOMETRY) field[name] = next++
  const I0 = next++, MC = next++, RPAD = next++, PC = next++, KC = next++, R = next++, DST = next++
  const SRC = next++, STEP = next++, P = next++
  const i32Locals = next - 5

  const b: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => b.push(...x))
  const get = op.localGet, set = op.localSet, c = op.i32Const

  GEOMETRY.forEach((name, i) => e(get(GEOM), op.i32Load(4 * i), set(field[name])))
  e(get(ROW0), set(I0))
  e(op.block(), op.loop()) // blocks of rows
  {
    e(get(I0), get(ROW1), op.i32GeS(), op.brIf(1))
    e(get(ROW1), get(I0), op.i32Sub(), get(field.mcb), get(ROW1), get(I0), op.i32Sub(), get(field.mcb), op.i32LtS())
    e(op.select(), set(MC))
    e(get(MC), c(mr - 1), op.i32Add(), c(mr), op.i32DivU(), c(mr), op.i32Mul(), set(RPAD))
    e(c(0), set(PC))
    e(op.loop()) // KC slabs
    {
      e(get(field.kkc), get(PC), op.i32Sub(), get(field.kcMax), get(field.kkc), get(PC), op.i32Sub())
      e(get(field.kcMax), op.i32LtS(), op.select(), set(KC))
      e(c(0), set(R))
      e(op.loop()) // rows of the block
      {
        e(get(R), c(mr), op.i32DivU(), get(KC), op.i32Mul(), c(mr), op.i32Mul(), get(R), c(mr), op.i32RemU())
        e(op.i32Add(), c(elem), op.i32Mul(), get(ASCR), op.i32Add(), set(DST))
        e(c(0), set(P))
        e(get(R), get(MC), op.i32GeS(), op.if_())
        {
          e(op.loop(), get(DST), zero(), store(0))
          e(get(DST), c(mr * elem), op.i32Add(), set(DST))
          e(get(P), c(1), op.i32Add(), op.localTee(P), get(KC), op.i32LtS(), op.brIf(0), op.end())
        }
        e(op.else_())
        {
          // op(A)[row, pc + p]: A[row * lda + pc + p] (step elem), or A^T: A[(pc + p) * lda + row] (step lda).
          e(get(field.transA), op.if_())
          e(get(PC), get(field.lda), op.i32Mul(), get(I0), op.i32Add(), get(R), op.i32Add(), set(SRC))
          e(get(field.lda), c(elem), op.i32Mul(), set(STEP))
          e(op.else_())
          e(get(I0), get(R), op.i32Add(), get(field.lda), op.i32Mul(), get(PC), op.i32Add(), set(SRC))
          e(c(elem), set(STEP))
          e(op.end())
          e(get(SRC), c(elem), op.i32Mul(), get(field.a), op.i32Add(), set(SRC))
          e(op.loop())
          e(get(DST), get(SRC), load(0), store(0))
          e(get(DST), c(mr * elem), op.i32Add(), set(DST))
          e(get(SRC), get(STEP), op.i32Add(), set(SRC))
          e(get(P), c(1), op.i32Add(), op.localTee(P), get(KC), op.i32LtS(), op.brIf(0), op.end())
        }
        e(op.end())
        e(get(R), c(1), op.i32Add(), op.localTee(R), get(RPAD), op.i32LtS(), op.brIf(0))
      }
      e(op.end())
      e(get(ASCR))
      e(get(field.packedB), get(PC), get(field.nBlocks), op.i32Mul(), c(nr * elem), op.i32Mul(), op.i32Add())
      e(get(OUT), get(I0), get(field.ldcBytes), op.i32Mul(), op.i32Add())
      e(get(RPAD), c(mr), op.i32DivU(), get(field.nBlocks), get(KC), get(field.ldcBytes))
      // accumulate into C when asked, or after the first slab
      e(get(PC), c(0), op.i32Ne(), get(field.accumulate), op.i32Or())
      e(c(nr * elem), get(KC), c(nr * elem), op.i32Mul(), op.call(0))
      e(get(PC), get(KC), op.i32Add(), op.localTee(PC), get(field.kkc), op.i32LtS(), op.brIf(0))
    }
    e(op.end())
    e(get(field.epilogue), op.if_())
    e(get(OUT), get(I0), get(field.ldcBytes), op.i32Mul(), op.i32Add(), get(field.bias), get(MC))
    e(get(field.ldcBytes), get(field.relu), op.call(1), op.end())
    e(get(I0), get(MC), op.i32Add(), set(I0), op.br(0))
  }
  e(op.end(), op.end())
  return {
    name: "gemmRows",
    params: [I32, I32, I32, I32, I32],
    locals: [[i32Locals, I32]] as Array<readonly [number, number]>,
    body: b
  }
}

/**
 * `gemmCols(geom, j0, j1, bScratch, out)`: columns [j0, j1) (multiples of nr) of C (+)= op(A) op(B) for
 * GEMMs whose B is too large to pack once: op(A) is packed by the caller for all KC slabs (slab pc at
 * a + pc * mBlocks * mr * elem), op(B) is in the module memory (`b`, `ldb`, `transB`, `n` columns); each
 * thread packs its own B blocks of `ncMax` columns (zero past n) and multiplies every row sliver with them.
 * Each C column is computed by one thread in the same order whatever the split.
 */
export function gemmColsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number) {
  const { mr } = shape
  const elem = dtype === "f32" ? 4 : 8
  const nr = shape.nrv * lanes
  const load = dtype === "f32" ? op.f32Load : op.f64Load
  const store = dtype === "f32" ? op.f32Store : op.f64Store
  const zero = dtype === "f32" ? op.f32Zero : op.f64Zero

  const GEOM = 0, J0 = 1, J1 = 2, BSCR = 3, OUT = 4
  let next = 5
  // Local index of each geometry field (filled right below, one per name).
  const field = {} as Record<(typeof GEOMETRY)[number], number>
  for (const name of GEOMETRY) field[name] = next++
  const PC = next++, KC = next++, JC = next++, NC = next++, Q0 = next++, P = next++, Q = next++, COL = next++
  const DST = next++, IDX = next++
  const i32Locals = next - 5
  const VAL = next++

  const b: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => b.push(...x))
  const get = op.localGet, set = op.localSet, c = op.i32Const

  GEOMETRY.forEach((name, i) => e(get(GEOM), op.i32Load(4 * i), set(field[name])))
  e(op.block(), get(J1), get(J0), op.i32Sub(), op.i32Eqz(), op.brIf(0))
  e(c(0), set(PC))
  e(op.loop()) // KC slabs
  {
    e(get(field.kkc), get(PC), op.i32Sub(), get(field.kcMax), get(field.kkc), get(PC), op.i32Sub())
    e(get(field.kcMax), op.i32LtS(), op.select(), set(KC))
    e(get(J0), set(JC))
    e(op.loop()) // blocks of columns
    {
      e(get(J1), get(JC), op.i32Sub(), get(field.ncMax), get(J1), get(JC), op.i32Sub(), get(field.ncMax))
      e(op.i32LtS(), op.select(), set(NC))
      // Pack op(B)[pc:pc+kc, jc:jc+nc] as panels of [kc][nr].
      e(get(BSCR), set(DST), get(JC), set(Q0))
      e(op.loop()) // panels
      {
        // A whole panel inside B: B rows are copied a vector at a time, B^T columns read in order.
        e(get(Q0), c(nr), op.i32Add(), get(field.n), op.i32LeS(), op.if_())
        {
          e(get(field.transB), op.if_())
          {
            // dst[p * nr + q] = b[(q0 + q) * ldb + pc + p]: for each q, walk p along a contiguous row of B.
            e(c(0), set(Q))
            e(op.loop())
            e(get(DST), get(Q), c(elem), op.i32Mul(), op.i32Add(), set(IDX))
            e(get(Q0), get(Q), op.i32Add(), get(field.ldb), op.i32Mul(), get(PC), op.i32Add(), c(elem), op.i32Mul())
            e(get(field.b), op.i32Add(), set(COL))
            e(c(0), set(P))
            e(op.loop())
            e(get(IDX), get(COL), load(0), store(0))
            e(get(IDX), c(nr * elem), op.i32Add(), set(IDX))
            e(get(COL), c(elem), op.i32Add(), set(COL))
            e(get(P), c(1), op.i32Add(), op.localTee(P), get(KC), op.i32LtS(), op.brIf(0))
            e(op.end())
            e(get(Q), c(1), op.i32Add(), op.localTee(Q), c(nr), op.i32LtS(), op.brIf(0))
            e(op.end())
            e(get(DST), get(KC), c(nr * elem), op.i32Mul(), op.i32Add(), set(DST))
          }
          e(op.else_())
          {
            // dst[p * nr .. + nr] = b[(pc + p) * ldb + q0 .. + nr], nr * elem / 16 vectors per row.
            e(get(PC), get(field.ldb), op.i32Mul(), get(Q0), op.i32Add(), c(elem), op.i32Mul(), get(field.b))
            e(op.i32Add(), set(COL))
            e(c(0), set(P))
            e(op.loop())
            for (let v = 0; v < (nr * elem) / 16; v++) e(get(DST), get(COL), op.v128Load(16 * v), op.v128Store(16 * v))
            e(get(DST), c(nr * elem), op.i32Add(), set(DST))
            e(get(COL), get(field.ldb), c(elem), op.i32Mul(), op.i32Add(), set(COL))
            e(get(P), c(1), op.i32Add(), op.localTee(P), get(KC), op.i32LtS(), op.brIf(0))
            e(op.end())
          }
          e(op.end())
        }
        e(op.else_())
        e(c(0), set(P))
        e(op.loop()) // rows of the panel
        {
          e(c(0), set(Q))
          e(op.loop()) // columns of the panel
          {
            e(get(Q0), get(Q), op.i32Add(), set(COL))
            e(zero(), set(VAL))
            e(get(COL), get(field.n), op.i32LtS(), op.if_())
            // B^T: b[col * ldb + pc + p]; B: b[(pc + p) * ldb + col]
            e(get(field.transB), op.if_())
            e(get(COL), get(field.ldb), op.i32Mul(), get(PC), op.i32Add(), get(P), op.i32Add(), set(IDX))
            e(op.else_())
            e(get(PC), get(P), op.i32Add(), get(field.ldb), op.i32Mul(), get(COL), op.i32Add(), set(IDX))
            e(op.end())
            e(get(IDX), c(elem), op.i32Mul(), get(field.b), op.i32Add(), load(0), set(VAL))
            e(op.end())
            e(get(DST), get(VAL), store(0))
            e(get(DST), c(elem), op.i32Add(), set(DST))
            e(get(Q), c(1), op.i32Add(), op.localTee(Q), c(nr), op.i32LtS(), op.brIf(0))
          }
          e(op.end())
          e(get(P), c(1), op.i32Add(), op.localTee(P), get(KC), op.i32LtS(), op.brIf(0))
          e(op.end())
        }
        e(op.end())
        e(get(Q0), c(nr), op.i32Add(), op.localTee(Q0), get(JC), get(NC), op.i32Add(), op.i32LtS(), op.brIf(0))
      }
      e(op.end())
      // gemm(a + pc * mBlocks * mr * elem, bScratch, out + jc * elem, mBlocks, nc / nr, kc, ldc,
      //      pc != 0 | accumulate, nr * elem, kc * nr * elem)
      e(get(field.a), get(PC), get(field.mBlocks), op.i32Mul(), c(mr * elem), op.i32Mul(), op.i32Add())
      e(get(BSCR), get(OUT), get(JC), c(elem), op.i32Mul(), op.i32Add())
      e(get(field.mBlocks), get(NC), c(nr), op.i32DivU(), get(KC), get(field.ldcBytes))
      e(get(PC), c(0), op.i32Ne(), get(field.accumulate), op.i32Or())
      e(c(nr * elem), get(KC), c(nr * elem), op.i32Mul(), op.call(0))
      e(get(JC), get(NC), op.i32Add(), op.localTee(JC), get(J1), op.i32LtS(), op.brIf(0))
    }
    e(op.end())
    e(get(PC), get(KC), op.i32Add(), op.localTee(PC), get(field.kkc), op.i32LtS(), op.brIf(0))
  }
  e(op.end(), op.end())
  return {
    name: "gemmCols",
    params: [I32, I32, I32, I32, I32],
    locals: [[i32Locals, I32], [1, dtype === "f32" ? F32 : F64]] as Array<readonly [number, number]>,
    body: b
  }
}
