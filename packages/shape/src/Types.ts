/**
 * Compile-time assertions about types: check, in your own code, that a model's shapes are what you think
 * (`Types.Expect<Types.Equal<typeof out, Tensor<readonly [number, 10]>>>`). typegrad's own type tests use
 * them too. They live in `@typegrad/shape`, the package every other one depends on, so that every
 * package's type tests (shape's own included) import one definition without a dependency cycle.
 *
 * @example
 * ```ts
 * import type { Shape, Types } from "@typegrad/shape"
 *
 * export type Cases = [
 *   Types.Expect<Types.Equal<Shape.Flatten<[number, 7, 7, 48]>, readonly [number, 2352]>>,
 *   // readonly matters:
 *   // @ts-expect-error Type 'false' does not satisfy the constraint 'true'.
 *   Types.Expect<Types.Equal<readonly [1], [1]>>
 * ]
 * ```
 *
 * @since 0.1.0
 */

/**
 * `true` when `A` and `B` are exactly the same type, else `false`. Stricter than mutual assignability: it
 * tells `readonly [1]` from `[1]`, `any` from `unknown`, and `number` from a literal.
 *
 * @example
 * ```ts
 * import type { Types } from "@typegrad/shape"
 * type Yes = Types.Equal<readonly [2, 3], readonly [2, 3]> // true
 * type No = Types.Equal<readonly [2, 3], readonly [number, 3]> // false
 * ```
 *
 * @since 0.1.0
 */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * A compile-time assertion: `Expect<T>` type-checks only when `T` is `true`. Combine with `Equal`.
 *
 * @example
 * ```ts
 * import type { Types } from "@typegrad/shape"
 * type Ok = Types.Expect<Types.Equal<1, 1>>
 * // @ts-expect-error Type 'false' does not satisfy the constraint 'true'
 * type Wrong = Types.Expect<Types.Equal<1, 2>>
 * ```
 *
 * @since 0.1.0
 */
export type Expect<T extends true> = T
