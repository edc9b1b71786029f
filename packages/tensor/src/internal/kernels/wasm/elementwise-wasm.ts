/**
 * Elementwise passes of the training step's backward pass as WebAssembly SIMD tasks split across the
 * kernel threads. They are memory bound, so they pay only where their operands are in the module memory
 * already (tensor data in the arena, `arena.ts`): then nothing is copied and each thread streams its range
 * of whole vectors. Otherwise they run the JavaScript loop.
 *
 * reluBackward(ct, y, out, v0, v1): out = ct & (y > 0) lane by lane over vectors [v0, v1): ct's bits where
 * y > 0, else +0 (NaN in y gives +0), the JavaScript reference's bits.
 */
import { parallelPerDtype, runParallel, share, threadsFor } from "../../threads/pool.ts"
import { reluBackward as reluBackwardJs } from "../js/fused.ts"
import type { FloatArray } from "../types.ts"
import { arenaOffset, arenaRegionOffset } from "./arena.ts"
import { type Bytes, encodeModule, I32, type MemoryImport, op } from "./encoder.ts"
import type { WasmDtype } from "./gemm-module.ts"

/** Entries below which a pass stays on one thread. */
const ENTRIES_PER_THREAD = 1 << 16

/** The module: `reluBackward(ct, y, out, v0, v1)` for one element type. */
export function elementwiseModuleBytes(dtype: WasmDtype, memory?: MemoryImport): Uint8Array<ArrayBuffer> {
  const gt = dtype === "f32" ? op.f32x4Gt : op.f64x2Gt
  const get = op.localGet, set = op.localSet
  // Params: 0 ct, 1 y, 2 out, 3 v0, 4 v1. Locals: 5 byte cursor, 6 end.
  const I = 5, END = 6
  const body: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => body.push(...x))
  const at = (base: number) => [...get(base), ...get(I), ...op.i32Add()]
  e(get(3), op.i32Const(16), op.i32Mul(), set(I), get(4), op.i32Const(16), op.i32Mul(), set(END))
  e(get(I), get(END), op.i32LtU(), op.if_(), op.loop())
  e(at(2), at(0), op.v128Load(0), at(1), op.v128Load(0), op.v128Zero(), gt(), op.v128And(), op.v128Store(0))
  e(get(I), op.i32Const(16), op.i32Add(), op.localTee(I), get(END), op.i32LtU(), op.brIf(0))
  e(op.end(), op.end())
  return encodeModule([{
    name: "reluBackward",
    params: [I32, I32, I32, I32, I32],
    locals: [[2, I32]],
    body
  }], memory)
}

const engine = parallelPerDtype(elementwiseModuleBytes, "reluBackward")

/** `Kernels.reluBackward`: in the module memory on every thread when the operands are there, else JavaScript. */
export function reluBackwardWasm<A extends FloatArray>(ct: A, y: A, out: A, n: number): void {
  const ctAt = arenaOffset(ct), yAt = arenaOffset(y)
  // The output's last vector is written in full: only into a region it owns, of exactly n elements.
  const outAt = out.length === n ? arenaRegionOffset(out) : undefined
  if (ctAt === undefined || yAt === undefined || outAt === undefined || n === 0) {
    reluBackwardJs(ct, y, out, n)
    return
  }
  const is32 = out instanceof Float32Array
  const vectors = Math.ceil((n * (is32 ? 4 : 8)) / 16)
  runParallel(engine(is32), Math.min(vectors, threadsFor(n, ENTRIES_PER_THREAD)), (t, threads) => {
    const [lo, hi] = share(vectors, t, threads)
    return [ctAt, yAt, outAt, lo, hi]
  })
}
