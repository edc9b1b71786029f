/**
 * A tiny WebAssembly binary encoder: just the sections and instructions the kernels need. Modules are
 * generated as bytes at load time, so there is no build step and no committed binary artifact.
 */

export type Bytes = Array<number>

export const I32 = 0x7f
export const V128 = 0x7b
export const F32 = 0x7d
export const F64 = 0x7c

export function uleb(value: number): Bytes {
  const out: Bytes = []
  let v = value >>> 0
  do {
    let byte = v & 0x7f
    v >>>= 7
    if (v !== 0) byte |= 0x80
    out.push(byte)
  } while (v !== 0)
  return out
}

export function sleb(value: number): Bytes {
  const out: Bytes = []
  let v = value | 0
  for (;;) {
    const byte = v & 0x7f
    v >>= 7
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)
    out.push(done ? byte : byte | 0x80)
    if (done) return out
  }
}

function name(s: string): Bytes {
  const bytes = Array.from(new TextEncoder().encode(s))
  return [...uleb(bytes.length), ...bytes]
}

function vec(items: ReadonlyArray<Bytes>): Bytes {
  return [...uleb(items.length), ...items.flat()]
}

function section(id: number, content: Bytes): Bytes {
  return [id, ...uleb(content.length), ...content]
}

/** Instruction emitters (each returns its encoded bytes). */
export const op = {
  block: (): Bytes => [0x02, 0x40],
  loop: (): Bytes => [0x03, 0x40],
  if_: (): Bytes => [0x04, 0x40],
  else_: (): Bytes => [0x05],
  end: (): Bytes => [0x0b],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  localGet: (i: number): Bytes => [0x20, ...uleb(i)],
  localSet: (i: number): Bytes => [0x21, ...uleb(i)],
  localTee: (i: number): Bytes => [0x22, ...uleb(i)],
  i32Const: (v: number): Bytes => [0x41, ...sleb(v)],
  i32Eqz: (): Bytes => [0x45],
  i32Add: (): Bytes => [0x6a],
  i32Sub: (): Bytes => [0x6b],
  i32Mul: (): Bytes => [0x6c],
  i32Ne: (): Bytes => [0x47],
  i32LtS: (): Bytes => [0x48],
  i32LtU: (): Bytes => [0x49],
  i32GeS: (): Bytes => [0x4e],
  i32LeS: (): Bytes => [0x4c],
  i32DivU: (): Bytes => [0x6e],
  i32RemU: (): Bytes => [0x70],
  i32And: (): Bytes => [0x71],
  i32Or: (): Bytes => [0x72],
  select: (): Bytes => [0x1b],
  call: (func: number): Bytes => [0x10, ...uleb(func)],
  /** Atomically adds to the i32 at the address and returns its old value (threads proposal). */
  i32AtomicRmwAdd: (offset: number): Bytes => [0xfe, ...uleb(0x1e), 2, ...uleb(offset)],
  i32Load: (offset: number): Bytes => [0x28, 2, ...uleb(offset)],
  f32Load: (offset: number): Bytes => [0x2a, 2, ...uleb(offset)],
  f64Load: (offset: number): Bytes => [0x2b, 3, ...uleb(offset)],
  f32Store: (offset: number): Bytes => [0x38, 2, ...uleb(offset)],
  f64Store: (offset: number): Bytes => [0x39, 3, ...uleb(offset)],
  f32Zero: (): Bytes => [0x43, 0, 0, 0, 0],
  f64Zero: (): Bytes => [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  v128Load: (offset: number): Bytes => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  v128Store: (offset: number): Bytes => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  v128Load32Splat: (offset: number): Bytes => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  v128Load64Splat: (offset: number): Bytes => [0xfd, ...uleb(0x0a), 3, ...uleb(offset)],
  v128Zero: (): Bytes => [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Add: (): Bytes => [0xfd, ...uleb(0xe4)],
  f32x4Mul: (): Bytes => [0xfd, ...uleb(0xe6)],
  f32x4Abs: (): Bytes => [0xfd, ...uleb(0xe0)],
  f32x4Lt: (): Bytes => [0xfd, ...uleb(0x43)],
  f32x4Sqrt: (): Bytes => [0xfd, ...uleb(0xe3)],
  f32x4Div: (): Bytes => [0xfd, ...uleb(0xe7)],
  f64x2Add: (): Bytes => [0xfd, ...uleb(0xf0)],
  f64x2Abs: (): Bytes => [0xfd, ...uleb(0xec)],
  f64x2Lt: (): Bytes => [0xfd, ...uleb(0x49)],
  f64x2Sqrt: (): Bytes => [0xfd, ...uleb(0xef)],
  f64x2Div: (): Bytes => [0xfd, ...uleb(0xf3)],
  f64x2Mul: (): Bytes => [0xfd, ...uleb(0xf2)],
  /** Relaxed SIMD: a * b + c, fused or not as the hardware does it (one result per engine and machine). */
  f32x4RelaxedMadd: (): Bytes => [0xfd, ...uleb(0x105)],
  f64x2RelaxedMadd: (): Bytes => [0xfd, ...uleb(0x107)],
  f32x4Gt: (): Bytes => [0xfd, ...uleb(0x44)],
  f64x2Gt: (): Bytes => [0xfd, ...uleb(0x4a)],
  v128Not: (): Bytes => [0xfd, ...uleb(0x4d)],
  v128And: (): Bytes => [0xfd, ...uleb(0x4e)],
  /** a & ~b */
  v128AndNot: (): Bytes => [0xfd, ...uleb(0x4f)],
  v128Or: (): Bytes => [0xfd, ...uleb(0x50)],
  /** pmax(a, b) = a < b ? b : a (so pmax(0, x) is relu with NaN -> 0) */
  f32x4Pmax: (): Bytes => [0xfd, ...uleb(0xeb)],
  f64x2Pmax: (): Bytes => [0xfd, ...uleb(0xf7)],
  /** The two low f32 lanes, widened to f64 (exactly). */
  f64x2PromoteLowF32x4: (): Bytes => [0xfd, ...uleb(0x5f)],
  /** Bytes of a then b picked by 16 lane indices (0-15 from a, 16-31 from b). */
  i8x16Shuffle: (lanes: ReadonlyArray<number>): Bytes => [0xfd, ...uleb(0x0d), ...lanes],
  /** bitselect(a, b, mask) = (a & mask) | (b & ~mask) */
  v128Bitselect: (): Bytes => [0xfd, ...uleb(0x52)]
}

export interface FuncDef {
  readonly name: string
  readonly params: ReadonlyArray<number>
  /** Extra locals as [count, type] groups, numbered after the params. */
  readonly locals: ReadonlyArray<readonly [number, number]>
  readonly body: Bytes
}

/** How a module declares the memory it imports: plain, or shared (threads) with a maximum in pages. */
export type MemoryImport = { readonly shared: false } | { readonly shared: true; readonly maximumPages: number }

/**
 * A module importing one memory as env.memory and exporting the given functions (no results). The memory
 * import must match the memory it is instantiated with: a shared memory needs `shared: true` and a
 * declared maximum at least the memory's.
 */
export function encodeModule(
  funcs: ReadonlyArray<FuncDef>,
  memory: MemoryImport = { shared: false }
): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0])
  const limits = memory.shared ? [0x03, 1, ...uleb(memory.maximumPages)] : [0x00, 1]
  const imports = vec([[...name("env"), ...name("memory"), 0x02, ...limits]])
  const funcIdx = vec(funcs.map((_, i) => uleb(i)))
  const exports = vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))
  const bodies = funcs.map((f) => {
    const body = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, 0x0b]
    return [...uleb(body.length), ...body]
  })
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcIdx),
    ...section(7, exports),
    ...section(10, vec(bodies))
  ]
  return new Uint8Array(bytes)
}
