/**
 * The runtime representation of a tensor and the few helpers every op shares.
 *
 * A tensor is an immutable, contiguous, row-major buffer plus its shape. Ops never mutate an input
 * buffer, so views that share a buffer (reshape, flatten) are safe.
 *
 * @internal
 */
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import { allocData } from "./recycle.ts"

/** The floating-point element types: the dtypes every op supports and that can be differentiated. */
export type DType = "float32" | "float64"

/** The integer element type (indices, labels): `Int32Array`. */
export type IntDType = "int32"

/** The boolean element type (masks): a `Uint8Array` of 0 and 1. */
export type BoolDType = "bool"

/** Every element type a tensor can hold. */
export type AnyDType = DType | IntDType | BoolDType

/** The typed array that backs a tensor of a dtype. */
export type DataOf<D extends AnyDType> = D extends "float64" ? Float64Array
  : D extends "int32" ? Int32Array
  : D extends "bool" ? Uint8Array
  : Float32Array

/** The buffer of a float tensor. */
export type Data = Float32Array | Float64Array

/** Any backing buffer (of a float, int32 or bool tensor). */
export type AnyData = Data | Int32Array | Uint8Array

/** Brand that identifies tensors at run time (`isTensor`). */
export const TypeId: unique symbol = Symbol.for("@typegrad/tensor/Tensor")

/**
 * A hook that lets a transformation (autodiff) intercept primitive applications. The tensor package
 * knows nothing about the transformations themselves: a tensor that carries a `trace` is handed to that
 * trace, everything else runs the kernel directly.
 */
export interface Trace {
  readonly level: number
  readonly process: (primitive: Primitive, inputs: ReadonlyArray<TensorImpl>, params: unknown) => TensorImpl
}

/**
 * The vector-Jacobian product of a primitive: given the cotangent of the output, the cotangents of the
 * inputs (`undefined` where the input gets no gradient). Rules are written with the differentiable ops of
 * `Tensor.ts`, so differentiating a rule again (higher-order gradients) needs nothing more. A cotangent may
 * have a broadcast shape of its input's; the autodiff engine sums it back to the input's shape.
 * (`internal/op.ts` adapts rules written over public tensors to this form.)
 */
export type VjpRule<P> = (
  cotangent: TensorImpl,
  inputs: ReadonlyArray<TensorImpl>,
  output: TensorImpl,
  params: P,
  needs?: ReadonlyArray<boolean>
) => ReadonlyArray<TensorImpl | undefined>

/**
 * A primitive operation: a name, its forward implementation and its VJP rule, given together when the
 * primitive is made (`differentiable` in `internal/op.ts`, `primitive` here); a plain value, never
 * mutated. A primitive without a rule is not differentiable: differentiating through it is an error.
 */
export interface Primitive<P = unknown> {
  readonly name: string
  readonly impl: (inputs: ReadonlyArray<TensorImpl>, params: P) => TensorImpl
  readonly vjp: VjpRule<P> | undefined
  /**
   * For user-defined gradients (`customVjp`): computes the output on the inputs as the trace sees them
   * (possibly tracers of enclosing traces, so those traces record the computation) together with the
   * pullback of this one application. A trace uses it instead of `impl` + `vjp`.
   */
  readonly traced?: (
    inputs: ReadonlyArray<TensorImpl>,
    params: P
  ) => { readonly output: TensorImpl; readonly vjp: (cotangent: TensorImpl) => ReadonlyArray<TensorImpl | undefined> }
}

/** The concrete tensor class. Its public face is the `Tensor<S, D>` interface of `Tensor.ts`. */
export class TensorImpl {
  readonly [TypeId]: typeof TypeId = TypeId
  readonly shape: ReadonlyArray<number>
  readonly dtype: AnyDType
  readonly data: AnyData
  readonly size: number
  /** Set only on tensors that are being traced by a transformation (autodiff). */
  readonly trace: Trace | undefined

  constructor(shape: ReadonlyArray<number>, dtype: AnyDType, data: AnyData, trace?: Trace) {
    this.shape = Object.freeze(shape.slice())
    this.dtype = dtype
    this.data = data
    this.size = data.length
    this.trace = trace
  }

  get rank(): number {
    return this.shape.length
  }

  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }

  toString(): string {
    return `Tensor<${this.dtype}>[${this.shape.join(", ")}]`
  }

  toJSON(): unknown {
    return { _id: "Tensor", dtype: this.dtype, shape: this.shape }
  }

  [NodeInspectSymbol](): string {
    const preview = Array.from(this.data.subarray(0, 8), (v) => +v.toPrecision(6))
    return `${this.toString()} ${JSON.stringify(preview)}${this.size > 8 ? "..." : ""}`
  }
}

/** A tensor whose dtype is a float one (the static view of what `isFloat` checks). */
export interface FloatImpl extends TensorImpl {
  readonly dtype: DType
  readonly data: Data
}

/** Whether a tensor holds floats (float32 or float64), as opposed to int32 or bool. */
export const isFloat = (t: TensorImpl): t is FloatImpl => t.dtype === "float32" || t.dtype === "float64"

/** Whether a string is a float dtype. */
export const isFloatDType = (d: unknown): d is DType => d === "float32" || d === "float64"

/** Whether a string names a dtype. */
export const isDType = (d: unknown): d is AnyDType => isFloatDType(d) || d === "int32" || d === "bool"

/** Whether a value is a tensor. */
export const isTensor = (u: unknown): u is TensorImpl =>
  typeof u === "object" && u !== null && (u as { [TypeId]?: unknown })[TypeId] === TypeId

/**
 * Allocates a zero-filled buffer of a dtype. Large buffers are recycled once the array that owned them is
 * collected (`recycle.ts`).
 */
export function alloc(dtype: DType, n: number): Data
export function alloc(dtype: AnyDType, n: number): AnyData
export function alloc(dtype: AnyDType, n: number): AnyData {
  return allocData(dtype, n)
}

/** Allocates a buffer whose contents are unspecified: for outputs a kernel overwrites in full. */
export function allocUninit(dtype: DType, n: number): Data
export function allocUninit(dtype: AnyDType, n: number): AnyData
export function allocUninit(dtype: AnyDType, n: number): AnyData {
  return allocData(dtype, n, false)
}

/** Number of elements of a shape. */
export const sizeOf = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (let i = 0; i < shape.length; i++) n *= shape[i]!
  return n
}

/** Row-major strides of a shape. */
export const stridesOf = (shape: ReadonlyArray<number>): Array<number> => {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]!
  }
  return strides
}

/** Wraps a freshly computed buffer. */
export const make = (shape: ReadonlyArray<number>, dtype: AnyDType, data: AnyData): TensorImpl =>
  new TensorImpl(shape, dtype, data)

/**
 * Applies a primitive. Untraced inputs (the common case) go straight to the kernel; otherwise the
 * innermost trace among the inputs handles the application.
 */
export const bind = <P>(primitive: Primitive<P>, inputs: ReadonlyArray<TensorImpl>, params: P): TensorImpl => {
  let trace: Trace | undefined
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!.trace
    if (t !== undefined && (trace === undefined || t.level > trace.level)) trace = t
  }
  if (trace === undefined) return primitive.impl(inputs, params)
  return trace.process(primitive as Primitive, inputs, params)
}

/** Defines a primitive. */
export const primitive = <P>(
  name: string,
  impl: (inputs: ReadonlyArray<TensorImpl>, params: P) => TensorImpl,
  vjp?: VjpRule<P>
): Primitive<P> => Object.freeze({ name, impl, vjp })
