// Runtime twins of ./rules.ts. The order of checks and the start of every message must stay identical to
// the type-level rules (test/typeLevelAgreement.test.ts generates cases to keep them in sync).
import { ShapeError } from "../ShapeError.ts"

type Shape = readonly number[]
type Pair = readonly [number, number]

/** Renders a value the way `ShowValue` does at type level. */
export const showValue = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(showValue).join(", ")}]` : typeof v === "string" ? JSON.stringify(v) : String(v)

export const show = (s: Shape): string => showValue(s)

const isNat = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0
const isPos = (n: unknown): n is number => isNat(n) && n > 0

export const fail = (op: string, summary: string, detail: string = ""): never => {
  throw new ShapeError(op, summary, detail)
}

/** Checks that `s` is an array of non-negative integers. */
export const checkShape = (s: unknown, op: string, what: string = "shape"): Shape => {
  if (!Array.isArray(s) || !s.every(isNat)) {
    return fail(
      op,
      `${op}: invalid ${what} ${Array.isArray(s) ? showValue(s) : String(s)}`,
      "; dimensions must be non-negative integers"
    )
  }
  return s as Shape // checked just above
}

export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1)

// ---------------------------------------------------------------------------------------------------------

export const normalizeAxis = (rank: number, axis: number, op: string = "normalizeAxis"): number => {
  if (!Number.isInteger(axis)) return fail(op, `${op}: axis ${axis} is not an integer`)
  if (axis < -rank || axis >= rank) {
    return fail(op, `${op}: axis ${axis} out of range for rank ${rank}`, `; valid axes are ${-rank}..${rank - 1}`)
  }
  return axis < 0 ? axis + rank : axis
}

const broadcastCore = (a: Shape, b: Shape): Shape | number => {
  const n = Math.max(a.length, b.length)
  const out: Array<number> = new Array(n)
  for (let k = 1; k <= n; k++) {
    const x = a.length - k >= 0 ? a[a.length - k]! : 1
    const y = b.length - k >= 0 ? b[b.length - k]! : 1
    if (x === y || y === 1) out[n - k] = x
    else if (x === 1) out[n - k] = y
    else return k
  }
  return out
}

export const broadcast = (a: Shape, b: Shape, op: string = "broadcast"): Shape => {
  checkShape(a, op)
  checkShape(b, op)
  const r = broadcastCore(a, b)
  if (typeof r === "number") {
    const x = a[a.length - r]!
    const y = b[b.length - r]!
    return fail(
      op,
      `${op}: cannot broadcast ${show(a)} with ${show(b)}`,
      ` (axis -${r}: ${x} vs ${y}); sizes must be equal or 1 along each axis aligned from the right`
    )
  }
  return r
}

export const matmul = (a: Shape, b: Shape, op: string = "matmul"): Shape => {
  checkShape(a, op)
  checkShape(b, op)
  if (a.length < 2) {
    return fail(op, `${op}: first operand must have rank >= 2, got ${show(a)}`, "; reshape a vector to [1, K]")
  }
  if (b.length < 2) {
    return fail(op, `${op}: second operand must have rank >= 2, got ${show(b)}`, "; reshape a vector to [K, 1]")
  }
  const m = a[a.length - 2]!
  const k = a[a.length - 1]!
  const k2 = b[b.length - 2]!
  const n = b[b.length - 1]!
  if (k !== k2) {
    return fail(
      op,
      `${op}: inner dimensions ${k} and ${k2} do not match (${show(a)} x ${show(b)})`,
      "; the last dim of the first operand must equal the second-to-last dim of the second"
    )
  }
  const ba = a.slice(0, -2)
  const bb = b.slice(0, -2)
  const batch = broadcastCore(ba, bb)
  if (typeof batch === "number") {
    return fail(op, `${op}: cannot broadcast batch dimensions ${show(ba)} with ${show(bb)}`)
  }
  return [...batch, m, n]
}

// ---------------------------------------------------------------------------------------------------------
// Convolution and pooling

const toPair = (v: unknown, dflt: Pair): Pair | undefined =>
  v === undefined
    ? dflt
    : typeof v === "number"
    ? [v, v]
    : Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && typeof v[1] === "number"
    ? [v[0], v[1]]
    : undefined

type Pads = "same" | readonly [number, number, number, number]

const toPads = (p: unknown): Pads | undefined => {
  if (p === undefined || p === "valid") return [0, 0, 0, 0]
  if (p === "same") return "same"
  if (typeof p === "number") return [p, p, p, p]
  if (Array.isArray(p) && p.length === 2) {
    const [h, w] = p as ReadonlyArray<unknown>
    if (typeof h === "number" && typeof w === "number") return [h, h, w, w]
    if (Array.isArray(h) && Array.isArray(w) && h.length === 2 && w.length === 2) {
      const all = [h[0], h[1], w[0], w[1]]
      if (all.every((x) => typeof x === "number")) return all as unknown as Pads // checked just above
    }
  }
  return undefined
}

/** Geometry of one spatial axis. */
interface Axis1d {
  readonly out: number
  readonly before: number
  readonly after: number
  readonly effective: number
}

const axis1d = (
  h: number,
  k: number,
  s: number,
  d: number,
  pads: Pads,
  side: 0 | 1,
  what: "conv" | "pool",
  op: string,
  context: string
): Axis1d => {
  const eff = (k - 1) * d + 1
  if (pads === "same") {
    const out = Math.ceil(h / s)
    const total = Math.max((out - 1) * s + eff - h, 0)
    const before = Math.floor(total / 2)
    return { out, before, after: total - before, effective: eff }
  }
  const before = pads[side * 2]!
  const after = pads[side * 2 + 1]!
  const padded = h + before + after
  if (padded < eff) {
    return what === "conv"
      ? fail(
        op,
        `${op}: kernel ${eff} larger than padded input ${padded}`,
        `${context}; use padding "same" or a smaller kernel`
      )
      : fail(
        op,
        `${op}: pool size ${eff} larger than input ${padded}`,
        `${context}; use padding "same" or a smaller pool size`
      )
  }
  return { out: Math.floor((padded - eff) / s) + 1, before, after, effective: eff }
}

/** The geometry of a 2d convolution or pooling window. */
export interface Geometry2d {
  readonly batch: number
  readonly inH: number
  readonly inW: number
  readonly inC: number
  readonly outH: number
  readonly outW: number
  readonly outC: number
  readonly kh: number
  readonly kw: number
  readonly strideH: number
  readonly strideW: number
  readonly dilationH: number
  readonly dilationW: number
  readonly padTop: number
  readonly padBottom: number
  readonly padLeft: number
  readonly padRight: number
  readonly outShape: readonly [number, number, number, number]
}

const checkOption = (op: string, v: unknown, dflt: Pair, what: string): Pair => {
  const p = toPair(v, dflt)
  if (p === undefined || !isPos(p[0]) || !isPos(p[1])) {
    return fail(op, `${op}: ${what} must be positive integers, got ${showValue(v)}`)
  }
  return p
}

export interface Conv2dOpts {
  readonly strides?: number | Pair
  readonly padding?: "valid" | "same" | number | Pair | readonly [Pair, Pair]
  readonly dilation?: number | Pair
}

export const conv2dGeometry = (x: Shape, w: Shape, options: Conv2dOpts = {}, op: string = "conv2d"): Geometry2d => {
  checkShape(x, op, "input shape")
  checkShape(w, op, "kernel shape")
  if (x.length !== 4) return fail(op, `${op}: input must have rank 4 [N, H, W, C], got ${show(x)}`)
  if (w.length !== 4) return fail(op, `${op}: kernel must have rank 4 [KH, KW, C, F], got ${show(w)}`)
  const [n, h, wd, c] = x as readonly [number, number, number, number]
  const [kh, kw, c2, f] = w as readonly [number, number, number, number]
  if (!isPos(kh) || !isPos(kw)) {
    return fail(op, `${op}: kernel size must be positive integers, got ${showValue([kh, kw])}`, ` (kernel ${show(w)})`)
  }
  if (c !== c2) {
    return fail(
      op,
      `${op}: input channels ${c} do not match kernel input channels ${c2}`,
      ` (input ${show(x)}, kernel ${show(w)}); the kernel must be [KH, KW, ${c}, F]`
    )
  }
  const [sh, sw] = checkOption(op, options.strides, [1, 1], "strides")
  const [dh, dw] = checkOption(op, options.dilation, [1, 1], "dilation")
  const pads = toPads(options.padding)
  if (pads === undefined || (pads !== "same" && !pads.every(isNat))) {
    return fail(op, `${op}: padding must be non-negative integers, got ${showValue(options.padding)}`)
  }
  const context = ` (input ${show(x)}, kernel ${show(w)})`
  const ah = axis1d(h, kh, sh, dh, pads, 0, "conv", op, context)
  const aw = axis1d(wd, kw, sw, dw, pads, 1, "conv", op, context)
  return {
    batch: n,
    inH: h,
    inW: wd,
    inC: c,
    outH: ah.out,
    outW: aw.out,
    outC: f,
    kh,
    kw,
    strideH: sh,
    strideW: sw,
    dilationH: dh,
    dilationW: dw,
    padTop: ah.before,
    padBottom: ah.after,
    padLeft: aw.before,
    padRight: aw.after,
    outShape: [n, ah.out, aw.out, f]
  }
}

export interface Conv2dTransposeOpts {
  readonly strides?: number | Pair
  readonly padding?: "valid" | "same"
  readonly dilation?: number | Pair
}

/**
 * A transposed convolution of `y` `[N, H, W, F]` with `w` `[KH, KW, C, F]`: the geometry of the forward
 * convolution `[N, OH, OW, C] -> [N, H, W, F]` it is the transpose of (`outShape` is that convolution's
 * output, `[inH, inW]` the transposed convolution's).
 */
export const conv2dTransposeGeometry = (
  y: Shape,
  w: Shape,
  options: Conv2dTransposeOpts = {},
  op: string = "conv2dTranspose"
): Geometry2d => {
  checkShape(y, op, "input shape")
  checkShape(w, op, "kernel shape")
  if (y.length !== 4) return fail(op, `${op}: input must have rank 4 [N, H, W, F], got ${show(y)}`)
  if (w.length !== 4) return fail(op, `${op}: kernel must have rank 4 [KH, KW, C, F], got ${show(w)}`)
  const [n, h, wd, f] = y as readonly [number, number, number, number]
  const [kh, kw, c, f2] = w as readonly [number, number, number, number]
  if (!isPos(kh) || !isPos(kw)) {
    return fail(op, `${op}: kernel size must be positive integers, got ${showValue([kh, kw])}`, ` (kernel ${show(w)})`)
  }
  if (f !== f2) {
    return fail(
      op,
      `${op}: input channels ${f} do not match the kernel's last axis ${f2}`,
      ` (input ${show(y)}, kernel ${show(w)}); the kernel must be [KH, KW, C, ${f}]`
    )
  }
  const [sh, sw] = checkOption(op, options.strides, [1, 1], "strides")
  const [dh, dw] = checkOption(op, options.dilation, [1, 1], "dilation")
  const padding: unknown = options.padding
  if (padding !== undefined && padding !== "valid" && padding !== "same") {
    return fail(op, `${op}: padding must be "valid" or "same", got ${showValue(padding)}`)
  }
  const along = (
    i: number,
    k: number,
    s: number,
    d: number
  ) => (padding === "same" ? i * s : (i - 1) * s + (k - 1) * d + 1)
  const geometry = conv2dGeometry([n, along(h, kh, sh, dh), along(wd, kw, sw, dw), c], w, {
    strides: [sh, sw],
    dilation: [dh, dw],
    padding: padding ?? "valid"
  }, op)
  return geometry
}

export const conv2dTranspose = (
  y: Shape,
  w: Shape,
  options: Conv2dTransposeOpts = {},
  op: string = "conv2dTranspose"
): Shape => {
  const g = conv2dTransposeGeometry(y, w, options, op)
  return [g.batch, g.inH, g.inW, g.inC]
}

export interface Pool2dOpts {
  readonly poolSize: number | Pair
  readonly strides?: number | Pair
  readonly padding?: "valid" | "same" | number | Pair | readonly [Pair, Pair]
}

export const pool2dGeometry = (x: Shape, options: Pool2dOpts, op: string = "maxPool2d"): Geometry2d => {
  checkShape(x, op, "input shape")
  if (x.length !== 4) return fail(op, `${op}: input must have rank 4 [N, H, W, C], got ${show(x)}`)
  const [n, h, wd, c] = x as readonly [number, number, number, number]
  const [kh, kw] = checkOption(op, options.poolSize, [0, 0], "pool size")
  const [sh, sw] = checkOption(op, options.strides, [kh, kw], "strides")
  const pads = toPads(options.padding)
  if (pads === undefined || (pads !== "same" && !pads.every(isNat))) {
    return fail(op, `${op}: padding must be non-negative integers, got ${showValue(options.padding)}`)
  }
  if (pads !== "same") {
    const sizes = [kh, kh, kw, kw]
    const i = pads.findIndex((p, j) => p >= sizes[j]!)
    if (i >= 0) {
      return fail(
        op,
        `${op}: padding ${pads[i]} must be smaller than pool size ${sizes[i]}`,
        ` (input ${show(x)}, pool size ${showValue([kh, kw])}); a window would hold only padding`
      )
    }
  }
  const context = ` (input ${show(x)}, pool size ${showValue([kh, kw])})`
  const ah = axis1d(h, kh, sh, 1, pads, 0, "pool", op, context)
  const aw = axis1d(wd, kw, sw, 1, pads, 1, "pool", op, context)
  return {
    batch: n,
    inH: h,
    inW: wd,
    inC: c,
    outH: ah.out,
    outW: aw.out,
    outC: c,
    kh,
    kw,
    strideH: sh,
    strideW: sw,
    dilationH: 1,
    dilationW: 1,
    padTop: ah.before,
    padBottom: ah.after,
    padLeft: aw.before,
    padRight: aw.after,
    outShape: [n, ah.out, aw.out, c]
  }
}

// ---------------------------------------------------------------------------------------------------------

export const pad = (s: Shape, paddings: ReadonlyArray<Pair>, op: string = "pad"): Shape => {
  checkShape(s, op)
  if (!Array.isArray(paddings) || paddings.length !== s.length) {
    return fail(
      op,
      `${op}: expected ${s.length} [before, after] pairs for rank ${s.length}, got ${
        Array.isArray(paddings) ? paddings.length : String(paddings)
      }`
    )
  }
  if (!paddings.every((p) => Array.isArray(p) && p.length === 2 && isNat(p[0]) && isNat(p[1]))) {
    return fail(op, `${op}: paddings must be non-negative integers, got ${showValue(paddings)}`)
  }
  return s.map((d, i) => d + paddings[i]![0] + paddings[i]![1])
}

export const reshape = (s: Shape, t: Shape, op: string = "reshape"): Shape => {
  checkShape(s, op)
  let minus = 0
  let prod = 1
  for (const d of t) {
    if (d === -1) minus++
    else if (isNat(d)) prod *= d
    else {return fail(
        op,
        `${op}: invalid target dimension ${d} in ${show(t)}`,
        "; use non-negative integers and at most one -1"
      )}
  }
  if (minus > 1) return fail(op, `${op}: at most one -1 allowed, got ${show(t)}`)
  const total = size(s)
  const bad = (): never =>
    fail(op, `${op}: cannot reshape ${show(s)} (${total} elements) into ${show(t)}`, "; the element counts must match")
  if (minus === 0) return total === prod ? [...t] : bad()
  if (prod === 0 || total % prod !== 0) return bad()
  return t.map((d) => (d === -1 ? total / prod : d))
}

export const flatten = (s: Shape, op: string = "flatten"): Shape => {
  checkShape(s, op)
  if (s.length === 0) return fail(op, `${op}: expected rank >= 1, got []`, "; a scalar has no batch axis to keep")
  return [s[0]!, size(s.slice(1))]
}

export const concat = (shapes: ReadonlyArray<Shape>, axis: number, op: string = "concat"): Shape => {
  if (shapes.length === 0) return fail(op, `${op}: expected at least one shape`)
  shapes.forEach((s) => checkShape(s, op))
  const first = shapes[0]!
  const a = normalizeAxis(first.length, axis, op)
  const out = [...first]
  for (const s of shapes.slice(1)) {
    if (s.length !== first.length) {
      return fail(op, `${op}: shapes ${show(first)} and ${show(s)} have different ranks`)
    }
    for (let i = 0; i < s.length; i++) {
      if (i === a) out[i] = out[i]! + s[i]!
      else if (out[i] !== s[i]) {
        return fail(
          op,
          `${op}: shapes ${show(first)} and ${show(s)} differ at axis ${i}`,
          `; only axis ${a} may differ`
        )
      }
    }
  }
  return out
}

export const reduce = (
  s: Shape,
  axes: number | ReadonlyArray<number> | undefined,
  keepDims: boolean = false,
  op: string = "reduce"
): Shape => {
  checkShape(s, op)
  if (axes === undefined) return keepDims ? s.map(() => 1) : []
  const list = typeof axes === "number" ? [axes] : axes
  const seen = new Set<number>()
  for (const a of list) {
    const n = normalizeAxis(s.length, a, op)
    if (seen.has(n)) return fail(op, `${op}: duplicate axis ${a} in ${showValue(axes)}`)
    seen.add(n)
  }
  const out: Array<number> = []
  s.forEach((d, i) => {
    if (!seen.has(i)) out.push(d)
    else if (keepDims) out.push(1)
  })
  return out
}

export const transpose = (s: Shape, perm?: ReadonlyArray<number>, op: string = "transpose"): Shape => {
  checkShape(s, op)
  if (perm === undefined) return s.toReversed()
  if (perm.length !== s.length) {
    return fail(op, `${op}: permutation ${show(perm)} has length ${perm.length}, expected rank ${s.length}`)
  }
  const seen = new Set<number>()
  for (const p of perm) {
    if (!isNat(p) || p >= s.length || seen.has(p)) {
      return fail(
        op,
        `${op}: ${show(perm)} is not a permutation of the axes of rank ${s.length}`,
        `; use each of 0..${s.length - 1} once`
      )
    }
    seen.add(p)
  }
  return perm.map((p) => s[p]!)
}

export const conv2d = (x: Shape, w: Shape, options: Conv2dOpts = {}, op: string = "conv2d"): Shape =>
  conv2dGeometry(x, w, options, op).outShape

export const pool2d = (x: Shape, options: Pool2dOpts, op: string = "maxPool2d"): Shape =>
  pool2dGeometry(x, options, op).outShape

export const squeeze = (s: Shape, axis: number | undefined, op: string = "squeeze"): Shape => {
  checkShape(s, op)
  if (axis === undefined) return s.filter((d) => d !== 1)
  const a = normalizeAxis(s.length, axis, op)
  if (s[a] !== 1) return fail(op, `${op}: cannot squeeze axis ${axis} of size ${s[a]} in ${show(s)}`)
  return s.filter((_, i) => i !== a)
}

export const expandDims = (s: Shape, axis: number, op: string = "expandDims"): Shape => {
  checkShape(s, op)
  const a = normalizeAxis(s.length + 1, axis, op)
  return [...s.slice(0, a), 1, ...s.slice(a)]
}

export const stack = (shapes: ReadonlyArray<Shape>, axis: number, op: string = "stack"): Shape => {
  if (shapes.length === 0) return fail(op, `${op}: expected at least one shape`)
  shapes.forEach((s) => checkShape(s, op))
  const first = shapes[0]!
  const a = normalizeAxis(first.length + 1, axis, op)
  for (const s of shapes.slice(1)) {
    if (s.length !== first.length) {
      return fail(op, `${op}: shapes ${show(first)} and ${show(s)} have different ranks`)
    }
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== first[i]) {
        return fail(
          op,
          `${op}: shapes ${show(first)} and ${show(s)} differ at axis ${i}`,
          "; stacked tensors must have equal shapes"
        )
      }
    }
  }
  return [...first.slice(0, a), shapes.length, ...first.slice(a)]
}

export const slice = (s: Shape, begin: Shape, extent: Shape, op: string = "slice"): Shape => {
  checkShape(s, op)
  if (begin.length !== s.length || extent.length !== s.length) {
    return fail(
      op,
      `${op}: begin ${showValue(begin)} and size ${showValue(extent)} must have one entry per axis of ${show(s)}`
    )
  }
  const out = extent.map((z, i) => (z === -1 ? s[i]! - begin[i]! : z))
  for (let i = 0; i < s.length; i++) {
    const b = begin[i]!
    const z = out[i]!
    if (!Number.isInteger(b) || !Number.isInteger(z) || b < 0 || z < 0 || b + z > s[i]!) {
      return fail(op, `${op}: box ${showValue(begin)} + ${show(out)} does not fit in shape ${show(s)} at axis ${i}`)
    }
  }
  return out
}

export const oneHot = (s: Shape, depth: number, op: string = "oneHot"): Shape => {
  checkShape(s, op)
  if (!Number.isInteger(depth) || depth <= 0) return fail(op, `${op}: depth must be a positive integer, got ${depth}`)
  return [...s, depth]
}

export const gather = (x: Shape, indices: Shape, axis: number, op: string = "gather"): Shape => {
  checkShape(x, op)
  checkShape(indices, op)
  const a = normalizeAxis(x.length, axis, op)
  return [...x.slice(0, a), ...indices, ...x.slice(a + 1)]
}
