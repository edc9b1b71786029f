/**
 * Elementwise ops: binary ops with NumPy broadcasting, unary ops, comparisons and `cast`. Each primitive
 * is defined with its forward expression (compiled to a monomorphic loop per dtype by
 * `internal/elementwise.ts`) and its VJP rule, written with the ops of this module.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules } from "@typegrad/shape"
import { dual } from "effect/Function"
import {
  alloc,
  allocUninit,
  type AnyData,
  bind,
  type FloatImpl,
  isDType,
  isFloat,
  isFloatDType,
  isTensor as isTensorImpl,
  make,
  type Primitive,
  sizeOf,
  type TensorImpl
} from "../internal/core.ts"
import { binaryBroadcast, broadcastStrides, unaryKernel } from "../internal/elementwise.ts"
import { getKernels } from "../internal/kernels/index.ts"
import {
  type AnyT,
  apply,
  defineAnyDTypePrimitive,
  definePrimitive,
  fromImpl,
  isTensorFirst,
  noGradient,
  type Res,
  sameDType,
  toImpl
} from "../internal/op.ts"
import type { AnyDType, AnyDTypeTensor, AnyTensor, BoolDType, DType, IntDType, Shape, Tensor } from "../Tensor.ts"

const binaryImpl = (name: string, expr: string) => ([a, b]: ReadonlyArray<FloatImpl>): TensorImpl => {
  sameDType(name, a!, b!)
  const dtype = a!.dtype
  const shape = Rules.broadcast(a!.shape, b!.shape, name)
  const out = allocUninit(dtype, sizeOf(shape))
  binaryBroadcast(expr, dtype, out, shape, a!.data, a!.shape, b!.data, b!.shape)
  return make(shape, dtype, out)
}

// A comparison: a 1/0 mask of the operands' dtype for float operands, a bool tensor for int32 or bool ones.
const compareImpl = (name: string, expr: string) => ([a, b]: ReadonlyArray<TensorImpl>): TensorImpl => {
  const dtype = sameDType(name, a!, b!)
  const shape = Rules.broadcast(a!.shape, b!.shape, name)
  const outDType = isFloat(a!) ? a!.dtype : "bool"
  const out = allocUninit(outDType, sizeOf(shape))
  binaryBroadcast(expr, dtype, out, shape, a!.data, a!.shape, b!.data, b!.shape)
  return make(shape, outDType, out)
}

const unaryImpl = (_name: string, expr: string) => ([a]: ReadonlyArray<FloatImpl>): TensorImpl => {
  const out = allocUninit(a!.dtype, a!.size)
  unaryKernel(expr, a!.dtype)(out, a!.data, a!.size)
  return make(a!.shape, a!.dtype, out)
}

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

const binary = <Op extends string>(p: typeof addPrimitive): BinaryOp<Op> =>
  dual(2, (self: AnyTensor, that: AnyTensor | number): AnyTensor => {
    const a = toImpl(self)
    const b = typeof that === "number" ? make([], a.dtype, alloc(a.dtype, 1).fill(that)) : toImpl(that)
    return fromImpl(bind(p, [a, b], null))
  })

/**
 * A comparison with NumPy broadcasting. On float operands it is a `BinaryOp` (a 1/0 mask of their dtype, as
 * always); on int32 or bool operands (both of one dtype, or one tensor and a number) the result is a bool
 * tensor. Data-last with a number (`pipe(x, Tensor.less(0))`) is typed for float tensors; write int32
 * comparisons with a number data-first (`Tensor.less(ids, 3)`).
 *
 * @example
 * ```ts
 * const lessThan: Tensor.CompareOp<"less"> = Tensor.less
 * declare const labels: Tensor.Tensor<readonly [8], "int32">
 * Tensor.equal(labels, 3) // Tensor<readonly [8], "bool">
 * ```
 */
export interface CompareOp<Op extends string> extends BinaryOp<Op> {
  <B extends Shape, D extends DType>(
    that: Tensor<B, D>
  ): <A extends Shape>(
    self: Tensor<A, D> & Rules.Check<Rules.Broadcast<A, B, Op>>
  ) => Tensor<Res<Rules.Broadcast<A, B, Op>>, D>
  (that: number): <A extends Shape, D extends DType>(self: Tensor<A, D>) => Tensor<A, D>
  <A extends Shape, D extends DType>(self: Tensor<A, D>, that: number): Tensor<A, D>
  // int32 and bool operands: a bool mask.
  <B extends Shape, D extends IntDType | BoolDType>(
    that: Tensor<B, D>
  ): <A extends Shape>(
    self: Tensor<A, D> & Rules.Check<Rules.Broadcast<A, B, Op>>
  ) => Tensor<Res<Rules.Broadcast<A, B, Op>>, "bool">
  <A extends Shape, D extends IntDType | BoolDType>(self: Tensor<A, D>, that: number): Tensor<A, "bool">
  <A extends Shape, B extends Shape, D extends IntDType | BoolDType>(
    self: Tensor<A, D>,
    that: Tensor<B, NoInfer<D>> & Rules.Check<Rules.Broadcast<A, B, Op>>
  ): Tensor<Res<Rules.Broadcast<A, B, Op>>, "bool">
  // Last, so that a call that fits no overload reports this one's error: the ShapeError naming the sizes.
  <A extends Shape, B extends Shape, D extends DType>(
    self: Tensor<A, D>,
    that: Tensor<B, NoInfer<D>> & Rules.Check<Rules.Broadcast<A, B, Op>>
  ): Tensor<Res<Rules.Broadcast<A, B, Op>>, D>
}

const compare = <Op extends string>(p: typeof greaterPrimitive): CompareOp<Op> =>
  dual(2, (self: AnyDTypeTensor, that: AnyDTypeTensor | number): AnyDTypeTensor => {
    const a = toImpl(self)
    if (typeof that !== "number") return fromImpl(bind(p, [a, toImpl(that)], null))
    if (isFloat(a)) return fromImpl(bind(p, [a, make([], a.dtype, alloc(a.dtype, 1).fill(that))], null))
    if (a.dtype === "int32" && Number.isInteger(that) && Math.abs(that) < 2 ** 31) {
      return fromImpl(bind(p, [a, make([], "int32", alloc("int32", 1).fill(that))], null))
    }
    // A number an int32 or bool tensor cannot hold (2.5, 1e10, NaN): compared in float64, where both are exact.
    const wide = bind(castPrimitive, [a], { dtype: "float64" })
    const mask = bind(p, [wide, make([], "float64", alloc("float64", 1).fill(that))], null)
    return fromImpl(bind(castPrimitive, [mask], { dtype: "bool" }))
  })

const unary = (p: typeof negPrimitive) => <S extends Shape, D extends DType>(self: Tensor<S, D>): Tensor<S, D> =>
  fromImpl(bind(p, [toImpl(self)], null))

// `c - t`, for rules.
const rsub = (c: number, t: AnyT): AnyT => add(neg(t), c)

/** `add`: forward expression and VJP rule. */
export const addPrimitive: Primitive<null> = definePrimitive("add", binaryImpl("add", "a + b"), (ct) => [ct, ct])

/**
 * Elementwise `self + that` with broadcasting.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.add(Tensor.ones([2, 3]), Tensor.ones([3])) // Tensor<readonly [2, 3]>
 * pipe(x, Tensor.add(1))
 * ```
 */
export const add: BinaryOp<"add"> = binary(addPrimitive)

/** `sub`: forward expression and VJP rule. */
export const subPrimitive: Primitive<null> = definePrimitive(
  "sub",
  binaryImpl("sub", "a - b"),
  (ct, _, __, ___, needs) => [ct, needs[1] ? neg(ct) : undefined]
)

/**
 * Elementwise `self - that` with broadcasting.
 *
 * @example
 * ```ts
 * Tensor.sub(Tensor.ones([2, 3]), Tensor.ones([2, 1]))
 * ```
 */
export const sub: BinaryOp<"sub"> = binary(subPrimitive)

/** `mul`: forward expression and VJP rule. */
export const mulPrimitive: Primitive<null> = definePrimitive(
  "mul",
  binaryImpl("mul", "a * b"),
  (ct, [a, b], _, __, needs) => [
    needs[0] ? mul(ct, b!) : undefined,
    needs[1] ? mul(ct, a!) : undefined
  ]
)

/**
 * Elementwise `self * that` with broadcasting.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.mul(x, 0.5)
 * ```
 */
export const mul: BinaryOp<"mul"> = binary(mulPrimitive)

/** `div`: forward expression and VJP rule. */
export const divPrimitive: Primitive<null> = definePrimitive(
  "div",
  binaryImpl("div", "a / b"),
  (ct, [, b], out, _, needs) => [
    needs[0] ? div(ct, b!) : undefined,
    needs[1] ? neg(div(mul(ct, out), b!)) : undefined
  ]
)

/**
 * Elementwise `self / that` with broadcasting.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.div(x, Tensor.sum(x))
 * ```
 */
export const div: BinaryOp<"div"> = binary(divPrimitive)

/** `maximum`: forward expression and VJP rule. */
export const maximumPrimitive: Primitive<null> = definePrimitive(
  "maximum",
  binaryImpl("maximum", "(a >= b || a !== a) ? a : b"),
  (ct, [a, b]) => {
    const m = greaterEqual(a!, b!)
    return [mul(ct, m), mul(ct, rsub(1, m))]
  }
)

/**
 * Elementwise maximum with broadcasting (NaN propagates).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.maximum(x, 0) // same as relu
 * ```
 */
export const maximum: BinaryOp<"maximum"> = binary(maximumPrimitive)

/** `minimum`: forward expression and VJP rule. */
export const minimumPrimitive: Primitive<null> = definePrimitive(
  "minimum",
  binaryImpl("minimum", "(a <= b || a !== a) ? a : b"),
  (ct, [a, b]) => {
    const m = greaterEqual(b!, a!)
    return [mul(ct, m), mul(ct, rsub(1, m))]
  }
)

/**
 * Elementwise minimum with broadcasting (NaN propagates).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.minimum(x, 1)
 * ```
 */
export const minimum: BinaryOp<"minimum"> = binary(minimumPrimitive)

/** `pow`: forward expression and VJP rule. */
export const powPrimitive: Primitive<null> = definePrimitive(
  "pow",
  binaryImpl("pow", "Math.pow(a, b)"),
  (ct, [a, b], out, _, needs) => [
    needs[0] ? mul(ct, mul(b!, pow(a!, sub(b!, 1)))) : undefined,
    needs[1] ? mul(ct, mul(log(a!), out)) : undefined
  ]
)

/**
 * Elementwise `self ** that` with broadcasting.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.pow(x, 3)
 * ```
 */
export const pow: BinaryOp<"pow"> = binary(powPrimitive)

/** `greater`: forward expression and VJP rule. */
export const greaterPrimitive: Primitive<null> = defineAnyDTypePrimitive(
  "greater",
  compareImpl("greater", "a > b ? 1 : 0"),
  noGradient
)

/**
 * Elementwise `self > that` as 1 or 0, with broadcasting.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.greater(x, 0) // a mask of the positive entries
 * ```
 */
export const greater: CompareOp<"greater"> = compare(greaterPrimitive)

/** `greaterEqual`: forward expression and VJP rule. */
export const greaterEqualPrimitive: Primitive<null> = defineAnyDTypePrimitive(
  "greaterEqual",
  compareImpl("greaterEqual", "a >= b ? 1 : 0"),
  noGradient
)

/**
 * Elementwise `self >= that` as 1 or 0, with broadcasting.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.greaterEqual(x, 0)
 * ```
 */
export const greaterEqual: CompareOp<"greaterEqual"> = compare(greaterEqualPrimitive)

/** `equal`: forward expression and VJP rule. */
export const equalPrimitive: Primitive<null> = defineAnyDTypePrimitive(
  "equal",
  compareImpl("equal", "a === b ? 1 : 0"),
  noGradient
)

/**
 * Elementwise `self === that` as 1 or 0, with broadcasting.
 *
 * @example
 * ```ts
 * declare const predictions: Tensor.Tensor<readonly [8]>
 * declare const labels: Tensor.Tensor<readonly [8]>
 * Tensor.equal(predictions, labels)
 * ```
 */
export const equal: CompareOp<"equal"> = compare(equalPrimitive)

/** `less`: forward expression and VJP rule. */
export const lessPrimitive: Primitive<null> = defineAnyDTypePrimitive(
  "less",
  compareImpl("less", "a < b ? 1 : 0"),
  noGradient
)

/**
 * Elementwise `self < that` as 1 or 0 (a mask of the operands' dtype), with broadcasting; no gradient.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.less(x, 0) // a mask of the negative entries
 * ```
 */
export const less: CompareOp<"less"> = compare(lessPrimitive)

/** `lessEqual`: forward expression and VJP rule. */
export const lessEqualPrimitive: Primitive<null> = defineAnyDTypePrimitive(
  "lessEqual",
  compareImpl("lessEqual", "a <= b ? 1 : 0"),
  noGradient
)

/**
 * Elementwise `self <= that` as 1 or 0 (a mask of the operands' dtype), with broadcasting; no gradient.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * pipe(x, Tensor.lessEqual(1))
 * ```
 */
export const lessEqual: CompareOp<"lessEqual"> = compare(lessEqualPrimitive)

/** `neg`: forward expression and VJP rule. */
export const negPrimitive: Primitive<null> = definePrimitive("neg", unaryImpl("neg", "-a"), (ct) => [neg(ct)])

/**
 * Elementwise negation.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.neg(x)
 * ```
 */
export const neg = unary(negPrimitive)

/** `exp`: forward expression and VJP rule. */
export const expPrimitive: Primitive<null> = definePrimitive(
  "exp",
  unaryImpl("exp", "Math.exp(a)"),
  (ct, _, out) => [mul(ct, out)]
)

/**
 * Elementwise `e^x`.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * x.pipe(Tensor.exp)
 * ```
 */
export const exp = unary(expPrimitive)

/** `log`: forward expression and VJP rule. */
export const logPrimitive: Primitive<null> = definePrimitive(
  "log",
  unaryImpl("log", "Math.log(a)"),
  (ct, [a]) => [div(ct, a!)]
)

/**
 * Elementwise natural logarithm.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.log(Tensor.exp(x)) // x
 * ```
 */
export const log = unary(logPrimitive)

/** `tanh`: forward expression and VJP rule. */
export const tanhPrimitive: Primitive<null> = definePrimitive(
  "tanh",
  unaryImpl("tanh", "Math.tanh(a)"),
  (ct, _, out) => [mul(ct, rsub(1, square(out)))]
)

/**
 * Elementwise hyperbolic tangent.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.tanh(x)
 * ```
 */
export const tanh = unary(tanhPrimitive)

/** `sigmoid`: forward expression and VJP rule. */
export const sigmoidPrimitive: Primitive<null> = definePrimitive(
  "sigmoid",
  unaryImpl("sigmoid", "a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a))"),
  (ct, _, out) => [mul(ct, mul(out, rsub(1, out)))]
)

/**
 * Elementwise logistic function `1 / (1 + e^-x)`, computed without overflow for any input.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * Tensor.sigmoid(logits)
 * ```
 */
export const sigmoid = unary(sigmoidPrimitive)

// NaN propagates (as in PyTorch, TensorFlow and JAX): a NaN input must not be hidden by the activation.
// relu"(0) = 0: the gradient passes where the output is positive (`reluGrad`).
/** `relu`: forward expression and VJP rule. */
export const reluPrimitive: Primitive<null> = definePrimitive(
  "relu",
  unaryImpl("relu", "a > 0 || a !== a ? a : 0"),
  (ct, _, out) => [apply(reluGradPrimitive, [ct, out], null)]
)

/**
 * Elementwise `max(x, 0)`.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * x.pipe(Tensor.relu)
 * ```
 */
export const relu = unary(reluPrimitive)

/** `sqrt`: forward expression and VJP rule. */
export const sqrtPrimitive: Primitive<null> = definePrimitive(
  "sqrt",
  unaryImpl("sqrt", "Math.sqrt(a)"),
  (ct, _, out) => [div(ct, mul(out, 2))]
)

/**
 * Elementwise square root.
 *
 * @example
 * ```ts
 * declare const variance: Tensor.Tensor<readonly [3]>
 * Tensor.sqrt(variance)
 * ```
 */
export const sqrt = unary(sqrtPrimitive)

/** `abs`: forward expression and VJP rule. */
export const absPrimitive: Primitive<null> = definePrimitive(
  "abs",
  unaryImpl("abs", "Math.abs(a)"),
  (ct, [a]) => [mul(ct, sign(a!))]
)

/**
 * Elementwise absolute value.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.abs(x)
 * ```
 */
export const abs = unary(absPrimitive)

/** `sign`: forward expression and VJP rule. */
export const signPrimitive: Primitive<null> = definePrimitive(
  "sign",
  unaryImpl("sign", "a > 0 ? 1 : a < 0 ? -1 : 0"),
  noGradient
)

/**
 * Elementwise sign (-1, 0 or 1).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.sign(x)
 * ```
 */
export const sign = unary(signPrimitive)

/** `square`: forward expression and VJP rule. */
export const squarePrimitive: Primitive<null> = definePrimitive(
  "square",
  unaryImpl("square", "a * a"),
  (ct, [a]) => [mul(ct, mul(a!, 2))]
)

/**
 * Elementwise square.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.square(x)
 * ```
 */
export const square = unary(squarePrimitive)

/** `sin`: forward expression and VJP rule. */
export const sinPrimitive: Primitive<null> = definePrimitive(
  "sin",
  unaryImpl("sin", "Math.sin(a)"),
  (ct, [a]) => [mul(ct, cos(a!))]
)

/**
 * Elementwise sine.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.sin(x)
 * ```
 */
export const sin = unary(sinPrimitive)

/** `cos`: forward expression and VJP rule. */
export const cosPrimitive: Primitive<null> = definePrimitive(
  "cos",
  unaryImpl("cos", "Math.cos(a)"),
  (ct, [a]) => [neg(mul(ct, sin(a!)))]
)

/**
 * Elementwise cosine.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * x.pipe(Tensor.cos)
 * ```
 */
export const cos = unary(cosPrimitive)

/** `log1p`: forward expression and VJP rule. */
export const log1pPrimitive: Primitive<null> = definePrimitive(
  "log1p",
  unaryImpl("log1p", "Math.log1p(a)"),
  (ct, [a]) => [div(ct, add(a!, 1))]
)

/**
 * Elementwise `ln(1 + x)`, exact near 0.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.log1p(x)
 * ```
 */
export const log1p = unary(log1pPrimitive)

/** `expm1`: forward expression and VJP rule. */
export const expm1Primitive: Primitive<null> = definePrimitive(
  "expm1",
  unaryImpl("expm1", "Math.expm1(a)"),
  (ct, _, out) => [mul(ct, add(out, 1))]
)

/**
 * Elementwise `e^x - 1`, exact near 0.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.expm1(x)
 * ```
 */
export const expm1 = unary(expm1Primitive)

// The error function in double precision (relative error below 1e-15): for |x| < 2.5 the series
// erf(x) = 2/sqrt(pi) e^(-x^2) sum (2x^2)^n x / (2n+1)!!, whose terms are all positive (no cancellation);
// above, erfc's continued fraction e^(-x^2) / sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...)))).
const erfScalar = (x: number): number => {
  const ax = Math.abs(x)
  if (!(ax < 6)) return ax === ax ? Math.sign(x) : x
  if (ax < 2.5) {
    const x2 = 2 * x * x
    let term = x
    let sum = x
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= x2 / (2 * n + 1)
      sum += term
    }
    return 1.1283791670955126 * Math.exp(-x * x) * sum
  }
  let f = ax
  for (let n = 120; n >= 1; n--) f = ax + n / 2 / f
  const erfc = Math.exp(-ax * ax) / (1.7724538509055159 * f)
  return x < 0 ? erfc - 1 : 1 - erfc
}

/** `erf`: forward loop and VJP rule `2 / sqrt(pi) e^(-x^2)`. */
export const erfPrimitive: Primitive<null> = definePrimitive(
  "erf",
  ([a]) => {
    const out = allocUninit(a!.dtype, a!.size)
    const data = a!.data
    for (let i = 0; i < out.length; i++) out[i] = erfScalar(data[i]!)
    return make(a!.shape, a!.dtype, out)
  },
  (ct, [a]) => [mul(ct, mul(exp(neg(square(a!))), 1.1283791670955126))]
)

/**
 * Elementwise error function `erf(x) = 2 / sqrt(pi) * integral from 0 to x of e^(-t^2) dt`, to double
 * precision (what the exact GELU, `x * (1 + erf(x / sqrt 2)) / 2`, is made of).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.erf(x)
 * ```
 */
export const erf = unary(erfPrimitive)

/**
 * `clip`'s type: data-first `clip(x, min, max)` (as `jnp.clip` and `tf.clip_by_value`) and data-last
 * `pipe(x, Tensor.clip(min, max))`.
 *
 * @example
 * ```ts
 * const relu6: Tensor.ClipOp = Tensor.clip
 * ```
 */
export interface ClipOp {
  (min: number, max: number): <S extends Shape, D extends DType>(self: Tensor<S, D>) => Tensor<S, D>
  <S extends Shape, D extends DType>(self: Tensor<S, D>, min: number, max: number): Tensor<S, D>
}

/**
 * Elementwise `min(max(x, min), max)`. The gradient is 1 where `min <= x <= max` (bounds included, as
 * PyTorch's `clamp`) and 0 outside. `min > max` is an error.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.clip(x, -1, 1)
 * pipe(x, Tensor.clip(0, 6)) // relu6
 * ```
 */
export const clip: ClipOp = dual(isTensorFirst, (self: AnyTensor, lo: number, hi: number): AnyTensor => {
  if (!(lo <= hi)) throw new RangeError(`clip: min ${lo} must not exceed max ${hi}`)
  // minimum/maximum pass the gradient to `x` on ties, so the bounds are included.
  return minimum(maximum(self, lo), hi) as AnyTensor
})

/** `where`: the selection, with broadcasting of its three operands; no gradient to the condition. */
export const wherePrimitive: Primitive<null> = defineAnyDTypePrimitive("where", ([c, a, b]) => {
  const dtype = sameDType("where", a!, b!)
  const shape = Rules.broadcast(Rules.broadcast(c!.shape, a!.shape, "where"), b!.shape, "where")
  const n = sizeOf(shape)
  const out = alloc(dtype, n)
  const rank = shape.length
  const sc = broadcastStrides(c!.shape, shape)
  const sa = broadcastStrides(a!.shape, shape)
  const sb = broadcastStrides(b!.shape, shape)
  const idx = new Array<number>(rank).fill(0)
  const cd = c!.data
  const ad = a!.data
  const bd = b!.data
  let ic = 0
  let ia = 0
  let ib = 0
  for (let k = 0; k < n; k++) {
    out[k] = cd[ic] !== 0 ? ad[ia]! : bd[ib]!
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]!++
      ic += sc[ax]!
      ia += sa[ax]!
      ib += sb[ax]!
      if (idx[ax]! < shape[ax]!) break
      ic -= sc[ax]! * shape[ax]!
      ia -= sa[ax]! * shape[ax]!
      ib -= sb[ax]! * shape[ax]!
      idx[ax] = 0
    }
  }
  return make(shape, dtype, out)
}, (ct, [c], _, __, needs) => {
  const zero = fromImpl<readonly [], DType>(make([], ct.dtype, alloc(ct.dtype, 1)))
  return [
    undefined,
    needs[1] ? where(c!, ct, zero) : undefined,
    needs[2] ? where(c!, zero, ct) : undefined
  ]
})

type WhereShape<C extends Shape, A extends Shape, B extends Shape> = Rules.Broadcast<
  Res<Rules.Broadcast<C, A, "where">>,
  B,
  "where"
>

/**
 * `where`'s type: data-first `where(cond, a, b)` and data-last `pipe(cond, Tensor.where(a, b))`. The
 * three shapes broadcast together; a mismatch is a compile error on the operand that does not fit.
 *
 * @example
 * ```ts
 * const select: Tensor.WhereOp = Tensor.where
 * ```
 */
export interface WhereOp {
  <A extends Shape, B extends Shape, D extends AnyDType>(
    a: Tensor<A, D>,
    b: Tensor<B, NoInfer<D>>
  ): <C extends Shape>(
    cond: Tensor<C, AnyDType> & Rules.Check<Rules.Broadcast<C, A, "where">> & Rules.Check<WhereShape<C, A, B>>
  ) => Tensor<Res<WhereShape<C, A, B>>, D>
  <C extends Shape, A extends Shape, B extends Shape, D extends AnyDType>(
    cond: Tensor<C, AnyDType>,
    a: Tensor<A, D> & Rules.Check<Rules.Broadcast<C, A, "where">>,
    b: Tensor<B, NoInfer<D>> & Rules.Check<WhereShape<C, A, B>>
  ): Tensor<Res<WhereShape<C, A, B>>, D>
}

/**
 * Elementwise selection: `a` where `cond` is non-zero, `b` elsewhere, with NumPy broadcasting of all
 * three. `cond` is a bool mask or a 1/0 float mask (as `less`/`greater`/`equal` give) of any dtype; `a` and
 * `b` share a dtype (any, int32 and bool included).
 * The gradient goes to `a` where `cond` holds and to `b` elsewhere (none to `cond`), so a non-finite value
 * in the branch not taken does not reach the gradient. Data-first when given three tensors.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3]>
 * Tensor.where(Tensor.greater(x, 0), x, Tensor.mul(x, 0.1)) // leaky relu
 * pipe(Tensor.less(x, 0), Tensor.where(Tensor.zeros([3]), x))
 * declare const keep: Tensor.Tensor<readonly [2, 3], "bool">
 * Tensor.where(keep, x, Tensor.zeros([2, 3])) // a bool mask
 * ```
 */
export const where: WhereOp = dual(
  (args: IArguments) => isTensorImpl(args[2]),
  (cond: AnyDTypeTensor, a: AnyDTypeTensor, b: AnyDTypeTensor): AnyDTypeTensor =>
    fromImpl(bind(wherePrimitive, [toImpl(cond), toImpl(a), toImpl(b)], null))
)

/**
 * `reluGrad(ct, y)`: `ct` where the relu output `y` is positive, else 0 (relu's backward pass). It is
 * linear in `ct`, so its own rule is itself (and nothing for the mask, which is piecewise constant).
 */
export const reluGradPrimitive: Primitive<null> = definePrimitive("reluGrad", ([ct, y]) => {
  const out = allocUninit(ct!.dtype, ct!.size)
  getKernels().reluBackward(ct!.data, y!.data, out, ct!.size)
  return make(ct!.shape, ct!.dtype, out)
}, (ct, [, y], _, __, needs) => [needs[0] ? apply(reluGradPrimitive, [ct, y!], null) : undefined, undefined])

/**
 * Converts `from` into `out` (of `dtype`): between floats and from int32 or bool, the nearest value; to
 * int32 truncation toward zero, saturating at the int32 range, NaN giving 0 (as JAX's `astype`); to bool
 * 1 for every non-zero value (NaN included).
 */
const convert = (dtype: AnyDType, out: AnyData, from: AnyData): void => {
  const n = from.length
  if (dtype === "bool") {
    for (let i = 0; i < n; i++) out[i] = from[i] !== 0 ? 1 : 0
  } else if (dtype === "int32" && (from instanceof Float32Array || from instanceof Float64Array)) {
    for (let i = 0; i < n; i++) {
      const v = from[i]!
      out[i] = v !== v ? 0 : v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : Math.trunc(v)
    }
  } else {
    out.set(from)
  }
}

/**
 * `cast`: the same values in another dtype. Between float dtypes its rule casts the cotangent back; an int32
 * or bool input or output gets no gradient (the conversion is piecewise constant).
 */
export const castPrimitive: Primitive<{ readonly dtype: AnyDType }> = defineAnyDTypePrimitive(
  "cast",
  ([a], { dtype }) => {
    const out = allocUninit(dtype, a!.size)
    convert(dtype, out, a!.data)
    return make(a!.shape, dtype, out)
  },
  (ct, [a], out) => [isFloatDType(a!.dtype) && isFloatDType(out.dtype) ? cast(ct, a!.dtype) : undefined]
)

/**
 * The same values in another dtype. Between float32 and float64 it is differentiable (the gradient is cast
 * back). To `"int32"` it truncates toward zero (saturating at the int32 range, NaN giving 0, as JAX's
 * `astype`); to `"bool"` every non-zero value is true; from bool, true is 1. Conversions to or from int32
 * and bool have no gradient.
 *
 * @example
 * ```ts
 * const x64 = Tensor.cast(Tensor.ones([2]), "float64")
 * const ids = Tensor.cast(Tensor.fromArray([2.7, -1.5], [2]), "int32") // Int32Array [2, -1]
 * const mask = pipe(Tensor.fromArray([0, 3], [2]), Tensor.cast("bool")) // Uint8Array [0, 1]
 * ```
 */
export const cast: {
  <D2 extends AnyDType>(dtype: D2): <S extends Shape, D extends AnyDType>(self: Tensor<S, D>) => Tensor<S, D2>
  <S extends Shape, D extends AnyDType, D2 extends AnyDType>(self: Tensor<S, D>, dtype: D2): Tensor<S, D2>
} = dual(2, (self: AnyDTypeTensor, dtype: AnyDType): AnyDTypeTensor => {
  const t = toImpl(self)
  if (t.dtype === dtype) return self
  if (!isDType(dtype)) {
    throw new TypeError(`cast: unknown dtype ${String(dtype)}; use "float32", "float64", "int32" or "bool"`)
  }
  return fromImpl(bind(castPrimitive, [t], { dtype }))
})
