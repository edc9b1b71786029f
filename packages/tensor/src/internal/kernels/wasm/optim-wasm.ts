/**
 * Fused optimizer updates as WebAssembly SIMD tasks split across the kernel threads. The optimizer's pass
 * over every parameter is one of the few places a training step spends serial time proportional to the
 * model's size (about 1.3M entries for the reference CNN), and JavaScript computes its square root and
 * division one float64 at a time; here they run four float32 (two float64) lanes at a time on every thread.
 *
 * Operands in the module memory already (tensor data in the arena, `arena.ts`) are read and written where
 * they are; others are copied into vector-padded regions and the results copied out. Each thread updates a
 * contiguous range of whole vectors. Every entry is computed the same way whichever
 * thread takes it, so results do not depend on the thread count. Float64 performs exactly the JavaScript
 * reference's operations (the same bits); float32 computes in float32 lanes. Both flush moments below the
 * smallest normal number to zero, as the reference does.
 *
 * adam(args, v0, v1): `args` points at the ARGS block below; [v0, v1) is the thread's range of vectors.
 */
import { parallelPerDtype, runParallel, share, threadsFor } from "../../threads/pool.ts"
import { adamJs, smallestNormal } from "../js/optim.ts"
import type { AdamArgs, FloatArray } from "../types.ts"
import { arenaOffset, arenaRegionOffset } from "./arena.ts"
import { type Bytes, encodeModule, I32, type MemoryImport, op, V128 } from "./encoder.ts"
import type { WasmDtype } from "./gemm-module.ts"
import { wasmHeap } from "./runtime.ts"

/** The argument block: i32 byte addresses, then the constants in the element type. */
const FIELDS = ["g", "p", "m", "v", "out", "mOut", "vOut", "hasP"] as const
const CONSTANTS = ["b1", "ob1", "b2", "ob2", "a", "e", "tiny"] as const
/** Byte offset of the constants in the argument block, and the block's size (whole vectors). */
const CONST_AT = FIELDS.length * 4
const ARGS_BYTES = 128
/** Entries below which the update stays on one thread. */
const ENTRIES_PER_THREAD = 1 << 16
/** Arrays below this length run the JavaScript loop (the copies and the call cost more than they save). */
const MIN_ENTRIES = 256

/** The module: `adam(args, v0, v1)` for one element type. */
export function optimModuleBytes(dtype: WasmDtype, memory?: MemoryImport): Uint8Array<ArrayBuffer> {
  const f32 = dtype === "f32"
  const elem = f32 ? 4 : 8
  const splat = f32 ? op.v128Load32Splat : op.v128Load64Splat
  const add = f32 ? op.f32x4Add : op.f64x2Add
  const mul = f32 ? op.f32x4Mul : op.f64x2Mul
  const div = f32 ? op.f32x4Div : op.f64x2Div
  const sqrt = f32 ? op.f32x4Sqrt : op.f64x2Sqrt
  const abs = f32 ? op.f32x4Abs : op.f64x2Abs
  const lt = f32 ? op.f32x4Lt : op.f64x2Lt
  const get = op.localGet, set = op.localSet
  // Params: 0 args, 1 v0, 2 v1. i32 locals: the fields, then the byte cursor and end. v128 locals: the
  // constants, then g, m', v'.
  const field = (name: (typeof FIELDS)[number]) => 3 + FIELDS.indexOf(name)
  const I = 3 + FIELDS.length, END = I + 1
  const konst = (name: (typeof CONSTANTS)[number]) => END + 1 + CONSTANTS.indexOf(name)
  const GV = END + 1 + CONSTANTS.length, MV = GV + 1, VV = GV + 2
  const body: Bytes = []
  const e = (...parts: Array<Bytes>) => parts.forEach((x) => body.push(...x))
  FIELDS.forEach((f, k) => e(get(0), op.i32Load(4 * k), set(field(f))))
  CONSTANTS.forEach((c, k) => e(get(0), splat(CONST_AT + k * elem), set(konst(c))))
  e(get(1), op.i32Const(16), op.i32Mul(), set(I), get(2), op.i32Const(16), op.i32Mul(), set(END))
  const at = (name: (typeof FIELDS)[number]) => [...get(field(name)), ...get(I), ...op.i32Add()]
  e(get(I), get(END), op.i32LtU(), op.if_(), op.loop())
  e(at("g"), op.v128Load(0), set(GV))
  // m' = b1 m + (1 - b1) g; v' = b2 v + ((1 - b2) g) g: the reference's order of operations.
  e(get(konst("b1")), at("m"), op.v128Load(0), mul(), get(konst("ob1")), get(GV), mul(), add(), set(MV))
  e(get(konst("b2")), at("v"), op.v128Load(0), mul(), get(konst("ob2")), get(GV), mul(), get(GV), mul(), add(), set(VV))
  // Moments below the smallest normal number are flushed to zero (see `flushTiny`).
  for (const x of [MV, VV]) e(get(x), get(x), abs(), get(konst("tiny")), lt(), op.v128AndNot(), set(x))
  e(at("mOut"), get(MV), op.v128Store(0), at("vOut"), get(VV), op.v128Store(0))
  // u = (a m') / (sqrt(v') + e); out = p + u where there is a p.
  e(get(konst("a")), get(MV), mul(), get(VV), sqrt(), get(konst("e")), add(), div(), set(GV))
  e(get(field("hasP")), op.if_(), at("p"), op.v128Load(0), get(GV), add(), set(GV), op.end())
  e(at("out"), get(GV), op.v128Store(0))
  e(get(I), op.i32Const(16), op.i32Add(), op.localTee(I), get(END), op.i32LtU(), op.brIf(0))
  e(op.end(), op.end())
  return encodeModule([{
    name: "adam",
    params: [I32, I32, I32],
    locals: [[FIELDS.length + 2, I32], [CONSTANTS.length + 3, V128]],
    body
  }], memory)
}

const engine = parallelPerDtype(optimModuleBytes, "adam")

/** `Kernels.adam` on the WebAssembly SIMD module (short arrays take the JavaScript loop). */
export function adamWasm<A extends FloatArray>(args: AdamArgs<A>): void {
  const n = args.g.length
  if (n < MIN_ENTRIES) return adamJs(args)
  const is32 = args.g instanceof Float32Array
  const elem = is32 ? 4 : 8
  const vectors = Math.ceil((n * elem) / 16)
  const region = vectors * 16
  // Operands already in the module memory (tensor data in the arena) are used where they are; the others
  // get a region after the argument block, in FIELDS order. An output is written in place only when it
  // owns a whole arena region (the last vector is written in full).
  const inputs: ReadonlyArray<A | undefined> = [args.g, args.p, args.m, args.v]
  const outputs: ReadonlyArray<A> = [args.out, args.mOut, args.vOut]
  const addresses: Array<number> = []
  let scratch = ARGS_BYTES
  const place = (at: number | undefined): number => {
    if (at !== undefined) return at
    scratch += region
    return scratch - region
  }
  inputs.forEach((data) => addresses.push(data === undefined ? 0 : place(arenaOffset(data))))
  outputs.forEach((data) => addresses.push(place(arenaRegionOffset(data))))
  const heap = wasmHeap(scratch)
  const view: FloatArray = is32 ? heap.f32 : heap.f64
  const words = new Int32Array(heap.f32.buffer, 0, FIELDS.length)
  FIELDS.forEach((f, k) => (words[k] = f === "hasP" ? (args.p === undefined ? 0 : 1) : addresses[k]!))
  const constants = is32 ? heap.f32 : heap.f64
  const { b1, b2, a, e } = args
  ;[b1, 1 - b1, b2, 1 - b2, a, e, smallestNormal(is32)].forEach((c, k) => (constants[CONST_AT / elem + k] = c))
  inputs.forEach((data, k) => {
    if (data !== undefined && arenaOffset(data) === undefined) view.set(data.subarray(0, n), addresses[k]! / elem)
  })
  const fn = engine(is32)
  runParallel(fn, Math.min(vectors, threadsFor(n, ENTRIES_PER_THREAD)), (t, threads) => {
    const [lo, hi] = share(vectors, t, threads)
    return [0, lo, hi]
  })
  outputs.forEach((data, k) => {
    const at = addresses[inputs.length + k]! / elem
    if (arenaRegionOffset(data) === undefined) data.set(view.subarray(at, at + n))
  })
}
