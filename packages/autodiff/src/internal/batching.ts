/**
 * The batching interpreter behind `vmap`.
 *
 * `vmap(f)` opens a batch trace and wraps each mapped input in a batch tracer: a tensor that carries the
 * trace and holds the whole batch (`value`, with the mapped axis moved to 0), while showing `f` the shape
 * of one example. Every primitive applied to a batch tracer is handed to the trace (`bind` in the tensor
 * package), which unwraps its own tracers into `{ value, batched }` pairs and applies the primitive's
 * batching rule: one rule per primitive name in `rules` below, each of which computes the whole batch with
 * one (or a few) applications of ordinary primitives, re-bound so that enclosing traces (`grad`, an outer
 * `vmap`) see them as ordinary ops on their own tracers. A primitive without a rule goes through
 * `fallback`, which slices the batch, applies the primitive to each example and stacks the results: slower,
 * but every program works.
 *
 * Traces of every kind draw their levels from one counter (`newLevel` in `reverse.ts`), so `vmap(grad(f))`,
 * `grad(vmap(f))` and `vmap(vmap(f))` nest like the reverse traces do among themselves.
 *
 * A batch tracer's `data` is a view of the first example's entries (the buffer a tensor of its shape would
 * have). Kernels never see it (they run on the values), but code that reads a tensor's entries inside a
 * mapped function (`Tensor.toArray`, `Tensor.item`) reads the first example's: values are not concrete
 * under `vmap`, as in JAX.
 *
 * @internal
 */
import { Tensor } from "@typegrad/tensor"
import {
  alloc,
  bind,
  type Conv2dGeometry,
  fromImpl,
  isFloat,
  type Primitive,
  sizeOf,
  subView,
  TensorImpl,
  toImpl,
  type Trace
} from "@typegrad/tensor/internal"
import { newLevel } from "./reverse.ts"

/** A tensor as a batching rule sees it: its value, whose axis 0 is the batch axis when `batched`. */
export interface Batched {
  readonly value: TensorImpl
  readonly batched: boolean
}

/** A tensor that is being batched by one trace: the whole batch in `value`, the shape of one example. */
export class BatchTracer extends TensorImpl {
  readonly value: TensorImpl

  constructor(value: TensorImpl, trace: BatchTrace) {
    const shape = value.shape.slice(1)
    const n = sizeOf(shape)
    super(shape, value.dtype, trace.size > 0 ? subView(value.data, 0, n) : alloc(value.dtype, n), trace)
    this.value = value
  }
}

/**
 * A batching rule: the inputs (at least one batched) and params of one application, the batch size; the
 * output, batched or not. Rules apply primitives with `bind` (or the public ops), never kernels directly.
 */
export type BatchRule = (
  primitive: Primitive,
  inputs: ReadonlyArray<Batched>,
  params: unknown,
  size: number
) => Batched

export class BatchTrace implements Trace {
  readonly level: number = newLevel()
  /** The size of the mapped axis. */
  readonly size: number

  constructor(size: number) {
    this.size = size
  }

  /** Wraps a batch whose axis 0 is the mapped axis. */
  wrap(value: TensorImpl): BatchTracer {
    return new BatchTracer(value, this)
  }

  /** The value of a tensor as this trace sees it. */
  unwrap(t: TensorImpl): Batched {
    return t.trace === this ? { value: (t as BatchTracer).value, batched: true } : { value: t, batched: false }
  }

  readonly process = (primitive: Primitive, inputs: ReadonlyArray<TensorImpl>, params: unknown): TensorImpl => {
    const args = inputs.map((t) => this.unwrap(t))
    const rule = Object.hasOwn(rules, primitive.name) ? rules[primitive.name]! : fallback
    const out = rule(primitive, args, params, this.size)
    return out.batched ? this.wrap(out.value) : out.value
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers (on values; the public ops bind, so enclosing traces record them)
// ---------------------------------------------------------------------------------------------------------

type T = Tensor.AnyTensor
const pub = (t: TensorImpl): T => fromImpl(t)
const batched = (value: TensorImpl): Batched => ({ value, batched: true })

const reshape = (v: TensorImpl, shape: ReadonlyArray<number>): TensorImpl => toImpl(Tensor.reshape(pub(v), shape) as T)

/** Moves axis `from` of `v` to position `to`. */
export const moveAxis = (v: TensorImpl, from: number, to: number): TensorImpl => {
  if (from === to) return v
  const perm = v.shape.map((_, i) => i).filter((i) => i !== from)
  perm.splice(to, 0, from)
  return toImpl(Tensor.transpose(pub(v), perm) as T)
}

/** An unbatched value repeated `size` times along a new axis 0. */
export const broadcastBatch = (v: TensorImpl, size: number): TensorImpl =>
  toImpl(Tensor.broadcastTo(pub(v), [size, ...v.shape]) as T)

/** Every input batched (unbatched ones repeated), as values. */
const allBatched = (inputs: ReadonlyArray<Batched>, size: number): Array<TensorImpl> =>
  inputs.map((a) => (a.batched ? a.value : broadcastBatch(a.value, size)))

/** A batched value whose examples have rank `rank` (>= theirs): unit axes inserted after the batch axis. */
const withExampleRank = (v: TensorImpl, rank: number): TensorImpl => {
  const r = v.rank - 1
  return r >= rank ? v : reshape(v, [v.shape[0]!, ...new Array<number>(rank - r).fill(1), ...v.shape.slice(1)])
}

/** Example `i` of a batched value. */
const example = (v: TensorImpl, i: number): TensorImpl => {
  const rest = v.shape.slice(1)
  const one = Tensor.slice(pub(v), [i, ...rest.map(() => 0)], [1, ...rest]) as T
  return toImpl(Tensor.reshape(one, rest) as T)
}

/** The indices of `gather`/`oneHot` of a whole batch, checked as the op checks one example's. */
const checkIndices = (op: string, ix: TensorImpl, n: number): void => {
  // The buffer as the value shows it: a reverse tracer its primal's; a batch tracer of an enclosing vmap
  // only its first example's (that vmap checks the rest when the indices reach its own rule).
  const d = ix.data
  for (let j = 0; j < d.length; j++) {
    const v = d[j]!
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new RangeError(`${op}: index ${v} at position ${j} of the batch is not an integer in [0, ${n}) (vmap)`)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------------------

/**
 * The generic rule, for primitives without a vectorized one: apply the primitive to each example (the
 * unbatched inputs shared) and stack the results. Correct for every primitive whose params describe one
 * example, which is all of them; it costs one application per example.
 */
export const fallback: BatchRule = (p, inputs, params, size) => {
  if (size === 0) {
    const probe = bind(
      p,
      inputs.map((a) => (a.batched ? toImpl(Tensor.zeros(a.value.shape.slice(1), { dtype: a.value.dtype })) : a.value)),
      params
    )
    return batched(toImpl(Tensor.zeros([0, ...probe.shape], { dtype: probe.dtype })))
  }
  const outs: Array<T> = []
  for (let i = 0; i < size; i++) {
    outs.push(pub(bind(p, inputs.map((a) => (a.batched ? example(a.value, i) : a.value)), params)))
  }
  return batched(toImpl(Tensor.stack(outs) as T))
}

/** Elementwise ops of one input (their params, if any, do not depend on the shape). */
const unary: BatchRule = (p, [a], params) => batched(bind(p, [a!.value], params))

/**
 * Elementwise ops with NumPy broadcasting: a batched operand whose examples have a lower rank than the
 * result's gets unit axes after its batch axis, so that its dims stay aligned with the other operands'
 * trailing dims; unbatched operands broadcast as they are.
 */
const broadcasting: BatchRule = (p, inputs, params) => {
  const rank = Math.max(...inputs.map((a) => (a.batched ? a.value.rank - 1 : a.value.rank)))
  return batched(bind(p, inputs.map((a) => (a.batched ? withExampleRank(a.value, rank) : a.value)), params))
}

/** Elementwise ops whose operands have one shape (no broadcasting in the kernel). */
const sameShape: BatchRule = (p, inputs, params, size) => batched(bind(p, allBatched(inputs, size), params))

interface ReduceParams {
  readonly reduced: ReadonlyArray<boolean>
  readonly shape: ReadonlyArray<number>
}

/** `firstMaxMask`: the batch axis is kept. */
const keepBatchAxis: BatchRule = (p, [a], params, size) => {
  const { reduced, shape } = params as ReduceParams
  return batched(bind(p, [a!.value], { reduced: [false, ...reduced], shape: [size, ...shape] }))
}

/**
 * `sum`, `max`: the batch axis is kept, placed where the kernel adds each example's entries in the order
 * it adds them for one example (so float64 results equal the per-example loop's bit for bit): in front when
 * the last axis is reduced, else last (the kernel sums a leading axis four rows at a time, and the batch
 * axis behind the kept ones keeps that grouping), with a transpose on each side.
 */
const reduction: BatchRule = (p, [a], params, size) => {
  const { reduced, shape } = params as ReduceParams
  if (reduced.length === 0 || reduced[reduced.length - 1]) return keepBatchAxis(p, [a!], params, size)
  const v = moveAxis(a!.value, 0, a!.value.rank - 1)
  const out = bind(p, [v], { reduced: [...reduced, false], shape: [...shape, size] })
  return batched(moveAxis(out, out.rank - 1, 0))
}

interface ArgReduceParams {
  readonly axis: number | undefined
  readonly shape: ReadonlyArray<number>
}

/** `argmax`, `argmin`: along the axis shifted by one; over each example flattened when there is no axis. */
const argReduction: BatchRule = (p, [a], params, size) => {
  const { axis, shape } = params as ArgReduceParams
  if (axis !== undefined) {
    return batched(bind(p, [a!.value], { ...(params as object), axis: axis + 1, shape: [size, ...shape] }))
  }
  const flat = reshape(a!.value, [size, sizeOf(a!.value.shape.slice(1))])
  return batched(reshape(bind(p, [flat], { ...(params as object), axis: 1, shape: [size] }), [size, ...shape]))
}

/** Ops whose params are the output `shape` only (`reshape`). */
const reshapeRule: BatchRule = (p, [a], params, size) => {
  const { shape } = params as { readonly shape: ReadonlyArray<number> }
  return batched(bind(p, [a!.value], { ...(params as object), shape: [size, ...shape] }))
}

const transposeRule: BatchRule = (p, [a], params) => {
  const { perm } = params as { readonly perm: ReadonlyArray<number> }
  return batched(bind(p, [a!.value], { perm: [0, ...perm.map((q) => q + 1)] }))
}

/** `slice`, `pad`: a window that takes the whole batch axis. */
const windowRule: BatchRule = (p, [a], params, size) => {
  const { begin, shape } = params as { readonly begin: ReadonlyArray<number>; readonly shape: ReadonlyArray<number> }
  return batched(bind(p, [a!.value], { begin: [0, ...begin], shape: [size, ...shape] }))
}

const concatRule: BatchRule = (p, inputs, params, size) => {
  const { axis, shape } = params as { readonly axis: number; readonly shape: ReadonlyArray<number> }
  return batched(bind(p, allBatched(inputs, size), { axis: axis + 1, shape: [size, ...shape] }))
}

const oneHotRule: BatchRule = (p, [ix], params, size) => {
  const { depth, shape } = params as { readonly depth: number; readonly shape: ReadonlyArray<number> }
  checkIndices("oneHot", ix!.value, depth)
  return batched(bind(p, [ix!.value], { ...(params as object), depth, shape: [size, ...shape] }))
}

interface GatherParams {
  readonly axis: number
  readonly shape: ReadonlyArray<number>
}

/**
 * A batch of indices `[B, ...I]` into `n` rows each, offset to index one table of `B * n` rows (example b's
 * at `b * n`); `undefined` when the offsets would not be exact in the indices' dtype.
 */
const exampleOffsets = (ix: TensorImpl, n: number, size: number): TensorImpl | undefined => {
  // int32 indices are offset in float64 (exact past int32's range; gather takes float indices too).
  const base = isFloat(ix) ? pub(ix) : Tensor.cast(fromImpl<Tensor.Shape, Tensor.AnyDType>(ix), "float64")
  if (size * n > (base.dtype === "float32" ? 2 ** 24 : 2 ** 53)) return undefined
  const shape = [size, ...ix.shape.slice(1).map(() => 1)]
  const offsets = Tensor.fromArray(Array.from({ length: size }, (_, b) => b * n), shape, { dtype: base.dtype })
  return toImpl(Tensor.add(base, offsets) as T)
}

/**
 * `gather(x, ix)`: along the shifted axis for a batch of `x`; a batch of indices into a shared `x` gives the
 * batch axis where the indices go, moved to the front; both batched, one gather from the tables laid end to
 * end (`exampleOffsets`).
 */
const gatherRule: BatchRule = (p, inputs, params, size) => {
  const [x, ix] = inputs as readonly [Batched, Batched]
  const { axis, shape } = params as GatherParams
  if (x.batched && !ix.batched) {
    return batched(bind(p, [x.value, ix.value], { axis: axis + 1, shape: [size, ...shape] }))
  }
  if (!x.batched && ix.batched) {
    checkIndices("gather", ix.value, x.value.shape[axis]!)
    const xs = x.value.shape
    const out = bind(p, [x.value, ix.value], {
      axis,
      shape: [...xs.slice(0, axis), ...ix.value.shape, ...xs.slice(axis + 1)]
    })
    return batched(moveAxis(out, axis, 0))
  }
  const n = x.value.shape[axis + 1]!
  const offsets = exampleOffsets(ix.value, n, size)
  if (offsets === undefined) return fallback(p, inputs, params, size)
  checkIndices("gather", ix.value, n)
  // Both batched: example b's table is rows [b * n, (b + 1) * n) of one table with the batch next to the axis.
  const xs = x.value.shape.slice(1)
  const table = reshape(moveAxis(x.value, 0, axis), [...xs.slice(0, axis), size * n, ...xs.slice(axis + 1)])
  const out = bind(p, [table, offsets], {
    axis,
    shape: [...xs.slice(0, axis), ...offsets.shape, ...xs.slice(axis + 1)]
  })
  return batched(moveAxis(out, axis, 0))
}

/**
 * `scatterAdd(ct, ix)` (gather's transpose): along the shifted axis for a batch of `ct` and shared indices;
 * both batched (the per-example gradient of an embedding table), one scatter into the tables laid end to end.
 */
const scatterAddRule: BatchRule = (p, inputs, params, size) => {
  const [ct, ix] = inputs as readonly [Batched, Batched]
  const { axis, shape } = params as GatherParams
  if (ct.batched && !ix.batched) {
    return batched(bind(p, [ct.value, ix.value], { axis: axis + 1, shape: [size, ...shape] }))
  }
  const n = shape[axis]!
  const offsets = ix.batched ? exampleOffsets(ix.value, n, size) : undefined
  if (!ct.batched || offsets === undefined) return fallback(p, inputs, params, size)
  // Both batched: into one table of `size * n` rows along the axis, example b's at rows [b * n, (b + 1) * n).
  const out = bind(p, [moveAxis(ct.value, 0, axis), offsets], {
    axis,
    shape: [...shape.slice(0, axis), size * n, ...shape.slice(axis + 1)]
  })
  return batched(moveAxis(reshape(out, [...shape.slice(0, axis), size, n, ...shape.slice(axis + 1)]), axis, 0))
}

/** Swaps the two innermost axes of a value. */
const swapLast = (v: TensorImpl): TensorImpl => moveAxis(v, v.rank - 1, v.rank - 2)

/**
 * `matmul2d`: a batch of left operands times a shared right one is one GEMM of `[B * M, K] x [K, N]`
 * (the right operand's transposition kept as a flag); any other case is a batched matrix product, or a
 * broadcast elementwise product when K is 1.
 */
const matmul2dRule: BatchRule = (p, inputs, params, size) => {
  const [a, b] = inputs as readonly [Batched, Batched]
  const { transA, transB } = params as { readonly transA: boolean; readonly transB: boolean }
  const av = transA ? swapLast(a.value) : a.value
  if (a.batched && !b.batched) {
    const m = av.shape[1]!
    const k = av.shape[2]!
    const c = bind(p, [reshape(av, [size * m, k]), b.value], { transA: false, transB })
    return batched(reshape(c, [size, m, c.shape[1]!]))
  }
  const bv = transB ? swapLast(b.value) : b.value
  // K = 1 (the weight gradient of a dense layer for one example is an outer product): a broadcast product,
  // the same values as the GEMM, without one small GEMM per example.
  if (av.shape[av.rank - 1] === 1) return batched(toImpl(Tensor.mul(pub(av), pub(bv)) as T))
  return batched(toImpl(Tensor.matmul(pub(av), pub(bv)) as T))
}

/** `batchMatmul`: batch dims broadcast, so the batch axis is one more (after aligning the ranks). */
const batchMatmulRule: BatchRule = broadcasting

interface WindowParams {
  readonly geometry: { readonly n: number }
  readonly shape: ReadonlyArray<number>
}

/**
 * Convolution and pooling: the batch axis folds into N (`[B, N, H, W, C]` to `[B * N, H, W, C]`) when
 * the inputs at `images` are the only batched ones (otherwise it falls back to one example at a time; the
 * convolution rules below handle batched filters first); with `broadcastImages`, an unbatched image input is
 * repeated over the batch first.
 */
const foldIntoN = (images: ReadonlyArray<number>, broadcastImages: boolean): BatchRule => (p, inputs, params, size) => {
  const others = inputs.some((a, i) => a.batched && !images.includes(i))
  const bare = images.some((i) => !inputs[i]!.batched)
  if (others || (bare && !broadcastImages)) return fallback(p, inputs, params, size)
  const { geometry, shape } = params as WindowParams
  const n = geometry.n
  const values = inputs.map((a, i) => {
    if (!images.includes(i)) return a.value
    const v = a.batched ? a.value : broadcastBatch(a.value, size)
    return reshape(v, [size * n, ...v.shape.slice(2)])
  })
  const out = bind(p, values, {
    ...(params as object),
    geometry: { ...geometry, n: size * n },
    shape: [size * n, ...shape.slice(1)]
  })
  return batched(reshape(out, [size, n, ...out.shape.slice(1)]))
}

interface ConvParams {
  readonly geometry: Conv2dGeometry
  readonly shape: ReadonlyArray<number>
}

/**
 * A convolution primitive whose `at` input (`[KH, KW, C, F]`-like: filters, or the filter-shaped output
 * of `conv2dBackpropFilter`) is batched on its `axis` (C: 2, F: 3) and nothing else is: the batch is folded
 * into that axis (`[B, ..., C, F]` to `[..., B * C, F]`), as `B` groups of channels or filters of one
 * convolution.
 */
const foldInto = (
  p: Primitive,
  values: ReadonlyArray<TensorImpl>,
  at: number,
  axis: 2 | 3,
  params: ConvParams,
  size: number
): TensorImpl => {
  const v = values[at]!
  const dims = v.shape.slice(1)
  const folded = reshape(moveAxis(v, 0, axis), [...dims.slice(0, axis), size * dims[axis]!, ...dims.slice(axis + 1)])
  const key = axis === 2 ? "c" : "f"
  const n = params.geometry[key]
  return bind(p, values.map((t, i) => (i === at ? folded : t)), {
    ...params,
    geometry: { ...params.geometry, [key]: size * n },
    // `shape` is the convolution's output [N, OH, OW, F]: its last dim grows with F.
    shape: axis === 3 ? [...params.shape.slice(0, 3), size * n] : params.shape
  })
}

/** Unfolds `[..., B * n (at axis), ...]` into a batch: `[B, ..., n, ...]`. */
const unfold = (v: TensorImpl, axis: number, size: number): TensorImpl =>
  moveAxis(
    reshape(v, [...v.shape.slice(0, axis), size, v.shape[axis]! / size, ...v.shape.slice(axis + 1)]),
    axis,
    0
  )

// Both operands batched: im2col with public ops, and one batched matrix product.
//
// Example b's convolution is `col(x_b) w_b`, with `col(x_b)` its `[N * OH * OW, KH * KW * C]` column matrix in
// the kernels' (ky, kx, c) order, so a batch of them is one `batchMatmul` of `[B, ...]` operands: the
// arithmetic of the per-example loop in one application instead of B. The transposed column matrices are
// built from the padded images by one slice per tap (H and W split as `[H / stride, stride]`, so that the
// entries a tap reads, at any stride and dilation, are one box) and one stack; every step is a
// differentiable public op, so gradients of any order and an enclosing vmap see ordinary ops. Each output
// entry is the kernels' dot product, in the kernels' order: on the WebAssembly kernels the results equal the
// per-example loop's bit for bit. The copies cost more than the kernel calls they save except for small
// convolutions, so the rules take this path only up to `convBatching`'s limits per example.

/** The padded frame of a convolution, in strides: `fh * strideH` rows by `fw * strideW` columns. */
const frameOf = (g: Conv2dGeometry): { readonly fh: number; readonly fw: number } => ({
  fh: Math.ceil(Math.max(g.padTop + g.h, (g.kh - 1) * g.dilationH + g.outH * g.strideH) / g.strideH),
  fw: Math.ceil(Math.max(g.padLeft + g.w, (g.kw - 1) * g.dilationW + g.outW * g.strideW) / g.strideW)
})

/** Where tap (ky, kx) starts in the split frame `[fh, strideH, fw, strideW]`. */
const tapOrigin = (g: Conv2dGeometry, ky: number, kx: number): ReadonlyArray<number> => {
  const y = ky * g.dilationH
  const x = kx * g.dilationW
  return [Math.floor(y / g.strideH), y % g.strideH, Math.floor(x / g.strideW), x % g.strideW]
}

/**
 * The windows of `v` (H at `axis`, W next to it) that the taps read, in tap order (ky, then kx): each is `v`
 * with `[H, W]` replaced by `[OH, OW]`.
 */
const tapWindows = (v: T, axis: number, g: Conv2dGeometry): Array<T> => {
  const { fh, fw } = frameOf(g)
  const s = v.shape
  const before = s.slice(0, axis)
  const after = s.slice(axis + 2)
  const pads = s.map((d, i): readonly [number, number] =>
    i === axis
      ? [g.padTop, fh * g.strideH - g.padTop - d]
      : i === axis + 1
      ? [g.padLeft, fw * g.strideW - g.padLeft - d]
      : [0, 0]
  )
  const padded = pads.some(([a, b]) => a !== 0 || b !== 0) ? Tensor.pad(v, pads) as T : v
  const split = Tensor.reshape(padded, [...before, fh, g.strideH, fw, g.strideW, ...after]) as T
  const zeros = (dims: ReadonlyArray<number>) => dims.map(() => 0)
  const size = [...before, g.outH, 1, g.outW, 1, ...after]
  const out: Array<T> = []
  for (let ky = 0; ky < g.kh; ky++) {
    for (let kx = 0; kx < g.kw; kx++) {
      const box = Tensor.slice(split, [...zeros(before), ...tapOrigin(g, ky, kx), ...zeros(after)], size) as T
      out.push(Tensor.reshape(box, [...before, g.outH, g.outW, ...after]) as T)
    }
  }
  return out
}

/**
 * The transposed column matrices of a batch of images `[B, N, H, W, C]`: `[B, KH * KW * C, N * OH * OW]`,
 * row (ky, kx, c) the entries tap (ky, kx) reads from channel c at each output pixel. Built from the images
 * transposed once to `[B, C, N, H, W]`, so that each tap's window copies rows of OW entries (with stride 1).
 */
const columnsT = (x: T, g: Conv2dGeometry, size: number): T => {
  const xt = Tensor.transpose(x, [0, 4, 1, 2, 3]) as T
  return Tensor.reshape(Tensor.stack(tapWindows(xt, 3, g), 1) as T, [
    size,
    g.kh * g.kw * g.c,
    g.n * g.outH * g.outW
  ]) as T
}

/**
 * `conv2d` of a batch of images `[B, N, H, W, C]` with a batch of filters `[B, KH, KW, C, F]`: `w_b^T col(x_b)^T`
 * (`[F, N * OH * OW]`), transposed back.
 */
const batchedConv = (x: T, w: T, g: Conv2dGeometry, size: number): T => {
  const kkc = g.kh * g.kw * g.c
  const wt = Tensor.transpose(Tensor.reshape(w, [size, kkc, g.f]) as T, [0, 2, 1]) as T
  const yt = Tensor.matmul(wt, columnsT(x, g, size)) as T
  return Tensor.reshape(Tensor.transpose(yt, [0, 2, 1]) as T, [size, g.n, g.outH, g.outW, g.f]) as T
}

/**
 * `conv2dBackpropFilter` of a batch of images and a batch of output gradients `[B, N, OH, OW, F]` (the
 * per-example filter gradient): `col(x_b)^T dy_b`, each entry the kernel's dot product over the output pixels.
 */
const batchedFilterGrad = (x: T, dy: T, g: Conv2dGeometry, size: number): T => {
  const dw = Tensor.matmul(columnsT(x, g, size), Tensor.reshape(dy, [size, g.n * g.outH * g.outW, g.f]) as T) as T
  return Tensor.reshape(dw, [size, g.kh, g.kw, g.c, g.f]) as T
}

/** `v` with the order of its entries along `axis` reversed (slices joined in reverse order). */
const reverseAxis = (v: T, axis: number): T => {
  const d = v.shape[axis]!
  if (d <= 1) return v
  const parts = Array.from({ length: d }, (_, i) =>
    Tensor.slice(
      v,
      v.shape.map((__, k) => (k === axis ? d - 1 - i : 0)),
      v.shape.map((e, k) => (k === axis ? 1 : e))
    ) as T)
  return Tensor.concat(parts, axis) as T
}

/**
 * `conv2dBackpropInput` of a batch of output gradients with a batch of filters. With stride 1 it is the
 * convolution of `dy` with the filters rotated by 180 degrees and transposed (`[KH, KW, F, C]`), padded by
 * the kernel's extent less the forward padding, as `batchedConv` (the way the WebAssembly kernel computes
 * it). With strides: the column gradients `dy_b w_b^T`, then col2im, each tap's columns padded into the
 * frame and added; the taps are added last to first, which is the order in which the kernel's col2im adds
 * them into each input pixel.
 */
const batchedInputGrad = (dy: T, w: T, g: Conv2dGeometry, size: number): T => {
  const padTop = (g.kh - 1) * g.dilationH - g.padTop
  const padLeft = (g.kw - 1) * g.dilationW - g.padLeft
  // A forward pad past the kernel's extent is a negative pad here: the rows and columns it skips are cut.
  const cutTop = Math.max(0, -padTop)
  const cutLeft = Math.max(0, -padLeft)
  if (g.strideH === 1 && g.strideW === 1 && cutTop < g.outH && cutLeft < g.outW) {
    const flipped = Tensor.transpose(reverseAxis(reverseAxis(w, 1), 2), [0, 1, 2, 4, 3]) as T
    const transposed: Conv2dGeometry = {
      ...g,
      h: g.outH - cutTop,
      w: g.outW - cutLeft,
      c: g.f,
      f: g.c,
      outH: g.h,
      outW: g.w,
      padTop: padTop + cutTop,
      padLeft: padLeft + cutLeft
    }
    const cut = cutTop + cutLeft > 0
      ? Tensor.slice(dy, [0, 0, cutTop, cutLeft, 0], [size, g.n, transposed.h, transposed.w, g.f]) as T
      : dy
    return batchedConv(cut, flipped, transposed, size)
  }
  const rows = g.n * g.outH * g.outW
  const kk = g.kh * g.kw
  const wt = Tensor.reshape(Tensor.transpose(w, [0, 4, 1, 2, 3]) as T, [size, g.f, kk * g.c]) as T
  const dcols = Tensor.reshape(
    Tensor.matmul(Tensor.reshape(dy, [size, rows, g.f]) as T, wt) as T,
    [size, g.n, g.outH, g.outW, kk, g.c]
  ) as T
  const { fh, fw } = frameOf(g)
  let frame: T | undefined
  for (let t = kk - 1; t >= 0; t--) {
    const [y0, y1, x0, x1] = tapOrigin(g, Math.floor(t / g.kw), t % g.kw) as [number, number, number, number]
    const tap = Tensor.reshape(
      Tensor.slice(dcols, [0, 0, 0, 0, t, 0], [size, g.n, g.outH, g.outW, 1, g.c]) as T,
      [size, g.n, g.outH, 1, g.outW, 1, g.c]
    ) as T
    const placed = Tensor.pad(tap, [
      [0, 0],
      [0, 0],
      [y0, fh - y0 - g.outH],
      [y1, g.strideH - y1 - 1],
      [x0, fw - x0 - g.outW],
      [x1, g.strideW - x1 - 1],
      [0, 0]
    ]) as T
    frame = frame === undefined ? placed : Tensor.add(frame, placed) as T
  }
  const full = Tensor.reshape(frame!, [size, g.n, fh * g.strideH, fw * g.strideW, g.c]) as T
  return Tensor.slice(full, [0, 0, g.padTop, g.padLeft, 0], [size, g.n, g.h, g.w, g.c]) as T
}

/**
 * When a convolution with both operands batched takes the batched matrix product: at most `maxMacs`
 * multiply-adds per example (`maxMacsInput` for `conv2dBackpropInput`, whose formulations copy more). Above
 * that, each example's convolution is worth its own fused kernel call: the copies that build the column
 * matrices cost more than the calls they save. Measured in `docs/performance.md` ("vmap of convolutions"):
 * below the limits the batched rules are about 1.05 to 2.8 times faster than one example at a time; the
 * layers of an MNIST-sized CNN (about 50,000 and 660,000 multiply-adds per example) would be 1.15 to 2.7
 * times slower batched. Mutable for tests and measurements.
 *
 * @internal
 */
export const convBatching = { maxMacs: 8192, maxMacsInput: 1024 }

/** Whether a convolution with both operands batched takes the batched matrix product (else the fallback). */
const batchConv = (g: Conv2dGeometry, size: number, limit: number = convBatching.maxMacs): boolean => {
  const macs = g.n * g.outH * g.outW * g.kh * g.kw * g.c * g.f
  return size * macs > 0 && macs <= limit
}

/**
 * `conv2d(x, w)`: a batch of images folds into N, a batch of filters into F (B * F filters); both batched,
 * one batched matrix product of column matrices (`batchedConv`).
 */
const conv2dRule: BatchRule = (p, inputs, params, size) => {
  const [x, w] = inputs as readonly [Batched, Batched]
  if (!w.batched) return foldIntoN([0], false)(p, inputs, params, size)
  if (x.batched) {
    const g = (params as ConvParams).geometry
    if (!batchConv(g, size)) return fallback(p, inputs, params, size)
    return batched(toImpl(batchedConv(pub(x.value), pub(w.value), g, size)))
  }
  return batched(unfold(foldInto(p, [x.value, w.value], 1, 3, params as ConvParams, size), 3, size))
}

/**
 * `conv2dBias(x, w, b)`: folds like `conv2d`; with a batch of biases or of filters, the convolution runs with
 * a zero bias (or, images and filters both batched, as `batchedConv`) and the bias and relu follow (the same
 * operations as the fused kernel's).
 */
const conv2dBiasRule: BatchRule = (p, inputs, params, size) => {
  const [x, w, b] = inputs as readonly [Batched, Batched, Batched]
  if (!b.batched && !w.batched) return foldIntoN([0], false)(p, inputs, params, size)
  const { relu } = params as { readonly relu: boolean }
  const g = (params as ConvParams).geometry
  if (x.batched && w.batched && !batchConv(g, size)) return fallback(p, inputs, params, size)
  const dtype = b.value.dtype
  const f = b.value.shape[b.value.rank - 1]!
  const linear = { ...(params as ConvParams), relu: false }
  const conv = x.batched && w.batched
    ? toImpl(batchedConv(pub(x.value), pub(w.value), g, size))
    : w.batched
    ? unfold(
      foldInto(p, [x.value, w.value, toImpl(Tensor.zeros([size * f], { dtype }))], 1, 3, linear as ConvParams, size),
      3,
      size
    )
    : foldIntoN([0], true)(p, [x, w, { value: toImpl(Tensor.zeros([f], { dtype })), batched: false }], linear, size)
      .value
  const bias = b.batched ? reshape(b.value, [size, 1, 1, 1, f]) : b.value
  const z = Tensor.add(pub(conv), pub(bias)) as T
  return batched(toImpl(relu ? Tensor.relu(z) : z))
}

/**
 * `conv2dBackpropInput(dy, w)`: a batch of `dy` folds into N, a batch of filters into C; both batched, a
 * batched matrix product and col2im (`batchedInputGrad`).
 */
const conv2dBackpropInputRule: BatchRule = (p, inputs, params, size) => {
  const [dy, w] = inputs as readonly [Batched, Batched]
  if (!w.batched) return foldIntoN([0], false)(p, inputs, params, size)
  if (dy.batched) {
    const g = (params as ConvParams).geometry
    if (!batchConv(g, size, convBatching.maxMacsInput)) return fallback(p, inputs, params, size)
    return batched(toImpl(batchedInputGrad(pub(dy.value), pub(w.value), g, size)))
  }
  return batched(unfold(foldInto(p, [dy.value, w.value], 1, 2, params as ConvParams, size), 3, size))
}

/**
 * `conv2dBackpropFilter(x, dy)`: a batch of images folds into C, a batch of `dy` into F; both batched (the
 * per-example filter gradient), a batched matrix product of transposed column matrices (`batchedFilterGrad`).
 */
const conv2dBackpropFilterRule: BatchRule = (p, inputs, params, size) => {
  const [x, dy] = inputs as readonly [Batched, Batched]
  const cp = params as ConvParams
  if (x.batched && dy.batched) {
    if (!batchConv(cp.geometry, size)) return fallback(p, inputs, params, size)
    return batched(toImpl(batchedFilterGrad(pub(x.value), pub(dy.value), cp.geometry, size)))
  }
  if (x.batched) {
    // images [B, N, H, W, C] as [N, H, W, B * C]
    const xs = x.value.shape.slice(1)
    const folded = reshape(moveAxis(x.value, 0, 3), [...xs.slice(0, 3), size * xs[3]!])
    const out = bind(p, [folded, dy.value], { ...cp, geometry: { ...cp.geometry, c: size * cp.geometry.c } })
    return batched(unfold(out, 2, size))
  }
  const ds = dy.value.shape.slice(1)
  const folded = reshape(moveAxis(dy.value, 0, 3), [...ds.slice(0, 3), size * ds[3]!])
  const out = bind(p, [x.value, folded], {
    ...cp,
    geometry: { ...cp.geometry, f: size * cp.geometry.f },
    shape: [...cp.shape.slice(0, 3), size * cp.geometry.f]
  })
  return batched(unfold(out, 3, size))
}

const ELEMENTWISE_UNARY = [
  "neg",
  "exp",
  "log",
  "tanh",
  "sigmoid",
  "relu",
  "sqrt",
  "abs",
  "sign",
  "square",
  "sin",
  "cos",
  "log1p",
  "expm1",
  "cast",
  "stopGradient"
] as const

const ELEMENTWISE_BINARY = [
  "add",
  "sub",
  "mul",
  "div",
  "maximum",
  "minimum",
  "pow",
  "greater",
  "greaterEqual",
  "equal",
  "less",
  "lessEqual",
  "where"
] as const

/**
 * The vectorized batching rules, one per primitive name (as the gradient rules are one per primitive).
 * Every primitive of `@typegrad/tensor` has one; the others (`customVjp`/`customJvp`, whose rules are the
 * user's) go through `fallback`, and so do the cases a rule hands on: a convolution with both operands
 * batched (images and filters, output gradients and filters, or images and output gradients: the
 * per-example filter gradient) above `convBatching`'s multiply-adds per example, where one fused
 * kernel call per example is faster than the batched matrix product of column matrices that the rules use
 * below it; a `scatterAdd` of shared cotangents at batched indices; indices past 2^24 in float32.
 */
export const rules: Readonly<Record<string, BatchRule>> = Object.freeze({
  ...Object.fromEntries(ELEMENTWISE_UNARY.map((name) => [name, unary])),
  ...Object.fromEntries(ELEMENTWISE_BINARY.map((name) => [name, broadcasting])),
  reluGrad: sameShape,
  sum: reduction,
  max: reduction,
  firstMaxMask: keepBatchAxis,
  argmax: argReduction,
  argmin: argReduction,
  reshape: reshapeRule,
  transpose: transposeRule,
  slice: windowRule,
  pad: windowRule,
  concat: concatRule,
  oneHot: oneHotRule,
  gather: gatherRule,
  scatterAdd: scatterAddRule,
  matmul2d: matmul2dRule,
  batchMatmul: batchMatmulRule,
  conv2d: conv2dRule,
  conv2dBias: conv2dBiasRule,
  conv2dBackpropInput: conv2dBackpropInputRule,
  conv2dBackpropFilter: conv2dBackpropFilterRule,
  maxPool2d: foldIntoN([0], true),
  avgPool2d: foldIntoN([0], true),
  avgPool2dBackward: foldIntoN([0], true),
  maxPool2dBackward: foldIntoN([0, 1], true),
  maxPool2dGather: foldIntoN([0, 1], true)
})

/** The names of the primitives with a vectorized batching rule. */
export const vectorized: ReadonlyArray<string> = Object.keys(rules).toSorted()
