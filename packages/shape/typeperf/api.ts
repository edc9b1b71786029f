// A tiny declared tensor API wired exactly as @typegrad/tensor wires the shape rules (Check on the argument,
// Ok on the result), so the reference models below cost what a user's model costs to type-check.
import type { Shape } from "../src/index.ts"

export interface T<S extends Shape.Shape> {
  readonly shape: S
}
export declare const input: <const S extends Shape.Shape>(shape: S) => T<S>
export declare const conv: <
  X extends Shape.Shape,
  const W extends Shape.Shape,
  const O extends Shape.Conv2dOptions = {}
>(
  x: T<X>,
  w: W & Shape.Check<Shape.Conv2d<X, W, O>>,
  options?: O
) => T<Shape.Ok<Shape.Conv2d<X, W, O>>>
export declare const maxPool: <X extends Shape.Shape, const O extends Shape.Pool2dOptions>(
  x: T<X>,
  options: O & Shape.Check<Shape.Pool2d<X, O>>
) => T<Shape.Ok<Shape.Pool2d<X, O>>>
export declare const flatten: <X extends Shape.Shape>(
  x: T<X> & Shape.Check<Shape.Flatten<X>>
) => T<Shape.Ok<Shape.Flatten<X>>>
export declare const dense: <X extends Shape.Shape, const W extends Shape.Shape>(
  x: T<X>,
  w: W & Shape.Check<Shape.Matmul<X, W, "dense">>
) => T<Shape.Ok<Shape.Matmul<X, W, "dense">>>
export declare const add: <A extends Shape.Shape, B extends Shape.Shape>(
  a: T<A>,
  b: T<B> & Shape.Check<Shape.Broadcast<A, B, "add">>
) => T<Shape.Ok<Shape.Broadcast<A, B, "add">>>
export declare const mean: <X extends Shape.Shape, const A extends Shape.Axes>(
  x: T<X>,
  axes: A & Shape.Check<Shape.Reduce<X, A, false, "mean">>
) => T<Shape.Ok<Shape.Reduce<X, A, false, "mean">>>
export declare const reshape: <X extends Shape.Shape, const S extends Shape.Shape>(
  x: T<X>,
  shape: S & Shape.Check<Shape.Reshape<X, S>>
) => T<Shape.Ok<Shape.Reshape<X, S>>>
