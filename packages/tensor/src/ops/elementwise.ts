/**
 * Elementwise ops: binary ops with NumPy broadcasting, unary ops, comparisons and `cast`. Each primitive
 * is defined with its forward expression (compiled to a monomorphic loop per dtype by
 * `internal/elementwise.ts`) and its VJP rule, written with the ops of this module.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules } from "@typegrad/shape"
import { dual } from "effect/Function"
import { alloc, bind, type Data, make, type Primitive, sizeOf, type TensorImpl } from "../internal/core.ts"
import { binaryBroadcast, unaryKernel } from "../internal/elementwise.ts"
import { reluBackward } from "../internal/kernels/js/fused.ts"
import { type AnyT, apply, definePrimitive, fromImpl, noGradient, type Res, sameDType, toImpl } from "../internal/op.ts"
import type { AnyTensor, DType, Shape, Tensor } from "../Tensor.ts"

const binaryImpl = (name: string, expr: string) => ([a, b]: ReadonlyArray<TensorImpl>): TensorImpl => {
  const dtype = sameDType(name, a!, b!)
  const shape = Rules.broadcast(a!.shape, b!.shape, name)
  const out = alloc(dtype, sizeOf(shape))
  binaryBroadcast(expr, dtype, out, shape, a!.data, a!.shape, b!.data, b!.shape)
  return make(shape, dtype, out)
}

const unaryImpl = (_name: string, expr: string) => ([a]: ReadonlyArray<TensorImpl>): TensorImpl => {
  const out = alloc(a!.dtype, a!.size)
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
export const greaterPrimitive: Primitive<null> = definePrimitive(
  "greater",
  binaryImpl("greater", "a > b ? 1 : 0"),
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
export const greater: BinaryOp<"greater"> = binary(greaterPrimitive)

/** `greaterEqual`: forward expression and VJP rule. */
export const greaterEqualPrimitive: Primitive<null> = definePrimitive(
  "greaterEqual",
  binaryImpl("greaterEqual", "a >= b ? 1 : 0"),
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
export const greaterEqual: BinaryOp<"greaterEqual"> = binary(greaterEqualPrimitive)

/** `equal`: forward expression and VJP rule. */
export const equalPrimitive: Primitive<null> = definePrimitive(
  "equal",
  binaryImpl("equal", "a === b ? 1 : 0"),
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
export const equal: BinaryOp<"equal"> = binary(equalPrimitive)

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

/**
 * `reluGrad(ct, y)`: `ct` where the relu output `y` is positive, else 0 (relu's backward pass). It is
 * linear in `ct`, so its own rule is itself (and nothing for the mask, which is piecewise constant).
 */
export const reluGradPrimitive: Primitive<null> = definePrimitive("reluGrad", ([ct, y]) => {
  const out = alloc(ct!.dtype, ct!.size)
  reluBackward(ct!.data, y!.data as Data, out, ct!.size)
  return make(ct!.shape, ct!.dtype, out)
}, (ct, [, y], _, __, needs) => [needs[0] ? apply(reluGradPrimitive, [ct, y!], null) : undefined, undefined])

/** `cast`: the same values in another dtype; its rule casts the cotangent back. */
export const castPrimitive: Primitive<{ readonly dtype: DType }> = definePrimitive("cast", ([a], { dtype }) => {
  const out = alloc(dtype, a!.size)
  out.set(a!.data)
  return make(a!.shape, dtype, out)
}, (ct, [a]) => [cast(ct, a!.dtype)])

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
  const t = toImpl(self)
  if (t.dtype === dtype) return self
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(`cast: unknown dtype ${String(dtype)}; use "float32" or "float64"`)
  }
  return fromImpl(bind(castPrimitive, [t], { dtype }))
})
