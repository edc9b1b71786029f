/**
 * Layout: `reshape`, `flatten`, `squeeze`, `expandDims`, `transpose`, `concat`, `stack`, `slice`, `pad`,
 * `broadcastTo`. Each primitive is
 * defined with its VJP rule (reshape and transpose undo themselves; slice and pad are each other's
 * transposes; concat slices its cotangent).
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { dual } from "effect/Function"
import {
  alloc,
  bind,
  isFloat,
  isFloatDType,
  isTensor as isTensorImpl,
  make,
  type Primitive,
  type TensorImpl
} from "../internal/core.ts"
import { concat as concatKernel, transpose as transposeKernel, window } from "../internal/layout.ts"
import {
  apply,
  defineAnyDTypePrimitive,
  fromImpl,
  isTensorFirst,
  noGradient,
  type Res,
  sameDType,
  type ShapeOfTensor,
  toImpl
} from "../internal/op.ts"
import type { AnyDType, AnyDTypeTensor, AnyTensor, DType, IntDType, Shape, Tensor } from "../Tensor.ts"
import { zeros } from "./creation.ts"
import { add, castPrimitive } from "./elementwise.ts"

type ShapesOf<Ts> = { readonly [K in keyof Ts]: Ts[K] extends Tensor<infer S, AnyDType> ? S : never }
export type DTypesOf<Ts extends ReadonlyArray<object>> = Ts[number] extends Tensor<Shape, infer D> ? D : never
// A dtype known exactly (not the `DType` union of a tensor whose dtype is only known at run time).
type ExactDTypes<Ts extends ReadonlyArray<object>> = {
  [K in keyof Ts]: Ts[K] extends Tensor<Shape, infer D> ? (DType extends D ? never : D) : never
}[number]
// (A union check, not `[U] extends ["float32"] | ["float64"]`: TypeScript would accept a one-element tuple of
// a union against a union of tuples.)
type IsUnion<T, U = T> = [T] extends [never] ? false : T extends unknown ? ([U] extends [T] ? false : true) : never
type SameDTypes<Ts extends ReadonlyArray<object>, Op extends string = "concat"> = true extends IsUnion<ExactDTypes<Ts>>
  ? ShapeError<`${Op}: the tensors have different dtypes (float32 and float64); convert them with Tensor.cast`>
  : Ts[number] extends AnyDTypeTensor ? unknown
  : ShapeError<`${Op}: every element must be a tensor`>

/** `reshape` and its VJP rule. */
export const reshapePrimitive: Primitive<{ readonly shape: ReadonlyArray<number> }> = defineAnyDTypePrimitive(
  "reshape",
  ([a], { shape }) => make(shape, a!.dtype, a!.data),
  (ct, [a]) => [reshape(ct, a!.shape)]
)

/**
 * The same elements with another shape; one dim may be `-1` (inferred). The element count is checked
 * at compile time when known, at run time otherwise.
 *
 * @example
 * ```ts
 * Tensor.reshape(Tensor.zeros([4096, 4096]), [16384, -1]) // Tensor<readonly [16384, 1024]>
 * ```
 */
export const reshape: {
  <const T extends ReadonlyArray<number>>(
    shape: T
  ): <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.Reshape<S, T>>
  ) => Tensor<Res<Rules.Reshape<S, T>>, D>
  <S extends Shape, D extends AnyDType, const T extends ReadonlyArray<number>>(
    self: Tensor<S, D> & Rules.Check<Rules.Reshape<S, T>>,
    shape: T
  ): Tensor<Res<Rules.Reshape<S, T>>, D>
} = dual(2, (self: AnyDTypeTensor, shape: ReadonlyArray<number>): AnyDTypeTensor => {
  const t = toImpl(self)
  return fromImpl(bind(reshapePrimitive, [t], { shape: Rules.reshape(t.shape, shape) }))
})

/**
 * Keeps axis 0 and flattens the rest: `[N, ...rest] -> [N, prod(rest)]`.
 *
 * @example
 * ```ts
 * Tensor.flatten(Tensor.zeros([8, 7, 7, 48])) // Tensor<readonly [8, 2352]>
 * ```
 */
export const flatten = <S extends Shape, D extends AnyDType>(
  self: Tensor<S, D> & Rules.Check<Rules.Flatten<S>>
): Tensor<Res<Rules.Flatten<S>>, D> => {
  const t = toImpl(self)
  return fromImpl(bind(reshapePrimitive, [t], { shape: Rules.flatten(t.shape) }))
}

/**
 * `squeeze`'s type: one generic signature, so data-first (`Tensor.squeeze(x, 1)`), data-last
 * (`pipe(x, Tensor.squeeze(1))`) and bare in a pipe (`x.pipe(Tensor.squeeze)`) keep the static shape; an
 * axis that is out of range or not of size 1 is a compile error.
 *
 * @example
 * ```ts
 * const squeezeAll: Tensor.SqueezeOp = Tensor.squeeze
 * ```
 */
export type SqueezeOp = <
  const A extends AnyDTypeTensor | number | undefined = undefined,
  const X extends number | undefined = undefined
>(
  selfOrAxis?: A,
  axis?: X & Rules.Check<Rules.Squeeze<ShapeOfTensor<A>, X>>
) => A extends Tensor<infer S, infer D> ? Tensor<Res<Rules.Squeeze<S, X>>, D>
  : <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.Squeeze<S, A extends number ? A : undefined>>
  ) => Tensor<Res<Rules.Squeeze<S, A extends number ? A : undefined>>, D>

/**
 * Removes the size-1 axis `axis` (every size-1 axis when omitted). A reshape: the gradient reshapes back.
 * With `number` dims and no axis, the static result is `readonly number[]`.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [8, 1, 10]>
 * Tensor.squeeze(x, 1)        // Tensor<readonly [8, 10]>
 * x.pipe(Tensor.squeeze)      // Tensor<readonly [8, 10]>
 * pipe(x, Tensor.squeeze(-2)) // Tensor<readonly [8, 10]>
 * ```
 */
export const squeeze: SqueezeOp = dual(isTensorFirst, (self: AnyDTypeTensor, axis?: number): AnyDTypeTensor => {
  const t = toImpl(self)
  return fromImpl(bind(reshapePrimitive, [t], { shape: Rules.squeeze(t.shape, axis) }))
})

/**
 * Inserts a size-1 axis at `axis`, counted in the result's rank (`-1` appends). A reshape: the gradient
 * reshapes back.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [28, 28]>
 * Tensor.expandDims(x, -1)      // Tensor<readonly [28, 28, 1]>
 * pipe(x, Tensor.expandDims(0)) // Tensor<readonly [1, 28, 28]>
 * ```
 */
export const expandDims: {
  <const A extends number>(
    axis: A
  ): <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.ExpandDims<S, A>>
  ) => Tensor<Res<Rules.ExpandDims<S, A>>, D>
  <S extends Shape, D extends AnyDType, const A extends number>(
    self: Tensor<S, D>,
    axis: A & Rules.Check<Rules.ExpandDims<S, A>>
  ): Tensor<Res<Rules.ExpandDims<S, A>>, D>
} = dual(isTensorFirst, (self: AnyDTypeTensor, axis: number): AnyDTypeTensor => {
  const t = toImpl(self)
  return fromImpl(bind(reshapePrimitive, [t], { shape: Rules.expandDims(t.shape, axis) }))
})

/**
 * `transpose`'s type: one generic signature, so `x.pipe(Tensor.transpose)` keeps the static shape too; a
 * permutation that does not fit the rank is a compile error.
 */
export type TransposeOp = <
  const A extends AnyDTypeTensor | ReadonlyArray<number> | undefined = undefined,
  const P extends ReadonlyArray<number> | undefined = undefined
>(
  selfOrPerm?: A,
  perm?: P & Rules.Check<Rules.Transpose<ShapeOfTensor<A>, P>>
) => A extends Tensor<infer S, infer D> ? Tensor<Res<Rules.Transpose<S, P>>, D>
  : <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.Transpose<S, A extends ReadonlyArray<number> ? A : undefined>>
  ) => Tensor<Res<Rules.Transpose<S, A extends ReadonlyArray<number> ? A : undefined>>, D>

/** `transpose` and its VJP rule. */
export const transposePrimitive: Primitive<{ readonly perm: ReadonlyArray<number> }> = defineAnyDTypePrimitive(
  "transpose",
  ([a], { perm }) => make(perm.map((p) => a!.shape[p]!), a!.dtype, transposeKernel(a!.dtype, a!.data, a!.shape, perm)),
  (ct, _, __, { perm }) => {
    const inverse = new Array<number>(perm.length)
    perm.forEach((p, i) => (inverse[p] = i))
    return [transpose(ct, inverse)]
  }
)

/**
 * Permutes the axes (reverses them by default).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [8, 28, 28, 3]>
 * Tensor.transpose(Tensor.zeros([2, 3])) // Tensor<readonly [3, 2]>
 * Tensor.transpose(x, [0, 3, 1, 2])      // NHWC -> NCHW
 * ```
 */
export const transpose: TransposeOp = dual(
  isTensorFirst,
  (self: AnyDTypeTensor, perm?: ReadonlyArray<number>): AnyDTypeTensor => {
    const t = toImpl(self)
    Rules.transpose(t.shape, perm)
    const p = perm === undefined
      ? t.shape.map((_, i) => t.rank - 1 - i)
      : perm.map((a) => Rules.normalizeAxis(t.rank, a, "transpose"))
    return fromImpl(bind(transposePrimitive, [t], { perm: p }))
  }
)

/** `concat` and its VJP rule. */
export const concatPrimitive: Primitive<{ readonly axis: number; readonly shape: ReadonlyArray<number> }> =
  defineAnyDTypePrimitive(
    "concat",
    (inputs, { axis, shape }) => make(shape, inputs[0]!.dtype, concatKernel(inputs[0]!.dtype, inputs, axis, shape)),
    (ct, inputs, _, { axis }, needs) => {
      let offset = 0
      return inputs.map((t, i) => {
        const begin = ct.shape.map((_, k) => (k === axis ? offset : 0))
        offset += t.shape[axis]!
        return needs[i] ? slice(ct, begin, t.shape) : undefined
      })
    }
  )

/**
 * Joins tensors along an existing axis (0 by default); the other dims must agree.
 *
 * @example
 * ```ts
 * Tensor.concat([Tensor.zeros([2, 3]), Tensor.ones([2, 5])], 1) // Tensor<readonly [2, 8]>
 * ```
 */
export const concat: {
  <const A extends number>(
    axis: A
  ): <const Ts extends ReadonlyArray<object>>(
    tensors: Ts & Rules.Check<Rules.Concat<ShapesOf<Ts>, A>> & SameDTypes<Ts>
  ) => Tensor<Res<Rules.Concat<ShapesOf<Ts>, A>>, DTypesOf<Ts>>
  // The elements are typed `object` so that they are inferred without a contextual type (a context of
  // `Tensor<Shape, DType>` would widen each element's dtype); `SameDTypes` checks they are tensors.
  <const Ts extends ReadonlyArray<object>, const A extends number = 0>(
    tensors: Ts & Rules.Check<Rules.Concat<ShapesOf<Ts>, A>> & SameDTypes<Ts>,
    axis?: A
  ): Tensor<Res<Rules.Concat<ShapesOf<Ts>, A>>, DTypesOf<Ts>>
} = dual(
  (args: IArguments) => Array.isArray(args[0]),
  (tensors: ReadonlyArray<AnyDTypeTensor>, axis: number = 0): AnyDTypeTensor => {
    if (tensors.length === 0) throw new ShapeError("concat", "concat: needs at least one tensor")
    const ts = tensors.map(toImpl)
    for (const t of ts) sameDType("concat", ts[0]!, t)
    const shape = Rules.concat(ts.map((t) => t.shape), axis)
    const a = Rules.normalizeAxis(ts[0]!.rank, axis, "concat")
    return fromImpl(bind(concatPrimitive, ts, { axis: a, shape }))
  }
)

/**
 * Stacks tensors of equal shapes along a new axis (0 by default, counted in the result's rank). A concat of
 * `expandDims`: the gradient slices back.
 *
 * @example
 * ```ts
 * declare const a: Tensor.Tensor<readonly [2, 3]>
 * declare const b: Tensor.Tensor<readonly [2, 3]>
 * Tensor.stack([a, b])         // Tensor<readonly [2, 2, 3]>
 * pipe([a, b] as const, Tensor.stack(-1)) // Tensor<readonly [2, 3, 2]> (a tuple: `as const` in a pipe)
 * ```
 */
export const stack: {
  <const A extends number>(
    axis: A
  ): <const Ts extends ReadonlyArray<object>>(
    tensors: Ts & Rules.Check<Rules.Stack<ShapesOf<Ts>, A>> & SameDTypes<Ts, "stack">
  ) => Tensor<Res<Rules.Stack<ShapesOf<Ts>, A>>, DTypesOf<Ts>>
  <const Ts extends ReadonlyArray<object>, const A extends number = 0>(
    tensors: Ts & Rules.Check<Rules.Stack<ShapesOf<Ts>, A>> & SameDTypes<Ts, "stack">,
    axis?: A
  ): Tensor<Res<Rules.Stack<ShapesOf<Ts>, A>>, DTypesOf<Ts>>
} = dual(
  (args: IArguments) => Array.isArray(args[0]),
  (tensors: ReadonlyArray<AnyDTypeTensor>, axis: number = 0): AnyDTypeTensor => {
    const ts = tensors.map(toImpl)
    for (const t of ts) sameDType("stack", ts[0]!, t)
    const shape = Rules.stack(ts.map((t) => t.shape), axis)
    const a = Rules.normalizeAxis(shape.length, axis, "stack")
    const parts = ts.map((t) => bind(reshapePrimitive, [t], { shape: Rules.expandDims(t.shape, a) }))
    return fromImpl(bind(concatPrimitive, parts, { axis: a, shape }))
  }
)

/** `slice` and its VJP rule. */
export const slicePrimitive = defineAnyDTypePrimitive<
  { readonly begin: ReadonlyArray<number>; readonly shape: ReadonlyArray<number> }
>(
  "slice",
  ([a], { begin, shape }) => make(shape, a!.dtype, window("slice", a!.dtype, a!.data, a!.shape, begin, shape)),
  (ct, [a], _, { begin, shape }) => [pad(ct, a!.shape.map((d, i) => [begin[i]!, d - begin[i]! - shape[i]!] as const))]
)

/**
 * The box of `size` elements starting at `begin` (one entry per axis; `-1` in `size` takes the rest).
 * With literal `begin` and `size` the result shape is known at compile time and a box that does not fit is
 * a compile error on `size`; otherwise (or for `number` dims) it is checked at run time.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.slice(x, [0, 1], [2, 2])     // Tensor<readonly [2, 2]>
 * pipe(x, Tensor.slice([1, 0], [1, -1])) // Tensor<readonly [1, 3]>
 * ```
 */
export const slice: {
  <const B extends ReadonlyArray<number>, const Z extends ReadonlyArray<number>>(
    begin: B,
    size: Z
  ): <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.Slice<S, B, Z>>
  ) => Tensor<Res<Rules.Slice<S, B, Z>>, D>
  <S extends Shape, D extends AnyDType, const B extends ReadonlyArray<number>, const Z extends ReadonlyArray<number>>(
    self: Tensor<S, D>,
    begin: B,
    size: Z & Rules.Check<Rules.Slice<S, B, Z>>
  ): Tensor<Res<Rules.Slice<S, B, Z>>, D>
} = dual(
  isTensorFirst,
  (self: AnyDTypeTensor, begin: ReadonlyArray<number>, size: ReadonlyArray<number>): AnyDTypeTensor => {
    const t = toImpl(self)
    const shape = Rules.slice(t.shape, begin, size)
    return fromImpl(bind(slicePrimitive, [t], { begin, shape }))
  }
)

/** `pad` and its VJP rule. */
export const padPrimitive = defineAnyDTypePrimitive<
  { readonly begin: ReadonlyArray<number>; readonly shape: ReadonlyArray<number> }
>(
  "pad",
  ([a], { begin, shape }) => make(shape, a!.dtype, window("pad", a!.dtype, a!.data, a!.shape, begin, shape)),
  (ct, [a], _, { begin }) => [slice(ct, begin, a!.shape)]
)

/**
 * Pads with zeros: `paddings[i] = [before, after]` for every axis.
 *
 * @example
 * ```ts
 * Tensor.pad(Tensor.ones([2, 2]), [[1, 1], [0, 2]]) // Tensor<readonly [4, 4]>
 * ```
 */
export const pad: {
  <const P extends ReadonlyArray<readonly [number, number]>>(
    paddings: P
  ): <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.Pad<S, P>>
  ) => Tensor<Res<Rules.Pad<S, P>>, D>
  <S extends Shape, D extends AnyDType, const P extends ReadonlyArray<readonly [number, number]>>(
    self: Tensor<S, D> & Rules.Check<Rules.Pad<S, P>>,
    paddings: P
  ): Tensor<Res<Rules.Pad<S, P>>, D>
} = dual(2, (self: AnyDTypeTensor, paddings: ReadonlyArray<readonly [number, number]>): AnyDTypeTensor => {
  const t = toImpl(self)
  const shape = Rules.pad(t.shape, paddings)
  return fromImpl(bind(padPrimitive, [t], { begin: paddings.map((p) => p[0]), shape }))
})

/**
 * Broadcasts to a larger shape (materialised).
 *
 * @example
 * ```ts
 * Tensor.broadcastTo(Tensor.ones([3]), [2, 3])
 * ```
 */
export const broadcastTo: {
  <const T extends Shape>(
    shape: T
  ): <S extends Shape, D extends AnyDType>(
    self: Tensor<S, D> & Rules.Check<Rules.Broadcast<S, T, "broadcastTo">>
  ) => Tensor<T, D>
  <S extends Shape, D extends AnyDType, const T extends Shape>(
    self: Tensor<S, D> & Rules.Check<Rules.Broadcast<S, T, "broadcastTo">>,
    shape: T
  ): Tensor<T, D>
} = dual(2, (self: AnyDTypeTensor, shape: Shape): AnyDTypeTensor => {
  const t = toImpl(self)
  const target = Rules.broadcast(t.shape, shape, "broadcastTo")
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new ShapeError(
      "broadcastTo",
      `broadcastTo: cannot broadcast [${t.shape.join(", ")}] to [${shape.join(", ")}]`
    )
  }
  if (!isFloat(t)) {
    // int32 and bool values are exact in float64: broadcast there and convert back.
    const wide = fromImpl<Shape, "float64">(bind(castPrimitive, [t], { dtype: "float64" }))
    return fromImpl(bind(castPrimitive, [toImpl(add(zeros(shape, { dtype: "float64" }), wide))], { dtype: t.dtype }))
  }
  return add(zeros(shape, { dtype: t.dtype }) as AnyTensor, fromImpl<Shape, DType>(t)) as AnyTensor
})

// The indices of `gather` and `oneHot`, checked: integers in [0, n), in a float or int32 tensor.
const checkIndices = (op: string, indices: TensorImpl, n: number, what: string): void => {
  if (indices.dtype === "bool") {
    throw new TypeError(
      `${op}: the indices must be an int32 or float tensor, got bool; convert with Tensor.cast(x, "int32")`
    )
  }
  const d = indices.data
  for (let j = 0; j < d.length; j++) {
    const v = d[j]!
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new RangeError(`${op}: index ${v} at position ${j} is not an integer in [0, ${n}) (${what})`)
    }
  }
}

/** The params of `oneHot`: the depth, the result shape, and its dtype (the indices' when absent). */
export interface OneHotParams {
  readonly depth: number
  readonly shape: ReadonlyArray<number>
  readonly dtype?: DType | undefined
}

/** `oneHot`: 1 at each index along a new last axis; piecewise constant, so no gradient. */
export const oneHotPrimitive: Primitive<OneHotParams> = defineAnyDTypePrimitive<OneHotParams>(
  "oneHot",
  ([ix], { depth, dtype, shape }) => {
    const outDType = dtype ?? (isFloat(ix!) ? ix!.dtype : "float32")
    const out = alloc(outDType, ix!.size * depth)
    const d = ix!.data
    for (let j = 0; j < d.length; j++) out[j * depth + d[j]!] = 1
    return make(shape, outDType, out)
  },
  noGradient
)

/**
 * Options of `oneHot`: the dtype of the result (float; the indices' dtype by default, float32 for int32
 * indices).
 *
 * @example
 * ```ts
 * const options: Tensor.OneHotOptions = { dtype: "float64" }
 * ```
 */
export interface OneHotOptions {
  readonly dtype?: DType
}

/**
 * One-hot encoding of a tensor of class indices (integers in `[0, depth)`; anything else is a
 * `RangeError`): a new last axis of size `depth`. The indices are an int32 tensor (the result is float32,
 * or the dtype of the options' `dtype`) or a float tensor of integer values (the result has their dtype, or
 * the options'). Not differentiable. Data-last with int32 indices, give the dtype:
 * `pipe(ids, Tensor.oneHot(10, { dtype: "float32" }))`.
 *
 * @example
 * ```ts
 * declare const labels: Tensor.Tensor<readonly [8]>
 * Tensor.oneHot(labels, 10)       // Tensor<readonly [8, 10]>
 * pipe(labels, Tensor.oneHot(10)) // Tensor<readonly [8, 10]>
 * declare const ids: Tensor.Tensor<readonly [8], "int32">
 * Tensor.oneHot(ids, 10)                                  // Tensor<readonly [8, 10], "float32">
 * Tensor.oneHot(ids, 10, { dtype: "float64" })            // Tensor<readonly [8, 10], "float64">
 * pipe(ids, Tensor.oneHot(10, { dtype: "float32" }))      // Tensor<readonly [8, 10], "float32">
 * ```
 */
export const oneHot: {
  <const N extends number>(
    depth: N
  ): <S extends Shape, D extends DType>(
    indices: Tensor<S, D> & Rules.Check<Rules.OneHot<S, N>>
  ) => Tensor<Res<Rules.OneHot<S, N>>, D>
  <S extends Shape, D extends DType, const N extends number>(
    indices: Tensor<S, D>,
    depth: N & Rules.Check<Rules.OneHot<S, N>>
  ): Tensor<Res<Rules.OneHot<S, N>>, D>
  // int32 indices (float32 by default), or any indices with the result's dtype given.
  <S extends Shape, const N extends number>(
    indices: Tensor<S, IntDType>,
    depth: N & Rules.Check<Rules.OneHot<S, N>>
  ): Tensor<Res<Rules.OneHot<S, N>>, "float32">
  <const N extends number, D2 extends DType>(
    depth: N,
    options: { readonly dtype: D2 }
  ): <S extends Shape>(
    indices: Tensor<S, DType | IntDType> & Rules.Check<Rules.OneHot<S, N>>
  ) => Tensor<Res<Rules.OneHot<S, N>>, D2>
  <S extends Shape, const N extends number, D2 extends DType>(
    indices: Tensor<S, DType | IntDType>,
    depth: N & Rules.Check<Rules.OneHot<S, N>>,
    options: { readonly dtype: D2 }
  ): Tensor<Res<Rules.OneHot<S, N>>, D2>
} = dual(isTensorFirst, (indices: AnyDTypeTensor, depth: number, options?: OneHotOptions): AnyDTypeTensor => {
  const t = toImpl(indices)
  const shape = Rules.oneHot(t.shape, depth)
  checkIndices("oneHot", t, depth, `depth ${depth}`)
  const dtype = options?.dtype
  if (dtype !== undefined && !isFloatDType(dtype)) {
    throw new TypeError(`oneHot: the result's dtype must be "float32" or "float64", got ${String(dtype)}`)
  }
  return fromImpl(bind(oneHotPrimitive, [t], dtype === undefined ? { depth, shape } : { depth, shape, dtype }))
})

interface GatherParams {
  readonly axis: number
  readonly shape: ReadonlyArray<number>
}

// outer x n x inner, with n the size of the gathered axis of `full` (the input of gather, the output of scatterAdd).
const gatherGeometry = (full: ReadonlyArray<number>, axis: number) => ({
  outer: full.slice(0, axis).reduce((p, d) => p * d, 1),
  n: full[axis]!,
  inner: full.slice(axis + 1).reduce((p, d) => p * d, 1)
})

/** `gather` along one axis; its rule scatters the cotangent back with `scatterAdd`. */
export const gatherPrimitive: Primitive<GatherParams> = defineAnyDTypePrimitive<GatherParams>(
  "gather",
  ([x, ix], { axis, shape }) => {
    const { outer, n, inner } = gatherGeometry(x!.shape, axis)
    const m = ix!.size
    const out = alloc(x!.dtype, outer * m * inner)
    const xd = x!.data
    const id = ix!.data
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const src = (o * n + id[j]!) * inner
        const dst = (o * m + j) * inner
        for (let i = 0; i < inner; i++) out[dst + i] = xd[src + i]!
      }
    }
    return make(shape, x!.dtype, out)
  },
  (ct, [x, ix], _, { axis }, needs) => [
    needs[0] ? apply(scatterAddPrimitive, [ct, ix!], { axis, shape: x!.shape }) : undefined,
    undefined
  ]
)

/**
 * `scatterAdd(ct, indices)`: zeros of `shape` with the slices of `ct` added at `indices` along `axis`
 * (gather's transpose). Linear in `ct`, so its rule is a gather.
 */
export const scatterAddPrimitive: Primitive<GatherParams> = defineAnyDTypePrimitive<GatherParams>(
  "scatterAdd",
  ([ct, ix], { axis, shape }) => {
    if (!isFloat(ct!)) throw new TypeError(`scatterAdd: expected a float tensor, got ${ct!.dtype}`)
    const { outer, n, inner } = gatherGeometry(shape, axis)
    const m = ix!.size
    const out = alloc(ct!.dtype, outer * n * inner)
    const cd = ct!.data
    const id = ix!.data
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const dst = (o * n + id[j]!) * inner
        const src = (o * m + j) * inner
        for (let i = 0; i < inner; i++) out[dst + i]! += cd[src + i]!
      }
    }
    return make(shape, ct!.dtype, out)
  },
  (ct, [, ix], __, { axis }, needs) => [
    needs[0]
      ? apply(gatherPrimitive, [ct, ix!], { axis, shape: Rules.gather(ct.shape, ix!.shape, axis) })
      : undefined,
    undefined
  ]
)

type GatherAxis<O> = O extends { readonly axis: infer A extends number } ? A : 0

/**
 * Options of `gather`: the axis to gather along (0 by default).
 *
 * @example
 * ```ts
 * const alongColumns: Tensor.GatherOptions = { axis: 1 }
 * ```
 */
export interface GatherOptions {
  readonly axis?: number
}

/**
 * Takes the slices of `self` at `indices` along `axis` (0 by default), as NumPy's `take` and JAX's
 * `jnp.take`: the axis is replaced by the indices' shape. The indices are an int32 tensor, or a float tensor
 * of integer values, in `[0, size of the axis)`; anything else is a `RangeError`. The gradient scatters back (adding
 * where an index repeats); none goes to the indices. Data-first when the second argument is a tensor.
 * `self` may be of any dtype (int32 and bool tables too); the indices are int32 or float.
 *
 * @example
 * ```ts
 * declare const table: Tensor.Tensor<readonly [1000, 64]>
 * declare const ids: Tensor.Tensor<readonly [8, 16]>
 * Tensor.gather(table, ids)                  // Tensor<readonly [8, 16, 64]>: an embedding lookup
 * pipe(table, Tensor.gather(ids, { axis: 0 })) // the same, data-last
 * ```
 */
export const gather: {
  <I extends Shape, const O extends GatherOptions = {}>(
    indices: Tensor<I, DType | IntDType>,
    options?: O
  ): <X extends Shape, D extends AnyDType>(
    self: Tensor<X, D> & Rules.Check<Rules.Gather<X, I, GatherAxis<O>>>
  ) => Tensor<Res<Rules.Gather<X, I, GatherAxis<O>>>, D>
  <X extends Shape, D extends AnyDType, I extends Shape, const O extends GatherOptions = {}>(
    self: Tensor<X, D>,
    indices: Tensor<I, DType | IntDType>,
    options?: O & Rules.Check<Rules.Gather<X, I, GatherAxis<O>>>
  ): Tensor<Res<Rules.Gather<X, I, GatherAxis<O>>>, D>
} = dual(
  (args: IArguments) => isTensorImpl(args[1]),
  (self: AnyDTypeTensor, indices: AnyDTypeTensor, options?: GatherOptions): AnyDTypeTensor => {
    const x = toImpl(self)
    const ix = toImpl(indices)
    const axis = options?.axis ?? 0
    const shape = Rules.gather(x.shape, ix.shape, axis)
    const a = Rules.normalizeAxis(x.rank, axis, "gather")
    checkIndices("gather", ix, x.shape[a]!, `axis ${axis} of shape [${x.shape.join(", ")}]`)
    return fromImpl(bind(gatherPrimitive, [x, ix], { axis: a, shape }))
  }
)
