/**
 * Inferred shapes, checked exactly (tests/consumer.test.ts compiles this file against the installed
 * `.d.ts` with TypeScript 7 and 5.9; the repository's type check compiles it against the sources): the
 * declaration files must give the same types as the sources.
 */
import { Layer, Model } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const assert = <T extends true>(_?: T): void => {}

// The README's pipeline.
const images = Tensor.zeros([8, 28, 28, 1])
const kernel = Tensor.ones([2, 2, 1, 24])
const y = images.pipe(
  Tensor.conv2d(kernel, { padding: "same" }),
  Tensor.relu,
  Tensor.maxPool2d({ poolSize: 2 }),
  Tensor.flatten
)
assert<Equal<typeof y, Tensor.Tensor<readonly [8, 4704]>>>()

// Strides, dilation and explicit padding; matmul with broadcasting; big exact dims.
const strided = Tensor.conv2d(Tensor.zeros([2, 32, 30, 3]), Tensor.zeros([3, 5, 3, 16]), {
  strides: [2, 3],
  padding: [1, 2],
  dilation: 2
})
assert<Equal<typeof strided, Tensor.Tensor<readonly [2, 15, 9, 16]>>>()
const product = Tensor.matmul(Tensor.zeros([5, 7, 3], { dtype: "float64" }), Tensor.zeros([3, 4], { dtype: "float64" }))
assert<Equal<typeof product, Tensor.Tensor<readonly [5, 7, 4], "float64">>>()
const big = Tensor.reshape(Tensor.zeros([4096, 4096]), [-1, 1024])
assert<Equal<typeof big, Tensor.Tensor<readonly [16384, 1024]>>>()

// The README's CNN: output and parameter shapes.
const cnn = Model.input([28, 28, 1])
  .add(Layer.conv2d({ filters: 24, kernelSize: 2, padding: "same", activation: "relu" }))
  .add(Layer.maxPool2d({ poolSize: 2 }))
  .add(Layer.conv2d({ filters: 48, kernelSize: 2, padding: "same", activation: "relu" }))
  .add(Layer.maxPool2d({ poolSize: 2 }))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 512, activation: "relu" }))
  .add(Layer.dropout(0.5))
  .add(Layer.dense({ units: 128, activation: "relu" }))
  .add(Layer.dropout(0.5))
  .add(Layer.dense({ units: 10, activation: "softmax" }))
declare const params: Model.ParamsOf<typeof cnn>
const out = cnn.apply(params, Tensor.zeros([32, 28, 28, 1]))
assert<Equal<typeof out, Tensor.Tensor<readonly [number, 10]>>>()
assert<Equal<(typeof params)[0]["kernel"], Tensor.Tensor<readonly [2, 2, 1, 24]>>>()
assert<Equal<(typeof params)[2]["kernel"], Tensor.Tensor<readonly [2352, 512]>>>()
assert<Equal<(typeof params)[4]["bias"], Tensor.Tensor<readonly [10]>>>()
assert<Equal<(typeof params)["length"], 5>>()
