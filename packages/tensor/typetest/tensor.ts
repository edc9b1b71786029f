/**
 * Compile-time tests of the tensor API: the shapes ops infer, and the calls that must not compile.
 * Checked by the root `tsc --noEmit` (part of `pnpm test`); nothing here runs.
 */
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { pipe } from "effect/Function"

const expectType = <T>(_: T): void => {}
type ShapeOf<T> = T extends Tensor.Tensor<infer S, Tensor.DType> ? S : never
type DTypeOf<T> = T extends Tensor.Tensor<Tensor.Shape, infer D> ? D : never
const shapeIs = <S>() =>
<T extends Tensor.AnyTensor>(
  t: T & (Types.Equal<ShapeOf<T>, S> extends true ? unknown : { __wrongShape: ShapeOf<T> })
): void => {
  void t
}

// Creation infers literal shapes and dtypes
const x = Tensor.zeros([8, 28, 28, 1])
shapeIs<readonly [8, 28, 28, 1]>()(x)
expectType<true>(true as Types.Equal<DTypeOf<typeof x>, "float32">)
const x64 = Tensor.ones([2, 3], { dtype: "float64" })
expectType<true>(true as Types.Equal<DTypeOf<typeof x64>, "float64">)
shapeIs<readonly [2, 3]>()(Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]))
shapeIs<readonly []>()(Tensor.scalar(1))
expectType<Float64Array>(Tensor.toArray(x64))
expectType<Float32Array>(Tensor.toArray(x))

// Elementwise broadcasting
shapeIs<readonly [2, 3]>()(Tensor.add(Tensor.zeros([2, 3]), Tensor.zeros([3])))
shapeIs<readonly [4, 2, 3]>()(Tensor.mul(Tensor.zeros([4, 1, 3]), Tensor.zeros([2, 1])))
shapeIs<readonly [2, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.sub(Tensor.zeros([2, 1]))))
shapeIs<readonly [2, 3]>()(Tensor.div(Tensor.zeros([2, 3]), 2))
shapeIs<readonly [2, 3]>()(Tensor.relu(Tensor.zeros([2, 3])))
// @ts-expect-error add: cannot broadcast [2, 3] with [4]
Tensor.add(Tensor.zeros([2, 3]), Tensor.zeros([4]))
// @ts-expect-error dtypes must agree
Tensor.add(Tensor.zeros([2]), Tensor.zeros([2], { dtype: "float64" }))

declare const batchLike: Tensor.Tensor<readonly [number, 3]>
// Unary ops, comparisons, clip and where
shapeIs<readonly [2, 3]>()(Tensor.sin(Tensor.zeros([2, 3])))
shapeIs<readonly [2, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.cos))
shapeIs<readonly [2, 3]>()(Tensor.log1p(Tensor.zeros([2, 3])))
expectType<true>(true as Types.Equal<DTypeOf<ReturnType<typeof Tensor.expm1<readonly [2], "float64">>>, "float64">)
shapeIs<readonly [2, 3]>()(Tensor.less(Tensor.zeros([2, 3]), Tensor.zeros([3])))
shapeIs<readonly [4, 2, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.lessEqual(Tensor.zeros([4, 1, 1]))))
// @ts-expect-error less: cannot broadcast [2, 3] with [4]
Tensor.less(Tensor.zeros([2, 3]), Tensor.zeros([4]))
shapeIs<readonly [2, 3]>()(Tensor.clip(Tensor.zeros([2, 3]), -1, 1))
shapeIs<readonly [2, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.clip(0, 6)))
expectType<true>(true as Types.Equal<DTypeOf<ReturnType<typeof Tensor.clip<readonly [2], "float64">>>, "float64">)
// @ts-expect-error clip's bounds are numbers
Tensor.clip(Tensor.zeros([2, 3]), "0", 1)
shapeIs<readonly [4, 2, 3]>()(Tensor.where(Tensor.zeros([2, 1]), Tensor.zeros([4, 1, 3]), Tensor.zeros([3])))
shapeIs<readonly [2, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.where(Tensor.zeros([3]), Tensor.zeros([1]))))
shapeIs<readonly [number, 3]>()(Tensor.where(Tensor.zeros([1, 3]), batchLike, Tensor.zeros([3])))
const whereDType = Tensor.where(
  Tensor.zeros([2]),
  Tensor.zeros([2], { dtype: "float64" }),
  Tensor.zeros([2], { dtype: "float64" })
)
expectType<true>(true as Types.Equal<DTypeOf<typeof whereDType>, "float64">)
// @ts-expect-error where: cannot broadcast [2, 3] with [4]
Tensor.where(Tensor.zeros([2, 3]), Tensor.zeros([4]), Tensor.zeros([3]))
// @ts-expect-error where: cannot broadcast [2, 3] with [2, 4]
Tensor.where(Tensor.zeros([2, 3]), Tensor.zeros([3]), Tensor.zeros([2, 4]))
// @ts-expect-error where: a and b must share a dtype
Tensor.where(Tensor.zeros([2]), Tensor.zeros([2]), Tensor.zeros([2], { dtype: "float64" }))

// Runtime dims degrade to number
declare const batch: Tensor.Tensor<readonly [number, 784]>
shapeIs<readonly [number, 10]>()(Tensor.matmul(batch, Tensor.zeros([784, 10])))
shapeIs<readonly [number, 784]>()(Tensor.add(batch, Tensor.zeros([784])))

// Matmul
shapeIs<readonly [8, 10]>()(Tensor.matmul(Tensor.zeros([8, 784]), Tensor.zeros([784, 10])))
shapeIs<readonly [5, 8, 10]>()(Tensor.matmul(Tensor.zeros([5, 8, 784]), Tensor.zeros([784, 10])))
// @ts-expect-error matmul: inner dimensions do not match
Tensor.matmul(Tensor.zeros([8, 784]), Tensor.zeros([783, 10]))

// Reductions
shapeIs<readonly []>()(Tensor.sum(Tensor.zeros([2, 3])))
shapeIs<readonly [2]>()(Tensor.mean(Tensor.zeros([2, 3]), { axis: 1 }))
shapeIs<readonly [2, 1]>()(Tensor.max(Tensor.zeros([2, 3]), { axis: -1, keepDims: true }))
shapeIs<readonly [3]>()(pipe(Tensor.zeros([2, 3]), Tensor.sum({ axis: 0 })))
// @ts-expect-error sum: axis 2 out of range for rank 2
Tensor.sum(Tensor.zeros([2, 3]), { axis: 2 })

shapeIs<readonly [2]>()(Tensor.min(Tensor.zeros([2, 3]), { axis: 1 }))
shapeIs<readonly []>()(pipe(Tensor.zeros([2, 3]), Tensor.min))
shapeIs<readonly [2, 1]>()(Tensor.logsumexp(Tensor.zeros([2, 3]), { axis: -1, keepDims: true }))
shapeIs<readonly [3]>()(pipe(Tensor.zeros([2, 3]), Tensor.logsumexp({ axis: 0 })))
shapeIs<readonly [number]>()(Tensor.logsumexp(batch, { axis: 1 }))
shapeIs<readonly [2]>()(Tensor.argmax(Tensor.zeros([2, 3]), { axis: 1 }))
shapeIs<readonly []>()(Tensor.argmin(Tensor.zeros([2, 3])))
shapeIs<readonly [1, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.argmin({ axis: 0, keepDims: true })))
shapeIs<readonly [number]>()(Tensor.argmax(batch, { axis: -1 }))
expectType<true>(true as Types.Equal<DTypeOf<ReturnType<typeof Tensor.argmax<typeof x64>>>, "float64">)
// @ts-expect-error min: axis 2 out of range for rank 2
Tensor.min(Tensor.zeros([2, 3]), { axis: 2 })
// @ts-expect-error logsumexp: axis -3 out of range for rank 2
Tensor.logsumexp(Tensor.zeros([2, 3]), { axis: -3 })
// @ts-expect-error argmax: axis 2 out of range for rank 2
Tensor.argmax(Tensor.zeros([2, 3]), { axis: 2 })
// @ts-expect-error argmax takes one axis, not a list
Tensor.argmax(Tensor.zeros([2, 3]), { axis: [0, 1] })

// Slice: typed with literal begin and size, data-last too
shapeIs<readonly [2, 2]>()(Tensor.slice(Tensor.zeros([2, 3]), [0, 1], [2, 2]))
shapeIs<readonly [1, 3]>()(pipe(Tensor.zeros([2, 3]), Tensor.slice([1, 0], [1, -1])))
shapeIs<readonly [number, 1]>()(
  Tensor.slice(Tensor.zeros([8, 2]) as Tensor.Tensor<readonly [number, 2]>, [0, 1], [-1, 1])
)
declare const dynamicBegin: ReadonlyArray<number>
shapeIs<readonly [number, number]>()(Tensor.slice(Tensor.zeros([2, 3]), dynamicBegin, [1, 1]))
// @ts-expect-error slice: box [1, 1] + [2, 2] does not fit in shape [2, 3] at axis 0
Tensor.slice(Tensor.zeros([2, 3]), [1, 1], [2, 2])
// @ts-expect-error slice: begin [0] and size [1] must have one entry per axis of [2, 3]
Tensor.slice(Tensor.zeros([2, 3]), [0], [1])
// @ts-expect-error slice: box [0, 4] + [1, -1] does not fit in shape [2, 3] at axis 1
pipe(Tensor.zeros([2, 3]), Tensor.slice([0, 4], [1, -1]))

// oneHot and gather
shapeIs<readonly [8, 10]>()(Tensor.oneHot(Tensor.zeros([8]), 10))
shapeIs<readonly [number, 10]>()(pipe(Tensor.zeros([8]) as Tensor.Tensor<readonly [number]>, Tensor.oneHot(10)))
const oneHot64 = Tensor.oneHot(Tensor.zeros([2], { dtype: "float64" }), 3)
expectType<true>(true as Types.Equal<DTypeOf<typeof oneHot64>, "float64">)
// @ts-expect-error oneHot: depth must be a positive integer, got 0
Tensor.oneHot(Tensor.zeros([8]), 0)
shapeIs<readonly [8, 16, 64]>()(Tensor.gather(Tensor.zeros([1000, 64]), Tensor.zeros([8, 16])))
shapeIs<readonly [5, 4]>()(Tensor.gather(Tensor.zeros([5, 3]), Tensor.zeros([4]), { axis: -1 }))
shapeIs<readonly [number, 64]>()(
  pipe(Tensor.zeros([1000, 64]), Tensor.gather(Tensor.zeros([8]) as Tensor.Tensor<readonly [number]>))
)
const gathered64 = Tensor.gather(Tensor.zeros([3, 2], { dtype: "float64" }), Tensor.zeros([4]), { axis: 0 })
expectType<true>(true as Types.Equal<DTypeOf<typeof gathered64>, "float64">)
// @ts-expect-error gather: axis 2 out of range for rank 2
Tensor.gather(Tensor.zeros([5, 3]), Tensor.zeros([4]), { axis: 2 })

// Squeeze, expandDims, stack
shapeIs<readonly [8, 10]>()(Tensor.squeeze(Tensor.zeros([8, 1, 10]), 1))
shapeIs<readonly [8, 10]>()(Tensor.zeros([1, 8, 1, 10]).pipe(Tensor.squeeze))
shapeIs<readonly [1, 8, 10]>()(pipe(Tensor.zeros([1, 8, 1, 10]), Tensor.squeeze(-2)))
shapeIs<readonly [number, 10]>()(Tensor.squeeze(Tensor.zeros([1, 8, 10]) as Tensor.Tensor<readonly [1, number, 10]>, 0))
const squeezedAll = Tensor.squeeze(batch)
expectType<true>(true as Types.Equal<ShapeOf<typeof squeezedAll>, readonly number[]>)
// @ts-expect-error squeeze: cannot squeeze axis 0 of size 8 in [8, 1, 10]
Tensor.squeeze(Tensor.zeros([8, 1, 10]), 0)
// @ts-expect-error squeeze: axis 3 out of range for rank 3
Tensor.squeeze(Tensor.zeros([8, 1, 10]), 3)
shapeIs<readonly [28, 28, 1]>()(Tensor.expandDims(Tensor.zeros([28, 28]), -1))
shapeIs<readonly [1, 28, 28]>()(pipe(Tensor.zeros([28, 28]), Tensor.expandDims(0)))
shapeIs<readonly [number, 1, 784]>()(Tensor.expandDims(batch, 1))
expectType<true>(
  true as Types.Equal<DTypeOf<ReturnType<typeof Tensor.expandDims<readonly [2], "float64", 0>>>, "float64">
)
// @ts-expect-error expandDims: axis 3 out of range for rank 3
Tensor.expandDims(Tensor.zeros([28, 28]), 3)
shapeIs<readonly [2, 2, 3]>()(Tensor.stack([Tensor.zeros([2, 3]), Tensor.ones([2, 3])]))
shapeIs<readonly [2, 3, 3]>()(
  pipe([Tensor.zeros([2, 3]), Tensor.ones([2, 3]), Tensor.ones([2, 3])] as const, Tensor.stack(-1))
)
shapeIs<readonly [number, 2, 784]>()(Tensor.stack([batch, batch], 1))
const stacked64 = Tensor.stack([Tensor.zeros([2], { dtype: "float64" }), Tensor.ones([2], { dtype: "float64" })])
expectType<true>(true as Types.Equal<DTypeOf<typeof stacked64>, "float64">)
// @ts-expect-error stack: shapes [2, 3] and [2, 4] differ at axis 1
Tensor.stack([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])])
// @ts-expect-error stack: axis 3 out of range for rank 3
Tensor.stack([Tensor.zeros([2, 3]), Tensor.zeros([2, 3])], 3)
// @ts-expect-error stack: the tensors have different dtypes (float32 and float64)
Tensor.stack([Tensor.zeros([2]), Tensor.zeros([2], { dtype: "float64" })])

// Reshape, flatten, transpose, concat
shapeIs<readonly [16384, 1024]>()(Tensor.reshape(Tensor.zeros([4096, 4096]), [16384, -1]))
shapeIs<readonly [60000, 784]>()(Tensor.reshape(Tensor.zeros([60000, 28, 28, 1]), [-1, 784]))
shapeIs<readonly [8, 2352]>()(Tensor.flatten(Tensor.zeros([8, 7, 7, 48])))
shapeIs<readonly [number, 2352]>()(
  Tensor.flatten(Tensor.zeros([8, 7, 7, 48]) as Tensor.Tensor<readonly [number, 7, 7, 48]>)
)
shapeIs<readonly [3, 2]>()(Tensor.transpose(Tensor.zeros([2, 3])))
shapeIs<readonly [8, 1, 28, 28]>()(Tensor.transpose(Tensor.zeros([8, 28, 28, 1]), [0, 3, 1, 2]))
shapeIs<readonly [2, 8]>()(Tensor.concat([Tensor.zeros([2, 3]), Tensor.ones([2, 5])], 1))
// @ts-expect-error reshape: element counts differ
Tensor.reshape(Tensor.zeros([2, 3]), [4, -1])
// @ts-expect-error concat: dims differ off the axis
Tensor.concat([Tensor.zeros([2, 3]), Tensor.ones([3, 5])], 1)

// Convolution and pooling
shapeIs<readonly [8, 28, 28, 24]>()(Tensor.conv2d(x, Tensor.zeros([2, 2, 1, 24]), { padding: "same" }))
shapeIs<readonly [8, 27, 27, 24]>()(Tensor.conv2d(x, Tensor.zeros([2, 2, 1, 24])))
shapeIs<readonly [8, 14, 14, 24]>()(Tensor.conv2d(x, Tensor.zeros([3, 3, 1, 24]), { strides: 2, padding: "same" }))
shapeIs<readonly [8, 24, 24, 4]>()(Tensor.conv2d(x, Tensor.zeros([3, 3, 1, 4]), { dilation: 2 }))
shapeIs<readonly [8, 30, 30, 4]>()(Tensor.conv2d(x, Tensor.zeros([3, 3, 1, 4]), { padding: 2 }))
shapeIs<readonly [8, 14, 14, 24]>()(Tensor.maxPool2d(Tensor.zeros([8, 28, 28, 24]), { poolSize: 2 }))
shapeIs<readonly [8, 14, 14, 24]>()(Tensor.avgPool2d(Tensor.zeros([8, 27, 27, 24]), { poolSize: 2, padding: "same" }))
// @ts-expect-error conv2d: kernel 5 larger than padded input 4
Tensor.conv2d(Tensor.zeros([1, 4, 4, 1]), Tensor.zeros([5, 5, 1, 1]))
// @ts-expect-error conv2d: channels differ
Tensor.conv2d(Tensor.zeros([1, 8, 8, 3]), Tensor.zeros([3, 3, 4, 1]))
// @ts-expect-error conv2d: stride 0
Tensor.conv2d(x, Tensor.zeros([2, 2, 1, 24]), { strides: 0 })
// @ts-expect-error maxPool2d: pool size 0
Tensor.maxPool2d(x, { poolSize: 0 })

// The classic MNIST CNN forward, written with plain ops: every shape inferred
const w1 = Tensor.zeros([2, 2, 1, 24])
const w2 = Tensor.zeros([2, 2, 24, 48])
const d1 = Tensor.zeros([2352, 512])
const d2 = Tensor.zeros([512, 128])
const d3 = Tensor.zeros([128, 10])
const logits = x.pipe(
  Tensor.conv2d(w1, { padding: "same" }),
  Tensor.relu,
  Tensor.maxPool2d({ poolSize: 2 }),
  Tensor.conv2d(w2, { padding: "same" }),
  Tensor.relu,
  Tensor.maxPool2d({ poolSize: 2 }),
  Tensor.flatten,
  Tensor.matmul(d1),
  Tensor.relu,
  Tensor.matmul(d2),
  Tensor.relu,
  Tensor.matmul(d3),
  Tensor.softmax
)
shapeIs<readonly [8, 10]>()(logits)

// Ops along an axis keep the shape whether called, curried or passed bare to pipe.
shapeIs<readonly [8, 10]>()(Tensor.softmax(Tensor.zeros([8, 10]), 0))
shapeIs<readonly [8, 10]>()(Tensor.zeros([8, 10]).pipe(Tensor.logSoftmax))
shapeIs<readonly [8, 10]>()(Tensor.zeros([8, 10]).pipe(Tensor.logSoftmax(0)))
shapeIs<readonly [8, 10]>()(Tensor.zeros([8, 10]).pipe(Tensor.softmax()))
shapeIs<readonly []>()(Tensor.zeros([8, 10]).pipe(Tensor.sum))
shapeIs<readonly [10]>()(Tensor.zeros([8, 10]).pipe(Tensor.mean({ axis: 0 })))
// @ts-expect-error mean: axis 2 out of range for rank 2
Tensor.zeros([8, 10]).pipe(Tensor.mean({ axis: 2 }))
shapeIs<readonly [10, 8]>()(Tensor.zeros([8, 10]).pipe(Tensor.transpose))
shapeIs<readonly [10, 8]>()(Tensor.zeros([8, 10]).pipe(Tensor.transpose([1, 0])))
// @ts-expect-error transpose: not a permutation of the axes
Tensor.transpose(Tensor.zeros([8, 10]), [0, 0])

// Binary ops report the broadcast error on a data-first call (not an unrelated overload's).
// @ts-expect-error add: cannot broadcast [2] with [3]
Tensor.add(Tensor.zeros([2]), Tensor.zeros([3]))

// concat keeps the dtype, and mixed dtypes are a compile error.
const cc = Tensor.concat([Tensor.zeros([2, 3]), Tensor.ones([2, 5])], 1)
expectType<true>(true as Types.Equal<typeof cc, Tensor.Tensor<readonly [2, 8]>>)
const cc64 = Tensor.concat([Tensor.zeros([2], { dtype: "float64" }), Tensor.ones([3], { dtype: "float64" })])
expectType<true>(true as Types.Equal<typeof cc64, Tensor.Tensor<readonly [5], "float64">>)
// @ts-expect-error concat: the tensors have different dtypes
Tensor.concat([Tensor.zeros([2]), Tensor.zeros([2], { dtype: "float64" })])

// An axis out of range is a compile error for softmax and logSoftmax too.
// @ts-expect-error softmax: axis 5 out of range for rank 2
Tensor.softmax(Tensor.zeros([2, 3]), 5)
// @ts-expect-error logSoftmax: axis -3 out of range for rank 2
Tensor.zeros([2, 3]).pipe(Tensor.logSoftmax(-3))
shapeIs<readonly [2, 3]>()(Tensor.softmax(Tensor.zeros([2, 3]), -2))

// The dtype of a created tensor comes from its options (float32 without), never from where it is used:
// the type says what the data is.
// @ts-expect-error a float32 tensor is not an int32 one (the dtype is not taken from the declared type)
export const notInt: Tensor.Tensor<readonly [2], "int32"> = Tensor.fromArray([0, 1], [2])
// @ts-expect-error zeros without a dtype is float32, not float64
export const notF64: Tensor.Tensor<readonly [2], "float64"> = Tensor.zeros([2])
export const f64: Tensor.Tensor<readonly [2], "float64"> = Tensor.ones([2], { dtype: "float64" })
// @ts-expect-error full and scalar too
export const notBool: Tensor.Tensor<readonly [], "bool"> = Tensor.scalar(1)

// int32 and bool: where they are needed (indices, labels, masks), kept out of the float ops.
const ids = Tensor.fromArray([0, 2], [2], { dtype: "int32" })
expectType<true>(true as Types.Equal<typeof ids, Tensor.Tensor<readonly [2], "int32">>)
expectType<Int32Array>(Tensor.toArray(ids))
const keepMask = Tensor.zeros([2, 3], { dtype: "bool" })
expectType<Uint8Array>(Tensor.toArray(keepMask))
const lookupTable = Tensor.zeros([5, 3])
const gathered = Tensor.gather(lookupTable, ids)
expectType<true>(true as Types.Equal<typeof gathered, Tensor.Tensor<readonly [2, 3]>>)
const encoded = Tensor.oneHot(ids, 4)
expectType<true>(true as Types.Equal<typeof encoded, Tensor.Tensor<readonly [2, 4], "float32">>)
const lessIds = Tensor.less(ids, Tensor.fromArray([1], [1], { dtype: "int32" }))
expectType<true>(true as Types.Equal<typeof lessIds, Tensor.Tensor<readonly [2], "bool">>)
const floatMask = Tensor.less(Tensor.zeros([2]), 1)
expectType<true>(true as Types.Equal<typeof floatMask, Tensor.Tensor<readonly [2], "float32">>)
const predicted = Tensor.argmax(Tensor.zeros([8, 10]), { axis: 1, dtype: "int32" })
expectType<true>(true as Types.Equal<typeof predicted, Tensor.Tensor<readonly [8], "int32">>)
const predictedFloat = Tensor.argmax(Tensor.zeros([8, 10]), { axis: 1 })
expectType<true>(true as Types.Equal<typeof predictedFloat, Tensor.Tensor<readonly [8]>>)
const selected = Tensor.where(keepMask, Tensor.zeros([2, 3]), Tensor.ones([3]))
expectType<true>(true as Types.Equal<typeof selected, Tensor.Tensor<readonly [2, 3]>>)
const truncated = Tensor.cast(Tensor.zeros([2]), "int32")
expectType<true>(true as Types.Equal<typeof truncated, Tensor.Tensor<readonly [2], "int32">>)
shapeIs<readonly [2, 1]>()(Tensor.cast(Tensor.reshape(ids, [2, 1]), "float32"))
// @ts-expect-error add takes float tensors: convert with Tensor.cast
Tensor.add(ids, ids)
// @ts-expect-error mul takes float tensors
Tensor.mul(Tensor.zeros([2]), ids)
// @ts-expect-error matmul takes float tensors
Tensor.matmul(Tensor.zeros([2, 2], { dtype: "int32" }), Tensor.zeros([2, 2], { dtype: "int32" }))
// @ts-expect-error conv2d takes float tensors
Tensor.conv2d(Tensor.zeros([1, 4, 4, 1], { dtype: "bool" }), Tensor.zeros([2, 2, 1, 1], { dtype: "bool" }))
// @ts-expect-error sum takes float tensors
Tensor.sum(ids)
// @ts-expect-error an int32 tensor is not an AnyTensor (a float tensor)
const notFloat: Tensor.AnyTensor = ids
void notFloat
// @ts-expect-error bool tensors are not indices
Tensor.gather(Tensor.zeros([5, 3]), keepMask)

// Code generic in a float dtype keeps compiling as before the int32 and bool dtypes existed.
export const genericMask = <D extends Tensor.DType>(
  v: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [4], D> => Tensor.less(v, 0)
export const genericMaskPiped = <D extends Tensor.DType>(
  v: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [4], D> => pipe(v, Tensor.greater(0))
export const genericEqual = <D extends Tensor.DType>(
  v: Tensor.Tensor<readonly [4], D>,
  y: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [4], D> => Tensor.equal(v, y)
export const genericOneHot = <D extends Tensor.DType>(
  l: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [4, 3], D> => Tensor.oneHot(l, 3)
export const genericOneHotPiped = <D extends Tensor.DType>(
  l: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [4, 3], D> => pipe(l, Tensor.oneHot(3))
export const genericArgmax = <D extends Tensor.DType>(
  v: Tensor.Tensor<readonly [4, 3], D>
): Tensor.Tensor<readonly [4], D> => Tensor.argmax(v, { axis: 1 })
export const genericArgmaxPiped = <D extends Tensor.DType>(
  v: Tensor.Tensor<readonly [4, 3], D>
): Tensor.Tensor<readonly [4], D> => pipe(v, Tensor.argmax({ axis: 1 }))
export const genericWhere = <D extends Tensor.DType>(
  c: Tensor.Tensor<readonly [4], D>,
  v: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [4], D> => Tensor.where(c, v, v)
export const genericGather = <D extends Tensor.DType>(
  tbl: Tensor.Tensor<readonly [5, 2], D>,
  ix: Tensor.Tensor<readonly [3], D>
): Tensor.Tensor<readonly [3, 2], D> => Tensor.gather(tbl, ix)
export const genericReshape = <D extends Tensor.DType>(
  v: Tensor.Tensor<readonly [4], D>
): Tensor.Tensor<readonly [2, 2], D> => Tensor.reshape(v, [2, 2])
