/**
 * Creation and reading: `zeros`, `ones`, `full`, `scalar`, `fromArray`, `toArray`, `item`. No primitive
 * here: a new tensor is a constant to every transformation.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { ShapeError } from "@typegrad/shape"
import { alloc, make, sizeOf } from "../internal/core.ts"
import { fromImpl, toImpl } from "../internal/op.ts"
import type { ArrayOf, CreateOptions, DType, Shape, Tensor } from "../Tensor.ts"

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

/** The dtype asked for in creation options (float32 by default); a clear error for an unknown one. */
export const dtypeOf = (options: CreateOptions<DType> | undefined): DType => {
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
  return fromImpl(make(shape, dtype, alloc(dtype, sizeOf(shape))))
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
  return fromImpl(make(shape, dtype, alloc(dtype, sizeOf(shape)).fill(value)))
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
  return fromImpl(make(shape, dtype, buffer))
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
  toImpl(self).data.slice() as ArrayOf<D>

/**
 * The single value of a tensor with one element.
 *
 * @example
 * ```ts
 * Tensor.item(Tensor.scalar(3)) // 3
 * ```
 */
export const item = <S extends Shape, D extends DType>(self: Tensor<S, D>): number => {
  const t = toImpl(self)
  if (t.size !== 1) {
    throw new ShapeError("item", `item: tensor of shape [${t.shape.join(", ")}] has ${t.size} elements, not 1`)
  }
  return t.data[0]!
}
