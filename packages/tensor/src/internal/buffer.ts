/**
 * Raw access to a tensor's buffer, for sibling packages (data loaders, optimizers, checkpoints) that
 * must not copy. Not part of the public API.
 *
 * @internal
 */
import { ShapeError } from "@typegrad/shape"
import type { AnyDType, ArrayOf, DType, Shape, Tensor } from "../Tensor.ts"
import { make, sizeOf } from "./core.ts"
import { fromImpl, toImpl } from "./op.ts"

/**
 * The runtime buffer of a tensor, without a copy. Never write into it: tensors are immutable.
 *
 * @example
 * ```ts
 * const data = unsafeData(t) // read only
 * ```
 */
export const unsafeData = <S extends Shape, D extends AnyDType>(self: Tensor<S, D>): ArrayOf<D> =>
  toImpl(self).data as ArrayOf<D>

/**
 * Wraps a buffer without copying; the caller gives up ownership of `data` (it must not write into it
 * afterwards). The dtype follows the array type (`Int32Array`: int32, `Uint8Array`: bool, which must hold
 * only 0 and 1).
 *
 * @example
 * ```ts
 * const t = unsafeFromData(new Float32Array(6), [2, 3]) // Tensor<readonly [2, 3]>
 * ```
 */
export const unsafeFromData = <const S extends Shape, D extends AnyDType = DType>(
  data: ArrayOf<D>,
  shape: S
): Tensor<S, D> => {
  const dtype: AnyDType = data instanceof Float64Array
    ? "float64"
    : data instanceof Int32Array
    ? "int32"
    : data instanceof Uint8Array
    ? "bool"
    : "float32"
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError(
      "fromData",
      `fromData: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${sizeOf(shape)}`
    )
  }
  return fromImpl(make(shape, dtype, data))
}
