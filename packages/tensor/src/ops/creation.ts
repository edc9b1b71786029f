/**
 * Creation and reading: `zeros`, `ones`, `full`, `scalar`, `fromArray`, `toArray`, `item`. No primitive
 * here: a new tensor is a constant to every transformation.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { ShapeError } from "@typegrad/shape"
import { alloc, type AnyData, isDType, isFloatDType, make, sizeOf } from "../internal/core.ts"
import { fromImpl, toImpl } from "../internal/op.ts"
import { allocFilled } from "../internal/recycle.ts"
import type { AnyDType, ArrayOf, CreateOptions, DType, Shape, Tensor } from "../Tensor.ts"

/** Checks that a shape is an array of non-negative integer dims. */
export const checkShape = (op: string, shape: ReadonlyArray<number>): void => {
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

/** The float dtype asked for in options (float32 by default); a clear error for any other. */
export const dtypeOf = (options: CreateOptions<AnyDType> | undefined): DType => {
  const d = options?.dtype ?? "float32"
  if (!isFloatDType(d)) throw new TypeError(`unknown dtype ${String(d)}; use "float32" or "float64"`)
  return d
}

/** The dtype asked for in creation options (float32 by default); a clear error for an unknown one. */
export const anyDTypeOf = (options: CreateOptions<AnyDType> | undefined): AnyDType => {
  const d = options?.dtype ?? "float32"
  if (!isDType(d)) {
    throw new TypeError(`unknown dtype ${String(d)}; use "float32", "float64", "int32" or "bool"`)
  }
  return d
}

/**
 * Writes `values` into `out` as `dtype` holds them: floats as they are; int32 only integers in range (a
 * `RangeError` otherwise: `Tensor.cast` from a float tensor is the way to truncate); bool 1 for every
 * non-zero value (NaN included), 0 for zero.
 */
const fill = (op: string, dtype: AnyDType, out: AnyData, values: ArrayLike<number>): void => {
  const n = out.length
  if (dtype === "bool") {
    for (let i = 0; i < n; i++) out[i] = values[i] !== 0 ? 1 : 0
    return
  }
  if (dtype === "int32") {
    for (let i = 0; i < n; i++) {
      const v = values[i]!
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new RangeError(
          `${op}: value ${v} at position ${i} is not an int32 (an integer in [-2^31, 2^31)); ` +
            `round it first, or make a float tensor and convert it with Tensor.cast(x, "int32"), which truncates`
        )
      }
      out[i] = v
    }
    return
  }
  // A typed array is copied (and converted) in one call.
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) (out as Float32Array).set(values as Float32Array)
  else for (let i = 0; i < n; i++) out[i] = values[i]!
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * const z = Tensor.zeros([2, 3]) // Tensor<readonly [2, 3], "float32">
 * ```
 */
export const zeros = <const S extends Shape, D extends AnyDType = "float32">(
  shape: S,
  options?: CreateOptions<D>
): Tensor<S, NoInfer<D>> => {
  checkShape("zeros", shape)
  const dtype = anyDTypeOf(options)
  return fromImpl(make(shape, dtype, alloc(dtype, sizeOf(shape))))
}

/**
 * A tensor filled with `value` (for int32 an integer, for bool any number: non-zero is 1).
 *
 * @example
 * ```ts
 * const h = Tensor.full([2, 2], 0.5)
 * const ignore = Tensor.full([8], -1, { dtype: "int32" }) // Tensor<readonly [8], "int32">
 * ```
 */
export const full = <const S extends Shape, D extends AnyDType = "float32">(
  shape: S,
  value: number,
  options?: CreateOptions<D>
): Tensor<S, NoInfer<D>> => {
  checkShape("full", shape)
  const dtype = anyDTypeOf(options)
  const out = alloc(dtype, sizeOf(shape))
  if (out.length > 0) {
    fill("full", dtype, out.subarray(0, 1), [value])
    out.fill(out[0]!)
  }
  return fromImpl(make(shape, dtype, out))
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * const o = Tensor.ones([3], { dtype: "float64" })
 * ```
 */
export const ones = <const S extends Shape, D extends AnyDType = "float32">(
  shape: S,
  options?: CreateOptions<D>
): Tensor<S, NoInfer<D>> => full(shape, 1, options)

/**
 * A rank-0 tensor holding one number.
 *
 * @example
 * ```ts
 * const two = Tensor.scalar(2) // Tensor<readonly []>
 * ```
 */
export const scalar = <D extends AnyDType = "float32">(
  value: number,
  options?: CreateOptions<D>
): Tensor<readonly [], NoInfer<D>> => full([], value, options)

/**
 * A tensor from row-major data. Throws a `ShapeError` when `data.length` is not the shape's size. With
 * `{ dtype: "int32" }` the values must be integers in the int32 range (a `RangeError` otherwise); with
 * `{ dtype: "bool" }` every non-zero value is 1.
 *
 * @example
 * ```ts
 * const m = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]) // Tensor<readonly [2, 3]>
 * const ids = Tensor.fromArray([0, 2, 1], [3], { dtype: "int32" }) // Tensor<readonly [3], "int32">
 * const keep = Tensor.fromArray([1, 0, 1], [3], { dtype: "bool" }) // Tensor<readonly [3], "bool">
 * ```
 */
export const fromArray = <const S extends Shape, D extends AnyDType = "float32">(
  data: ArrayLike<number>,
  shape: S,
  options?: CreateOptions<D>
): Tensor<S, NoInfer<D>> => {
  checkShape("fromArray", shape)
  const dtype = anyDTypeOf(options)
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
  // Every element is written below (or the call throws), so the buffer need not be zeroed.
  const buffer = allocFilled(dtype, n)
  fill("fromArray", dtype, buffer, data)
  return fromImpl(make(shape, dtype, buffer))
}

/**
 * The elements in row-major order, as a fresh `Float32Array` or `Float64Array` (length 1 for a rank-0
 * tensor); an `Int32Array` for int32 and a `Uint8Array` of 0 and 1 for bool.
 *
 * @example
 * ```ts
 * Tensor.toArray(Tensor.ones([2])) // Float32Array [1, 1]
 * Tensor.toArray(Tensor.fromArray([2, 0], [2], { dtype: "int32" })) // Int32Array [2, 0]
 * ```
 */
export const toArray = <S extends Shape, D extends AnyDType>(self: Tensor<S, D>): ArrayOf<D> =>
  toImpl(self).data.slice() as ArrayOf<D>

/**
 * The single value of a tensor with one element.
 *
 * @example
 * ```ts
 * Tensor.item(Tensor.scalar(3)) // 3
 * ```
 */
export const item = <S extends Shape, D extends AnyDType>(self: Tensor<S, D>): number => {
  const t = toImpl(self)
  if (t.size !== 1) {
    throw new ShapeError("item", `item: tensor of shape [${t.shape.join(", ")}] has ${t.size} elements, not 1`)
  }
  return t.data[0]!
}
