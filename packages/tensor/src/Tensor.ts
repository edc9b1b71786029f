/**
 * Immutable tensors whose shape is part of their type.
 *
 * `Tensor<readonly [2, 28, 28, 1]>` is a batch of two 28x28 single-channel images; every op computes
 * its result shape at compile time with the rules of `@typegrad/shape`, and checks it again at run time
 * for the dims that are only known then (`number`). Every op is a pure function, callable data-first
 * (`Tensor.add(a, b)`) or data-last (`pipe(a, Tensor.add(b))`), and tensors are `Pipeable`.
 *
 * @since 0.1.0
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import {
  alloc,
  bind,
  type Data,
  type DataOf,
  type DType as DTypeImpl,
  isTensor as isTensorImpl,
  make,
  type Primitive,
  primitive,
  sizeOf,
  TensorImpl,
  TypeId
} from "./internal/core.ts"
import { binaryBroadcast, unaryKernel } from "./internal/elementwise.ts"
import { concat as concatKernel, transpose as transposeKernel, window } from "./internal/layout.ts"
import {
  batchMatmul,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  conv2dBias as conv2dBiasPrimitive,
  conv2dImpl,
  conv2dParams,
  matmul2d,
  pool2dParams,
  poolImpl,
  reluGrad
} from "./internal/linalg.ts"
import { firstMaxMask, reduce as reduceKernel } from "./internal/reduce.ts"

// ---------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------

/**
 * The element type of a tensor: `"float32"` (the default) or `"float64"`.
 *
 * @example
 * ```ts
 * const x = Tensor.zeros([2], { dtype: "float64" }) // Tensor<readonly [2], "float64">
 * ```
 */
export type DType = DTypeImpl

/** A shape: a readonly tuple of dims; a dim is a numeric literal or `number` when only known at run time. */
export type Shape = Rules.Shape

/**
 * An immutable tensor of shape `S` and dtype `D`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@typegrad/tensor"
 * const x: Tensor.Tensor<readonly [2, 3]> = Tensor.ones([2, 3])
 * x.shape // [2, 3], typed readonly [2, 3]
 * ```
 */
export interface Tensor<out S extends Shape, out D extends DType = "float32"> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The shape, a real frozen array whose static type is `S`. */
  readonly shape: S
  /** The element type. */
  readonly dtype: D
  /** The number of elements. */
  readonly size: number
  /** The number of axes. */
  readonly rank: number
}

/** Any tensor. */
export type AnyTensor = Tensor<Shape, DType>

/** The typed array that backs a tensor of dtype `D`: `Float32Array` or `Float64Array`. */
export type ArrayOf<D extends DType> = DataOf<D>

/** Options of the creation functions. */
export interface CreateOptions<D extends DType> {
  readonly dtype?: D
}

/** Options of `sum`, `mean` and `max`. */
export interface ReduceOptions {
  readonly axis?: number | ReadonlyArray<number>
  readonly keepDims?: boolean
}

/** Options of `conv2d`. */
export type Conv2dOptions = Rules.Conv2dOptions

/** Options of `maxPool2d` and `avgPool2d`. */
export type Pool2dOptions = Rules.Pool2dOptions

type Res<R> = R extends Shape ? R : never
type AxisOf<O> = O extends { readonly axis: infer A } ? A : undefined
type KeepOf<O> = O extends { readonly keepDims: infer K extends boolean } ? K : false
type ShapesOf<Ts> = { readonly [K in keyof Ts]: Ts[K] extends Tensor<infer S, DType> ? S : never }
type DTypesOf<Ts extends ReadonlyArray<object>> = Ts[number] extends Tensor<Shape, infer D> ? D : never
// A dtype known exactly (not the `DType` union of a tensor whose dtype is only known at run time).
type ExactDTypes<Ts extends ReadonlyArray<object>> = {
  [K in keyof Ts]: Ts[K] extends Tensor<Shape, infer D> ? (DType extends D ? never : D) : never
}[number]
// (A union check, not `[U] extends ["float32"] | ["float64"]`: TypeScript would accept a one-element tuple of
// a union against a union of tuples.)
type IsUnion<T, U = T> = [T] extends [never] ? false : T extends unknown ? ([U] extends [T] ? false : true) : never
type SameDTypes<Ts extends ReadonlyArray<object>> = true extends IsUnion<ExactDTypes<Ts>>
  ? ShapeError<"concat: the tensors have different dtypes (float32 and float64); convert them with Tensor.cast">
  : Ts[number] extends AnyTensor ? unknown
  : ShapeError<"concat: every element must be a tensor">

// Internal view of a public tensor. The public interface is implemented only by `TensorImpl`, so the
// cast is an identity; it exists because the public type hides the buffer.
const impl = (t: AnyTensor): TensorImpl => t as unknown as TensorImpl
const wrap = <S extends Shape, D extends DType>(t: TensorImpl): Tensor<S, D> => t as unknown as Tensor<S, D>

/**
 * Whether a value is a tensor.
 *
 * @example
 * ```ts
 * Tensor.isTensor(Tensor.zeros([1])) // true
 * ```
 */
export const isTensor = (u: unknown): u is AnyTensor => isTensorImpl(u)

// ---------------------------------------------------------------------------------------------------
// Creation and reading
// ---------------------------------------------------------------------------------------------------

const checkShape = (op: string, shape: ReadonlyArray<number>): void => {
  if (!Array.isArray(shape)) throw new ShapeError(op, `${op}: shape must be an array of dims, got ${String(shape)}`)
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        op,
        `${op}: invalid dim ${d} in shape [${shape.join(", ")}]; dims must be non-negative integers`
      )
    }
  }
}

const dtypeOf = (options: CreateOptions<DType> | undefined): DType => {
  const d = options?.dtype ?? "float32"
  if (d !== "float32" && d !== "float64") {
    throw new TypeError(`unknown dtype ${String(d)}; use "float32" or "float64"`)
  }
  return d
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * const z = Tensor.zeros([2, 3]) // Tensor<readonly [2, 3], "float32">
 * ```
 */
export const zeros = <const S extends Shape, D extends DType = "float32">(
  shape: S,
  options?: CreateOptions<D>
): Tensor<S, D> => {
  checkShape("zeros", shape)
  const dtype = dtypeOf(options)
  return wrap(make(shape, dtype, alloc(dtype, sizeOf(shape))))
}

/**
 * A tensor filled with `value`.
 *
 * @example
 * ```ts
 * const h = Tensor.full([2, 2], 0.5)
 * ```
 */
export const full = <const S extends Shape, D extends DType = "float32">(
  shape: S,
  value: number,
  options?: CreateOptions<D>
): Tensor<S, D> => {
  checkShape("full", shape)
  const dtype = dtypeOf(options)
  return wrap(make(shape, dtype, alloc(dtype, sizeOf(shape)).fill(value)))
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * const o = Tensor.ones([3], { dtype: "float64" })
 * ```
 */
export const ones = <const S extends Shape, D extends DType = "float32">(
  shape: S,
  options?: CreateOptions<D>
): Tensor<S, D> => full(shape, 1, options)

/**
 * A rank-0 tensor holding one number.
 *
 * @example
 * ```ts
 * const two = Tensor.scalar(2) // Tensor<readonly []>
 * ```
 */
export const scalar = <D extends DType = "float32">(
  value: number,
  options?: CreateOptions<D>
): Tensor<readonly [], D> => full([], value, options)

/**
 * A tensor from row-major data. Throws a `ShapeError` when `data.length` is not the shape's size.
 *
 * @example
 * ```ts
 * const m = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]) // Tensor<readonly [2, 3]>
 * ```
 */
export const fromArray = <const S extends Shape, D extends DType = "float32">(
  data: ArrayLike<number>,
  shape: S,
  options?: CreateOptions<D>
): Tensor<S, D> => {
  checkShape("fromArray", shape)
  const dtype = dtypeOf(options)
  const n = sizeOf(shape)
  if (data === null || typeof data !== "object" || typeof data.length !== "number") {
    throw new TypeError(`fromArray: data must be an array or typed array of numbers, got ${String(data)}`)
  }
  if (data.length > 0 && typeof data[0] !== "number") {
    throw new TypeError(
      `fromArray: data must hold numbers in row-major order, got ${
        Array.isArray(data[0]) ? "nested arrays" : typeof data[0]
      }; ` +
        `flatten nested arrays first (data.flat(Infinity))`
    )
  }
  if (data.length !== n) {
    throw new ShapeError(
      "fromArray",
      `fromArray: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${n}; ` +
        `pass ${n} numbers or change the shape`
    )
  }
  const buffer = alloc(dtype, n)
  for (let i = 0; i < n; i++) buffer[i] = data[i]!
  return wrap(make(shape, dtype, buffer))
}

/**
 * The elements in row-major order, as a fresh `Float32Array` or `Float64Array` (length 1 for a rank-0
 * tensor).
 *
 * @example
 * ```ts
 * Tensor.toArray(Tensor.ones([2])) // Float32Array [1, 1]
 * ```
 */
export const toArray = <S extends Shape, D extends DType>(self: Tensor<S, D>): ArrayOf<D> =>
  impl(self).data.slice() as ArrayOf<D>

/**
 * The single value of a tensor with one element.
 *
 * @example
 * ```ts
 * Tensor.item(Tensor.scalar(3)) // 3
 * ```
 */
export const item = <S extends Shape, D extends DType>(self: Tensor<S, D>): number => {
  const t = impl(self)
  if (t.size !== 1) {
    throw new ShapeError("item", `item: tensor of shape [${t.shape.join(", ")}] has ${t.size} elements, not 1`)
  }
  return t.data[0]!
}

/**
 * The same values in another dtype.
 *
 * @example
 * ```ts
 * const x64 = Tensor.cast(Tensor.ones([2]), "float64")
 * ```
 */
export const cast: {
  <D2 extends DType>(dtype: D2): <S extends Shape, D extends DType>(self: Tensor<S, D>) => Tensor<S, D2>
  <S extends Shape, D extends DType, D2 extends DType>(self: Tensor<S, D>, dtype: D2): Tensor<S, D2>
} = dual(2, (self: AnyTensor, dtype: DType): AnyTensor => {
  const t = impl(self)
  if (t.dtype === dtype) return self
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(`cast: unknown dtype ${String(dtype)}; use "float32" or "float64"`)
  }
  return wrap(bind(castPrimitive, [t], { dtype }))
})

const castPrimitive = primitive<{ readonly dtype: DType }>("cast", ([a], { dtype }) => {
  const out = alloc(dtype, a!.size)
  out.set(a!.data)
  return make(a!.shape, dtype, out)
})

// ---------------------------------------------------------------------------------------------------
// Elementwise
// ---------------------------------------------------------------------------------------------------

const sameDType = (op: string, a: TensorImpl, b: TensorImpl): DType => {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${op}: dtypes ${a.dtype} and ${b.dtype} differ; convert one with Tensor.cast`)
  }
  return a.dtype
}

const binaryPrimitive = (name: string, expr: string) =>
  primitive<null>(name, ([a, b]) => {
    const dtype = sameDType(name, a!, b!)
    const shape = Rules.broadcast(a!.shape, b!.shape, name)
    const out = alloc(dtype, sizeOf(shape))
    binaryBroadcast(expr, dtype, out, shape, a!.data, a!.shape, b!.data, b!.shape)
    return make(shape, dtype, out)
  })

const unaryPrimitive = (name: string, expr: string) =>
  primitive<null>(name, ([a]) => {
    const out = alloc(a!.dtype, a!.size)
    unaryKernel(expr, a!.dtype)(out, a!.data, a!.size)
    return make(a!.shape, a!.dtype, out)
  })

/** The elementwise primitives and their forward expressions. */
const primitives = {
  add: binaryPrimitive("add", "a + b"),
  sub: binaryPrimitive("sub", "a - b"),
  mul: binaryPrimitive("mul", "a * b"),
  div: binaryPrimitive("div", "a / b"),
  maximum: binaryPrimitive("maximum", "(a >= b || a !== a) ? a : b"),
  minimum: binaryPrimitive("minimum", "(a <= b || a !== a) ? a : b"),
  pow: binaryPrimitive("pow", "Math.pow(a, b)"),
  greater: binaryPrimitive("greater", "a > b ? 1 : 0"),
  greaterEqual: binaryPrimitive("greaterEqual", "a >= b ? 1 : 0"),
  equal: binaryPrimitive("equal", "a === b ? 1 : 0"),
  neg: unaryPrimitive("neg", "-a"),
  exp: unaryPrimitive("exp", "Math.exp(a)"),
  log: unaryPrimitive("log", "Math.log(a)"),
  tanh: unaryPrimitive("tanh", "Math.tanh(a)"),
  sigmoid: unaryPrimitive("sigmoid", "a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a))"),
  // NaN propagates (as in PyTorch, TensorFlow and JAX): a NaN input must not be hidden by the activation.
  relu: unaryPrimitive("relu", "a > 0 || a !== a ? a : 0"),
  sqrt: unaryPrimitive("sqrt", "Math.sqrt(a)"),
  abs: unaryPrimitive("abs", "Math.abs(a)"),
  sign: unaryPrimitive("sign", "a > 0 ? 1 : a < 0 ? -1 : 0"),
  square: unaryPrimitive("square", "a * a")
} as const

/**
 * A binary elementwise op with NumPy broadcasting. The second operand may be a plain number.
 */
export interface BinaryOp<Op extends string> {
  <B extends Shape, D extends DType>(
    that: Tensor<B, D>
  ): <A extends Shape>(
    self: Tensor<A, D> & Rules.Check<Rules.Broadcast<A, B, Op>>
  ) => Tensor<Res<Rules.Broadcast<A, B, Op>>, D>
  (that: number): <A extends Shape, D extends DType>(self: Tensor<A, D>) => Tensor<A, D>
  <A extends Shape, D extends DType>(self: Tensor<A, D>, that: number): Tensor<A, D>
  // Last, so that a call that fits no overload reports this one's error: the ShapeError naming the sizes.
  <A extends Shape, B extends Shape, D extends DType>(
    self: Tensor<A, D>,
    that: Tensor<B, NoInfer<D>> & Rules.Check<Rules.Broadcast<A, B, Op>>
  ): Tensor<Res<Rules.Broadcast<A, B, Op>>, D>
}

const binary = <Op extends string>(p: ReturnType<typeof binaryPrimitive>): BinaryOp<Op> =>
  dual(2, (self: AnyTensor, that: AnyTensor | number): AnyTensor => {
    const a = impl(self)
    const b = typeof that === "number" ? make([], a.dtype, alloc(a.dtype, 1).fill(that)) : impl(that)
    return wrap(bind(p, [a, b], null))
  })

/**
 * Elementwise `self + that` with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.add(Tensor.ones([2, 3]), Tensor.ones([3])) // Tensor<readonly [2, 3]>
 * pipe(x, Tensor.add(1))
 * ```
 */
export const add: BinaryOp<"add"> = binary(primitives.add)

/**
 * Elementwise `self - that` with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.sub(Tensor.ones([2, 3]), Tensor.ones([2, 1]))
 * ```
 */
export const sub: BinaryOp<"sub"> = binary(primitives.sub)

/**
 * Elementwise `self * that` with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.mul(x, 0.5)
 * ```
 */
export const mul: BinaryOp<"mul"> = binary(primitives.mul)

/**
 * Elementwise `self / that` with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.div(x, Tensor.sum(x))
 * ```
 */
export const div: BinaryOp<"div"> = binary(primitives.div)

/**
 * Elementwise maximum with broadcasting (NaN propagates).
 *
 * @example
 * ```ts
 * Tensor.maximum(x, 0) // same as relu
 * ```
 */
export const maximum: BinaryOp<"maximum"> = binary(primitives.maximum)

/**
 * Elementwise minimum with broadcasting (NaN propagates).
 *
 * @example
 * ```ts
 * Tensor.minimum(x, 1)
 * ```
 */
export const minimum: BinaryOp<"minimum"> = binary(primitives.minimum)

/**
 * Elementwise `self ** that` with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.pow(x, 3)
 * ```
 */
export const pow: BinaryOp<"pow"> = binary(primitives.pow)

/**
 * Elementwise `self > that` as 1 or 0, with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.greater(x, 0) // a mask of the positive entries
 * ```
 */
export const greater: BinaryOp<"greater"> = binary(primitives.greater)

/**
 * Elementwise `self >= that` as 1 or 0, with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.greaterEqual(x, 0)
 * ```
 */
export const greaterEqual: BinaryOp<"greaterEqual"> = binary(primitives.greaterEqual)

/**
 * Elementwise `self === that` as 1 or 0, with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.equal(predictions, labels)
 * ```
 */
export const equal: BinaryOp<"equal"> = binary(primitives.equal)

const unary =
  (p: ReturnType<typeof unaryPrimitive>) => <S extends Shape, D extends DType>(self: Tensor<S, D>): Tensor<S, D> =>
    wrap(bind(p, [impl(self)], null))

/**
 * Elementwise negation.
 *
 * @example
 * ```ts
 * Tensor.neg(x)
 * ```
 */
export const neg = unary(primitives.neg)

/**
 * Elementwise `e^x`.
 *
 * @example
 * ```ts
 * x.pipe(Tensor.exp)
 * ```
 */
export const exp = unary(primitives.exp)

/**
 * Elementwise natural logarithm.
 *
 * @example
 * ```ts
 * Tensor.log(Tensor.exp(x)) // x
 * ```
 */
export const log = unary(primitives.log)

/**
 * Elementwise hyperbolic tangent.
 *
 * @example
 * ```ts
 * Tensor.tanh(x)
 * ```
 */
export const tanh = unary(primitives.tanh)

/**
 * Elementwise logistic function `1 / (1 + e^-x)`, computed without overflow for any input.
 *
 * @example
 * ```ts
 * Tensor.sigmoid(logits)
 * ```
 */
export const sigmoid = unary(primitives.sigmoid)

/**
 * Elementwise `max(x, 0)`.
 *
 * @example
 * ```ts
 * x.pipe(Tensor.relu)
 * ```
 */
export const relu = unary(primitives.relu)

/**
 * Elementwise square root.
 *
 * @example
 * ```ts
 * Tensor.sqrt(variance)
 * ```
 */
export const sqrt = unary(primitives.sqrt)

/**
 * Elementwise absolute value.
 *
 * @example
 * ```ts
 * Tensor.abs(x)
 * ```
 */
export const abs = unary(primitives.abs)

/**
 * Elementwise sign (-1, 0 or 1).
 *
 * @example
 * ```ts
 * Tensor.sign(x)
 * ```
 */
export const sign = unary(primitives.sign)

/**
 * Elementwise square.
 *
 * @example
 * ```ts
 * Tensor.square(x)
 * ```
 */
export const square = unary(primitives.square)

// ---------------------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------------------

interface ReduceParams {
  readonly reduced: ReadonlyArray<boolean>
  readonly shape: ReadonlyArray<number>
}

const reducePrimitive = (kind: "sum" | "max") =>
  primitive<ReduceParams>(
    kind,
    ([a], { reduced, shape }) => make(shape, a!.dtype, reduceKernel(kind, a!.dtype, a!.data, a!.shape, reduced))
  )

const sumPrimitive = reducePrimitive("sum")
const maxPrimitive = reducePrimitive("max")

const reduceParams = (op: string, t: TensorImpl, options: ReduceOptions | undefined): ReduceParams => {
  const axis = options?.axis
  const keepDims = options?.keepDims ?? false
  const shape = Rules.reduce(t.shape, axis, keepDims, op)
  const axes = axis === undefined
    ? t.shape.map((_, i) => i)
    : (typeof axis === "number" ? [axis] : axis).map((a) => Rules.normalizeAxis(t.rank, a, op))
  const reduced = t.shape.map((_, i) => axes.includes(i))
  return { reduced, shape }
}

/**
 * A reduction along some axes (all by default), keeping them as size-1 axes on request. One generic
 * signature: data-first (`Tensor.sum(x, { axis: 1 })`), data-last (`pipe(x, Tensor.sum({ axis: 1 }))`) and
 * bare in a pipe (`x.pipe(Tensor.sum)`) all keep the static shape, and an axis out of range is a compile
 * error on the options.
 */
export type ReduceOp<Op extends string> = <
  const A extends AnyTensor | ReduceOptions | undefined = undefined,
  const O extends ReduceOptions = {}
>(
  selfOrOptions?: A,
  options?: O & Rules.Check<Rules.Reduce<ShapeOfTensor<A>, AxisOf<O>, KeepOf<O>, Op>>
) => A extends Tensor<infer S, infer D> ? Tensor<Res<Rules.Reduce<S, AxisOf<O>, KeepOf<O>, Op>>, D>
  : <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Reduce<S, AxisOf<A>, KeepOf<A>, Op>>
  ) => Tensor<Res<Rules.Reduce<S, AxisOf<A>, KeepOf<A>, Op>>, D>

type ShapeOfTensor<A> = A extends Tensor<infer S, DType> ? S : never

const isDataFirst = (args: IArguments): boolean => isTensorImpl(args[0])

/**
 * Sum along `axis` (all axes by default).
 *
 * @example
 * ```ts
 * Tensor.sum(x)                              // Tensor<readonly []>
 * Tensor.sum(x, { axis: 1, keepDims: true }) // [2, 3] -> [2, 1]
 * ```
 */
export const sum: ReduceOp<"sum"> = dual(
  isDataFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = impl(self)
    return wrap(bind(sumPrimitive, [t], reduceParams("sum", t, options)))
  }
)

/**
 * Mean along `axis` (all axes by default).
 *
 * @example
 * ```ts
 * Tensor.mean(losses) // Tensor<readonly []>
 * ```
 */
export const mean: ReduceOp<"mean"> = dual(
  isDataFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = impl(self)
    const params = reduceParams("mean", t, options)
    const s = bind(sumPrimitive, [t], params)
    const count = t.size / Math.max(1, s.size)
    return t.size === 0 ? wrap(s) : div(wrap(s), count)
  }
)

/**
 * Maximum along `axis` (all axes by default). NaN propagates.
 *
 * @example
 * ```ts
 * Tensor.max(logits, { axis: -1, keepDims: true })
 * ```
 */
export const max: ReduceOp<"max"> = dual(
  isDataFirst,
  (self: AnyTensor, options?: ReduceOptions): AnyTensor => {
    const t = impl(self)
    if (t.size === 0) {
      throw new ShapeError("max", `max: cannot take the maximum of an empty tensor of shape [${t.shape.join(", ")}]`)
    }
    return wrap(bind(maxPrimitive, [t], reduceParams("max", t, options)))
  }
)

// ---------------------------------------------------------------------------------------------------
// Shape manipulation
// ---------------------------------------------------------------------------------------------------

const reshapePrimitive = primitive<{ readonly shape: ReadonlyArray<number> }>(
  "reshape",
  ([a], { shape }) => make(shape, a!.dtype, a!.data)
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
  ): <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Reshape<S, T>>
  ) => Tensor<Res<Rules.Reshape<S, T>>, D>
  <S extends Shape, D extends DType, const T extends ReadonlyArray<number>>(
    self: Tensor<S, D> & Rules.Check<Rules.Reshape<S, T>>,
    shape: T
  ): Tensor<Res<Rules.Reshape<S, T>>, D>
} = dual(2, (self: AnyTensor, shape: ReadonlyArray<number>): AnyTensor => {
  const t = impl(self)
  return wrap(bind(reshapePrimitive, [t], { shape: Rules.reshape(t.shape, shape) }))
})

/**
 * Keeps axis 0 and flattens the rest: `[N, ...rest] -> [N, prod(rest)]`.
 *
 * @example
 * ```ts
 * Tensor.flatten(Tensor.zeros([8, 7, 7, 48])) // Tensor<readonly [8, 2352]>
 * ```
 */
export const flatten = <S extends Shape, D extends DType>(
  self: Tensor<S, D> & Rules.Check<Rules.Flatten<S>>
): Tensor<Res<Rules.Flatten<S>>, D> => {
  const t = impl(self)
  return wrap(bind(reshapePrimitive, [t], { shape: Rules.flatten(t.shape) }))
}

/**
 * `transpose`'s type: one generic signature, so `x.pipe(Tensor.transpose)` keeps the static shape too; a
 * permutation that does not fit the rank is a compile error.
 */
export type TransposeOp = <
  const A extends AnyTensor | ReadonlyArray<number> | undefined = undefined,
  const P extends ReadonlyArray<number> | undefined = undefined
>(
  selfOrPerm?: A,
  perm?: P & Rules.Check<Rules.Transpose<ShapeOfTensor<A>, P>>
) => A extends Tensor<infer S, infer D> ? Tensor<Res<Rules.Transpose<S, P>>, D>
  : <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Transpose<S, A extends ReadonlyArray<number> ? A : undefined>>
  ) => Tensor<Res<Rules.Transpose<S, A extends ReadonlyArray<number> ? A : undefined>>, D>

const transposePrimitive = primitive<{ readonly perm: ReadonlyArray<number> }>(
  "transpose",
  ([a], { perm }) => make(perm.map((p) => a!.shape[p]!), a!.dtype, transposeKernel(a!.dtype, a!.data, a!.shape, perm))
)

/**
 * Permutes the axes (reverses them by default).
 *
 * @example
 * ```ts
 * Tensor.transpose(Tensor.zeros([2, 3])) // Tensor<readonly [3, 2]>
 * Tensor.transpose(x, [0, 3, 1, 2])      // NHWC -> NCHW
 * ```
 */
export const transpose: TransposeOp = dual(isDataFirst, (self: AnyTensor, perm?: ReadonlyArray<number>): AnyTensor => {
  const t = impl(self)
  Rules.transpose(t.shape, perm)
  const p = perm === undefined
    ? t.shape.map((_, i) => t.rank - 1 - i)
    : perm.map((a) => Rules.normalizeAxis(t.rank, a, "transpose"))
  return wrap(bind(transposePrimitive, [t], { perm: p }))
})

const concatPrimitive = primitive<{ readonly axis: number; readonly shape: ReadonlyArray<number> }>(
  "concat",
  (inputs, { axis, shape }) => make(shape, inputs[0]!.dtype, concatKernel(inputs[0]!.dtype, inputs, axis, shape))
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
  (tensors: ReadonlyArray<AnyTensor>, axis: number = 0): AnyTensor => {
    if (tensors.length === 0) throw new ShapeError("concat", "concat: needs at least one tensor")
    const ts = tensors.map(impl)
    for (const t of ts) sameDType("concat", ts[0]!, t)
    const shape = Rules.concat(ts.map((t) => t.shape), axis)
    const a = Rules.normalizeAxis(ts[0]!.rank, axis, "concat")
    return wrap(bind(concatPrimitive, ts, { axis: a, shape }))
  }
)

const slicePrimitive = primitive<{ readonly begin: ReadonlyArray<number>; readonly shape: ReadonlyArray<number> }>(
  "slice",
  ([a], { begin, shape }) => make(shape, a!.dtype, window("slice", a!.dtype, a!.data, a!.shape, begin, shape))
)

/**
 * The box of `size` elements starting at `begin` (one entry per axis; `-1` in `size` takes the rest).
 * The result's shape is known at run time only.
 *
 * @example
 * ```ts
 * Tensor.slice(x, [0, 1], [2, 2])
 * ```
 */
export const slice = <S extends Shape, D extends DType>(
  self: Tensor<S, D>,
  begin: ReadonlyArray<number>,
  size: ReadonlyArray<number>
): Tensor<ReadonlyArray<number>, D> => {
  const t = impl(self)
  if (begin.length !== t.rank || size.length !== t.rank) {
    throw new ShapeError(
      "slice",
      `slice: begin [${begin.join(", ")}] and size [${size.join(", ")}] must have one entry per axis of [${
        t.shape.join(", ")
      }]`
    )
  }
  const shape = size.map((s, i) => (s === -1 ? t.shape[i]! - begin[i]! : s))
  for (let i = 0; i < t.rank; i++) {
    const b = begin[i]!
    const s = shape[i]!
    if (!Number.isInteger(b) || !Number.isInteger(s) || b < 0 || s < 0 || b + s > t.shape[i]!) {
      throw new ShapeError(
        "slice",
        `slice: box [${begin.join(", ")}] + [${shape.join(", ")}] does not fit in shape [${
          t.shape.join(", ")
        }] at axis ${i}`
      )
    }
  }
  return wrap(bind(slicePrimitive, [t], { begin, shape }))
}

const padPrimitive = primitive<{ readonly begin: ReadonlyArray<number>; readonly shape: ReadonlyArray<number> }>(
  "pad",
  ([a], { begin, shape }) => make(shape, a!.dtype, window("pad", a!.dtype, a!.data, a!.shape, begin, shape))
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
  ): <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Pad<S, P>>
  ) => Tensor<Res<Rules.Pad<S, P>>, D>
  <S extends Shape, D extends DType, const P extends ReadonlyArray<readonly [number, number]>>(
    self: Tensor<S, D> & Rules.Check<Rules.Pad<S, P>>,
    paddings: P
  ): Tensor<Res<Rules.Pad<S, P>>, D>
} = dual(2, (self: AnyTensor, paddings: ReadonlyArray<readonly [number, number]>): AnyTensor => {
  const t = impl(self)
  const shape = Rules.pad(t.shape, paddings)
  return wrap(bind(padPrimitive, [t], { begin: paddings.map((p) => p[0]), shape }))
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
  ): <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.Broadcast<S, T, "broadcastTo">>
  ) => Tensor<T, D>
  <S extends Shape, D extends DType, const T extends Shape>(
    self: Tensor<S, D> & Rules.Check<Rules.Broadcast<S, T, "broadcastTo">>,
    shape: T
  ): Tensor<T, D>
} = dual(2, (self: AnyTensor, shape: Shape): AnyTensor => {
  const t = impl(self)
  const target = Rules.broadcast(t.shape, shape, "broadcastTo")
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new ShapeError(
      "broadcastTo",
      `broadcastTo: cannot broadcast [${t.shape.join(", ")}] to [${shape.join(", ")}]`
    )
  }
  return add(zeros(shape, { dtype: t.dtype }) as AnyTensor, self) as AnyTensor
})

// ---------------------------------------------------------------------------------------------------
// Softmax
// ---------------------------------------------------------------------------------------------------

const isTensorFirst = (args: IArguments): boolean => isTensorImpl(args[0])

/**
 * A shape-preserving op along one axis (last by default). One generic signature, so that it can be passed
 * as is to `pipe` and keep the static shape: `x.pipe(Tensor.softmax)`, `x.pipe(Tensor.softmax(0))` and
 * `Tensor.softmax(x, 0)` all type-check to the shape of `x`.
 */
export type AxisOp<Op extends string> = <
  const A extends AnyTensor | number | undefined = undefined,
  const N extends number = -1
>(
  selfOrAxis?: A,
  axis?: N & Rules.Check<Rules.NormalizeAxis<RankOf<A>, N, Op>>
) => A extends Tensor<infer S, infer D> ? Tensor<S, D>
  : <S extends Shape, D extends DType>(
    self: Tensor<S, D> & Rules.Check<Rules.NormalizeAxis<S["length"], A extends number ? A : -1, Op>>
  ) => Tensor<S, D>

type RankOf<A> = A extends Tensor<infer S, DType> ? S["length"] : number

/**
 * `log(softmax(x))` along `axis` (last by default), computed stably as `x - max - log(sum(exp(x - max)))`.
 *
 * @example
 * ```ts
 * Tensor.logSoftmax(logits) // same shape as logits
 * ```
 */
export const logSoftmax: AxisOp<"logSoftmax"> = dual(isTensorFirst, (self: AnyTensor, axis: number = -1): AnyTensor => {
  const t = impl(self)
  const a = Rules.normalizeAxis(t.rank, axis, "logSoftmax")
  const m = max(self, { axis: a, keepDims: true })
  const shifted = sub(self, m as AnyTensor) as AnyTensor
  const lse = log(sum(exp(shifted), { axis: a, keepDims: true }) as AnyTensor)
  return sub(shifted, lse as AnyTensor) as AnyTensor
})

/**
 * Softmax along `axis` (last by default), computed stably (the maximum is subtracted first).
 *
 * @example
 * ```ts
 * Tensor.softmax(logits) // rows sum to 1
 * ```
 */
export const softmax: AxisOp<"softmax"> = dual(isTensorFirst, (self: AnyTensor, axis: number = -1): AnyTensor => {
  const t = impl(self)
  const a = Rules.normalizeAxis(t.rank, axis, "softmax")
  const m = max(self, { axis: a, keepDims: true })
  const e = exp(sub(self, m as AnyTensor) as AnyTensor)
  return div(e, sum(e, { axis: a, keepDims: true }) as AnyTensor) as AnyTensor
})

// ---------------------------------------------------------------------------------------------------
// Linear algebra, convolution, pooling
// ---------------------------------------------------------------------------------------------------

/**
 * Matrix product `[..., M, K] x [K, N] -> [..., M, N]` (a batched right operand `[..., K, N]` is
 * broadcast against the left one).
 *
 * @example
 * ```ts
 * Tensor.matmul(Tensor.zeros([8, 784]), Tensor.zeros([784, 10])) // Tensor<readonly [8, 10]>
 * ```
 */
export const matmul: {
  <B extends Shape, D extends DType>(
    that: Tensor<B, D>
  ): <A extends Shape>(self: Tensor<A, D> & Rules.Check<Rules.Matmul<A, B>>) => Tensor<Res<Rules.Matmul<A, B>>, D>
  <A extends Shape, B extends Shape, D extends DType>(
    self: Tensor<A, D>,
    that: Tensor<B, NoInfer<D>> & Rules.Check<Rules.Matmul<A, B>>
  ): Tensor<Res<Rules.Matmul<A, B>>, D>
} = dual(2, (self: AnyTensor, that: AnyTensor): AnyTensor => {
  const a = impl(self)
  const b = impl(that)
  sameDType("matmul", a, b)
  const shape = Rules.matmul(a.shape, b.shape)
  if (b.rank !== 2) return wrap(bind(batchMatmul, [a, b], null))
  const k = a.shape[a.rank - 1]!
  const a2 = a.rank === 2 ? a : bind(reshapePrimitive, [a], { shape: [a.size / Math.max(1, k) || 0, k] })
  const c = bind(matmul2d, [a2, b], { transA: false, transB: false })
  return wrap(a.rank === 2 ? c : bind(reshapePrimitive, [c], { shape }))
})

/**
 * 2-D convolution (cross-correlation, as in every deep learning library): `x` is NHWC `[N, H, W, C]`,
 * `w` is `[KH, KW, C, F]`, the result `[N, OH, OW, F]`. `padding` is `"valid"` (default), `"same"`
 * (TensorFlow semantics), a number, `[ph, pw]` or `[[top, bottom], [left, right]]`; `strides` and
 * `dilation` are a number or `[h, w]`.
 *
 * @example
 * ```ts
 * const y = Tensor.conv2d(Tensor.zeros([8, 28, 28, 1]), Tensor.zeros([2, 2, 1, 24]), { padding: "same" })
 * // Tensor<readonly [8, 28, 28, 24]>
 * ```
 */
export const conv2d: {
  <W extends Shape, D extends DType, const O extends Conv2dOptions = {}>(
    w: Tensor<W, D>,
    options?: O
  ): <X extends Shape>(x: Tensor<X, D> & Rules.Check<Rules.Conv2d<X, W, O>>) => Tensor<Res<Rules.Conv2d<X, W, O>>, D>
  <X extends Shape, W extends Shape, D extends DType, const O extends Conv2dOptions = {}>(
    x: Tensor<X, D>,
    w: Tensor<W, NoInfer<D>> & Rules.Check<Rules.Conv2d<X, W, O>>,
    options?: O
  ): Tensor<Res<Rules.Conv2d<X, W, O>>, D>
} = dual(
  (args: IArguments) => isTensorImpl(args[1]),
  (x: AnyTensor, w: AnyTensor, options?: Conv2dOptions): AnyTensor => {
    const xi = impl(x)
    const wi = impl(w)
    sameDType("conv2d", xi, wi)
    return wrap(bind(conv2dImpl, [xi, wi], conv2dParams(xi.shape, wi.shape, options)))
  }
)

/** Options of `conv2dBias`: those of `conv2d`, and whether a relu follows. */
export interface Conv2dBiasOptions extends Conv2dOptions {
  readonly relu?: boolean
}

/**
 * `conv2d(x, w) + b` (and relu when `relu: true`) fused into one pass: what a convolution layer computes,
 * without the intermediate tensors. `b` is `[F]`.
 *
 * @example
 * ```ts
 * const y = Tensor.conv2dBias(x, w, b, { padding: "same", relu: true }) // relu(conv2d(x, w) + b)
 * ```
 */
export const conv2dBias = <
  X extends Shape,
  W extends Shape,
  D extends DType,
  const O extends Conv2dBiasOptions = {}
>(
  x: Tensor<X, D>,
  w: Tensor<W, NoInfer<D>> & Rules.Check<Rules.Conv2d<X, W, O>>,
  b: Tensor<readonly [W extends readonly [number, number, number, infer F extends number] ? F : number], NoInfer<D>>,
  options?: O
): Tensor<Res<Rules.Conv2d<X, W, O>>, D> => {
  const xi = impl(x)
  const wi = impl(w)
  const bi = impl(b)
  sameDType("conv2dBias", xi, wi)
  sameDType("conv2dBias", xi, bi)
  const params = conv2dParams(xi.shape, wi.shape, options)
  const f = wi.shape[3]
  if (bi.rank !== 1 || bi.shape[0] !== f) {
    throw new ShapeError(
      "conv2dBias",
      `conv2dBias: bias of shape [${
        bi.shape.join(", ")
      }] does not match the kernel's ${f} filters; pass a bias of shape [${f}]`
    )
  }
  return wrap(bind(conv2dBiasPrimitive, [xi, wi, bi], { ...params, relu: options?.relu ?? false }))
}

/**
 * A 2-D pooling op over NHWC input.
 */
export interface PoolOp<Op extends string> {
  <const O extends Pool2dOptions>(
    options: O
  ): <X extends Shape, D extends DType>(
    x: Tensor<X, D> & Rules.Check<Rules.Pool2d<X, O, Op>>
  ) => Tensor<Res<Rules.Pool2d<X, O, Op>>, D>
  <X extends Shape, D extends DType, const O extends Pool2dOptions>(
    x: Tensor<X, D> & Rules.Check<Rules.Pool2d<X, O, Op>>,
    options: O
  ): Tensor<Res<Rules.Pool2d<X, O, Op>>, D>
}

/**
 * Max pooling over NHWC input in one pass; `strides` default to `poolSize`, `padding` is `"valid"`
 * (default) or `"same"` (padded cells never win).
 *
 * @example
 * ```ts
 * Tensor.maxPool2d(Tensor.zeros([8, 28, 28, 24]), { poolSize: 2 }) // Tensor<readonly [8, 14, 14, 24]>
 * ```
 */
export const maxPool2d: PoolOp<"maxPool2d"> = dual(isTensorFirst, (x: AnyTensor, options: Pool2dOptions): AnyTensor => {
  const xi = impl(x)
  return wrap(bind(poolImpl.max, [xi], pool2dParams(xi.shape, options, "maxPool2d")))
})

/**
 * Average pooling over NHWC input; with `"same"` padding each window is divided by its number of real
 * (unpadded) cells, as TensorFlow does.
 *
 * @example
 * ```ts
 * Tensor.avgPool2d(x, { poolSize: [2, 2], strides: 1, padding: "same" })
 * ```
 */
export const avgPool2d: PoolOp<"avgPool2d"> = dual(isTensorFirst, (x: AnyTensor, options: Pool2dOptions): AnyTensor => {
  const xi = impl(x)
  return wrap(bind(poolImpl.avg, [xi], pool2dParams(xi.shape, options, "avgPool2d")))
})

/**
 * @internal the runtime buffer of a tensor, for sibling packages (autodiff, nn) that need raw access.
 *
 * @example
 * ```ts
 * const data = Tensor.unsafeData(t) // do not write into it
 * ```
 */
export const unsafeData = <S extends Shape, D extends DType>(self: Tensor<S, D>): ArrayOf<D> =>
  impl(self).data as ArrayOf<D>

/**
 * @internal wraps a buffer without copying; the caller gives up ownership of `data`.
 *
 * @example
 * ```ts
 * const t = Tensor.unsafeFromData(new Float32Array(6), [2, 3])
 * ```
 */
export const unsafeFromData = <const S extends Shape, D extends DType>(data: ArrayOf<D>, shape: S): Tensor<S, D> => {
  const dtype: DType = data instanceof Float64Array ? "float64" : "float32"
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError(
      "fromData",
      `fromData: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${sizeOf(shape)}`
    )
  }
  return wrap(make(shape, dtype, data as Data))
}

// ---------------------------------------------------------------------------------------------------
// Differentiation rules
//
// Every primitive's VJP, written with the differentiable ops above so that differentiating a rule again
// (higher-order gradients) needs nothing more. `needs[i]` says whether input i wants a cotangent, so a
// rule can skip work for constants. Cotangents may have a broadcast shape of their input's: the autodiff
// engine sums them back (`sumTo`), so broadcasting is handled in one place.
// ---------------------------------------------------------------------------------------------------

type AnyT = Tensor<ReadonlyArray<number>, DType>
// Identity casts between the runtime class and the public interface (see `impl` / `wrap`).
const T = (t: TensorImpl): AnyT => t as unknown as AnyT
const I = (t: AnyTensor): TensorImpl => impl(t)
const rsub = (c: number, t: AnyT): AnyT => add(neg(t), c)

/**
 * Sums `t` down to `shape`, undoing NumPy broadcasting: leading axes are summed away and axes where
 * `shape` has 1 are summed with keepDims. Used by the autodiff engine on every cotangent.
 *
 * @internal
 *
 * @example
 * ```ts
 * Tensor.sumTo(Tensor.ones([4, 2, 3]), [2, 1]) // [[12], [12]]
 * ```
 */
export const sumTo = (t: AnyTensor, shape: ReadonlyArray<number>): AnyTensor => {
  const s = t.shape
  if (s.length === shape.length && s.every((d, i) => d === shape[i])) return t
  const lead = s.length - shape.length
  const axes: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && s[i] !== 1)) axes.push(i)
  }
  const summed = axes.length === 0 ? t : sum(t as AnyT, { axis: axes, keepDims: true })
  return reshape(summed as AnyT, shape) as AnyTensor
}

type Rule<P> = (
  ct: AnyT,
  inputs: ReadonlyArray<AnyT>,
  output: AnyT,
  params: P,
  needs: ReadonlyArray<boolean>
) => ReadonlyArray<AnyT | undefined>

const defineVjp = <P>(p: Primitive<P>, rule: Rule<P>): void => {
  p.vjp = (ct, inputs, output, params, needs) =>
    rule(T(ct), inputs.map(T), T(output), params, needs ?? inputs.map(() => true)).map((t) =>
      t === undefined ? undefined : I(t)
    )
}

const P = primitives
const none = () => [undefined, undefined]
defineVjp(P.add, (ct) => [ct, ct])
defineVjp(P.sub, (ct, _, __, ___, needs) => [ct, needs[1] ? neg(ct) : undefined])
defineVjp(P.mul, (ct, [a, b], _, __, needs) => [
  needs[0] ? mul(ct, b!) : undefined,
  needs[1] ? mul(ct, a!) : undefined
])
defineVjp(P.div, (ct, [, b], out, _, needs) => [
  needs[0] ? div(ct, b!) : undefined,
  needs[1] ? neg(div(mul(ct, out), b!)) : undefined
])
defineVjp(P.maximum, (ct, [a, b]) => {
  const m = greaterEqual(a!, b!)
  return [mul(ct, m), mul(ct, rsub(1, m))]
})
defineVjp(P.minimum, (ct, [a, b]) => {
  const m = greaterEqual(b!, a!)
  return [mul(ct, m), mul(ct, rsub(1, m))]
})
defineVjp(P.pow, (ct, [a, b], out, _, needs) => [
  needs[0] ? mul(ct, mul(b!, pow(a!, sub(b!, 1)))) : undefined,
  needs[1] ? mul(ct, mul(log(a!), out)) : undefined
])
defineVjp(P.greater, none)
defineVjp(P.greaterEqual, none)
defineVjp(P.equal, none)
defineVjp(P.sign, () => [undefined])
defineVjp(P.neg, (ct) => [neg(ct)])
defineVjp(P.exp, (ct, _, out) => [mul(ct, out)])
defineVjp(P.log, (ct, [a]) => [div(ct, a!)])
defineVjp(P.tanh, (ct, _, out) => [mul(ct, rsub(1, square(out)))])
defineVjp(P.sigmoid, (ct, _, out) => [mul(ct, mul(out, rsub(1, out)))])
// relu'(0) = 0: the gradient passes where the output is positive. `reluGrad` is linear in `ct`, so its
// own rule is itself (and nothing for the mask, which is piecewise constant).
defineVjp(P.relu, (ct, _, out) => [T(bind(reluGrad, [I(ct), I(out)], null))])
defineVjp(
  reluGrad,
  (ct, [, y], _, __, needs) => [needs[0] ? T(bind(reluGrad, [I(ct), I(y!)], null)) : undefined, undefined]
)
defineVjp(P.sqrt, (ct, _, out) => [div(ct, mul(out, 2))])
defineVjp(P.abs, (ct, [a]) => [mul(ct, sign(a!))])
defineVjp(P.square, (ct, [a]) => [mul(ct, mul(a!, 2))])
defineVjp(castPrimitive, (ct, [a]) => [cast(ct, a!.dtype)])

const expandReduced = (ct: AnyT, input: AnyT, params: ReduceParams): AnyT => {
  const kept = input.shape.map((d, i) => (params.reduced[i] ? 1 : d))
  return broadcastTo(reshape(ct, kept), input.shape) as AnyT
}
defineVjp(sumPrimitive, (ct, [a], _, params) => [expandReduced(ct, a!, params)])
// The gradient of max goes to the first maximum of each reduced group.
defineVjp(
  maxPrimitive,
  (ct, [a], _, params) => [mul(expandReduced(ct, a!, params), T(bind(firstMaxMaskPrimitive, [I(a!)], params)))]
)
const firstMaxMaskPrimitive = primitive<ReduceParams>(
  "firstMaxMask",
  ([a], { reduced }) => make(a!.shape, a!.dtype, firstMaxMask(a!.dtype, a!.data, a!.shape, reduced))
)
defineVjp(firstMaxMaskPrimitive, () => [undefined])

defineVjp(reshapePrimitive, (ct, [a]) => [reshape(ct, a!.shape)])
defineVjp(transposePrimitive, (ct, _, __, { perm }) => {
  const inverse = new Array<number>(perm.length)
  perm.forEach((p, i) => (inverse[p] = i))
  return [transpose(ct, inverse)]
})
defineVjp(concatPrimitive, (ct, inputs, _, { axis }, needs) => {
  let offset = 0
  return inputs.map((t, i) => {
    const begin = ct.shape.map((_, k) => (k === axis ? offset : 0))
    offset += t.shape[axis]!
    return needs[i] ? slice(ct, begin, t.shape) : undefined
  })
})
defineVjp(slicePrimitive, (ct, [a], _, { begin, shape }) => [
  pad(ct, a!.shape.map((d, i) => [begin[i]!, d - begin[i]! - shape[i]!] as const))
])
defineVjp(padPrimitive, (ct, [a], _, { begin }) => [slice(ct, begin, a!.shape)])

defineVjp(matmul2d, (ct, [a, b], _, { transA, transB }, needs) => {
  const c = I(ct)
  const da = !needs[0]
    ? undefined
    : transA
    ? bind(matmul2d, [I(b!), c], { transA: transB, transB: true })
    : bind(matmul2d, [c, I(b!)], { transA: false, transB: !transB })
  const db = !needs[1]
    ? undefined
    : transB
    ? bind(matmul2d, [c, I(a!)], { transA: true, transB: transA })
    : bind(matmul2d, [I(a!), c], { transA: !transA, transB: false })
  return [da && T(da), db && T(db)]
})
const swapLast = (t: AnyT): AnyT => {
  const perm = t.shape.map((_, i) => i)
  const r = perm.length
  perm[r - 1] = r - 2
  perm[r - 2] = r - 1
  return transpose(t, perm)
}
defineVjp(batchMatmul, (ct, [a, b], _, __, needs) => [
  needs[0] ? matmul(ct, swapLast(b!)) : undefined,
  needs[1] ? matmul(swapLast(a!), ct) : undefined
])

defineVjp(conv2dImpl, (ct, [x, w], _, params, needs) => [
  needs[0] ? T(bind(conv2dBackpropInput, [I(ct), I(w!)], params)) : undefined,
  needs[1] ? T(bind(conv2dBackpropFilter, [I(x!), I(ct)], params)) : undefined
])
defineVjp(conv2dBiasPrimitive, (ct, [x, w], out, params, needs) => {
  const dz = params.relu ? bind(reluGrad, [I(ct), I(out)], null) : I(ct)
  return [
    needs[0] ? T(bind(conv2dBackpropInput, [dz, I(w!)], params)) : undefined,
    needs[1] ? T(bind(conv2dBackpropFilter, [I(x!), dz], params)) : undefined,
    needs[2] ? sum(T(dz), { axis: [0, 1, 2] }) : undefined
  ]
})
defineVjp(conv2dBackpropInput, (ct, [dy, w], _, params, needs) => [
  needs[0] ? T(bind(conv2dImpl, [I(ct), I(w!)], params)) : undefined,
  needs[1] ? T(bind(conv2dBackpropFilter, [I(ct), I(dy!)], params)) : undefined
])
defineVjp(conv2dBackpropFilter, (ct, [x, dy], _, params, needs) => [
  needs[0] ? T(bind(conv2dBackpropInput, [I(dy!), I(ct)], params)) : undefined,
  needs[1] ? T(bind(conv2dImpl, [I(x!), I(ct)], params)) : undefined
])
defineVjp(poolImpl.max, (ct, [x], _, params) => [T(bind(poolImpl.maxBackward, [I(x!), I(ct)], params))])
defineVjp(
  poolImpl.maxBackward,
  (ct, [x], _, params) => [undefined, T(bind(poolImpl.maxGather, [I(x!), I(ct)], params))]
)
defineVjp(
  poolImpl.maxGather,
  (ct, [x], _, params) => [undefined, T(bind(poolImpl.maxBackward, [I(x!), I(ct)], params))]
)
defineVjp(poolImpl.avg, (ct, _, __, params) => [T(bind(poolImpl.avgBackward, [I(ct)], params))])
defineVjp(poolImpl.avgBackward, (ct, _, __, params) => [T(bind(poolImpl.avg, [I(ct)], params))])
