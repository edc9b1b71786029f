/**
 * Column sums in float64 (`Kernels.sumRows`, the bias gradients' reduction) as WebAssembly SIMD tasks,
 * split across the kernel threads by columns: every column is summed by one thread in the JavaScript
 * reference's order (`js/reduce.ts`: four rows per pass, `acc + ((d0 + d1) + (d2 + d3))`, then the rows
 * left one at a time), so the bits are the reference's whatever the thread count. float32 lanes are widened
 * to float64 exactly (`f64x2.promote_low_f32x4`) before any addition, as JavaScript reads them.
 *
 * sumRows(src, rowBytes, rows, v0, v1, acc): for the 16-byte vectors [v0, v1) of each row (rows of
 * `rowBytes` bytes from `src`), adds into the float64 accumulators at `acc` (two f64x2 per float32 vector,
 * one per float64 vector). Memory bound: used only where the data is in the module memory already (the
 * arena) and rows are whole vectors; otherwise the JavaScript loop runs.
 */
import { parallelPerDtype, runParallel, share, threadsFor } from "../../threads/pool.ts"
import { sumRows as sumRowsJs } from "../js/reduce.ts"
import type { FloatArray } from "../types.ts"
import { arenaOffset } from "./arena.ts"
import { type Bytes, encodeModule, I32, type MemoryImport, op, V128 } from "./encoder.ts"
import type { WasmDtype } from "./gemm-module.ts"
import { wasmHeap } from "./runtime.ts"

/** Entries below which the sum stays on one thread. */
const ENTRIES_PER_THREAD = 1 << 17

/** Lanes 2 and 3 of a float32 vector moved to lanes 0 and 1 (for the second widening). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]

/** The module: `sumRows(src, rowBytes, rows, v0, v1, acc)` for one element type. */
export function reduceModuleBytes(dtype: WasmDtype, memory?: MemoryImport): Uint8Array<ArrayBuffer> {
  const get = op.localGet, set = op.localSet
  // Params: 0 src, 1 rowBytes, 2 rows, 3 v0, 4 v1, 5 acc. i32 locals: 6 row pointer, 7 rows left, 8 byte
  // offset in the row, 9 end offset, 10 accumulator address. v128 locals: 11-14 the four rows' vectors.
  const SRC = 0, ROWB = 1, ROWS = 2, V0 = 3, V1 = 4, ACC = 5
  const P = 6, LEFT = 7, J = 8, END = 9, A = 10, X = 11
  const wide = dtype === "f32"
  const body: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => body.push(...x))
  /** The vector at byte offset j of row `k` of the current group onto the stack. */
  const row = (k: number): Bytes => [
    ...get(P),
    ...(k === 0 ? [] : [...get(ROWB), ...op.i32Const(k), ...op.i32Mul(), ...op.i32Add()]),
    ...get(J),
    ...op.i32Add(),
    ...op.v128Load(0)
  ]
  /** Lanes of local vector `x` as f64x2: the low pair, or (half 1) the high pair of a float32 vector. */
  const lanes = (x: number, half: number): Bytes =>
    wide
      ? [...get(x), ...(half === 1 ? [...get(x), ...op.i8x16Shuffle(HIGH_HALF)] : []), ...op.f64x2PromoteLowF32x4()]
      : get(x)
  // The accumulator of vector j: acc + 2 j (float32: two f64x2 per vector) or acc + j.
  const accAt =
    (): Bytes => [...get(ACC), ...get(J), ...(wide ? [...op.i32Const(2), ...op.i32Mul()] : []), ...op.i32Add()]
  const halves = wide ? [0, 1] : [0]
  const rangeLoop = (inner: () => void) => {
    e(get(V0), op.i32Const(16), op.i32Mul(), set(J), get(V1), op.i32Const(16), op.i32Mul(), set(END))
    e(get(J), get(END), op.i32LtU(), op.if_(), op.loop())
    inner()
    e(get(J), op.i32Const(16), op.i32Add(), op.localTee(J), get(END), op.i32LtU(), op.brIf(0))
    e(op.end(), op.end())
  }
  e(get(SRC), set(P), get(ROWS), set(LEFT))
  // Groups of four rows: acc + ((r0 + r1) + (r2 + r3)).
  e(op.block(), op.loop())
  e(get(LEFT), op.i32Const(4), op.i32LtU(), op.brIf(1))
  rangeLoop(() => {
    for (let k = 0; k < 4; k++) e(row(k), set(X + k))
    e(accAt(), set(A))
    for (const half of halves) {
      const at = half * 16
      e(get(A), get(A), op.v128Load(at))
      e(lanes(X, half), lanes(X + 1, half), op.f64x2Add(), lanes(X + 2, half), lanes(X + 3, half), op.f64x2Add())
      e(op.f64x2Add(), op.f64x2Add(), op.v128Store(at))
    }
  })
  e(get(P), get(ROWB), op.i32Const(4), op.i32Mul(), op.i32Add(), set(P))
  e(get(LEFT), op.i32Const(4), op.i32Sub(), set(LEFT), op.br(0))
  e(op.end(), op.end())
  // The rows left, one at a time: acc + r.
  e(op.block(), op.loop())
  e(get(LEFT), op.i32Eqz(), op.brIf(1))
  rangeLoop(() => {
    e(row(0), set(X), accAt(), set(A))
    for (const half of halves) {
      const at = half * 16
      e(get(A), get(A), op.v128Load(at), lanes(X, half), op.f64x2Add(), op.v128Store(at))
    }
  })
  e(get(P), get(ROWB), op.i32Add(), set(P))
  e(get(LEFT), op.i32Const(1), op.i32Sub(), set(LEFT), op.br(0))
  e(op.end(), op.end())
  return encodeModule([{
    name: "sumRows",
    params: [I32, I32, I32, I32, I32, I32],
    locals: [[5, I32], [4, V128]],
    body
  }], memory)
}

const engine = parallelPerDtype(reduceModuleBytes, "sumRows")

/** `Kernels.sumRows`: in the module memory, by columns on every thread, when the data is there; else JavaScript. */
export function sumRowsWasm<A extends FloatArray>(data: A, rows: number, n: number, acc: Float64Array): void {
  const at = arenaOffset(data)
  const is32 = data instanceof Float32Array
  const rowBytes = n * (is32 ? 4 : 8)
  if (at === undefined || rows === 0 || n === 0 || rowBytes % 16 !== 0) {
    sumRowsJs(data, rows, n, acc)
    return
  }
  const vectors = rowBytes / 16
  // The accumulators go through the scratch at address 0 (n float64s).
  const heap = wasmHeap(n * 8)
  heap.f64.set(acc.subarray(0, n), 0)
  runParallel(engine(is32), Math.min(vectors, threadsFor(rows * n, ENTRIES_PER_THREAD)), (t, threads) => {
    const [lo, hi] = share(vectors, t, threads)
    return [at, rowBytes, rows, lo, hi, 0]
  })
  acc.set(wasmHeap(n * 8).f64.subarray(0, n))
}
