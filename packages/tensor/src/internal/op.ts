/**
 * What every op module shares: the identity casts between the runtime class and the public `Tensor`
 * interface, argument checks, and `definePrimitive`, which defines a primitive together with its VJP rule
 * written in terms of public tensors.
 *
 * @internal
 */
import type { AnyDType, AnyDTypeTensor, DType, Shape, Tensor } from "../Tensor.ts"
import {
  bind,
  type FloatImpl,
  isFloat,
  isTensor,
  type Primitive,
  primitive,
  type TensorImpl,
  type VjpRule
} from "./core.ts"

/**
 * The runtime view of a public tensor. The public interface is implemented only by `TensorImpl`, so the
 * cast is an identity; it exists because the public type hides the buffer.
 */
export const toImpl = (t: AnyDTypeTensor): TensorImpl => t as unknown as TensorImpl

/**
 * The public view of a runtime tensor (an identity, see `toImpl`). Without a dtype to infer from the context,
 * the view is of a float tensor (what the engine's callers handle); ask for `AnyDType` where a tensor may be
 * int32 or bool.
 */
export const fromImpl = <S extends Shape, D extends AnyDType = DType>(t: TensorImpl): Tensor<S, D> =>
  t as unknown as Tensor<S, D>

/** A shape computed by a type-level rule; `never` when the rule produced an error. */
export type Res<R> = R extends Shape ? R : never

/** The shape of a tensor type (`never` for anything else). */
export type ShapeOfTensor<A> = A extends Tensor<infer S, AnyDType> ? S : never

/**
 * Whether a dual op was called data-first: its first argument is a tensor. Ops whose options are
 * optional decide by this, never by argument count (`Tensor.sum(x)` computes).
 */
export const isTensorFirst = (args: IArguments): boolean => isTensor(args[0])

/** The common dtype of two operands; a clear error when they differ. */
export const sameDType = (op: string, a: TensorImpl, b: TensorImpl): AnyDType => {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${op}: dtypes ${a.dtype} and ${b.dtype} differ; convert one with Tensor.cast`)
  }
  return a.dtype
}

/**
 * The inputs of a float primitive, checked: a clear error names the op and the dtype when one of them is an
 * int32 or bool tensor (those reach a primitive only by a dtype the static types rejected, or from untyped
 * code).
 */
export const floatInputs = (op: string, inputs: ReadonlyArray<TensorImpl>): ReadonlyArray<FloatImpl> => {
  if (inputs.every(isFloat)) return inputs
  const bad = inputs.find((t) => !isFloat(t))!
  throw new TypeError(`${op}: expected a float tensor, got ${bad.dtype}; convert with Tensor.cast(x, "float32")`)
}

/** The common float dtype of two operands of a float op: a clear error for an int32 or bool one, or two dtypes. */
export const sameFloatDType = (op: string, a: TensorImpl, b: TensorImpl): DType => {
  const [x] = floatInputs(op, [a, b])
  sameDType(op, a, b)
  return x!.dtype
}

/** The batch, height, width and channels of a validated NHWC shape. */
export const nhwc = (s: ReadonlyArray<number>) => ({ n: s[0]!, h: s[1]!, w: s[2]!, c: s[3]! })

/** A tensor of any shape, as VJP rules see their operands. */
export type AnyT = Tensor<ReadonlyArray<number>, DType>

/** A tensor of any shape and any dtype, as the rules of primitives that accept int32 and bool see their operands. */
export type AnyDT = Tensor<ReadonlyArray<number>, AnyDType>

/**
 * A VJP rule over public tensors: given the output's cotangent, the inputs, the output and the params,
 * one cotangent per input (`undefined`: none). `needs[i]` says whether input i wants a cotangent, so a rule
 * can skip work for constants. Rules are written with definePrimitive ops, so differentiating a rule again
 * (higher-order gradients) needs nothing more. A cotangent may have a broadcast shape of its input's: the
 * autodiff engine sums it back, so broadcasting is handled in one place.
 */
export type Rule<P> = (
  cotangent: AnyT,
  inputs: ReadonlyArray<AnyT>,
  output: AnyT,
  params: P,
  needs: ReadonlyArray<boolean>
) => ReadonlyArray<AnyT | undefined>

/**
 * A rule of a primitive that accepts int32 and bool operands (`defineAnyDTypePrimitive`): as `Rule`, with the
 * inputs and the output of any dtype. Cotangents are float: an int32 or bool value never gets one.
 */
export type AnyDTypeRule<P> = (
  cotangent: AnyT,
  inputs: ReadonlyArray<AnyDT>,
  output: AnyDT,
  params: P,
  needs: ReadonlyArray<boolean>
) => ReadonlyArray<AnyT | undefined>

// The public views of runtime tensors for rules. Cotangents are float (rules make them with float ops); the
// inputs of a float primitive are float (`floatInputs` checked them before the kernel ran), and so is its
// output, except `argmax`/`argmin` asked for int32 indices, whose rule (`noGradient`) reads nothing.
const pub = (t: TensorImpl): AnyT => t as unknown as AnyT
const pubAny = (t: TensorImpl): AnyDT => t as unknown as AnyDT

/** A rule written on public tensors (inputs seen through `view`) as the engine calls it, on runtime tensors. */
const engineRule = <P, I>(
  rule: (
    cotangent: AnyT,
    inputs: ReadonlyArray<I>,
    output: I,
    params: P,
    needs: ReadonlyArray<boolean>
  ) => ReadonlyArray<
    AnyT | undefined
  >,
  view: (t: TensorImpl) => I
): VjpRule<P> =>
(ct, inputs, output, params, needs) =>
  rule(pub(ct), inputs.map(view), view(output), params, needs ?? inputs.map(() => true)).map((t) =>
    t === undefined ? undefined : toImpl(t)
  )

/**
 * Defines a primitive on float tensors: its name, its forward implementation and its VJP rule, in one place.
 * The implementation gets its inputs checked to be float (an int32 or bool input is a clear error naming the
 * primitive), so kernels see float buffers only.
 *
 * @example
 * ```ts
 * const negPrimitive = definePrimitive<null>("neg", ([a]) => negate(a!), (ct) => [neg(ct)])
 * ```
 */
export const definePrimitive = <P>(
  name: string,
  impl: (inputs: ReadonlyArray<FloatImpl>, params: P) => TensorImpl,
  rule: Rule<P>
): Primitive<P> => primitive(name, (inputs, params) => impl(floatInputs(name, inputs), params), engineRule(rule, pub))

/**
 * Defines a primitive whose operands may be int32 or bool tensors too (data movement, comparisons, `where`,
 * `cast`, `gather` and `oneHot` indices): as `definePrimitive`, without the float check, the implementation
 * handling each dtype itself.
 *
 * @example
 * ```ts
 * const reshapePrimitive = defineAnyDTypePrimitive("reshape", ([a], { shape }) => make(shape, a!.dtype, a!.data), rule)
 * ```
 */
export const defineAnyDTypePrimitive = <P>(
  name: string,
  impl: (inputs: ReadonlyArray<TensorImpl>, params: P) => TensorImpl,
  rule: AnyDTypeRule<P>
): Primitive<P> => primitive(name, impl, engineRule(rule, pubAny))

/** The rule of a piecewise-constant primitive (masks, comparisons): no input gets a gradient. */
export const noGradient: AnyDTypeRule<unknown> = (_ct, inputs) => inputs.map(() => undefined)

/**
 * Applies a primitive to public tensors (`bind` with the identity casts on both sides).
 *
 * @example
 * ```ts
 * const dx = apply(reluGradPrimitive, [ct, out], null)
 * ```
 */
export const apply = <P>(p: Primitive<P>, inputs: ReadonlyArray<AnyDTypeTensor>, params: P): AnyT =>
  pub(bind(p, inputs.map(toImpl), params))
