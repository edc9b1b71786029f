import type { Shape, ShapeError, Types } from "@typegrad/shape"

type X28 = readonly [number, 28, 28, 1]

export type ConvCases = [
  // valid, same, strides, dilation, explicit paddings
  Types.Expect<Types.Equal<Shape.Conv2d<[1, 28, 28, 1], [5, 5, 1, 8]>, readonly [1, 24, 24, 8]>>,
  Types.Expect<Types.Equal<Shape.Conv2d<X28, [2, 2, 1, 24], { padding: "same" }>, readonly [number, 28, 28, 24]>>,
  Types.Expect<
    Types.Equal<Shape.Conv2d<[1, 5, 5, 1], [2, 2, 1, 1], { padding: "same"; strides: 2 }>, readonly [1, 3, 3, 1]>
  >,
  Types.Expect<Types.Equal<Shape.Conv2d<[1, 28, 28, 1], [5, 5, 1, 8], { strides: 2 }>, readonly [1, 12, 12, 8]>>,
  Types.Expect<
    Types.Equal<Shape.Conv2d<[1, 28, 28, 1], [3, 3, 1, 8], { dilation: 2; strides: [2, 1] }>, readonly [1, 12, 24, 8]>
  >,
  Types.Expect<Types.Equal<Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { padding: 1 }>, readonly [1, 4, 4, 1]>>,
  Types.Expect<Types.Equal<Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { padding: [1, 0] }>, readonly [1, 4, 2, 1]>>,
  Types.Expect<
    Types.Equal<Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { padding: [[0, 1], [2, 2]] }>, readonly [1, 3, 6, 1]>
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 224, 224, 3], [7, 7, 3, 64], { strides: 2; padding: "same" }>,
      readonly [1, 112, 112, 64]
    >
  >,
  // gradual typing
  Types.Expect<Types.Equal<Shape.Conv2d<[1, number, 28, 1], [3, 3, 1, 8]>, readonly [1, number, 26, 8]>>,
  Types.Expect<
    Types.Equal<Shape.Conv2d<[1, 28, 28, 1], [3, 3, 1, 8], Shape.Conv2dOptions>, readonly [1, number, number, 8]>
  >,
  Types.Expect<Types.Equal<Shape.Conv2d<[1, 28, 28, number], [3, 3, 1, 8]>, readonly [1, 26, 26, 8]>>,
  Types.Expect<Types.Equal<Shape.Conv2d<readonly number[], [3, 3, 1, 8]>, readonly number[]>>,
  // errors
  Types.Expect<
    Types.Equal<Shape.Conv2d<[1, 4, 4, 1], [5, 5, 1, 1]>, ShapeError<"conv2d: kernel 5 larger than padded input 4">>
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { dilation: 2 }>,
      ShapeError<"conv2d: kernel 5 larger than padded input 4">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 3], [3, 3, 1, 1]>,
      ShapeError<"conv2d: input channels 3 do not match kernel input channels 1">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[4, 4, 1], [3, 3, 1, 1]>,
      ShapeError<"conv2d: input must have rank 4 [N, H, W, C], got [4, 4, 1]">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [3, 1, 1]>,
      ShapeError<"conv2d: kernel must have rank 4 [KH, KW, C, F], got [3, 1, 1]">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [0, 3, 1, 1]>,
      ShapeError<"conv2d: kernel size must be positive integers, got [0, 3]">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { strides: 0 }>,
      ShapeError<"conv2d: strides must be positive integers, got 0">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { dilation: [1, 0] }>,
      ShapeError<"conv2d: dilation must be positive integers, got [1, 0]">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], { padding: -1 }>,
      ShapeError<"conv2d: padding must be non-negative integers, got -1">
    >
  >,
  Types.Expect<Types.Equal<Shape.Conv2d<[1, 4, 4, 1], [3, 3, 1, 1], {}, "myConv">, readonly [1, 2, 2, 1]>>,
  Types.Expect<
    Types.Equal<
      Shape.Conv2d<[1, 4, 4, 1], [5, 5, 1, 1], {}, "myConv">,
      ShapeError<"myConv: kernel 5 larger than padded input 4">
    >
  >
]

export type Conv2dTransposeCases = [
  Types.Expect<
    Types.Equal<
      Shape.Conv2dTranspose<[number, 7, 7, 32], [3, 3, 16, 32], { strides: 2; padding: "same" }>,
      readonly [number, 14, 14, 16]
    >
  >,
  Types.Expect<
    Types.Equal<Shape.Conv2dTranspose<[1, 7, 7, 32], [3, 3, 16, 32], { strides: 2 }>, readonly [1, 15, 15, 16]>
  >,
  Types.Expect<
    Types.Equal<Shape.Conv2dTranspose<[1, 4, 5, 2], [2, 3, 1, 2], { dilation: [1, 2] }>, readonly [1, 5, 9, 1]>
  >,
  Types.Expect<Types.Equal<Shape.Conv2dTranspose<[2, number, 5, 2], [2, 2, 3, 2]>, readonly [2, number, 6, 3]>>,
  Types.Expect<
    Types.Equal<
      Shape.Conv2dTranspose<[1, 4, 4, 3], [2, 2, 1, 4]>,
      ShapeError<"conv2dTranspose: input channels 3 do not match the kernel's last axis 4">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2dTranspose<[1, 4, 4, 3], [2, 2, 1, 3], { strides: 0 }>,
      ShapeError<"conv2dTranspose: strides must be positive integers, got 0">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Conv2dTranspose<[1, 4, 4], [2, 2, 1, 3]>,
      ShapeError<"conv2dTranspose: input must have rank 4 [N, H, W, F], got [1, 4, 4]">
    >
  >
]

export type PoolCases = [
  Types.Expect<Types.Equal<Shape.Pool2d<[number, 28, 28, 24], { poolSize: 2 }>, readonly [number, 14, 14, 24]>>,
  Types.Expect<Types.Equal<Shape.Pool2d<[1, 5, 5, 3], { poolSize: 2; padding: "same" }>, readonly [1, 3, 3, 3]>>,
  Types.Expect<Types.Equal<Shape.Pool2d<[1, 5, 5, 3], { poolSize: 3; strides: 1 }>, readonly [1, 3, 3, 3]>>,
  Types.Expect<Types.Equal<Shape.Pool2d<[1, 5, 5, 3], { poolSize: [2, 1] }>, readonly [1, 2, 5, 3]>>,
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[1, 2, 2, 3], { poolSize: 3 }, "avgPool2d">,
      ShapeError<"avgPool2d: pool size 3 larger than input 2">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[1, 2, 2, 3], { poolSize: 0 }>,
      ShapeError<"maxPool2d: pool size must be positive integers, got 0">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[1, 2, 2, 3], { poolSize: 1; strides: [1, 0] }>,
      ShapeError<"maxPool2d: strides must be positive integers, got [1, 0]">
    >
  >,
  // Explicit pads (each smaller than the window): the ResNet stem's 3x3 stride-2 pool with pad 1.
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[number, 112, 112, 64], { poolSize: 3; strides: 2; padding: 1 }>,
      readonly [number, 56, 56, 64]
    >
  >,
  Types.Expect<
    Types.Equal<Shape.Pool2d<[1, 5, 4, 3], { poolSize: 2; padding: [[1, 0], [0, 1]] }>, readonly [1, 3, 2, 3]>
  >,
  Types.Expect<
    Types.Equal<Shape.Pool2d<[1, 5, 4, 3], { poolSize: [3, 2]; strides: 1; padding: [2, 1] }>, readonly [1, 7, 5, 3]>
  >,
  Types.Expect<Types.Equal<Shape.Pool2d<[1, number, 4, 3], { poolSize: 2; padding: 1 }>, readonly [1, number, 3, 3]>>,
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[1, 5, 5, 3], { poolSize: 2; padding: 2 }>,
      ShapeError<"maxPool2d: padding 2 must be smaller than pool size 2">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[1, 5, 5, 3], { poolSize: [3, 1]; padding: [[0, 2], [0, 1]] }, "avgPool2d">,
      ShapeError<"avgPool2d: padding 1 must be smaller than pool size 1">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Pool2d<[1, 5, 5, 3], { poolSize: 2; padding: -1 }>,
      ShapeError<"maxPool2d: padding must be non-negative integers, got -1">
    >
  >
]

export type BroadcastCases = [
  Types.Expect<Types.Equal<Shape.Broadcast<[8, 1, 3], [5, 1]>, readonly [8, 5, 3]>>,
  Types.Expect<Types.Equal<Shape.Broadcast<[], [2, 3]>, readonly [2, 3]>>,
  Types.Expect<Types.Equal<Shape.Broadcast<[number, 3], [1]>, readonly [number, 3]>>,
  Types.Expect<Types.Equal<Shape.Broadcast<[number], [4]>, readonly [4]>>,
  Types.Expect<Types.Equal<Shape.Broadcast<[number], [number]>, readonly [number]>>,
  Types.Expect<Types.Equal<Shape.Broadcast<readonly number[], [4]>, readonly number[]>>,
  Types.Expect<Types.Equal<Shape.Broadcast<[2, 3], [4], "add">, ShapeError<"add: cannot broadcast [2, 3] with [4]">>>
]

export type MatmulCases = [
  Types.Expect<Types.Equal<Shape.Matmul<[2, 3], [3, 4]>, readonly [2, 4]>>,
  Types.Expect<Types.Equal<Shape.Matmul<[number, 3136], [3136, 512]>, readonly [number, 512]>>,
  Types.Expect<Types.Equal<Shape.Matmul<[5, 2, 3], [3, 4]>, readonly [5, 2, 4]>>,
  Types.Expect<Types.Equal<Shape.Matmul<[5, 1, 2, 3], [7, 3, 4]>, readonly [5, 7, 2, 4]>>,
  Types.Expect<Types.Equal<Shape.Matmul<[2, number], [3, 4]>, readonly [2, 4]>>,
  Types.Expect<
    Types.Equal<
      Shape.Matmul<[2, 3], [4, 5]>,
      ShapeError<"matmul: inner dimensions 3 and 4 do not match ([2, 3] x [4, 5])">
    >
  >,
  Types.Expect<
    Types.Equal<Shape.Matmul<[3], [3, 5]>, ShapeError<"matmul: first operand must have rank >= 2, got [3]">>
  >,
  Types.Expect<
    Types.Equal<Shape.Matmul<[2, 3], [3]>, ShapeError<"matmul: second operand must have rank >= 2, got [3]">>
  >,
  Types.Expect<
    Types.Equal<
      Shape.Matmul<[2, 2, 3], [3, 3, 5]>,
      ShapeError<"matmul: cannot broadcast batch dimensions [2] with [3]">
    >
  >
]

export type ReshapeCases = [
  Types.Expect<Types.Equal<Shape.Reshape<[4096, 4096], [16384, -1]>, readonly [16384, 1024]>>,
  Types.Expect<Types.Equal<Shape.Reshape<[60000, 28, 28, 1], [-1, 784]>, readonly [60000, 784]>>,
  Types.Expect<Types.Equal<Shape.Reshape<[2, 3], [3, 2]>, readonly [3, 2]>>,
  Types.Expect<Types.Equal<Shape.Reshape<[2, 3], [6]>, readonly [6]>>,
  Types.Expect<Types.Equal<Shape.Reshape<[1], []>, readonly []>>,
  Types.Expect<Types.Equal<Shape.Reshape<[number, 28, 28], [-1, 784]>, readonly [number, 784]>>,
  Types.Expect<Types.Equal<Shape.Reshape<[number, 28], [5, 5]>, readonly [5, 5]>>,
  Types.Expect<
    Types.Equal<Shape.Reshape<[2, 3], [4, -1]>, ShapeError<"reshape: cannot reshape [2, 3] (6 elements) into [4, -1]">>
  >,
  Types.Expect<
    Types.Equal<Shape.Reshape<[2, 3], [7]>, ShapeError<"reshape: cannot reshape [2, 3] (6 elements) into [7]">>
  >,
  Types.Expect<
    Types.Equal<Shape.Reshape<[2, 3], [-1, -1]>, ShapeError<"reshape: at most one -1 allowed, got [-1, -1]">>
  >,
  Types.Expect<
    Types.Equal<Shape.Reshape<[2, 3], [-2, 3]>, ShapeError<"reshape: invalid target dimension -2 in [-2, 3]">>
  >
]

export type FlattenCases = [
  Types.Expect<Types.Equal<Shape.Flatten<[number, 7, 7, 48]>, readonly [number, 2352]>>,
  Types.Expect<Types.Equal<Shape.Flatten<[60000, 28, 28, 1]>, readonly [60000, 784]>>,
  Types.Expect<Types.Equal<Shape.Flatten<[5]>, readonly [5, 1]>>,
  Types.Expect<Types.Equal<Shape.Flatten<[5, number]>, readonly [5, number]>>,
  Types.Expect<Types.Equal<Shape.Flatten<[]>, ShapeError<"flatten: expected rank >= 1, got []">>>
]

export type ConcatCases = [
  Types.Expect<Types.Equal<Shape.Concat<[[2, 3], [4, 3]], 0>, readonly [6, 3]>>,
  Types.Expect<Types.Equal<Shape.Concat<[[2, 3], [2, 5], [2, 1]], -1>, readonly [2, 9]>>,
  Types.Expect<Types.Equal<Shape.Concat<[[number, 3], [2, 3]], 0>, readonly [number, 3]>>,
  Types.Expect<Types.Equal<Shape.Concat<[[number, 3], [2, 3]], 1>, readonly [2, 6]>>,
  Types.Expect<Types.Equal<Shape.Concat<[[2, 3]], 0>, readonly [2, 3]>>,
  Types.Expect<Types.Equal<Shape.Concat<[], 0>, ShapeError<"concat: expected at least one shape">>>,
  Types.Expect<Types.Equal<Shape.Concat<[[2, 3], [2, 3]], 2>, ShapeError<"concat: axis 2 out of range for rank 2">>>,
  Types.Expect<
    Types.Equal<Shape.Concat<[[2, 3], [2]], 0>, ShapeError<"concat: shapes [2, 3] and [2] have different ranks">>
  >,
  Types.Expect<
    Types.Equal<Shape.Concat<[[2, 3], [4, 4]], 0>, ShapeError<"concat: shapes [2, 3] and [4, 4] differ at axis 1">>
  >
]

export type ReduceCases = [
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3, 4], undefined, false>, readonly []>>,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3, 4], undefined, true>, readonly [1, 1, 1]>>,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3, 4], 1, false>, readonly [2, 4]>>,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3, 4], -1, true>, readonly [2, 3, 1]>>,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3, 4], [0, -1], false, "sum">, readonly [3]>>,
  Types.Expect<Types.Equal<Shape.Reduce<[number, 10], 1, false>, readonly [number]>>,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3], 2, false, "sum">, ShapeError<"sum: axis 2 out of range for rank 2">>>,
  Types.Expect<
    Types.Equal<Shape.Reduce<[2, 3], [1, -1], false, "sum">, ShapeError<"sum: duplicate axis -1 in [1, -1]">>
  >,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3], 0.5, false, "mean">, ShapeError<"mean: axis 0.5 is not an integer">>>,
  Types.Expect<Types.Equal<Shape.Reduce<[2, 3], number, false>, readonly number[]>>
]

export type TransposeCases = [
  Types.Expect<Types.Equal<Shape.Transpose<[2, 3, 4]>, readonly [4, 3, 2]>>,
  Types.Expect<Types.Equal<Shape.Transpose<[2, 3, 4], [0, 2, 1]>, readonly [2, 4, 3]>>,
  Types.Expect<Types.Equal<Shape.Transpose<[], []>, readonly []>>,
  Types.Expect<
    Types.Equal<
      Shape.Transpose<[2, 3], [0, 0]>,
      ShapeError<"transpose: [0, 0] is not a permutation of the axes of rank 2">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Transpose<[2, 3], [1, 0, 2]>,
      ShapeError<"transpose: permutation [1, 0, 2] has length 3, expected rank 2">
    >
  >
]

export type PadCases = [
  Types.Expect<Types.Equal<Shape.Pad<[2, 3], [[1, 1], [0, 2]]>, readonly [4, 5]>>,
  Types.Expect<Types.Equal<Shape.Pad<[number, 3], [[1, 1], [0, 2]]>, readonly [number, 5]>>,
  Types.Expect<
    Types.Equal<Shape.Pad<[2, 3], [[1, 1]]>, ShapeError<"pad: expected 2 [before, after] pairs for rank 2, got 1">>
  >,
  Types.Expect<
    Types.Equal<Shape.Pad<[2], [[1, -1]]>, ShapeError<"pad: paddings must be non-negative integers, got [[1, -1]]">>
  >
]

export type MiscCases = [
  Types.Expect<Types.Equal<Shape.NormalizeAxis<3, -1>, 2>>,
  Types.Expect<Types.Equal<Shape.NormalizeAxis<3, -3>, 0>>,
  Types.Expect<Types.Equal<Shape.NormalizeAxis<3, 2>, 2>>,
  Types.Expect<
    Types.Equal<Shape.NormalizeAxis<3, 3, "softmax">, ShapeError<"softmax: axis 3 out of range for rank 3">>
  >,
  Types.Expect<
    Types.Equal<Shape.NormalizeAxis<3, -4, "softmax">, ShapeError<"softmax: axis -4 out of range for rank 3">>
  >,
  Types.Expect<Types.Equal<Shape.NormalizeAxis<number, 1>, number>>,
  Types.Expect<Types.Equal<Shape.Size<[60000, 28, 28, 1]>, 47040000>>,
  Types.Expect<Types.Equal<Shape.Size<[]>, 1>>,
  Types.Expect<Types.Equal<Shape.Size<[2, number]>, number>>,
  Types.Expect<Types.Equal<Shape.Show<[2, number]>, "[2, number]">>,
  Types.Expect<Types.Equal<Shape.Show<[]>, "[]">>,
  Types.Expect<Types.Equal<Shape.IsStatic<[2, 3]>, true>>,
  Types.Expect<Types.Equal<Shape.IsStatic<[number, 3]>, false>>,
  Types.Expect<Types.Equal<Shape.IsStatic<readonly number[]>, false>>,
  Types.Expect<Types.Equal<Shape.IsShapeError<Shape.Broadcast<[2], [3]>>, true>>,
  Types.Expect<Types.Equal<Shape.IsShapeError<Shape.Broadcast<[2], [1]>>, false>>,
  Types.Expect<Types.Equal<Shape.Ok<Shape.Broadcast<[2], [3]>>, never>>,
  Types.Expect<Types.Equal<Shape.Ok<Shape.Broadcast<[2], [1]>>, readonly [2]>>,
  Types.Expect<Types.Equal<Shape.Check<Shape.Broadcast<[2], [1]>>, unknown>>,
  Types.Expect<
    Types.Equal<Shape.Check<Shape.Broadcast<[2], [3]>>, ShapeError<"broadcast: cannot broadcast [2] with [3]">>
  >,
  Types.Expect<Types.Equal<Shape.Check<never>, unknown>>
]

// ---------------------------------------------------------------------------------------------------------
// Check<...> intersected into a parameter turns a rule's failure into a compile error at the call.

interface Tensor<S extends Shape.Shape> {
  readonly shape: S
}
declare const tensor: <const S extends Shape.Shape>(shape: S) => Tensor<S>
declare const conv2d: <X extends Shape.Shape, W extends Shape.Shape, const O extends Shape.Conv2dOptions = {}>(
  x: Tensor<X>,
  w: Tensor<W> & Shape.Check<Shape.Conv2d<X, W, O>>,
  options?: O
) => Tensor<Shape.Ok<Shape.Conv2d<X, W, O>>>
declare const add: <A extends Shape.Shape, B extends Shape.Shape>(
  a: Tensor<A>,
  b: Tensor<B> & Shape.Check<Shape.Broadcast<A, B, "add">>
) => Tensor<Shape.Ok<Shape.Broadcast<A, B, "add">>>
declare const reshape: <S extends Shape.Shape, const T extends Shape.Shape>(
  x: Tensor<S>,
  t: T & Shape.Check<Shape.Reshape<S, T>>
) => Tensor<Shape.Ok<Shape.Reshape<S, T>>>

const x = tensor([1, 28, 28, 1])
export const y: Tensor<readonly [1, 28, 28, 24]> = conv2d(x, tensor([2, 2, 1, 24]), { padding: "same" })
// @ts-expect-error: conv2d: kernel 29 larger than padded input 28
conv2d(x, tensor([29, 29, 1, 24]))
// @ts-expect-error: conv2d: input channels 1 do not match kernel input channels 3
conv2d(x, tensor([3, 3, 3, 24]))
// @ts-expect-error: conv2d: strides must be positive integers, got 0
conv2d(x, tensor([3, 3, 1, 24]), { strides: 0 })
// @ts-expect-error: add: cannot broadcast [2, 3] with [4]
add(tensor([2, 3]), tensor([4]))
export const sum: Tensor<readonly [2, 3]> = add(tensor([2, 3]), tensor([3]))
// @ts-expect-error: reshape: cannot reshape [2, 3] (6 elements) into [4, -1]
reshape(tensor([2, 3]), [4, -1])
export const big: Tensor<readonly [16384, 1024]> = reshape(tensor([4096, 4096]), [16384, -1])
export const batch: Tensor<readonly [60000, 784]> = reshape(tensor([60000, 28, 28, 1]), [-1, 784])
declare const dynamic: Tensor<readonly [number, 28, 28, 1]>
export const dyn: Tensor<readonly [number, 784]> = reshape(dynamic, [-1, 784])
// a wrong assertion must fail too
// @ts-expect-error: the result is [1, 28, 28, 24]
export const wrong: Tensor<readonly [1, 27, 27, 24]> = conv2d(x, tensor([2, 2, 1, 24]), { padding: "same" })

export type SqueezeCases = [
  Types.Expect<Types.Equal<Shape.Squeeze<[2, 1, 3], 1>, readonly [2, 3]>>,
  Types.Expect<Types.Equal<Shape.Squeeze<[1, 2, 1], undefined>, readonly [2]>>,
  Types.Expect<Types.Equal<Shape.Squeeze<[2, 1], -1>, readonly [2]>>,
  Types.Expect<Types.Equal<Shape.Squeeze<[number, 1], 0>, readonly [1]>>,
  Types.Expect<Types.Equal<Shape.Squeeze<[number, 1]>, readonly number[]>>,
  Types.Expect<Types.Equal<Shape.Squeeze<[2, 3], 1>, ShapeError<"squeeze: cannot squeeze axis 1 of size 3 in [2, 3]">>>,
  Types.Expect<Types.Equal<Shape.Squeeze<[2, 1], 2>, ShapeError<"squeeze: axis 2 out of range for rank 2">>>
]

export type ExpandDimsCases = [
  Types.Expect<Types.Equal<Shape.ExpandDims<[2, 3], 0>, readonly [1, 2, 3]>>,
  Types.Expect<Types.Equal<Shape.ExpandDims<[2, 3], 2>, readonly [2, 3, 1]>>,
  Types.Expect<Types.Equal<Shape.ExpandDims<[2, 3], -1>, readonly [2, 3, 1]>>,
  Types.Expect<Types.Equal<Shape.ExpandDims<[], 0>, readonly [1]>>,
  Types.Expect<Types.Equal<Shape.ExpandDims<[number, 3], 1>, readonly [number, 1, 3]>>,
  Types.Expect<Types.Equal<Shape.ExpandDims<[2, 3], 3>, ShapeError<"expandDims: axis 3 out of range for rank 3">>>
]

export type StackCases = [
  Types.Expect<Types.Equal<Shape.Stack<[[2, 3], [2, 3]]>, readonly [2, 2, 3]>>,
  Types.Expect<Types.Equal<Shape.Stack<[[2, 3], [2, 3], [2, 3]], -1>, readonly [2, 3, 3]>>,
  Types.Expect<Types.Equal<Shape.Stack<[[number, 3], [4, 3]], 1>, readonly [4, 2, 3]>>,
  Types.Expect<
    Types.Equal<Shape.Stack<[[2, 3], [2, 4]]>, ShapeError<"stack: shapes [2, 3] and [2, 4] differ at axis 1">>
  >,
  Types.Expect<
    Types.Equal<Shape.Stack<[[2, 3], [3]]>, ShapeError<"stack: shapes [2, 3] and [3] have different ranks">>
  >,
  Types.Expect<Types.Equal<Shape.Stack<[[2, 3]], 3>, ShapeError<"stack: axis 3 out of range for rank 3">>>,
  Types.Expect<Types.Equal<Shape.Stack<[]>, ShapeError<"stack: expected at least one shape">>>
]

export type SliceCases = [
  Types.Expect<Types.Equal<Shape.Slice<[4, 5], [1, 0], [2, -1]>, readonly [2, 5]>>,
  Types.Expect<Types.Equal<Shape.Slice<[number, 5], [0, 1], [-1, 3]>, readonly [number, 3]>>,
  Types.Expect<Types.Equal<Shape.Slice<[4, 5], number[], [1, 1]>, readonly [number, number]>>,
  Types.Expect<Types.Equal<Shape.Slice<[], [], []>, readonly []>>,
  Types.Expect<
    Types.Equal<
      Shape.Slice<[2, 3], [1, 1], [2, 2]>,
      ShapeError<"slice: box [1, 1] + [2, 2] does not fit in shape [2, 3] at axis 0">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Slice<[2, 3], [0, 4], [1, -1]>,
      ShapeError<"slice: box [0, 4] + [1, -1] does not fit in shape [2, 3] at axis 1">
    >
  >,
  Types.Expect<
    Types.Equal<
      Shape.Slice<[2, 3], [0], [1]>,
      ShapeError<"slice: begin [0] and size [1] must have one entry per axis of [2, 3]">
    >
  >
]

export type OneHotCases = [
  Types.Expect<Types.Equal<Shape.OneHot<[8], 10>, readonly [8, 10]>>,
  Types.Expect<Types.Equal<Shape.OneHot<[number], 10>, readonly [number, 10]>>,
  Types.Expect<Types.Equal<Shape.OneHot<[], 3>, readonly [3]>>,
  Types.Expect<Types.Equal<Shape.OneHot<[8], 0>, ShapeError<"oneHot: depth must be a positive integer, got 0">>>
]

export type GatherCases = [
  Types.Expect<Types.Equal<Shape.Gather<[5, 3], [2, 4], 0>, readonly [2, 4, 3]>>,
  Types.Expect<Types.Equal<Shape.Gather<[5, 3], [4], -1>, readonly [5, 4]>>,
  Types.Expect<Types.Equal<Shape.Gather<[5, 3], [], 0>, readonly [3]>>,
  Types.Expect<Types.Equal<Shape.Gather<[5, 3], [number], 1>, readonly [5, number]>>,
  Types.Expect<Types.Equal<Shape.Gather<[5, 3], [4], 2>, ShapeError<"gather: axis 2 out of range for rank 2">>>
]
