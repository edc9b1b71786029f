/**
 * Type-level natural numbers.
 *
 * Arithmetic on the decimal strings of numeric literal types: addition and subtraction with carry,
 * schoolbook multiplication and long division, all tail-recursive and driven by small digit tables.
 * Results are exact for every integer that JavaScript represents exactly (up to 2^53 - 1), at a cost that
 * grows with the number of digits, not with the size of the number.
 *
 * Conventions shared by every operation:
 * - an operand that is `number` (not a literal) gives the widest answer (`number`, `boolean`, ...);
 * - an operand that is a literal but not a natural number (negative, fractional) gives `never`;
 * - results that are not natural numbers (`Sub<2, 3>`, `Div<1, 0>`) are `never`.
 *
 * @since 0.1.0
 */
import type * as I from "./internal/nat.ts"

// Both operands are non-negative integer literals.
type Both<A extends number, B extends number> = I.IsNatLit<A> extends true ? I.IsNatLit<B> extends true ? true : false
  : false

/**
 * `A + B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Add<9999999, 1> // 10000000
 * ```
 * @since 0.1.0
 */
export type Add<A extends number, B extends number> = number extends A | B ? number
  : Both<A, B> extends true ? I.ToNum<I.AddS<`${A}`, `${B}`>>
  : never

/**
 * `A - B`, or `never` when the difference would be negative.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Sub<10000000, 1> // 9999999
 * type U = Nat.Sub<1, 2> // never
 * ```
 * @since 0.1.0
 */
export type Sub<A extends number, B extends number> = number extends A | B ? number
  : Both<A, B> extends true ? I.ToNum<I.SubS<`${A}`, `${B}`>>
  : never

/**
 * `A * B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Mul<4096, 4096> // 16777216
 * ```
 * @since 0.1.0
 */
export type Mul<A extends number, B extends number> = number extends A | B ? number
  : Both<A, B> extends true ? I.ToNum<I.MulS<`${A}`, `${B}`>>
  : never

/**
 * `floor(A / B)`, by long division; `never` when `B` is 0.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Div<47040000, 784> // 60000
 * ```
 * @since 0.1.0
 */
export type Div<A extends number, B extends number> = number extends A | B ? number
  : Both<A, B> extends true ? (I.DivModS<`${A}`, `${B}`> extends [infer Q extends string, string] ? I.ToNum<Q> : never)
  : never

/**
 * `A mod B`; `never` when `B` is 0.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Mod<17, 5> // 2
 * ```
 * @since 0.1.0
 */
export type Mod<A extends number, B extends number> = number extends A | B ? number
  : Both<A, B> extends true ? (I.DivModS<`${A}`, `${B}`> extends [string, infer R extends string] ? I.ToNum<R> : never)
  : never

/**
 * Three-way comparison: `"lt" | "eq" | "gt"`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Compare<100, 99> // "gt"
 * ```
 * @since 0.1.0
 */
export type Compare<A extends number, B extends number> = number extends A | B ? "lt" | "eq" | "gt"
  : Both<A, B> extends true ? I.CmpS<`${A}`, `${B}`>
  : never

/**
 * `A < B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Lt<3, 4> // true
 * ```
 * @since 0.1.0
 */
export type Lt<A extends number, B extends number> = number extends A | B ? boolean
  : Compare<A, B> extends "lt" ? true
  : false

/**
 * `A <= B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Lte<4, 4> // true
 * ```
 * @since 0.1.0
 */
export type Lte<A extends number, B extends number> = number extends A | B ? boolean
  : Compare<A, B> extends "lt" | "eq" ? true
  : false

/**
 * `A > B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Gt<5, 4> // true
 * ```
 * @since 0.1.0
 */
export type Gt<A extends number, B extends number> = number extends A | B ? boolean
  : Compare<A, B> extends "gt" ? true
  : false

/**
 * `A >= B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Gte<4, 5> // false
 * ```
 * @since 0.1.0
 */
export type Gte<A extends number, B extends number> = number extends A | B ? boolean
  : Compare<A, B> extends "gt" | "eq" ? true
  : false

/**
 * The larger of `A` and `B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Max<3, 12> // 12
 * ```
 * @since 0.1.0
 */
export type Max<A extends number, B extends number> = number extends A | B ? number
  : Compare<A, B> extends "lt" ? B
  : Compare<A, B> extends "gt" | "eq" ? A
  : never

/**
 * The smaller of `A` and `B`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.Min<3, 12> // 3
 * ```
 * @since 0.1.0
 */
export type Min<A extends number, B extends number> = number extends A | B ? number
  : Compare<A, B> extends "gt" ? B
  : Compare<A, B> extends "lt" | "eq" ? A
  : never

/**
 * `true` when `N` is a non-negative integer literal, `false` for other literals, `boolean` for `number`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.IsNat<3> // true
 * type U = Nat.IsNat<-1 | 1.5> // false
 * ```
 * @since 0.1.0
 */
export type IsNat<N extends number> = number extends N ? boolean : I.IsNatLit<N>

/**
 * `true` when `N` is a positive integer literal, `false` for other literals, `boolean` for `number`.
 *
 * @example
 * ```ts
 * import type { Nat } from "@typegrad/shape"
 * type T = Nat.IsPositive<1> // true
 * type U = Nat.IsPositive<0> // false
 * ```
 * @since 0.1.0
 */
export type IsPositive<N extends number> = number extends N ? boolean
  : N extends 0 ? false
  : I.IsNatLit<N>
