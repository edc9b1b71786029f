// Reference models whose type-check cost is budgeted (test/typeperf.test.ts): the classic Keras MNIST CNN
// and a deep residual network of 20 blocks, each layer's shape computed at compile time. The MNIST CNN is
// compiled from its one definition (../src/Reference.ts, which the baseline leaves out); the layer and
// model modules are imported as in baseline.ts.
import * as Layer from "../src/Layer.ts"
import * as Model from "../src/Model.ts"
import { mnistCnn as cnn } from "../src/Reference.ts"

export const model = Model.input([4]).add(Layer.dense({ units: 2 }))

const block = <const F extends number>(filters: F) =>
  Layer.residual(
    Layer.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu" }),
    Layer.conv2d({ filters, kernelSize: 3, padding: "same" })
  )

export const resnet = Model.input([224, 224, 3])
  .add(Layer.conv2d({ filters: 64, kernelSize: 7, strides: 2, padding: "same", activation: "relu" }))
  .add(Layer.maxPool2d({ poolSize: 3, strides: 2, padding: "same" }))
  .add(block(64))
  .add(block(64))
  .add(block(64))
  .add(Layer.conv2d({ filters: 128, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }))
  .add(block(128))
  .add(block(128))
  .add(block(128))
  .add(block(128))
  .add(Layer.conv2d({ filters: 256, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }))
  .add(block(256))
  .add(block(256))
  .add(block(256))
  .add(block(256))
  .add(block(256))
  .add(block(256))
  .add(Layer.conv2d({ filters: 512, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }))
  .add(block(512))
  .add(block(512))
  .add(block(512))
  .add(Layer.avgPool2d({ poolSize: 7 }))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 1000, activation: "softmax" }))

// The inferred output shapes, checked: a wrong rule would make these assignments fail.
export const cnnOut: readonly [number, 10] = [0, 10] as unknown as ReturnType<typeof cnn.apply>["shape"]
export const resnetOut: readonly [number, 1000] = [0, 1000] as unknown as ReturnType<typeof resnet.apply>["shape"]
