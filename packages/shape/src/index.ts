/**
 * `@typegrad/shape`: exact type-level naturals, tensor shapes and shape rules, with their runtime twins.
 *
 * @since 0.1.0
 */

/**
 * Type-level natural numbers (digit-wise decimal arithmetic).
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Mul<4096, 4096> // 16777216
 * ```
 * @since 0.1.0
 */
export * as Nat from "./Nat.ts"

/**
 * Shapes, dims and shape rules as types and runtime twins.
 *
 * @example
 * ```ts
 * // runs
 * import { Shape } from "@typegrad/shape"
 * console.log(Shape.conv2d([1, 28, 28, 1], [2, 2, 1, 24], { padding: "same" })) // => [ 1, 28, 28, 24 ]
 * ```
 * @since 0.1.0
 */
export * as Shape from "./Shape.ts"

/**
 * Compile-time type assertions (`Types.Equal`, `Types.Expect`) for checking shapes in your own code.
 *
 * @example
 * ```ts
 * import type { Types } from "@typegrad/shape"
 * type Ok = Types.Expect<Types.Equal<readonly [2, 3], readonly [2, 3]>>
 * ```
 * @since 0.1.0
 */
export * as Types from "./Types.ts"

/**
 * The error of a shape rule (thrown at run time; a branded type at compile time).
 *
 * @example
 * ```ts
 * import { ShapeError } from "@typegrad/shape"
 * const e = new ShapeError("add", "add: cannot broadcast [2] with [3]")
 * ```
 * @since 0.1.0
 */
export { ShapeError } from "./ShapeError.ts"
