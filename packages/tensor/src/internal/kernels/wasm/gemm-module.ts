/**
 * Generates the WebAssembly SIMD (128-bit) GEMM micro-kernel module for one element type.
 *
 * Exported function `gemm(ap, bp, c, mBlocks, nBlocks, kc, ldcBytes, accumulate, bRowBytes, bPanelBytes)`
 * (byte addresses):
 *   ap: op(A) packed as mBlocks slivers of [kc][MR] elements,
 *   bp: op(B) as nBlocks panels of NR columns (NR = NRV vectors): row p of panel j starts at
 *       bp + j * bPanelBytes + p * bRowBytes. Packed panels [kc][NR]: bRowBytes = NR * elem and
 *       bPanelBytes = kc * NR * elem; a plain row-major block with row stride ld: ld * elem and NR * elem,
 *   c:  the C tile grid, row stride ldcBytes; C = A B (accumulate = 0) or C += A B (accumulate = 1).
 * Loop order: row slivers outer (the A sliver stays in L1), column panels inner (the packed B block is
 * sized by the caller to stay in L2), k innermost with MR x NRV vector accumulators in locals, fully
 * unrolled over the tile.
 */
import { type Bytes, encodeModule, I32, type MemoryImport, op, V128 } from "./encoder.ts"
import {
  convFilterRowsFunction,
  convRowsFunction,
  gemmColsFunction,
  gemmRowsFunction,
  packAFunction
} from "./row-tasks.ts"

export interface MicroKernelShape {
  /** Rows per micro-tile. */
  readonly mr: number
  /** 128-bit vectors per micro-tile row. */
  readonly nrv: number
}

export type WasmDtype = "f32" | "f64"

export function lanes(dtype: WasmDtype): number {
  return dtype === "f32" ? 4 : 2
}

/**
 * With `fma`, the inner product uses relaxed SIMD's multiply-add (`f32x4.relaxed_madd`), which engines with
 * relaxed SIMD compile to a fused multiply-add where the CPU has one; engines without relaxed SIMD reject
 * the module (validate first and fall back to `fma: false`).
 */
export function gemmModuleBytes(
  dtype: WasmDtype,
  shape: MicroKernelShape,
  memory?: MemoryImport,
  fma = false
): Uint8Array<ArrayBuffer> {
  const { mr, nrv } = shape
  const elem = dtype === "f32" ? 4 : 8
  const nr = nrv * lanes(dtype)
  const splat = dtype === "f32" ? op.v128Load32Splat : op.v128Load64Splat
  const add = dtype === "f32" ? op.f32x4Add : op.f64x2Add
  const mul = dtype === "f32" ? op.f32x4Mul : op.f64x2Mul
  const madd = dtype === "f32" ? op.f32x4RelaxedMadd : op.f64x2RelaxedMadd

  // Params.
  const AP = 0, BP = 1, C = 2, MB = 3, NB = 4, KC = 5, LDC = 6, ACC = 7, BRS = 8, BPS = 9
  // i32 locals.
  const IB = 10, JB = 11, A_PTR = 12, B_PANEL = 13, A = 14, B = 15, K = 16, C_ROW0 = 17, C_TILE = 18, C_ROW = 19
  const I32_LOCALS = 10
  // v128 locals.
  const V0 = 10 + I32_LOCALS
  const accIdx = (r: number, j: number): number => V0 + r * nrv + j
  const BV = V0 + mr * nrv
  const AV = BV + nrv
  const V128_LOCALS = mr * nrv + nrv + 1

  const body: Bytes = []
  const emit = (...parts: Array<Bytes>): void => {
    for (const p of parts) body.push(...p)
  }
  const incr = (local: number, amount: Bytes): void => {
    emit(op.localGet(local), amount, op.i32Add(), op.localSet(local))
  }

  // aPtr = ap; cRow0 = c; ib = mBlocks
  emit(op.localGet(AP), op.localSet(A_PTR), op.localGet(C), op.localSet(C_ROW0), op.localGet(MB), op.localSet(IB))
  emit(op.loop()) // rows of tiles
  {
    emit(
      op.localGet(BP),
      op.localSet(B_PANEL),
      op.localGet(C_ROW0),
      op.localSet(C_TILE),
      op.localGet(NB),
      op.localSet(JB)
    )
    emit(op.loop()) // tiles in the row
    {
      for (let r = 0; r < mr; r++) for (let j = 0; j < nrv; j++) emit(op.v128Zero(), op.localSet(accIdx(r, j)))
      emit(op.localGet(A_PTR), op.localSet(A), op.localGet(B_PANEL), op.localSet(B), op.localGet(KC), op.localSet(K))
      emit(op.loop()) // k
      {
        for (let j = 0; j < nrv; j++) emit(op.localGet(B), op.v128Load(16 * j), op.localSet(BV + j))
        for (let r = 0; r < mr; r++) {
          emit(op.localGet(A), splat(r * elem), op.localSet(AV))
          for (let j = 0; j < nrv; j++) {
            if (fma) {
              emit(op.localGet(AV), op.localGet(BV + j), op.localGet(accIdx(r, j)), madd(), op.localSet(accIdx(r, j)))
            } else {
              emit(
                op.localGet(accIdx(r, j)),
                op.localGet(AV),
                op.localGet(BV + j),
                mul(),
                add(),
                op.localSet(accIdx(r, j))
              )
            }
          }
        }
        incr(A, op.i32Const(mr * elem))
        incr(B, op.localGet(BRS))
        emit(op.localGet(K), op.i32Const(1), op.i32Sub(), op.localTee(K), op.brIf(0))
      }
      emit(op.end())
      // Store the tile.
      emit(op.localGet(C_TILE), op.localSet(C_ROW))
      emit(op.localGet(ACC), op.if_())
      for (let r = 0; r < mr; r++) {
        for (let j = 0; j < nrv; j++) {
          emit(op.localGet(C_ROW), op.localGet(C_ROW), op.v128Load(16 * j), op.localGet(accIdx(r, j)), add())
          emit(op.v128Store(16 * j))
        }
        if (r + 1 < mr) incr(C_ROW, op.localGet(LDC))
      }
      emit(op.else_())
      for (let r = 0; r < mr; r++) {
        for (let j = 0; j < nrv; j++) emit(op.localGet(C_ROW), op.localGet(accIdx(r, j)), op.v128Store(16 * j))
        if (r + 1 < mr) incr(C_ROW, op.localGet(LDC))
      }
      emit(op.end())
      // Next panel.
      incr(B_PANEL, op.localGet(BPS))
      incr(C_TILE, op.i32Const(nr * elem))
      emit(op.localGet(JB), op.i32Const(1), op.i32Sub(), op.localTee(JB), op.brIf(0))
    }
    emit(op.end())
    // Next sliver: a now points just past this sliver.
    emit(op.localGet(A), op.localSet(A_PTR))
    emit(op.localGet(C_ROW0), op.localGet(LDC), op.i32Const(mr), op.i32Mul(), op.i32Add(), op.localSet(C_ROW0))
    emit(op.localGet(IB), op.i32Const(1), op.i32Sub(), op.localTee(IB), op.brIf(0))
  }
  emit(op.end())
  return encodeModule([
    {
      name: "gemm",
      params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
      locals: [[I32_LOCALS, I32], [V128_LOCALS, V128]],
      body
    },
    { name: "epi", params: [I32, I32, I32, I32, I32], locals: [[2, I32]], body: epilogueBody(dtype) },
    convRowsFunction(dtype, shape, lanes(dtype)),
    convFilterRowsFunction(dtype, shape, lanes(dtype)),
    gemmRowsFunction(dtype, shape, lanes(dtype)),
    gemmColsFunction(dtype, shape, lanes(dtype)),
    packAFunction(dtype, shape, lanes(dtype))
  ], memory)
}

/**
 * `epi(c, bias, rows, rowBytes, relu)`: in place over a C block of `rows` rows of `rowBytes` bytes (a
 * multiple of 16), c[r, :] = c[r, :] + bias[:], then relu when relu != 0 (as `Tensor.relu`: NaN stays,
 * -0 -> +0). A fused epilogue applied while the block is in cache.
 */
function epilogueBody(dtype: WasmDtype): Bytes {
  const add = dtype === "f32" ? op.f32x4Add : op.f64x2Add
  const pmax = dtype === "f32" ? op.f32x4Pmax : op.f64x2Pmax
  const C = 0, BIAS = 1, ROWS = 2, ROWB = 3, RELU = 4, V = 5, P = 6
  const b: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => b.push(...x))
  const rowsLoop = (relu: boolean) => {
    e(op.loop())
    e(op.i32Const(0), op.localSet(V))
    e(op.loop())
    e(op.localGet(C), op.localGet(V), op.i32Add(), op.localTee(P))
    e(op.localGet(P), op.v128Load(0), op.localGet(BIAS), op.localGet(V), op.i32Add(), op.v128Load(0), add())
    // relu with NaN kept: pmax(v, 0) = v < 0 ? 0 : v, then + 0 turns -0 into +0.
    if (relu) e(op.v128Zero(), pmax(), op.v128Zero(), add())
    e(op.v128Store(0))
    e(op.localGet(V), op.i32Const(16), op.i32Add(), op.localTee(V), op.localGet(ROWB), op.i32Ne(), op.brIf(0))
    e(op.end())
    e(op.localGet(C), op.localGet(ROWB), op.i32Add(), op.localSet(C))
    e(op.localGet(ROWS), op.i32Const(1), op.i32Sub(), op.localTee(ROWS), op.brIf(0))
    e(op.end())
  }
  e(op.block(), op.localGet(ROWS), op.i32Eqz(), op.brIf(0))
  e(op.localGet(RELU), op.if_())
  rowsLoop(true)
  e(op.else_())
  rowsLoop(false)
  e(op.end(), op.end())
  return b
}
