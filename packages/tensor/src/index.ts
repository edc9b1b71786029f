/**
 * `@typegrad/tensor`: immutable tensors whose shape is part of their type.
 *
 * @example
 * ```ts
 * // runs
 * import { Tensor } from "@typegrad/tensor"
 * const y = Tensor.matmul(Tensor.ones([2, 3]), Tensor.ones([3, 4])) // Tensor<readonly [2, 4]>
 * console.log(y.shape, Tensor.toArray(y)[0]) // => [ 2, 4 ] 3
 * ```
 *
 * @since 0.1.0
 */
export { ShapeError } from "@typegrad/shape"
export * as Backend from "./Backend.ts"
export * as Prng from "./Prng.ts"
export * as Pytree from "./Pytree.ts"
export * as Tensor from "./Tensor.ts"
