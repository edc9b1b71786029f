/**
 * Tensor shapes and the rules that compute them, at compile time and at run time.
 *
 * Every rule exists twice with the same semantics and the same messages:
 * - a type (`Conv2d<X, W, O>`) that evaluates to the result shape, a readonly tuple, or to a
 *   `ShapeError<"...">` naming the op and the sizes;
 * - a runtime twin (`conv2d(x, w, options)`) that validates fully and throws a `ShapeError` whose message
 *   starts with the compile-time message, followed by the shapes involved and the fix.
 *
 * Typing is gradual: a dim that is `number` (only known at run time) makes the dims computed from it
 * `number` and postpones the checks that need it to run time; a shape of unknown rank
 * (`readonly number[]`) gives `readonly number[]`. Checks on dims that are not non-negative integers
 * (e.g. a dim `-1` or `1.5` in a tensor's shape) are done at run time only.
 *
 * @since 0.1.0
 */
import { coerce } from "./internal/coerce.ts"
import type * as Rules from "./internal/rules.ts"
import * as R from "./internal/runtime.ts"

/**
 * A dimension: a numeric literal when known at compile time, `number` otherwise.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const batch: Shape.Dim = 32
 * ```
 * @since 0.1.0
 */
export type Dim = number

/**
 * A shape: a readonly tuple of dims (`readonly [2, 28, 28, 1]`), or `readonly number[]` when even the rank
 * is unknown.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const s: Shape.Shape = [2, 28, 28, 1] as const
 * ```
 * @since 0.1.0
 */
export type Shape = readonly Dim[]

/**
 * A pair of per-axis values `[height, width]`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const strides: Shape.Pair = [2, 1]
 * ```
 * @since 0.1.0
 */
export type Pair = readonly [number, number]

/**
 * Padding of a 2d window: `"valid"` (none), `"same"` (TensorFlow: output `ceil(in / stride)`, the total pad
 * split with the smaller half first), `p` on every side, `[ph, pw]`, or `[[top, bottom], [left, right]]`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const p: Shape.Padding2d = [[0, 1], [0, 1]]
 * ```
 * @since 0.1.0
 */
export type Padding2d = "valid" | "same" | number | Pair | readonly [Pair, Pair]

/**
 * Options of `conv2d`: strides and dilation (default 1) and padding (default `"valid"`).
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const o: Shape.Conv2dOptions = { strides: 2, padding: "same", dilation: [1, 2] }
 * ```
 * @since 0.1.0
 */
export interface Conv2dOptions {
  readonly strides?: number | Pair
  readonly padding?: Padding2d
  readonly dilation?: number | Pair
}

/**
 * Options of 2d pooling: the window size, strides (default: the window size) and padding (default
 * `"valid"`): `"same"`, or explicit pads as for `conv2d` (`p`, `[ph, pw]`, `[[top, bottom], [left, right]]`),
 * each smaller than the pool size on its axis (PyTorch's `padding`). Padded cells never win a max and are
 * not counted in an average (TensorFlow's `"same"`, PyTorch's `count_include_pad=False`).
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const o: Shape.Pool2dOptions = { poolSize: 3, strides: 2, padding: 1 }
 * ```
 * @since 0.1.0
 */
export interface Pool2dOptions {
  readonly poolSize: number | Pair
  readonly strides?: number | Pair
  readonly padding?: Padding2d
}

/**
 * An axis; negative axes count from the end (`-1` is the last).
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const a: Shape.Axis = -1
 * ```
 * @since 0.1.0
 */
export type Axis = number

/**
 * One axis or several.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const a: Shape.Axes = [0, -1]
 * ```
 * @since 0.1.0
 */
export type Axes = number | readonly number[]

/**
 * The geometry of a 2d convolution or pooling window (output size, strides, dilation, the four pads), as
 * computed by `conv2dGeometry` and `pool2dGeometry` for the kernels.
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * const g: Shape.Geometry2d = Shape.conv2dGeometry([1, 5, 5, 1], [2, 2, 1, 1], { strides: 2, padding: "same" })
 * // g.outH === 3, g.padTop === 0, g.padBottom === 1
 * ```
 * @since 0.1.0
 */
export type Geometry2d = R.Geometry2d

// ---------------------------------------------------------------------------------------------------------
// Errors as types

/**
 * `true` when `R` is a `ShapeError`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.IsShapeError<Shape.Broadcast<[2], [3]>> // true
 * ```
 * @since 0.1.0
 */
export type IsShapeError<R> = Rules.IsShapeError<R>

/**
 * `R` when it is a `ShapeError`, `unknown` otherwise: intersect it into the parameter that is wrong so the
 * message lands on the call that is wrong.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * declare function conv<X extends Shape.Shape, W extends Shape.Shape>(
 *   x: X,
 *   w: W & Shape.Check<Shape.Conv2d<X, W>>
 * ): Shape.Ok<Shape.Conv2d<X, W>>
 * ```
 * @since 0.1.0
 */
export type Check<R> = Rules.Check<R>

/**
 * `R` unless it is a `ShapeError` (then `never`): the result type of an op whose arguments are checked.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Ok<Shape.Broadcast<[2, 1], [3]>> // readonly [2, 3]
 * ```
 * @since 0.1.0
 */
export type Ok<R> = Rules.Ok<R>

// ---------------------------------------------------------------------------------------------------------
// Inspection

/**
 * Renders a shape as in the error messages.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Show<[2, number]> // "[2, number]"
 * ```
 * @since 0.1.0
 */
export type Show<S extends Shape> = Rules.Show<S>

/**
 * Renders a shape as in the error messages (runtime).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.show([2, 3]) // "[2, 3]"
 * ```
 * @since 0.1.0
 */
export const show: (s: Shape) => string = R.show

/**
 * The element count of a shape; `number` when a dim or the rank is unknown.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Size<[60000, 28, 28, 1]> // 47040000
 * ```
 * @since 0.1.0
 */
export type Size<S extends Shape> = Rules.Size<S>

/**
 * The element count of a shape (runtime).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.size([2, 3, 4]) // 24
 * ```
 * @since 0.1.0
 */
export const size = <const S extends Shape>(s: S): Size<S> => coerce(R.size(s))

/**
 * `true` when the rank and every dim are known at compile time.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.IsStatic<[number, 10]> // false
 * ```
 * @since 0.1.0
 */
export type IsStatic<S extends Shape> = Rules.IsStatic<S>

// ---------------------------------------------------------------------------------------------------------
// Rules

/**
 * Normalizes an axis in `[-rank, rank)` to `[0, rank)`.
 * Errors: `"<op>: axis 2 out of range for rank 2"`, `"<op>: axis 0.5 is not an integer"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.NormalizeAxis<3, -1> // 2
 * ```
 * @since 0.1.0
 */
export type NormalizeAxis<Rank extends number, A extends number, Op extends string = "normalizeAxis"> =
  Rules.NormalizeAxis<Rank, A, Op>

/**
 * Normalizes an axis (runtime twin of `NormalizeAxis`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.normalizeAxis(3, -1, "softmax") // 2
 * ```
 * @since 0.1.0
 */
export const normalizeAxis = <const Rank extends number, const A extends number>(
  rank: Rank,
  axis: A,
  op?: string
): Ok<NormalizeAxis<Rank, A>> => coerce(R.normalizeAxis(rank, axis, op))

/**
 * NumPy broadcasting of two shapes (aligned from the right, sizes equal or 1). A `number` dim against 1 or
 * `number` stays `number`; against a literal `L` it becomes `L` (checked at run time).
 * Error: `"<op>: cannot broadcast [2, 3] with [4]"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Broadcast<[8, 1, 3], [5, 1]> // readonly [8, 5, 3]
 * ```
 * @since 0.1.0
 */
export type Broadcast<A extends Shape, B extends Shape, Op extends string = "broadcast"> = Rules.Broadcast<A, B, Op>

/**
 * NumPy broadcasting (runtime twin of `Broadcast`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.broadcast([8, 1, 3], [5, 1], "add") // [8, 5, 3]
 * ```
 * @since 0.1.0
 */
export const broadcast = <const A extends Shape, const B extends Shape>(a: A, b: B, op?: string): Ok<Broadcast<A, B>> =>
  coerce(R.broadcast(a, b, op))

/**
 * Matrix product shapes: `[..., M, K] x [..., K, N] -> [..., M, N]`; batch dims broadcast. Both operands
 * need rank >= 2 (reshape a vector to a matrix first).
 * Errors: `"<op>: inner dimensions 3 and 4 do not match ([2, 3] x [4, 5])"`,
 * `"<op>: first operand must have rank >= 2, got [3]"` (or `second`),
 * `"<op>: cannot broadcast batch dimensions [2] with [3]"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Matmul<[number, 784], [784, 512]> // readonly [number, 512]
 * ```
 * @since 0.1.0
 */
export type Matmul<A extends Shape, B extends Shape, Op extends string = "matmul"> = Rules.Matmul<A, B, Op>

/**
 * Matrix product shapes (runtime twin of `Matmul`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.matmul([2, 3], [3, 4]) // [2, 4]
 * ```
 * @since 0.1.0
 */
export const matmul = <const A extends Shape, const B extends Shape>(a: A, b: B, op?: string): Ok<Matmul<A, B>> =>
  coerce(R.matmul(a, b, op))

/**
 * 2d convolution, NHWC: `x` is `[N, H, W, C]`, `w` is `[KH, KW, C, F]`, the result `[N, OH, OW, F]`.
 * With effective kernel `effK = (K - 1) * dilation + 1`: `"valid"` and explicit padding give
 * `OH = floor((H + top + bottom - effK) / stride) + 1`; `"same"` gives `OH = ceil(H / stride)`.
 * Errors: `"<op>: input must have rank 4 [N, H, W, C], got [..]"`, `"<op>: kernel must have rank 4 [KH, KW, C, F], got [..]"`,
 * `"<op>: kernel size must be positive integers, got [0, 3]"`,
 * `"<op>: input channels 3 do not match kernel input channels 1"`,
 * `"<op>: strides must be positive integers, got 0"` (also `dilation`),
 * `"<op>: padding must be non-negative integers, got -1"`,
 * `"<op>: kernel 5 larger than padded input 4"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Conv2d<[number, 28, 28, 1], [2, 2, 1, 24], { padding: "same" }> // readonly [number, 28, 28, 24]
 * ```
 * @since 0.1.0
 */
export type Conv2d<X extends Shape, W extends Shape, O extends Conv2dOptions = {}, Op extends string = "conv2d"> =
  Rules.Conv2d<X, W, O, Op>

/**
 * 2d convolution output shape (runtime twin of `Conv2d`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.conv2d([1, 28, 28, 1], [5, 5, 1, 8], { strides: 2 }) // [1, 12, 12, 8]
 * ```
 * @since 0.1.0
 */
export const conv2d = <const X extends Shape, const W extends Shape, const O extends Conv2dOptions = {}>(
  x: X,
  w: W,
  options?: O,
  op?: string
): Ok<Conv2d<X, W, O>> => coerce(R.conv2d(x, w, options, op))

/**
 * Options of a transposed 2d convolution: strides and dilation (default 1), padding `"valid"` (default)
 * or `"same"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * const o: Shape.Conv2dTransposeOptions = { strides: 2, padding: "same" }
 * ```
 * @since 0.1.0
 */
export interface Conv2dTransposeOptions {
  readonly strides?: number | Pair
  readonly padding?: "valid" | "same"
  readonly dilation?: number | Pair
}

/**
 * Transposed 2d convolution, NHWC: `y` is `[N, H, W, F]`, `w` is `[KH, KW, C, F]` (the kernel of the
 * convolution it transposes, which maps `C` channels to `F`), the result `[N, OH, OW, C]`, the input size of
 * that convolution: `"same"` gives `OH = H * stride`, `"valid"` `OH = (H - 1) * stride + (KH - 1) * dilation + 1`
 * (Keras' `Conv2DTranspose`, `tf.nn.conv2d_transpose`). Errors: the rank, kernel size, strides and dilation
 * errors of `Conv2d`, `"<op>: input channels 3 do not match the kernel's last axis 4"`,
 * `"<op>: padding must be "valid" or "same", got 1"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Conv2dTranspose<[number, 7, 7, 32], [3, 3, 16, 32], { strides: 2; padding: "same" }>
 * // readonly [number, 14, 14, 16]
 * ```
 * @since 0.1.0
 */
export type Conv2dTranspose<
  X extends Shape,
  W extends Shape,
  O extends Conv2dTransposeOptions = {},
  Op extends string = "conv2dTranspose"
> = Rules.Conv2dTranspose<X, W, O, Op>

/**
 * Transposed 2d convolution output shape (runtime twin of `Conv2dTranspose`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.conv2dTranspose([1, 7, 7, 32], [3, 3, 16, 32], { strides: 2 }) // [1, 15, 15, 16]
 * ```
 * @since 0.1.0
 */
export const conv2dTranspose = <
  const X extends Shape,
  const W extends Shape,
  const O extends Conv2dTransposeOptions = {}
>(
  x: X,
  w: W,
  options?: O,
  op?: string
): Ok<Conv2dTranspose<X, W, O>> => coerce(R.conv2dTranspose(x, w, options, op))

/**
 * The geometry of the convolution that a transposed convolution transposes (its input is the transposed
 * convolution's output), validated like `conv2dTranspose`.
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * const g = Shape.conv2dTransposeGeometry([1, 7, 7, 32], [3, 3, 16, 32], { strides: 2, padding: "same" })
 * // g.inH === 14, g.outH === 7
 * ```
 * @since 0.1.0
 */
export const conv2dTransposeGeometry: (
  x: Shape,
  w: Shape,
  options?: Conv2dTransposeOptions,
  op?: string
) => Geometry2d = R.conv2dTransposeGeometry

/**
 * The full geometry of a 2d convolution (output size, strides, dilation, pads), validated like `conv2d`.
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * const g = Shape.conv2dGeometry([1, 28, 28, 1], [2, 2, 1, 24], { padding: "same" })
 * // g.outH === 28, g.padTop === 0, g.padBottom === 1
 * ```
 * @since 0.1.0
 */
export const conv2dGeometry: (x: Shape, w: Shape, options?: Conv2dOptions, op?: string) => Geometry2d = R.conv2dGeometry

/**
 * 2d pooling, NHWC: `[N, H, W, C] -> [N, OH, OW, C]`; strides default to the pool size; `"valid"`
 * (default), `"same"` or explicit pads as in `Conv2d`, each smaller than the pool size on its axis. `Op`
 * names the calling op in messages.
 * Errors: `"<op>: pool size must be positive integers, got 0"`, `"<op>: strides must be positive integers, got 0"`,
 * `"<op>: padding must be non-negative integers, got -1"`, `"<op>: padding 2 must be smaller than pool size 2"`,
 * `"<op>: pool size 3 larger than input 2"` (the input padded), and the rank error of `Conv2d`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Pool2d<[number, 28, 28, 24], { poolSize: 2 }> // readonly [number, 14, 14, 24]
 * ```
 * @since 0.1.0
 */
export type Pool2d<X extends Shape, O extends Pool2dOptions, Op extends string = "maxPool2d"> = Rules.Pool2d<X, O, Op>

/**
 * 2d pooling output shape (runtime twin of `Pool2d`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.pool2d([1, 5, 5, 3], { poolSize: 2, padding: "same" }, "avgPool2d") // [1, 3, 3, 3]
 * ```
 * @since 0.1.0
 */
export const pool2d = <const X extends Shape, const O extends Pool2dOptions>(
  x: X,
  options: O,
  op?: string
): Ok<Pool2d<X, O>> => coerce(R.pool2d(x, options, op))

/**
 * The full geometry of a 2d pooling window, validated like `pool2d`.
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * const g = Shape.pool2dGeometry([1, 5, 5, 3], { poolSize: 2, padding: "same" })
 * // g.outH === 3, g.padTop === 0, g.padBottom === 1
 * ```
 * @since 0.1.0
 */
export const pool2dGeometry: (x: Shape, options: Pool2dOptions, op?: string) => Geometry2d = R.pool2dGeometry

/**
 * Explicit padding: one `[before, after]` pair per axis.
 * Errors: `"<op>: expected 2 [before, after] pairs for rank 2, got 1"`,
 * `"<op>: paddings must be non-negative integers, got [[1, -1]]"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Pad<[2, 3], [[1, 1], [0, 2]]> // readonly [4, 5]
 * ```
 * @since 0.1.0
 */
export type Pad<S extends Shape, P extends ReadonlyArray<Pair>, Op extends string = "pad"> = Rules.Pad<S, P, Op>

/**
 * Explicit padding (runtime twin of `Pad`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.pad([2, 3], [[1, 1], [0, 2]]) // [4, 5]
 * ```
 * @since 0.1.0
 */
export const pad = <const S extends Shape, const P extends ReadonlyArray<Pair>>(
  s: S,
  paddings: P,
  op?: string
): Ok<Pad<S, P>> => coerce(R.pad(s, paddings, op))

/**
 * Reshape: the target may hold one `-1`, computed by exact division; the element counts must match.
 * With unknown dims in `S`, `-1` becomes `number` and the count is checked at run time.
 * Errors: `"<op>: cannot reshape [2, 3] (6 elements) into [4, -1]"`, `"<op>: at most one -1 allowed, got [-1, -1]"`,
 * `"<op>: invalid target dimension -2 in [-2, 3]"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Reshape<[4096, 4096], [16384, -1]> // readonly [16384, 1024]
 * ```
 * @since 0.1.0
 */
export type Reshape<S extends Shape, T extends Shape, Op extends string = "reshape"> = Rules.Reshape<S, T, Op>

/**
 * Reshape (runtime twin of `Reshape`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.reshape([60000, 28, 28, 1], [-1, 784]) // [60000, 784]
 * ```
 * @since 0.1.0
 */
export const reshape = <const S extends Shape, const T extends Shape>(s: S, t: T, op?: string): Ok<Reshape<S, T>> =>
  coerce(R.reshape(s, t, op))

/**
 * Flatten keeping axis 0: `[N, ...rest] -> [N, prod(rest)]` (`[N] -> [N, 1]`).
 * Error: `"<op>: expected rank >= 1, got []"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Flatten<[number, 7, 7, 48]> // readonly [number, 2352]
 * ```
 * @since 0.1.0
 */
export type Flatten<S extends Shape, Op extends string = "flatten"> = Rules.Flatten<S, Op>

/**
 * Flatten (runtime twin of `Flatten`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.flatten([32, 7, 7, 48]) // [32, 2352]
 * ```
 * @since 0.1.0
 */
export const flatten = <const S extends Shape>(s: S, op?: string): Ok<Flatten<S>> => coerce(R.flatten(s, op))

/**
 * Concatenation along an axis (negative allowed): same rank, equal dims except along the axis, where they
 * add up.
 * Errors: `"<op>: expected at least one shape"`, `"<op>: axis 2 out of range for rank 2"`,
 * `"<op>: shapes [2, 3] and [2] have different ranks"`, `"<op>: shapes [2, 3] and [4, 4] differ at axis 1"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Concat<[[2, 3], [4, 3]], 0> // readonly [6, 3]
 * ```
 * @since 0.1.0
 */
export type Concat<Ss extends ReadonlyArray<Shape>, A extends number, Op extends string = "concat"> = Rules.Concat<
  Ss,
  A,
  Op
>

/**
 * Concatenation (runtime twin of `Concat`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.concat([[2, 3], [2, 5]], -1) // [2, 8]
 * ```
 * @since 0.1.0
 */
export const concat = <const Ss extends ReadonlyArray<Shape>, const A extends number>(
  shapes: Ss,
  axis: A,
  op?: string
): Ok<Concat<Ss, A>> => coerce(R.concat(shapes, axis, op))

/**
 * Reduction over axes (`undefined`: all axes), dropping them or keeping them as 1.
 * Errors: `"<op>: axis 2 out of range for rank 2"`, `"<op>: duplicate axis -1 in [1, -1]"`,
 * `"<op>: axis 0.5 is not an integer"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Reduce<[2, 3, 4], [0, -1], false, "sum"> // readonly [3]
 * ```
 * @since 0.1.0
 */
export type Reduce<
  S extends Shape,
  A extends Axes | undefined,
  KeepDims extends boolean = false,
  Op extends string = "reduce"
> = Rules.Reduce<S, A, KeepDims, Op>

/**
 * Reduction shape (runtime twin of `Reduce`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.reduce([2, 3, 4], 1, true, "mean") // [2, 1, 4]
 * ```
 * @since 0.1.0
 */
export const reduce = <
  const S extends Shape,
  const A extends Axes | undefined = undefined,
  const K extends boolean = false
>(s: S, axes?: A, keepDims?: K, op?: string): Ok<Reduce<S, A, K>> => coerce(R.reduce(s, axes, keepDims, op))

/**
 * Axis permutation; no permutation reverses the axes.
 * Errors: `"<op>: permutation [1, 0, 2] has length 3, expected rank 2"`,
 * `"<op>: [0, 0] is not a permutation of the axes of rank 2"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Transpose<[2, 3, 4], [0, 2, 1]> // readonly [2, 4, 3]
 * ```
 * @since 0.1.0
 */
export type Transpose<S extends Shape, Perm extends Shape | undefined = undefined, Op extends string = "transpose"> =
  Rules.Transpose<S, Perm, Op>

/**
 * Axis permutation (runtime twin of `Transpose`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.transpose([2, 3, 4]) // [4, 3, 2]
 * ```
 * @since 0.1.0
 */
export const transpose = <const S extends Shape, const P extends Shape | undefined = undefined>(
  s: S,
  perm?: P,
  op?: string
): Ok<Transpose<S, P>> => coerce(R.transpose(s, perm, op))

/**
 * The shape without one size-1 axis (every size-1 axis when `axis` is omitted; `readonly number[]` then if
 * a dim is only known at run time). Error: `"<op>: cannot squeeze axis 1 of size 3 in [2, 3]"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Squeeze<[2, 1, 3], 1> // readonly [2, 3]
 * ```
 * @since 0.1.0
 */
export type Squeeze<S extends Shape, A extends Axis | undefined = undefined, Op extends string = "squeeze"> =
  Rules.Squeeze<S, A, Op>

/**
 * Squeeze shape (runtime twin of `Squeeze`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.squeeze([1, 2, 1]) // [2]
 * ```
 * @since 0.1.0
 */
export const squeeze = <const S extends Shape, const A extends Axis | undefined = undefined>(
  s: S,
  axis?: A,
  op?: string
): Ok<Squeeze<S, A>> => coerce(R.squeeze(s, axis, op))

/**
 * The shape with a new size-1 axis at `axis`, counted in the result's rank (`-1` appends).
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.ExpandDims<[2, 3], 0> // readonly [1, 2, 3]
 * ```
 * @since 0.1.0
 */
export type ExpandDims<S extends Shape, A extends Axis, Op extends string = "expandDims"> = Rules.ExpandDims<S, A, Op>

/**
 * ExpandDims shape (runtime twin of `ExpandDims`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.expandDims([2, 3], -1) // [2, 3, 1]
 * ```
 * @since 0.1.0
 */
export const expandDims = <const S extends Shape, const A extends Axis>(
  s: S,
  axis: A,
  op?: string
): Ok<ExpandDims<S, A>> => coerce(R.expandDims(s, axis, op))

/**
 * The shape of equal shapes stacked along a new axis (counted in the result's rank).
 * Errors: `"<op>: shapes [2, 3] and [2, 4] differ at axis 1"`, `"<op>: expected at least one shape"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Stack<[[2, 3], [2, 3]], 1> // readonly [2, 2, 3]
 * ```
 * @since 0.1.0
 */
export type Stack<Ss extends ReadonlyArray<Shape>, A extends Axis = 0, Op extends string = "stack"> = Rules.Stack<
  Ss,
  A,
  Op
>

/**
 * Stack shape (runtime twin of `Stack`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.stack([[2, 3], [2, 3], [2, 3]], 0) // [3, 2, 3]
 * ```
 * @since 0.1.0
 */
export const stack = <const Ss extends ReadonlyArray<Shape>, const A extends Axis = 0>(
  shapes: Ss,
  axis?: A,
  op?: string
): Ok<Stack<Ss, A>> => coerce(R.stack(shapes, axis ?? 0, op))

/**
 * The shape of the box of `Extent` elements starting at `Begin` (one entry per axis; `-1` takes the rest of
 * the axis). Unknown dims or a `begin`/`size` of unknown length degrade to `number`.
 * Errors: `"<op>: box [1, 1] + [2, 2] does not fit in shape [2, 3] at axis 0"`,
 * `"<op>: begin [0] and size [1] must have one entry per axis of [2, 3]"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Slice<[4, 5], [1, 0], [2, -1]> // readonly [2, 5]
 * ```
 * @since 0.1.0
 */
export type Slice<S extends Shape, Begin extends Shape, Extent extends Shape, Op extends string = "slice"> =
  Rules.Slice<S, Begin, Extent, Op>

/**
 * Slice shape (runtime twin of `Slice`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.slice([4, 5], [1, 0], [2, -1]) // [2, 5]
 * ```
 * @since 0.1.0
 */
export const slice = <const S extends Shape, const B extends Shape, const Z extends Shape>(
  s: S,
  begin: B,
  extent: Z,
  op?: string
): Ok<Slice<S, B, Z>> => coerce(R.slice(s, begin, extent, op))

/**
 * The shape of a one-hot encoding: the indices' shape with a last axis of `depth`.
 * Error: `"<op>: depth must be a positive integer, got 0"`.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.OneHot<[8], 10> // readonly [8, 10]
 * ```
 * @since 0.1.0
 */
export type OneHot<S extends Shape, N extends number, Op extends string = "oneHot"> = Rules.OneHot<S, N, Op>

/**
 * OneHot shape (runtime twin of `OneHot`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.oneHot([8], 10) // [8, 10]
 * ```
 * @since 0.1.0
 */
export const oneHot = <const S extends Shape, const N extends number>(
  s: S,
  depth: N,
  op?: string
): Ok<OneHot<S, N>> => coerce(R.oneHot(s, depth, op))

/**
 * The shape of `gather` (NumPy's `take`): axis `A` of `X` replaced by the indices' shape.
 *
 * @example
 * ```ts
 * import type { Shape } from "@typegrad/shape"
 * type T = Shape.Gather<[5, 3], [2, 4], 0> // readonly [2, 4, 3]
 * ```
 * @since 0.1.0
 */
export type Gather<X extends Shape, I extends Shape, A extends Axis = 0, Op extends string = "gather"> = Rules.Gather<
  X,
  I,
  A,
  Op
>

/**
 * Gather shape (runtime twin of `Gather`).
 *
 * @example
 * ```ts
 * import { Shape } from "@typegrad/shape"
 * Shape.gather([5, 3], [4], 1) // [5, 4]
 * ```
 * @since 0.1.0
 */
export const gather = <const X extends Shape, const I extends Shape, const A extends Axis = 0>(
  x: X,
  indices: I,
  axis?: A,
  op?: string
): Ok<Gather<X, I, A>> => coerce(R.gather(x, indices, axis ?? 0, op))
