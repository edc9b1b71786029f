/**
 * Compile-time tests of models: the classic Keras MNIST CNN (`Reference.mnistCnn`, written in a few lines
 * in packages/nn/src/Reference.ts) with its output inferred, typed parameters, and wirings that must not
 * compile.
 */
import { Layer, Model, Reference } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import type { Tensor } from "@typegrad/tensor"

const assert = <T extends true>(_?: T): void => {}

// The classic Keras MNIST CNN (defined once, in packages/nn/src/Reference.ts).
const cnn = Reference.mnistCnn

declare const params: Model.ParamsOf<typeof cnn>
declare const images: Tensor.Tensor<readonly [number, 28, 28, 1]>
const out = cnn.apply(params, images)
assert<Types.Equal<typeof out, Tensor.Tensor<readonly [number, 10]>>>()
declare const fixed: Tensor.Tensor<readonly [32, 28, 28, 1]>
assert<Types.Equal<typeof out, ReturnType<typeof cnn.apply>>>()
cnn.apply(params, fixed)

// Parameters are a typed pytree.
assert<Types.Equal<(typeof params)[0]["kernel"], Tensor.Tensor<readonly [2, 2, 1, 24]>>>()
assert<Types.Equal<(typeof params)[1]["kernel"], Tensor.Tensor<readonly [2, 2, 24, 48]>>>()
assert<Types.Equal<(typeof params)[2]["kernel"], Tensor.Tensor<readonly [2352, 512]>>>()
assert<Types.Equal<(typeof params)[2]["bias"], Tensor.Tensor<readonly [512]>>>()
assert<Types.Equal<(typeof params)[4]["kernel"], Tensor.Tensor<readonly [128, 10]>>>()
assert<Types.Equal<(typeof params)["length"], 5>>()

// Wrong wirings are compile errors on the layer that is wrong.
const conv = Model.input([28, 28, 1]).add(Layer.conv2d({ filters: 8, kernelSize: 3 }))
// @ts-expect-error layer 2 dense(10): expected input of rank 2 [batch, features], got [number, 26, 26, 8]; add Layer.flatten() before it
conv.add(Layer.dense({ units: 10 }))
// @ts-expect-error layer 2 conv2d(8): kernel 30 larger than padded input 26
conv.add(Layer.conv2d({ filters: 8, kernelSize: 30 }))
// @ts-expect-error layer 2 maxPool2d: pool size must be positive integers, got 0
conv.add(Layer.maxPool2d({ poolSize: 0 }))
// @ts-expect-error layer 2 residual: the block maps [number, 26, 26, 8] to [number, 26, 26, 16]
conv.add(Layer.residual(Layer.conv2d({ filters: 16, kernelSize: 3, padding: "same" })))

// Residual and parallel blocks.
const res = conv.add(Layer.residual(Layer.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu" })))
assert<Types.Equal<ReturnType<typeof res.apply>, Tensor.Tensor<readonly [number, 26, 26, 8]>>>()
const par = conv.add(
  Layer.parallel([[Layer.conv2d({ filters: 4, kernelSize: 1 })], [
    Layer.conv2d({ filters: 6, kernelSize: 3, padding: "same" }),
    Layer.relu()
  ]])
)
assert<Types.Equal<ReturnType<typeof par.apply>, Tensor.Tensor<readonly [number, 26, 26, 10]>>>()

// float64 models carry the dtype into every parameter.
const m64 = Model.input([4], { dtype: "float64" }).add(Layer.dense({ units: 3 }))
declare const p64: Model.ParamsOf<typeof m64>
assert<Types.Equal<(typeof p64)[0]["kernel"], Tensor.Tensor<readonly [4, 3], "float64">>>()
