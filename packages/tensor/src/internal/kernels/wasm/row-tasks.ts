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
import { type Bytes, F32, F64, type FuncDef, I32, op } from "./encoder.ts"
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

/**
 * The i32 values of a geometry block, in field order, then the block counter of the row tasks (0): the
 * threads of a row task claim blocks of rows from it, so a thread that wakes late takes fewer.
 */
export const geometryValues = (fields: Geometry): Array<number> => [...GEOMETRY.map((name) => fields[name] ?? 0), 0]

/** Bytes of a geometry block with its counter, rounded up to whole vectors (what follows stays aligned). */
export const GEOMETRY_BYTES = Math.ceil(((GEOMETRY_FIELDS + 1) * 4) / 16) * 16

type Field = (typeof GEOMETRY)[number]

/** What a task's code generator works with: its locals, the element type's instructions, emission. */
interface Task {
  readonly mr: number
  readonly nr: number
  readonly elem: number
  /** The local holding each geometry field (loaded in the prologue). */
  readonly field: Readonly<Record<Field, number>>
  /** The task's parameters: geom, a0, a1 (its range), scratch, out. */
  readonly param: { readonly a0: number; readonly a1: number; readonly scratch: number; readonly out: number }
  /** A float local of the element type. */
  readonly val: number
  readonly load: (offset: number) => Bytes
  readonly store: (offset: number) => Bytes
  readonly zero: () => Bytes
  /** Appends instructions to the body. */
  emit(...parts: Array<Bytes>): void
  /** A new i32 local. */
  i32(): number
}

const get = op.localGet, set = op.localSet, c = op.i32Const
const seq = (...parts: Array<Bytes>): Bytes => parts.flat()
const field = (t: Task, name: Field): Bytes => get(t.field[name])

/**
 * A task `name(geom, a0, a1, scratch, out)`: loads the geometry block into locals, then `build` emits the
 * rest. Locals are allocated as `build` asks for them.
 */
function defineTask(
  name: string,
  dtype: WasmDtype,
  shape: MicroKernelShape,
  lanes: number,
  build: (t: Task) => void
): FuncDef {
  const body: Bytes = []
  // Locals: the float one first (index 5, right after the five parameters), then the i32 ones.
  const VAL = 5
  let nextI32 = 6
  const fieldLocals = {} as Record<Field, number> // filled right below, one local per field
  for (const f of GEOMETRY) fieldLocals[f] = nextI32++
  const t: Task = {
    mr: shape.mr,
    nr: shape.nrv * lanes,
    elem: dtype === "f32" ? 4 : 8,
    field: fieldLocals,
    param: { a0: 1, a1: 2, scratch: 3, out: 4 },
    val: VAL,
    load: dtype === "f32" ? op.f32Load : op.f64Load,
    store: dtype === "f32" ? op.f32Store : op.f64Store,
    zero: dtype === "f32" ? op.f32Zero : op.f64Zero,
    emit: (...parts) => parts.forEach((x) => body.push(...x)),
    i32: () => nextI32++
  }
  GEOMETRY.forEach((f, i) => t.emit(get(0), op.i32Load(4 * i), set(fieldLocals[f])))
  build(t)
  return {
    name,
    params: [I32, I32, I32, I32, I32],
    locals: [[1, dtype === "f32" ? F32 : F64], [nextI32 - 6, I32]],
    body
  }
}

/** dst = min(a, b), signed (`a` and `b` each push one value and have no side effects). */
const minInto = (t: Task, a: Bytes, b: Bytes, dst: number): void =>
  t.emit(a, b, a, b, op.i32LtS(), op.select(), set(dst))

/** dst = ceil(x / mr) * mr. */
const roundUpToSliver = (t: Task, x: Bytes, dst: number): void =>
  t.emit(x, c(t.mr - 1), op.i32Add(), c(t.mr), op.i32DivU(), c(t.mr), op.i32Mul(), set(dst))

/** do { body() } while (++counter < limit): the body runs at least once. */
const repeat = (t: Task, counter: number, limit: Bytes, body: () => void): void => {
  t.emit(op.loop())
  body()
  t.emit(get(counter), c(1), op.i32Add(), op.localTee(counter), limit, op.i32LtS(), op.brIf(0), op.end())
}

/** local += amount */
const advance = (t: Task, local: number, amount: Bytes): void => t.emit(get(local), amount, op.i32Add(), set(local))

/** The micro-kernel: gemm(ap, bp, c, mBlocks, nBlocks, kc, ldcBytes, accumulate, bRowBytes, bPanelBytes). */
const microKernel = (t: Task, ...args: [Bytes, Bytes, Bytes, Bytes, Bytes, Bytes, Bytes, Bytes, Bytes, Bytes]) =>
  t.emit(...args, op.call(0))

/** The window of a convolution output pixel: locals for its top-left corner and its address in X. */
interface Window {
  readonly iy0: number
  readonly ix0: number
  readonly xBase: number
  readonly dyTable: number
  readonly dxTable: number
  readonly img: number
  readonly rem: number
}

/** Allocates a window's locals and points at the dy and dx tap tables (after the offsets). */
function windowLocals(t: Task): Window {
  const w = {
    iy0: t.i32(),
    ix0: t.i32(),
    xBase: t.i32(),
    dyTable: t.i32(),
    dxTable: t.i32(),
    img: t.i32(),
    rem: t.i32()
  }
  t.emit(field(t, "taps"), field(t, "kkc"), c(4), op.i32Mul(), op.i32Add(), set(w.dyTable))
  t.emit(get(w.dyTable), field(t, "kkc"), c(4), op.i32Mul(), op.i32Add(), set(w.dxTable))
  return w
}

/** Sets the window of output row `row` (image, pixel): its top-left input cell and that cell's address. */
function windowAt(t: Task, w: Window, row: Bytes): void {
  t.emit(row, field(t, "pixels"), op.i32DivU(), set(w.img))
  t.emit(row, get(w.img), field(t, "pixels"), op.i32Mul(), op.i32Sub(), set(w.rem))
  t.emit(get(w.rem), field(t, "outW"), op.i32DivU(), field(t, "strideH"), op.i32Mul(), field(t, "padTop"))
  t.emit(op.i32Sub(), set(w.iy0))
  t.emit(get(w.rem), field(t, "outW"), op.i32RemU(), field(t, "strideW"), op.i32Mul(), field(t, "padLeft"))
  t.emit(op.i32Sub(), set(w.ix0))
  // xBase = x + ((img * h + iy0) * w + ix0) * c * elem (only dereferenced for cells inside X)
  t.emit(get(w.img), field(t, "h"), op.i32Mul(), get(w.iy0), op.i32Add(), field(t, "w"), op.i32Mul(), get(w.ix0))
  t.emit(op.i32Add(), field(t, "c"), op.i32Mul(), c(t.elem), op.i32Mul(), field(t, "x"), op.i32Add(), set(w.xBase))
}

/** if (the whole window lies inside X) inside() else edge(): most windows need no bounds checks. */
function ifInterior(t: Task, w: Window, inside: () => void, edge: () => void): void {
  t.emit(get(w.iy0), c(0), op.i32GeS(), get(w.ix0), c(0), op.i32GeS(), op.i32And())
  t.emit(get(w.iy0), field(t, "effH"), op.i32Add(), field(t, "h"), op.i32LeS(), op.i32And())
  t.emit(get(w.ix0), field(t, "effW"), op.i32Add(), field(t, "w"), op.i32LeS(), op.i32And())
  t.emit(op.if_())
  inside()
  t.emit(op.else_())
  edge()
  t.emit(op.end())
}

/**
 * Stores tap `p` of the window at address `dst`: X's cell, or 0 for a cell outside X (`checked`).
 * `p` and `dst` push one value each and have no side effects.
 */
function gatherTap(t: Task, w: Window, p: Bytes, dst: Bytes, checked: boolean): void {
  const cell = seq(get(w.xBase), field(t, "taps"), p, c(4), op.i32Mul(), op.i32Add(), op.i32Load(0))
  const address = seq(cell, c(t.elem), op.i32Mul(), op.i32Add())
  if (!checked) {
    t.emit(dst, address, t.load(0), t.store(0))
    return
  }
  // inside = (iy0 + dy[p]) <u h && (ix0 + dx[p]) <u w (unsigned: negative coordinates are out too)
  t.emit(get(w.iy0), get(w.dyTable), p, c(4), op.i32Mul(), op.i32Add(), op.i32Load(0), op.i32Add(), field(t, "h"))
  t.emit(op.i32LtU(), get(w.ix0), get(w.dxTable), p, c(4), op.i32Mul(), op.i32Add(), op.i32Load(0), op.i32Add())
  t.emit(field(t, "w"), op.i32LtU(), op.i32And())
  t.emit(op.if_(), address, t.load(0), set(t.val), op.else_(), t.zero(), set(t.val), op.end())
  t.emit(dst, get(t.val), t.store(0))
}

/**
 * The skeleton of the row tasks (`convRows`, `gemmRows`): rows [a0, a1) of C (+)= A B (+ bias) (relu) in
 * blocks of `mcb` rows, which the threads (all given the same range) claim from the block counter: each
 * block is computed by one thread, the same way whichever thread it is; per block and KC slab of k (`kkc`), each row is packed into `scratch` as [kc][mr]
 * slivers by `packRow(row, pc, kc, dst)` (dst advancing by mr elements per k; rows past the block are
 * zeros), then the micro-kernel runs against B packed per slab at packedB + pc * nBlocks * nr * elem, and
 * the epilogue, when asked, is applied to the block while it is in cache.
 */
function rowBlocks(t: Task, packRow: (row: number, pc: number, kc: number, dst: number) => void): void {
  const { a0, a1, scratch, out } = t.param
  const { mr, nr, elem } = t
  const I0 = t.i32(), MC = t.i32(), RPAD = t.i32(), PC = t.i32(), KC = t.i32(), R = t.i32(), DST = t.i32()
  const ROW = t.i32(), P = t.i32()
  const ldc = field(t, "ldcBytes")
  const blockC = seq(get(out), get(I0), ldc, op.i32Mul(), op.i32Add())
  t.emit(op.block(), op.loop()) // blocks of rows, claimed one at a time: i0 = a0 + (counter++) * mcb
  t.emit(get(0), c(1), op.i32AtomicRmwAdd(GEOMETRY_FIELDS * 4), field(t, "mcb"), op.i32Mul(), get(a0), op.i32Add())
  t.emit(set(I0), get(I0), get(a1), op.i32GeS(), op.brIf(1))
  minInto(t, seq(get(a1), get(I0), op.i32Sub()), field(t, "mcb"), MC)
  roundUpToSliver(t, get(MC), RPAD)
  t.emit(c(0), set(PC))
  t.emit(op.loop()) // KC slabs of k
  minInto(t, seq(field(t, "kkc"), get(PC), op.i32Sub()), field(t, "kcMax"), KC)
  t.emit(c(0), set(R))
  repeat(t, R, get(RPAD), () => {
    // dst = scratch + ((r / mr) * kc * mr + r % mr) * elem
    t.emit(get(R), c(mr), op.i32DivU(), get(KC), op.i32Mul(), c(mr), op.i32Mul(), get(R), c(mr), op.i32RemU())
    t.emit(op.i32Add(), c(elem), op.i32Mul(), get(scratch), op.i32Add(), set(DST))
    t.emit(get(R), get(MC), op.i32GeS(), op.if_())
    t.emit(c(0), set(P))
    repeat(t, P, get(KC), () => {
      t.emit(get(DST), t.zero(), t.store(0))
      advance(t, DST, c(mr * elem))
    })
    t.emit(op.else_())
    t.emit(get(I0), get(R), op.i32Add(), set(ROW))
    packRow(ROW, PC, KC, DST)
    t.emit(op.end())
  })
  microKernel(
    t,
    get(scratch),
    seq(field(t, "packedB"), get(PC), field(t, "nBlocks"), op.i32Mul(), c(nr * elem), op.i32Mul(), op.i32Add()),
    blockC,
    seq(get(RPAD), c(mr), op.i32DivU()),
    field(t, "nBlocks"),
    get(KC),
    ldc,
    // accumulate after the first slab, or into C from the start when asked
    seq(get(PC), c(0), op.i32Ne(), field(t, "accumulate"), op.i32Or()),
    c(nr * elem),
    seq(get(KC), c(nr * elem), op.i32Mul())
  )
  t.emit(get(PC), get(KC), op.i32Add(), op.localTee(PC), field(t, "kkc"), op.i32LtS(), op.brIf(0), op.end())
  // epi(block of C, bias, mc, ldc, relu)
  t.emit(field(t, "epilogue"), op.if_(), blockC, field(t, "bias"), get(MC), ldc, field(t, "relu"), op.call(1), op.end())
  t.emit(op.br(0))
  t.emit(op.end(), op.end())
}

/**
 * `convRows(geom, row0, row1, scratch, out)`: output rows [row0, row1) of Y = im2col(X) W (+ bias) (relu),
 * each row's window gathered from X straight into the packed layout (see the module comment).
 */
export function convRowsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number): FuncDef {
  return defineTask("convRows", dtype, shape, lanes, (t) => {
    const w = windowLocals(t)
    const P = t.i32(), PEND = t.i32()
    rowBlocks(t, (row, pc, kc, dst) => {
      windowAt(t, w, get(row))
      t.emit(get(pc), get(kc), op.i32Add(), set(PEND))
      const taps = (checked: boolean) => () => {
        t.emit(get(pc), set(P))
        repeat(t, P, get(PEND), () => {
          gatherTap(t, w, get(P), get(dst), checked)
          advance(t, dst, c(t.mr * t.elem))
        })
      }
      ifInterior(t, w, taps(false), taps(true))
    })
  })
}

/**
 * `gemmRows(geom, row0, row1, scratch, out)`: rows [row0, row1) of C (+)= op(A) B (+ bias) (relu) for a
 * plain A in the module memory (`a`, `lda`, `transA`; k is `kkc`), B packed once by the caller as for
 * `convRows`. With `accumulate`, C's rows are read from `out` (the caller copied them in).
 */
export function gemmRowsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number): FuncDef {
  return defineTask("gemmRows", dtype, shape, lanes, (t) => {
    const SRC = t.i32(), STEP = t.i32(), P = t.i32()
    rowBlocks(t, (row, pc, kc, dst) => {
      // op(A)[row, pc + p]: A[row * lda + pc + p] (step elem), or A^T: A[(pc + p) * lda + row] (step lda).
      t.emit(field(t, "transA"), op.if_())
      t.emit(get(pc), field(t, "lda"), op.i32Mul(), get(row), op.i32Add(), set(SRC))
      t.emit(field(t, "lda"), c(t.elem), op.i32Mul(), set(STEP))
      t.emit(op.else_())
      t.emit(get(row), field(t, "lda"), op.i32Mul(), get(pc), op.i32Add(), set(SRC))
      t.emit(c(t.elem), set(STEP))
      t.emit(op.end())
      t.emit(get(SRC), c(t.elem), op.i32Mul(), field(t, "a"), op.i32Add(), set(SRC))
      t.emit(c(0), set(P))
      repeat(t, P, get(kc), () => {
        t.emit(get(dst), get(SRC), t.load(0), t.store(0))
        advance(t, dst, c(t.mr * t.elem))
        advance(t, SRC, get(STEP))
      })
    })
  })
}

/**
 * `packA(geom, s0, s1, src, out)`: row slivers [s0, s1) of op(A) (A at `src`, fields `lda`, `transA`;
 * m = `rows`, k = `kkc`) packed for the column tasks, every KC slab: slab pc (kc = min(kcMax, k - pc)) at
 * out + pc * mBlocks * mr elements, sliver s at + s * kc * mr, as [kc][mr] with rows past m zero (the layout
 * of `gemmCols`' packed A). Threads split the slivers, so packing runs on every thread.
 */
export function packAFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number): FuncDef {
  return defineTask("packA", dtype, shape, lanes, (t) => {
    const { a0, a1, scratch: src, out } = t.param
    const { mr, elem } = t
    const PC = t.i32(), KC = t.i32(), S = t.i32(), R = t.i32(), ROW = t.i32(), DST = t.i32(), SRC = t.i32()
    const STEP = t.i32(), P = t.i32()
    t.emit(op.block(), get(a0), get(a1), op.i32GeS(), op.brIf(0))
    t.emit(c(0), set(PC))
    t.emit(op.loop()) // KC slabs of k
    minInto(t, seq(field(t, "kkc"), get(PC), op.i32Sub()), field(t, "kcMax"), KC)
    t.emit(get(a0), set(S))
    repeat(t, S, get(a1), () => {
      t.emit(c(0), set(R))
      repeat(t, R, c(mr), () => {
        // dst = out + ((pc * mBlocks + s * kc) * mr + r) * elem; the row s * mr + r of op(A).
        t.emit(get(PC), field(t, "mBlocks"), op.i32Mul(), get(S), get(KC), op.i32Mul(), op.i32Add(), c(mr), op.i32Mul())
        t.emit(get(R), op.i32Add(), c(elem), op.i32Mul(), get(out), op.i32Add(), set(DST))
        t.emit(get(S), c(mr), op.i32Mul(), get(R), op.i32Add(), set(ROW))
        t.emit(get(ROW), field(t, "rows"), op.i32GeS(), op.if_())
        t.emit(c(0), set(P))
        repeat(t, P, get(KC), () => {
          t.emit(get(DST), t.zero(), t.store(0))
          advance(t, DST, c(mr * elem))
        })
        t.emit(op.else_())
        // op(A)[row, pc + p]: A[row * lda + pc + p] (step elem), or A^T: A[(pc + p) * lda + row] (step lda).
        t.emit(field(t, "transA"), op.if_())
        t.emit(get(PC), field(t, "lda"), op.i32Mul(), get(ROW), op.i32Add(), set(SRC))
        t.emit(field(t, "lda"), c(elem), op.i32Mul(), set(STEP))
        t.emit(op.else_())
        t.emit(get(ROW), field(t, "lda"), op.i32Mul(), get(PC), op.i32Add(), set(SRC))
        t.emit(c(elem), set(STEP))
        t.emit(op.end())
        t.emit(get(SRC), c(elem), op.i32Mul(), get(src), op.i32Add(), set(SRC))
        t.emit(c(0), set(P))
        repeat(t, P, get(KC), () => {
          t.emit(get(DST), get(SRC), t.load(0), t.store(0))
          advance(t, DST, c(mr * elem))
          advance(t, SRC, get(STEP))
        })
        t.emit(op.end())
      })
    })
    t.emit(get(PC), get(KC), op.i32Add(), op.localTee(PC), field(t, "kkc"), op.i32LtS(), op.brIf(0), op.end())
    t.emit(op.end())
  })
}

/**
 * `convFilterRows(geom, t0, t1, scratch, out)`: rows [t0, t1) of dW[kkc, f] = im2col(X)^T dY (t0 a multiple
 * of mr). For each KC slab of dY's rows it gathers the transposed column block (taps x pixels) from X into
 * `scratch` as [kc][mr] slivers, then runs the micro-kernel with dY read in place (`packedB` points at dY,
 * `bRowBytes` its row stride; f a multiple of nr), accumulating over slabs. Each dW row is computed by one
 * thread in the same order whatever the split.
 */
export function convFilterRowsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number): FuncDef {
  return defineTask("convFilterRows", dtype, shape, lanes, (t) => {
    const { a0, a1, scratch, out } = t.param
    const { mr, nr, elem } = t
    const w = windowLocals(t)
    const PC = t.i32(), KC = t.i32(), MT = t.i32(), MTPAD = t.i32(), Q = t.i32(), J = t.i32()
    t.emit(get(a1), get(a0), op.i32Sub(), set(MT))
    roundUpToSliver(t, get(MT), MTPAD)
    // Where tap j of pixel q goes: scratch + ((j / mr) * kc * mr + q * mr + j % mr) * elem.
    const dstOfJ = seq(
      get(J),
      c(mr),
      op.i32DivU(),
      get(KC),
      op.i32Mul(),
      get(Q),
      op.i32Add(),
      c(mr),
      op.i32Mul(),
      get(J),
      c(mr),
      op.i32RemU(),
      op.i32Add(),
      c(elem),
      op.i32Mul(),
      get(scratch),
      op.i32Add()
    )
    const tap = seq(get(a0), get(J), op.i32Add())
    t.emit(c(0), set(PC))
    t.emit(op.block(), get(MT), op.i32Eqz(), op.brIf(0))
    t.emit(op.loop()) // KC slabs of dY's rows
    minInto(t, seq(field(t, "rows"), get(PC), op.i32Sub()), field(t, "kcMax"), KC)
    t.emit(c(0), set(Q))
    repeat(t, Q, get(KC), () => {
      windowAt(t, w, seq(get(PC), get(Q), op.i32Add()))
      t.emit(c(0), set(J))
      const taps = (checked: boolean) => () => repeat(t, J, get(MT), () => gatherTap(t, w, tap, dstOfJ, checked))
      ifInterior(t, w, taps(false), taps(true))
      // Taps past the thread's last one, up to a whole sliver: zeros.
      t.emit(op.block(), get(J), get(MTPAD), op.i32GeS(), op.brIf(0))
      repeat(t, J, get(MTPAD), () => t.emit(dstOfJ, t.zero(), t.store(0)))
      t.emit(op.end())
    })
    microKernel(
      t,
      get(scratch),
      seq(field(t, "packedB"), get(PC), field(t, "bRowBytes"), op.i32Mul(), op.i32Add()),
      seq(get(out), get(a0), field(t, "ldcBytes"), op.i32Mul(), op.i32Add()),
      seq(get(MTPAD), c(mr), op.i32DivU()),
      field(t, "nBlocks"),
      get(KC),
      field(t, "ldcBytes"),
      seq(get(PC), c(0), op.i32Ne()),
      field(t, "bRowBytes"),
      c(nr * elem)
    )
    t.emit(get(PC), get(KC), op.i32Add(), op.localTee(PC), field(t, "rows"), op.i32LtS(), op.brIf(0))
    t.emit(op.end(), op.end())
  })
}

/**
 * `gemmCols(geom, j0, j1, bScratch, out)`: columns [j0, j1) (multiples of nr) of C (+)= op(A) op(B) for
 * GEMMs whose B is too large to pack once: op(A) is packed by the caller for all KC slabs (slab pc at
 * a + pc * mBlocks * mr * elem), op(B) is in the module memory (`b`, `ldb`, `transB`, `n` columns). The
 * threads (all given the same range) claim blocks of `ncMax` columns from the block counter; for each, a
 * thread packs B's block slab by slab (zero past n) and multiplies every row sliver with it. Each block is
 * computed by one thread, the same way whichever thread it is.
 */
export function gemmColsFunction(dtype: WasmDtype, shape: MicroKernelShape, lanes: number): FuncDef {
  return defineTask("gemmCols", dtype, shape, lanes, (t) => {
    const { mr, nr, elem } = t
    const load = t.load, store = t.store, zero = t.zero
    const J0 = t.param.a0, J1 = t.param.a1, BSCR = t.param.scratch, OUT = t.param.out
    const VAL = t.val
    const PC = t.i32(), KC = t.i32(), JC = t.i32(), NC = t.i32(), Q0 = t.i32(), P = t.i32(), Q = t.i32(), COL = t.i32()
    const DST = t.i32(), IDX = t.i32()
    const e = t.emit
    // Blocks of ncMax columns, claimed one at a time: jc = j0 + (counter++) * ncMax; all slabs per block.
    e(op.block(), op.loop())
    {
      e(get(0), c(1), op.i32AtomicRmwAdd(GEOMETRY_FIELDS * 4), field(t, "ncMax"), op.i32Mul(), get(J0), op.i32Add())
      e(set(JC), get(JC), get(J1), op.i32GeS(), op.brIf(1))
      minInto(t, seq(get(J1), get(JC), op.i32Sub()), field(t, "ncMax"), NC)
      e(c(0), set(PC))
      e(op.loop()) // KC slabs
      {
        minInto(t, seq(field(t, "kkc"), get(PC), op.i32Sub()), field(t, "kcMax"), KC)
        // Pack op(B)[pc:pc+kc, jc:jc+nc] as panels of [kc][nr].
        e(get(BSCR), set(DST), get(JC), set(Q0))
        e(op.loop()) // panels
        {
          // A whole panel inside B: B rows are copied a vector at a time, B^T columns read in order.
          e(get(Q0), c(nr), op.i32Add(), field(t, "n"), op.i32LeS(), op.if_())
          {
            e(field(t, "transB"), op.if_())
            {
              // dst[p * nr + q] = b[(q0 + q) * ldb + pc + p]: for each q, walk p along a contiguous row of B.
              e(c(0), set(Q))
              e(op.loop())
              e(get(DST), get(Q), c(elem), op.i32Mul(), op.i32Add(), set(IDX))
              e(get(Q0), get(Q), op.i32Add(), field(t, "ldb"), op.i32Mul(), get(PC), op.i32Add(), c(elem), op.i32Mul())
              e(field(t, "b"), op.i32Add(), set(COL))
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
              e(get(PC), field(t, "ldb"), op.i32Mul(), get(Q0), op.i32Add(), c(elem), op.i32Mul(), field(t, "b"))
              e(op.i32Add(), set(COL))
              e(c(0), set(P))
              e(op.loop())
              for (let v = 0; v < (nr * elem) / 16; v++) {
                e(get(DST), get(COL), op.v128Load(16 * v), op.v128Store(16 * v))
              }
              e(get(DST), c(nr * elem), op.i32Add(), set(DST))
              e(get(COL), field(t, "ldb"), c(elem), op.i32Mul(), op.i32Add(), set(COL))
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
              e(get(COL), field(t, "n"), op.i32LtS(), op.if_())
              // B^T: b[col * ldb + pc + p]; B: b[(pc + p) * ldb + col]
              e(field(t, "transB"), op.if_())
              e(get(COL), field(t, "ldb"), op.i32Mul(), get(PC), op.i32Add(), get(P), op.i32Add(), set(IDX))
              e(op.else_())
              e(get(PC), get(P), op.i32Add(), field(t, "ldb"), op.i32Mul(), get(COL), op.i32Add(), set(IDX))
              e(op.end())
              e(get(IDX), c(elem), op.i32Mul(), field(t, "b"), op.i32Add(), load(0), set(VAL))
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
        e(field(t, "a"), get(PC), field(t, "mBlocks"), op.i32Mul(), c(mr * elem), op.i32Mul(), op.i32Add())
        e(get(BSCR), get(OUT), get(JC), c(elem), op.i32Mul(), op.i32Add())
        e(field(t, "mBlocks"), get(NC), c(nr), op.i32DivU(), get(KC), field(t, "ldcBytes"))
        e(get(PC), c(0), op.i32Ne(), field(t, "accumulate"), op.i32Or())
        e(c(nr * elem), get(KC), c(nr * elem), op.i32Mul(), op.call(0))
        e(get(PC), get(KC), op.i32Add(), op.localTee(PC), field(t, "kkc"), op.i32LtS(), op.brIf(0))
      }
      e(op.end(), op.br(0))
    }
    e(op.end(), op.end())
  })
}
