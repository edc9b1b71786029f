// The label of each layer kind, at type level and at run time: `Layer.Label<L, N>` (the name in compile-time
// errors) is the same string as the label the model gives the layer at run time (summaries, runtime errors).
import { Layer, Model } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { describe, expect, it } from "vitest"

const assert = <T extends true>(_?: T): void => {}

const image = Model.input([8, 8, 3])
const vector = Model.input([12])

const conv = Layer.conv2d({ filters: 4, kernelSize: 3 })
const namedConv = Layer.conv2d({ filters: 4, kernelSize: 3, name: "stem" })
const dense = Layer.dense({ units: 5 })
const namedDense = Layer.dense({ units: 5, name: "head" })
const maxPool = Layer.maxPool2d({ poolSize: 2 })
const avgPool = Layer.avgPool2d({ poolSize: 2 })
const namedPool = Layer.maxPool2d({ poolSize: 2, name: "down" })
const flatten = Layer.flatten()
const dropout = Layer.dropout(0.25)
const relu = Layer.relu()
const softmax = Layer.softmax()
const tanh = Layer.activation("tanh")
const leaky = Layer.leakyRelu(0.2)
const leakyDefault = Layer.leakyRelu()
const gelu = Layer.gelu()
const geluTanh = Layer.gelu({ approximate: true })
const layerNorm = Layer.layerNorm()
const namedNorm = Layer.layerNorm({ epsilon: 1e-3, name: "norm" })
const embedding = Layer.embedding({ inputDim: 30, outputDim: 4 })
const globalAvg = Layer.globalAvgPool2d()
const globalMax = Layer.globalMaxPool2d()
const conv1 = Layer.conv1d({ filters: 3, kernelSize: 2 })
const namedConv1 = Layer.conv1d({ filters: 3, kernelSize: 2, name: "wave" })
const batchNorm = Layer.batchNorm()
const namedBatchNorm = Layer.batchNorm({ name: "bn" })
const convT = Layer.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2 })
const depthwise = Layer.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 })
const sequence = Model.input([8, 3])
const sequential = Layer.sequential(Layer.conv2d({ filters: 3, kernelSize: 1 }), Layer.relu())
const residual = Layer.residual(Layer.conv2d({ filters: 3, kernelSize: 3, padding: "same" }))
const parallel = Layer.parallel([[Layer.conv2d({ filters: 2, kernelSize: 1 })], [Layer.relu()]])

// Type level: each layer's label, and the label in messages at position 1.
assert<Types.Equal<Layer.Label<typeof conv, 1>, "layer 1 conv2d(4)">>()
assert<Types.Equal<Layer.Label<typeof namedConv, 1>, "layer 1 stem">>()
assert<Types.Equal<Layer.Label<typeof dense, 1>, "layer 1 dense(5)">>()
assert<Types.Equal<Layer.Label<typeof namedDense, 1>, "layer 1 head">>()
assert<Types.Equal<Layer.Label<typeof maxPool, 1>, "layer 1 maxPool2d">>()
assert<Types.Equal<Layer.Label<typeof avgPool, 1>, "layer 1 avgPool2d">>()
assert<Types.Equal<Layer.Label<typeof namedPool, 1>, "layer 1 down">>()
assert<Types.Equal<Layer.Label<typeof flatten, 1>, "layer 1 flatten">>()
assert<Types.Equal<Layer.Label<typeof dropout, 1>, "layer 1 dropout(0.25)">>()
assert<Types.Equal<Layer.Label<typeof relu, 1>, "layer 1 relu">>()
assert<Types.Equal<Layer.Label<typeof softmax, 1>, "layer 1 softmax">>()
assert<Types.Equal<Layer.Label<typeof tanh, 1>, "layer 1 tanh">>()
assert<Types.Equal<Layer.Label<typeof sequential, 1>, "layer 1 sequential">>()
assert<Types.Equal<Layer.Label<typeof residual, 1>, "layer 1 residual">>()
assert<Types.Equal<Layer.Label<typeof parallel, 1>, "layer 1 parallel">>()
assert<Types.Equal<Layer.Label<typeof leaky, 1>, "layer 1 leakyRelu(0.2)">>()
assert<Types.Equal<Layer.Label<typeof leakyDefault, 1>, "layer 1 leakyRelu(0.01)">>()
assert<Types.Equal<Layer.Label<typeof gelu, 1>, "layer 1 gelu">>()
assert<Types.Equal<Layer.Label<typeof geluTanh, 1>, "layer 1 gelu(tanh)">>()
assert<Types.Equal<Layer.Label<typeof layerNorm, 1>, "layer 1 layerNorm">>()
assert<Types.Equal<Layer.Label<typeof namedNorm, 1>, "layer 1 norm">>()
assert<Types.Equal<Layer.Label<typeof embedding, 1>, "layer 1 embedding(30, 4)">>()
assert<Types.Equal<Layer.Label<typeof globalAvg, 1>, "layer 1 globalAvgPool2d">>()
assert<Types.Equal<Layer.Label<typeof globalMax, 1>, "layer 1 globalMaxPool2d">>()
assert<Types.Equal<Layer.Label<typeof conv1, 1>, "layer 1 conv1d(3)">>()
assert<Types.Equal<Layer.Label<typeof namedConv1, 1>, "layer 1 wave">>()
assert<Types.Equal<Layer.Label<typeof batchNorm, 1>, "layer 1 batchNorm">>()
assert<Types.Equal<Layer.Label<typeof namedBatchNorm, 1>, "layer 1 bn">>()
assert<Types.Equal<Layer.Label<typeof convT, 1>, "layer 1 conv2dTranspose(2)">>()
assert<Types.Equal<Layer.Label<typeof depthwise, 1>, "layer 1 depthwiseConv2d(2)">>()
// The runtime `label` property is typed with the rule's label.
assert<Types.Equal<typeof conv.label, "conv2d(4)">>()
assert<Types.Equal<typeof dropout.label, "dropout(0.25)">>()
assert<Types.Equal<typeof tanh.label, "tanh">>()

/** The runtime labels of `layer`, alone and as the first layer of `model`; `expected` is its type-level label. */
const labels = <L extends Layer.Any>(
  model: { add: (layer: L) => { readonly layers: ReadonlyArray<{ readonly label: string }> } },
  layer: L,
  expected: Layer.Label<L, 1>
) => ({ expected, layer: `layer 1 ${layer.label}`, model: model.add(layer).layers[0]!.label })

describe("layer labels", () => {
  it("the runtime label of every layer kind is its type-level label", () => {
    const cases = [
      labels(image, conv, "layer 1 conv2d(4)"),
      labels(image, namedConv, "layer 1 stem"),
      labels(vector, dense, "layer 1 dense(5)"),
      labels(vector, namedDense, "layer 1 head"),
      labels(image, maxPool, "layer 1 maxPool2d"),
      labels(image, avgPool, "layer 1 avgPool2d"),
      labels(image, namedPool, "layer 1 down"),
      labels(image, flatten, "layer 1 flatten"),
      labels(vector, dropout, "layer 1 dropout(0.25)"),
      labels(vector, relu, "layer 1 relu"),
      labels(vector, softmax, "layer 1 softmax"),
      labels(vector, tanh, "layer 1 tanh"),
      labels(image, sequential, "layer 1 sequential"),
      labels(image, residual, "layer 1 residual"),
      labels(image, parallel, "layer 1 parallel"),
      labels(vector, leaky, "layer 1 leakyRelu(0.2)"),
      labels(vector, leakyDefault, "layer 1 leakyRelu(0.01)"),
      labels(vector, gelu, "layer 1 gelu"),
      labels(vector, geluTanh, "layer 1 gelu(tanh)"),
      labels(vector, layerNorm, "layer 1 layerNorm"),
      labels(vector, namedNorm, "layer 1 norm"),
      labels(vector, embedding, "layer 1 embedding(30, 4)"),
      labels(image, globalAvg, "layer 1 globalAvgPool2d"),
      labels(image, globalMax, "layer 1 globalMaxPool2d"),
      labels(sequence, conv1, "layer 1 conv1d(3)"),
      labels(sequence, namedConv1, "layer 1 wave"),
      labels(image, batchNorm, "layer 1 batchNorm"),
      labels(vector, namedBatchNorm, "layer 1 bn"),
      labels(image, convT, "layer 1 conv2dTranspose(2)"),
      labels(image, depthwise, "layer 1 depthwiseConv2d(2)")
    ]
    expect(cases).toHaveLength(30)
    for (const c of cases) {
      expect(c.layer).toBe(c.expected)
      expect(c.model).toBe(c.expected)
    }
  })

  it("a layer's position is part of its label", () => {
    const m = vector.add(Layer.dense({ units: 8 })).add(Layer.dropout(0.5)).add(Layer.relu())
    expect(m.layers.map((l) => l.label)).toEqual(["layer 1 dense(8)", "layer 2 dropout(0.5)", "layer 3 relu"])
  })
})
