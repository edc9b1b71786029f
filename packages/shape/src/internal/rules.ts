// Type-level shape rules. Public names and documentation live in ../Shape.ts; this file holds the machinery.
// Conventions: a `number` dim (unknown until run time) makes every dim computed from it `number` and skips
// the checks that need it; an array of unknown length makes the result `readonly number[]`.
// The order of checks and the messages must stay identical to ./runtime.ts.
import type { Add, Div, Mul, Sub } from "../Nat.ts"
import type { ShapeError } from "../ShapeError.ts"
import type * as I from "./nat.ts"

type Shape = readonly number[]
type Pair = readonly [number, number]

/** A dim that is a literal (known at compile time). */
export type IsLit<N> = number extends N ? false : true

/** Tuple of known length? */
export type IsTuple<S extends readonly unknown[]> = number extends S["length"] ? false : true

/** `R` is a `ShapeError`. */
export type IsShapeError<R> = [R] extends [never] ? false : [R] extends [ShapeError] ? true : false

/** `R` when it is a `ShapeError`, `unknown` otherwise (intersect it into the offending parameter). */
export type Check<R> = [R] extends [never] ? unknown : [R] extends [ShapeError] ? R : unknown

/** `R` unless it is a `ShapeError`. */
export type Ok<R> = R extends ShapeError ? never : R

type NatLit<N extends number> = I.IsNatLit<N>
type PosLit<N extends number> = N extends 0 ? false : I.IsNatLit<N>

// ---------------------------------------------------------------------------------------------------------
// Rendering

type DimStr<D> = D extends number ? number extends D ? "number" : `${D}` : "?"
type JoinDims<S extends readonly unknown[], Acc extends string> = S extends readonly [infer H, ...infer T]
  ? JoinDims<T, Acc extends "" ? ShowValue<H> : `${Acc}, ${ShowValue<H>}`>
  : Acc

/** Renders a shape (or a nested option value) as in the runtime messages: `[2, 3]`, `[[1, 1], [0, 2]]`. */
export type ShowValue<V> = V extends readonly unknown[] ? IsTuple<V> extends true ? `[${JoinDims<V, "">}]` : "[...]"
  : V extends string ? `"${V}"`
  : DimStr<V>

/** Renders a shape. */
export type Show<S extends Shape> = ShowValue<S>

// ---------------------------------------------------------------------------------------------------------
// Sizes

type SizeLoop<S extends Shape, Acc extends string> = S extends
  readonly [infer H extends number, ...infer T extends Shape]
  ? number extends H ? number : SizeLoop<T, I.MulS<Acc, `${H}`>>
  : I.ToNum<Acc>

/** Element count; `number` when a dim or the rank is unknown. */
export type Size<S extends Shape> = IsTuple<S> extends true ? SizeLoop<S, "1"> : number

type AllLit<S extends Shape> = S extends readonly [infer H, ...infer T extends Shape]
  ? number extends H ? false : AllLit<T>
  : true

/** All dims known. */
export type IsStatic<S extends Shape> = IsTuple<S> extends true ? AllLit<S> : false

type Widen<S extends Shape> = { readonly [K in keyof S]: number }

// ---------------------------------------------------------------------------------------------------------
// Axes

/** Normalizes an axis in `[-rank, rank)` to `[0, rank)`. */
export type NormalizeAxis<R extends number, A extends number, Op extends string> = number extends R | A ? number
  : `${A}` extends `${bigint}` ?
    `${A}` extends `-${infer M extends number}`
      ? I.CmpS<`${M}`, `${R}`> extends "gt" ? ShapeError<`${Op}: axis ${A} out of range for rank ${R}`>
      : Sub<R, M>
    : I.CmpS<`${A}`, `${R}`> extends "lt" ? A
    : ShapeError<`${Op}: axis ${A} out of range for rank ${R}`>
  : ShapeError<`${Op}: axis ${A} is not an integer`>

// ---------------------------------------------------------------------------------------------------------
// Broadcasting

type Fail = { readonly fail: true }

type BroadcastDim<A extends number, B extends number> = A extends 1 ? B
  : B extends 1 ? A
  : number extends A ? B
  : number extends B ? A
  : A extends B ? A
  : Fail

type BroadcastLoop<A extends Shape, B extends Shape, Acc extends Shape> = A extends
  readonly [...infer AI extends Shape, infer a extends number]
  ? B extends readonly [...infer BI extends Shape, infer b extends number]
    ? BroadcastDim<a, b> extends infer D extends number ? BroadcastLoop<AI, BI, readonly [D, ...Acc]> : Fail
  : readonly [...A, ...Acc]
  : readonly [...B, ...Acc]

/** NumPy broadcasting, or `Fail`. */
export type BroadcastCore<A extends Shape, B extends Shape> = IsTuple<A> extends true
  ? IsTuple<B> extends true ? BroadcastLoop<A, B, readonly []> : readonly number[]
  : readonly number[]

export type Broadcast<A extends Shape, B extends Shape, Op extends string> = BroadcastCore<A, B> extends
  infer R extends Shape ? R
  : ShapeError<`${Op}: cannot broadcast ${Show<A>} with ${Show<B>}`>

// ---------------------------------------------------------------------------------------------------------
// Matmul

export type Matmul<A extends Shape, B extends Shape, Op extends string> = IsTuple<A> extends false ? readonly number[]
  : IsTuple<B> extends false ? readonly number[]
  : A extends readonly [...infer BA extends Shape, infer M extends number, infer K extends number]
    ? B extends readonly [...infer BB extends Shape, infer K2 extends number, infer N extends number]
      ? IsLit<K> extends true ? IsLit<K2> extends true ? K extends K2 ? MatmulBatch<BA, BB, M, N, Op>
          : ShapeError<`${Op}: inner dimensions ${K} and ${K2} do not match (${Show<A>} x ${Show<B>})`>
        : MatmulBatch<BA, BB, M, N, Op>
      : MatmulBatch<BA, BB, M, N, Op>
    : ShapeError<`${Op}: second operand must have rank >= 2, got ${Show<B>}`>
  : ShapeError<`${Op}: first operand must have rank >= 2, got ${Show<A>}`>

type MatmulBatch<BA extends Shape, BB extends Shape, M extends number, N extends number, Op extends string> =
  BroadcastCore<BA, BB> extends infer R extends Shape ? readonly [...R, M, N]
    : ShapeError<`${Op}: cannot broadcast batch dimensions ${Show<BA>} with ${Show<BB>}`>

// ---------------------------------------------------------------------------------------------------------
// Convolution and pooling

// Option normalization: a number or a pair -> a pair; anything not a single known form -> [number, number].
type ToPair<V, Default extends Pair> = [V] extends [undefined] ? Default
  : [V] extends [number] ? readonly [V, V]
  : [V] extends [readonly [infer a extends number, infer b extends number]] ? readonly [a, b]
  : readonly [number, number]

type Opt<O, K extends string> = K extends keyof O ? O[K] : undefined

type PairOk<P extends Pair, Pos extends boolean> = Pos extends true
  ? (IsLit<P[0]> extends true ? PosLit<P[0]> : true) extends true ? (IsLit<P[1]> extends true ? PosLit<P[1]> : true)
  : false
  : (IsLit<P[0]> extends true ? NatLit<P[0]> : true) extends true ? (IsLit<P[1]> extends true ? NatLit<P[1]> : true)
  : false

// Padding normalization: "same" | "unknown" | [top, bottom, left, right]
type Pads = "same" | "unknown" | readonly [number, number, number, number]
type ToPads<P> = [P] extends [undefined] ? readonly [0, 0, 0, 0]
  : [P] extends ["valid"] ? readonly [0, 0, 0, 0]
  : [P] extends ["same"] ? "same"
  : [P] extends [number] ? readonly [P, P, P, P]
  : [P] extends [readonly [infer h extends number, infer w extends number]] ? readonly [h, h, w, w]
  : [P] extends [
    readonly [
      readonly [infer t extends number, infer b extends number],
      readonly [infer l extends number, infer r extends number]
    ]
  ] ? readonly [t, b, l, r]
  : "unknown"

type PadsOk<P extends Pads> = P extends readonly [number, number, number, number]
  ? PairOk<readonly [P[0], P[1]], false> extends true ? PairOk<readonly [P[2], P[3]], false> : false
  : true

// One spatial output dim. Mode: "same" or explicit padding [before, after].
type OutDim<
  H extends number,
  K extends number,
  S extends number,
  D extends number,
  P extends Pads,
  Side extends 0 | 1,
  What extends "conv" | "pool",
  Op extends string
> = P extends "same" ? (number extends H | S ? number : Div<Sub<Add<H, S>, 1>, S>)
  : P extends readonly [number, number, number, number]
    ? ExplicitOut<H, K, S, D, Side extends 0 ? P[0] : P[2], Side extends 0 ? P[1] : P[3], What, Op>
  : number

type ExplicitOut<
  H extends number,
  K extends number,
  S extends number,
  D extends number,
  Before extends number,
  After extends number,
  What extends "conv" | "pool",
  Op extends string
> = number extends H | K | S | D | Before | After ? number
  : Add<Add<H, Before>, After> extends infer Padded extends number
    ? Add<Mul<Sub<K, 1>, D>, 1> extends infer EffK extends number
      ? I.CmpS<`${Padded}`, `${EffK}`> extends "lt" ? ShapeError<
          What extends "conv" ? `${Op}: kernel ${EffK} larger than padded input ${Padded}`
            : `${Op}: pool size ${EffK} larger than input ${Padded}`
        >
      : Add<Div<Sub<Padded, EffK>, S>, 1>
    : never
  : never

type Spatial<
  N extends number,
  H extends number,
  W extends number,
  C extends number,
  K extends Pair,
  S extends Pair,
  D extends Pair,
  P extends Pads,
  What extends "conv" | "pool",
  Op extends string
> = OutDim<H, K[0], S[0], D[0], P, 0, What, Op> extends infer OH ? OH extends ShapeError ? OH
  : OutDim<W, K[1], S[1], D[1], P, 1, What, Op> extends infer OW ? OW extends ShapeError ? OW
    : readonly [N, OH & number, OW & number, C]
  : never
  : never

type ConvCheckOptions<
  X extends readonly [number, number, number, number],
  W extends readonly [number, number, number, number],
  O,
  Op extends string,
  S extends Pair = ToPair<Opt<O, "strides">, readonly [1, 1]>,
  D extends Pair = ToPair<Opt<O, "dilation">, readonly [1, 1]>,
  P extends Pads = ToPads<Opt<O, "padding">>
> = PairOk<S, true> extends false ?
  ShapeError<`${Op}: strides must be positive integers, got ${ShowValue<Opt<O, "strides">>}`>
  : PairOk<D, true> extends false
    ? ShapeError<`${Op}: dilation must be positive integers, got ${ShowValue<Opt<O, "dilation">>}`>
  : PadsOk<P> extends false
    ? ShapeError<`${Op}: padding must be non-negative integers, got ${ShowValue<Opt<O, "padding">>}`>
  : Spatial<X[0], X[1], X[2], W[3], readonly [W[0], W[1]], S, D, P, "conv", Op>

export type Conv2d<X extends Shape, W extends Shape, O, Op extends string> = IsTuple<X> extends false
  ? readonly number[]
  : IsTuple<W> extends false ? readonly number[]
  : X extends readonly [number, number, number, infer C extends number]
    ? W extends readonly [number, number, infer C2 extends number, number]
      ? PairOk<readonly [W[0], W[1]], true> extends false
        ? ShapeError<`${Op}: kernel size must be positive integers, got ${ShowValue<readonly [W[0], W[1]]>}`>
      : (IsLit<C> extends true ? IsLit<C2> extends true ? C extends C2 ? true : false : true : true) extends false
        ? ShapeError<`${Op}: input channels ${C} do not match kernel input channels ${C2}`>
      : ConvCheckOptions<X, W, O, Op>
    : ShapeError<`${Op}: kernel must have rank 4 [KH, KW, C, F], got ${Show<W>}`>
  : ShapeError<`${Op}: input must have rank 4 [N, H, W, C], got ${Show<X>}`>

// Transposed convolution: the input of the convolution whose output is X.
type TransposeDim<H extends number, K extends number, S extends number, D extends number, P> = number extends
  H | K | S | D ? number
  : P extends "same" ? Mul<H, S>
  : Add<Mul<Sub<H, 1>, S>, Add<Mul<Sub<K, 1>, D>, 1>>

type TransposeCheck<
  X extends readonly [number, number, number, number],
  W extends readonly [number, number, number, number],
  O,
  Op extends string,
  S extends Pair = ToPair<Opt<O, "strides">, readonly [1, 1]>,
  D extends Pair = ToPair<Opt<O, "dilation">, readonly [1, 1]>,
  P = Opt<O, "padding">
> = PairOk<S, true> extends false
  ? ShapeError<`${Op}: strides must be positive integers, got ${ShowValue<Opt<O, "strides">>}`>
  : PairOk<D, true> extends false
    ? ShapeError<`${Op}: dilation must be positive integers, got ${ShowValue<Opt<O, "dilation">>}`>
  : [P] extends [undefined | "valid" | "same"] ? readonly [
      X[0],
      TransposeDim<X[1], W[0], S[0], D[0], P>,
      TransposeDim<X[2], W[1], S[1], D[1], P>,
      W[2]
    ]
  : string extends P ? readonly [X[0], number, number, W[2]]
  : ShapeError<`${Op}: padding must be "valid" or "same", got ${ShowValue<P>}`>

export type Conv2dTranspose<X extends Shape, W extends Shape, O, Op extends string> = IsTuple<X> extends false
  ? readonly number[]
  : IsTuple<W> extends false ? readonly number[]
  : X extends readonly [number, number, number, infer F extends number]
    ? W extends readonly [number, number, number, infer F2 extends number]
      ? PairOk<readonly [W[0], W[1]], true> extends false
        ? ShapeError<`${Op}: kernel size must be positive integers, got ${ShowValue<readonly [W[0], W[1]]>}`>
      : (IsLit<F> extends true ? IsLit<F2> extends true ? F extends F2 ? true : false : true : true) extends false
        ? ShapeError<`${Op}: input channels ${F} do not match the kernel's last axis ${F2}`>
      : TransposeCheck<X, W, O, Op>
    : ShapeError<`${Op}: kernel must have rank 4 [KH, KW, C, F], got ${Show<W>}`>
  : ShapeError<`${Op}: input must have rank 4 [N, H, W, F], got ${Show<X>}`>

type PoolCheck<
  X extends readonly [number, number, number, number],
  O,
  Op extends string,
  K extends Pair = ToPair<Opt<O, "poolSize">, readonly [number, number]>,
  S extends Pair = ToPair<Opt<O, "strides">, K>,
  P extends Pads = ToPads<Opt<O, "padding">>
> = PairOk<K, true> extends false
  ? ShapeError<`${Op}: pool size must be positive integers, got ${ShowValue<Opt<O, "poolSize">>}`>
  : PairOk<S, true> extends false ?
    ShapeError<`${Op}: strides must be positive integers, got ${ShowValue<Opt<O, "strides">>}`>
  : PadsOk<P> extends false
    ? ShapeError<`${Op}: padding must be non-negative integers, got ${ShowValue<Opt<O, "padding">>}`>
  : PoolPadsBelow<P, K> extends readonly [infer BadPad extends number, infer Window extends number]
    ? ShapeError<`${Op}: padding ${BadPad} must be smaller than pool size ${Window}`>
  : P extends readonly [number, number, number, number] | "same"
    ? Spatial<X[0], X[1], X[2], X[3], K, S, readonly [1, 1], P, "pool", Op>
  : readonly [X[0], number, number, X[3]]

// Explicit pooling pads must be smaller than the window on their axis (else a window holds only padding):
// true, or the first [pad, pool size] that is not (unknown sizes pass; the runtime twin checks them).
type PadBelow<Pd extends number, K extends number> = IsLit<Pd> extends true
  ? IsLit<K> extends true ? I.CmpS<`${Pd}`, `${K}`> extends "lt" ? true : false : true
  : true
type PoolPadsBelow<P extends Pads, K extends Pair> = P extends readonly [number, number, number, number]
  ? PadBelow<P[0], K[0]> extends false ? readonly [P[0], K[0]]
  : PadBelow<P[1], K[0]> extends false ? readonly [P[1], K[0]]
  : PadBelow<P[2], K[1]> extends false ? readonly [P[2], K[1]]
  : PadBelow<P[3], K[1]> extends false ? readonly [P[3], K[1]]
  : true
  : true

export type Pool2d<X extends Shape, O, Op extends string> = IsTuple<X> extends false ? readonly number[]
  : X extends readonly [number, number, number, number] ? PoolCheck<X, O, Op>
  : ShapeError<`${Op}: input must have rank 4 [N, H, W, C], got ${Show<X>}`>

// ---------------------------------------------------------------------------------------------------------
// Pad

type PadLoop<S extends Shape, P extends readonly unknown[], Acc extends Shape> = S extends
  readonly [infer H extends number, ...infer ST extends Shape]
  ? P extends readonly [readonly [infer B extends number, infer A extends number], ...infer PT]
    ? PadLoop<ST, PT, readonly [...Acc, Add<Add<H, B>, A>]>
  : never
  : Acc

type PadsAllOk<P extends readonly unknown[]> = P extends readonly [infer H, ...infer T]
  ? H extends readonly [number, number] ? PairOk<H, false> extends true ? PadsAllOk<T> : false : false
  : true

export type Pad<S extends Shape, P extends readonly (readonly [number, number])[], Op extends string> =
  IsTuple<S> extends false ? readonly number[]
    : IsTuple<P> extends false ? Widen<S>
    : P["length"] extends S["length"] ? PadsAllOk<P> extends true ? PadLoop<S, P, readonly []>
      : ShapeError<`${Op}: paddings must be non-negative integers, got ${ShowValue<P>}`>
    : ShapeError<`${Op}: expected ${S["length"]} [before, after] pairs for rank ${S["length"]}, got ${P["length"]}`>

// ---------------------------------------------------------------------------------------------------------
// Reshape, flatten

// Scans the target: an invalid entry -> ShapeError; else [product of known entries | "number", count of -1].
type ReshapeScan<T extends Shape, Op extends string, All extends Shape, Prod extends string, Minus extends 0 | 1 | 2> =
  T extends readonly [infer H extends number, ...infer Rest extends Shape]
    ? number extends H ? ReshapeScan<Rest, Op, All, "number", Minus>
    : H extends -1 ? ReshapeScan<Rest, Op, All, Prod, Minus extends 0 ? 1 : 2>
    : NatLit<H> extends true ? ReshapeScan<Rest, Op, All, Prod extends "number" ? Prod : I.MulS<Prod, `${H}`>, Minus>
    : ShapeError<`${Op}: invalid target dimension ${H} in ${Show<All>}`>
    : Minus extends 2 ? ShapeError<`${Op}: at most one -1 allowed, got ${Show<All>}`>
    : readonly [Prod, Minus]

type ReplaceMinus<T extends Shape, D extends number> = { readonly [K in keyof T]: T[K] extends -1 ? D : T[K] }

type ReshapeFail<S extends Shape, T extends Shape, Op extends string> = ShapeError<
  `${Op}: cannot reshape ${Show<S>} (${Size<S>} elements) into ${Show<T>}`
>

export type Reshape<S extends Shape, T extends Shape, Op extends string> = IsTuple<T> extends false ? readonly number[]
  : ReshapeScan<T, Op, T, "1", 0> extends infer R ? R extends ShapeError ? R
    : R extends readonly [infer Prod extends string, infer Minus]
      ? Size<S> extends infer Total extends number ? number extends Total ? ReplaceMinus<T, number>
        : Prod extends "number" ? ReplaceMinus<T, number>
        : Minus extends 0 ? (`${Total}` extends Prod ? Readonly<T> : ReshapeFail<S, T, Op>)
        : Prod extends "0" ? ReshapeFail<S, T, Op>
        : I.DivModS<`${Total}`, Prod> extends readonly [infer Q extends string, "0"] ? ReplaceMinus<T, I.ToNum<Q>>
        : ReshapeFail<S, T, Op>
      : never
    : never
  : never

export type Flatten<S extends Shape, Op extends string> = IsTuple<S> extends false ? readonly [number, number]
  : S extends readonly [infer N extends number, ...infer Rest extends Shape] ? readonly [N, Size<Rest>]
  : ShapeError<`${Op}: expected rank >= 1, got []`>

// ---------------------------------------------------------------------------------------------------------
// Concat

type ConcatDim<Acc extends number, D extends number, IsAxis extends boolean> = IsAxis extends true ? Add<Acc, D>
  : BroadcastDimExact<Acc, D>
type BroadcastDimExact<A extends number, B extends number> = number extends A ? B
  : number extends B ? A
  : A extends B ? A
  : Fail

type ConcatMerge<
  Acc extends Shape,
  S extends Shape,
  Axis extends number,
  Idx extends unknown[],
  Out extends Shape
> = Acc extends readonly [infer a extends number, ...infer AT extends Shape]
  ? S extends readonly [infer s extends number, ...infer ST extends Shape]
    ? ConcatDim<a, s, Idx["length"] extends Axis ? true : false> extends infer D extends number
      ? ConcatMerge<AT, ST, Axis, [...Idx, 0], readonly [...Out, D]>
    : Idx["length"]
  : never
  : Out

type ConcatLoop<
  First extends Shape,
  Rest extends readonly Shape[],
  Axis extends number,
  Acc extends Shape,
  Op extends string
> = Rest extends readonly [infer S extends Shape, ...infer RT extends readonly Shape[]]
  ? IsTuple<S> extends false ? readonly number[]
  : S["length"] extends First["length"]
    ? ConcatMerge<Acc, S, Axis, [], readonly []> extends infer M ? M extends Shape ? ConcatLoop<First, RT, Axis, M, Op>
      : M extends number ? ShapeError<`${Op}: shapes ${Show<First>} and ${Show<S>} differ at axis ${M}`>
      : never
    : never
  : ShapeError<`${Op}: shapes ${Show<First>} and ${Show<S>} have different ranks`>
  : Acc

export type Concat<Ss extends readonly Shape[], Axis extends number, Op extends string> = IsTuple<Ss> extends false
  ? readonly number[]
  : Ss extends readonly [infer First extends Shape, ...infer Rest extends readonly Shape[]]
    ? IsTuple<First> extends false ? readonly number[]
    : NormalizeAxis<First["length"], Axis, Op> extends infer A ? A extends ShapeError ? A
      : number extends A ? readonly number[]
      : ConcatLoop<First, Rest, A & number, Readonly<First>, Op>
    : never
  : ShapeError<`${Op}: expected at least one shape`>

// ---------------------------------------------------------------------------------------------------------
// Reduce, transpose

type NormalizeAll<R extends number, As extends readonly number[], All, Op extends string, Seen extends number> =
  As extends readonly [infer A extends number, ...infer T extends readonly number[]]
    ? NormalizeAxis<R, A, Op> extends infer N ? N extends ShapeError ? N
      : N extends Seen ? ShapeError<`${Op}: duplicate axis ${A} in ${ShowValue<All>}`>
      : NormalizeAll<R, T, All, Op, Seen | (N & number)>
    : never
    : Seen

type ReduceLoop<S extends Shape, Ax extends number, Keep extends boolean, Idx extends unknown[], Out extends Shape> =
  S extends readonly [infer H extends number, ...infer T extends Shape]
    ? Idx["length"] extends Ax ? ReduceLoop<T, Ax, Keep, [...Idx, 0], Keep extends true ? readonly [...Out, 1] : Out>
    : ReduceLoop<T, Ax, Keep, [...Idx, 0], readonly [...Out, H]>
    : Out

type Ones<S extends Shape> = { readonly [K in keyof S]: 1 }

export type Reduce<S extends Shape, Axes, Keep extends boolean, Op extends string> = IsTuple<S> extends false
  ? readonly number[]
  : boolean extends Keep ? readonly number[]
  : [Axes] extends [undefined] ? Keep extends true ? Ones<S> : readonly []
  : ([Axes] extends [number] ? readonly [Axes] : Axes) extends infer As extends readonly number[]
    ? IsTuple<As> extends false ? readonly number[]
    : NormalizeAll<S["length"], As, Axes, Op, never> extends infer Ax ? [Ax] extends [never] ? Readonly<S>
      : [Ax] extends [ShapeError] ? Ax
      : number extends Ax ? readonly number[]
      : ReduceLoop<S, Ax & number, Keep, [], readonly []>
    : never
  : readonly number[]

type Reverse<S extends Shape, Acc extends Shape = readonly []> = S extends
  readonly [infer H extends number, ...infer T extends Shape] ? Reverse<T, readonly [H, ...Acc]>
  : Acc

type IsPerm<P extends Shape, R extends number, Seen extends number> = P extends
  readonly [infer H extends number, ...infer T extends Shape] ? number extends H ? IsPerm<T, R, Seen>
  : NatLit<H> extends true ? I.CmpS<`${H}`, `${R}`> extends "lt" ? H extends Seen ? false : IsPerm<T, R, Seen | H>
    : false
  : false
  : true

type Permute<S extends Shape, P extends Shape> = { readonly [K in keyof P]: number extends P[K] ? number : S[P[K]] }

export type Transpose<S extends Shape, P, Op extends string> = IsTuple<S> extends false ? readonly number[]
  : [P] extends [undefined] ? Reverse<S>
  : P extends Shape ? IsTuple<P> extends false ? Widen<S>
    : P["length"] extends S["length"] ? IsPerm<P, S["length"], never> extends true ? Permute<S, P>
      : ShapeError<`${Op}: ${Show<P>} is not a permutation of the axes of rank ${S["length"]}`>
    : ShapeError<`${Op}: permutation ${Show<P>} has length ${P["length"]}, expected rank ${S["length"]}`>
  : Widen<S>

// ---------------------------------------------------------------------------------------------------------
// Squeeze, expandDims, stack

type InsertAt<S extends Shape, At extends number, V extends number, Idx extends unknown[], Out extends Shape> =
  Idx["length"] extends At ? readonly [...Out, V, ...S]
    : S extends readonly [infer H extends number, ...infer T extends Shape]
      ? InsertAt<T, At, V, [...Idx, 0], readonly [...Out, H]>
    : readonly [...Out, V]

type RemoveAt<S extends Shape, At extends number, Idx extends unknown[], Out extends Shape> = S extends
  readonly [infer H extends number, ...infer T extends Shape]
  ? Idx["length"] extends At ? readonly [...Out, ...T] : RemoveAt<T, At, [...Idx, 0], readonly [...Out, H]>
  : Out

type SqueezeAll<S extends Shape, Out extends Shape> = S extends
  readonly [infer H extends number, ...infer T extends Shape]
  ? number extends H ? readonly number[] : H extends 1 ? SqueezeAll<T, Out> : SqueezeAll<T, readonly [...Out, H]>
  : Out

export type Squeeze<S extends Shape, A, Op extends string> = IsTuple<S> extends false ? readonly number[]
  : [A] extends [undefined] ? SqueezeAll<S, readonly []>
  : A extends number ? NormalizeAxis<S["length"], A, Op> extends infer N ? N extends ShapeError ? N
      : number extends N ? readonly number[]
      : S[N & number] extends infer D extends number ? number extends D ? RemoveAt<S, N & number, [], readonly []>
        : D extends 1 ? RemoveAt<S, N & number, [], readonly []>
        : ShapeError<`${Op}: cannot squeeze axis ${A} of size ${D} in ${Show<S>}`>
      : never
    : never
  : readonly number[]

export type ExpandDims<S extends Shape, A extends number, Op extends string> = IsTuple<S> extends false
  ? readonly number[]
  : NormalizeAxis<Add<S["length"], 1>, A, Op> extends infer N ? N extends ShapeError ? N
    : number extends N ? readonly number[]
    : InsertAt<S, N & number, 1, [], readonly []>
  : never

type StackLoop<First extends Shape, Rest extends readonly Shape[], Acc extends Shape, Op extends string> = Rest extends
  readonly [infer S extends Shape, ...infer RT extends readonly Shape[]] ? IsTuple<S> extends false ? readonly number[]
  : S["length"] extends First["length"]
    ? ConcatMerge<Acc, S, -1, [], readonly []> extends infer M ? M extends Shape ? StackLoop<First, RT, M, Op>
      : M extends number ? ShapeError<`${Op}: shapes ${Show<First>} and ${Show<S>} differ at axis ${M}`>
      : never
    : never
  : ShapeError<`${Op}: shapes ${Show<First>} and ${Show<S>} have different ranks`>
  : Acc

export type Stack<Ss extends readonly Shape[], Axis extends number, Op extends string> = IsTuple<Ss> extends false
  ? readonly number[]
  : Ss extends readonly [infer First extends Shape, ...infer Rest extends readonly Shape[]]
    ? IsTuple<First> extends false ? readonly number[]
    : NormalizeAxis<Add<First["length"], 1>, Axis, Op> extends infer A ? A extends ShapeError ? A
      : number extends A ? readonly number[]
      : StackLoop<First, Rest, Readonly<First>, Op> extends infer M ? M extends ShapeError ? M
        : M extends Shape ? IsTuple<M> extends true ? InsertAt<M, A & number, Ss["length"], [], readonly []>
          : readonly number[]
        : never
      : never
    : never
  : ShapeError<`${Op}: expected at least one shape`>

// ---------------------------------------------------------------------------------------------------------
// Slice

// One axis of the result: `size`, or the rest of the axis from `begin` for -1 (negative when begin > dim,
// as the runtime computes it, so that the message shows the same box).
type SliceDim<D extends number, B extends number, Z extends number> = Z extends -1 ? number extends D | B ? number
  : NatLit<B> extends true ? I.CmpS<`${B}`, `${D}`> extends "gt" ? I.ToNum<`-${I.SubS<`${B}`, `${D}`>}`> : Sub<D, B>
  : `${B}` extends `-${infer M extends number}` ? NatLit<M> extends true ? Add<D, M> : number
  : number
  : Z

type SliceLoop<S extends Shape, B extends Shape, Z extends Shape, Out extends Shape> = S extends
  readonly [infer D extends number, ...infer ST extends Shape]
  ? B extends readonly [infer b extends number, ...infer BT extends Shape]
    ? Z extends readonly [infer z extends number, ...infer ZT extends Shape]
      ? SliceLoop<ST, BT, ZT, readonly [...Out, SliceDim<D, b, z>]>
    : Out
  : Out
  : Out

type SliceFits<D extends number, B extends number, Z extends number> = number extends B | Z
  ? NatLit<B> extends false ? number extends B ? true : false : true
  : NatLit<B> extends true ?
    NatLit<Z> extends true
      ? number extends D ? true : I.CmpS<I.AddS<`${B}`, `${Z}`>, `${D}`> extends "gt" ? false : true
    : false
  : false

// The first axis whose box does not fit, or `never`.
type SliceFail<S extends Shape, B extends Shape, R extends Shape, Idx extends unknown[]> = S extends
  readonly [infer D extends number, ...infer ST extends Shape]
  ? B extends readonly [infer b extends number, ...infer BT extends Shape]
    ? R extends readonly [infer r extends number, ...infer RT extends Shape]
      ? SliceFits<D, b, r> extends true ? SliceFail<ST, BT, RT, [...Idx, 0]> : Idx["length"]
    : never
  : never
  : never

export type Slice<S extends Shape, B extends Shape, Z extends Shape, Op extends string> = IsTuple<S> extends false
  ? readonly number[]
  : IsTuple<B> extends false ? Widen<S>
  : IsTuple<Z> extends false ? Widen<S>
  : [B["length"], Z["length"]] extends [S["length"], S["length"]]
    ? SliceLoop<S, B, Z, readonly []> extends infer R extends Shape ? [SliceFail<S, B, R, []>] extends [never] ? R
      : ShapeError<
        `${Op}: box ${Show<B>} + ${Show<R>} does not fit in shape ${Show<S>} at axis ${SliceFail<S, B, R, []>}`
      >
    : never
  : ShapeError<`${Op}: begin ${Show<B>} and size ${Show<Z>} must have one entry per axis of ${Show<S>}`>

// ---------------------------------------------------------------------------------------------------------
// OneHot, gather

export type OneHot<S extends Shape, N extends number, Op extends string> = number extends N
  ? IsTuple<S> extends true ? readonly [...S, number] : readonly number[]
  : PosLit<N> extends true ? IsTuple<S> extends true ? readonly [...S, N] : readonly number[]
  : ShapeError<`${Op}: depth must be a positive integer, got ${N}`>

type GatherLoop<X extends Shape, Ix extends Shape, At extends number, Idx extends unknown[], Out extends Shape> =
  X extends readonly [infer H extends number, ...infer T extends Shape]
    ? Idx["length"] extends At ? readonly [...Out, ...Ix, ...T]
    : GatherLoop<T, Ix, At, [...Idx, 0], readonly [...Out, H]>
    : Out

export type Gather<X extends Shape, Ix extends Shape, A extends number, Op extends string> = IsTuple<X> extends false
  ? readonly number[]
  : NormalizeAxis<X["length"], A, Op> extends infer N ? N extends ShapeError ? N
    : number extends N ? readonly number[]
    : IsTuple<Ix> extends false ? readonly number[]
    : GatherLoop<X, Ix, N & number, [], readonly []>
  : never
