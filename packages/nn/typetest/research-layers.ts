/**
 * Wrong wirings of the research-breadth layers (leakyRelu, gelu, layerNorm, embedding, global pooling,
 * conv1d): each compile error names the layer and the sizes (test/messages.test.ts checks each message).
 */
import { Layer, Model } from "@typegrad/nn"

const vector = Model.input([12])
const sequence = Model.input([10, 4])
const image = Model.input([8, 8, 3])

// @ts-expect-error layer 1 layerNorm: expected input of rank 2 or more [batch, ..., features], got [number]
Model.input([]).add(Layer.layerNorm())
// @ts-expect-error layer 1 globalAvgPool2d: expected input of rank 4 [N, H, W, C], got [number, 10, 4]
sequence.add(Layer.globalAvgPool2d())
// @ts-expect-error layer 1 globalMaxPool2d: expected input of rank 4 [N, H, W, C], got [number, 12]
vector.add(Layer.globalMaxPool2d())
// @ts-expect-error layer 1 conv1d(8): expected input of rank 3 [N, L, C], got [number, 8, 8, 3]
image.add(Layer.conv1d({ filters: 8, kernelSize: 3 }))
// @ts-expect-error layer 1 conv1d(8): kernel 11 larger than padded input 10
sequence.add(Layer.conv1d({ filters: 8, kernelSize: 11 }))
// @ts-expect-error layer 1 conv1d(8): kernel 13 larger than padded input 12
sequence.add(Layer.conv1d({ filters: 8, kernelSize: 7, dilation: 2, padding: 1 }))
// @ts-expect-error layer 1 conv1d(8): kernel size must be a positive integer, got 0
sequence.add(Layer.conv1d({ filters: 8, kernelSize: 0 }))
// @ts-expect-error layer 1 conv1d(8): dilation must be a positive integer, got 0
sequence.add(Layer.conv1d({ filters: 8, kernelSize: 3, dilation: 0 }))
// @ts-expect-error layer 1 conv1d(8): padding must be non-negative integers, got [2, -1]
sequence.add(Layer.conv1d({ filters: 8, kernelSize: 3, padding: [2, -1] }))
// @ts-expect-error layer 1 wave: strides must be a positive integer, got 0
sequence.add(Layer.conv1d({ filters: 8, kernelSize: 3, strides: 0, name: "wave" }))

// An embedding appends its axis; the next layer sees it.
const embedded = vector.add(Layer.embedding({ inputDim: 100, outputDim: 16 }))
// @ts-expect-error layer 2 dense(4): expected input of rank 2 [batch, features], got [number, 12, 16]
embedded.add(Layer.dense({ units: 4 }))
const features = embedded.add(Layer.conv1d({ filters: 8, kernelSize: 3 })).add(Layer.gelu()).add(Layer.leakyRelu())
// @ts-expect-error layer 5 conv2d(2): input must have rank 4 [N, H, W, C], got [number, 10, 8]
features.add(Layer.conv2d({ filters: 2, kernelSize: 1 }))
// Inside combinators the position is the block's.
// @ts-expect-error layer 1 globalAvgPool2d: expected input of rank 4 [N, H, W, C], got [number, 12]
vector.add(Layer.residual(Layer.globalAvgPool2d()))

// Pooling with explicit pads: each smaller than the window.
image.add(Layer.maxPool2d({ poolSize: 3, strides: 2, padding: 1 })).add(
  Layer.avgPool2d({ poolSize: 2, padding: [[1, 0], [0, 1]] })
)
// @ts-expect-error layer 1 maxPool2d: padding 2 must be smaller than pool size 2
image.add(Layer.maxPool2d({ poolSize: 2, padding: 2 }))
// @ts-expect-error layer 1 avgPool2d: padding must be non-negative integers, got [-1, 0]
image.add(Layer.avgPool2d({ poolSize: 2, padding: [-1, 0] }))

// Batch normalisation keeps the shape and needs a channel axis besides the batch.
// @ts-expect-error layer 1 batchNorm: expected input of rank 2 or more [batch, ..., channels], got [number]
Model.input([]).add(Layer.batchNorm())
const normed = image.add(Layer.batchNorm()).add(Layer.flatten())
// @ts-expect-error layer 3 conv1d(2): expected input of rank 3 [N, L, C], got [number, 192]
normed.add(Layer.conv1d({ filters: 2, kernelSize: 1 }))

// Transposed convolutions upsample; their output feeds the next layer's rule.
const decoded = image.add(Layer.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2 })) // [number, 16, 16, 4]
// @ts-expect-error layer 2 conv2d(1): kernel 17 larger than padded input 16
decoded.add(Layer.conv2d({ filters: 1, kernelSize: 17 }))
// @ts-expect-error layer 1 conv2dTranspose(4): input must have rank 4 [N, H, W, F], got [number, 12]
vector.add(Layer.conv2dTranspose({ filters: 4, kernelSize: 2 }))
// @ts-expect-error layer 1 up: strides must be positive integers, got 0
image.add(Layer.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 0, name: "up" }))
// @ts-expect-error layer 1 depthwiseConv2d(1): kernel 9 larger than padded input 8
image.add(Layer.depthwiseConv2d({ kernelSize: 9 }))
// @ts-expect-error layer 2 dense(3): expected input of rank 2 [batch, features], got [number, 8, 8, 6]
image.add(Layer.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same" })).add(Layer.dense({ units: 3 }))

// Grouped convolutions: groups must divide the channels and the filters.
image.add(Layer.conv2d({ filters: 6, kernelSize: 3, groups: 3 })).add(
  Layer.conv2d({ filters: 4, kernelSize: 1, groups: 2 })
)
// @ts-expect-error layer 1 conv2d(4): input channels 3 are not a multiple of groups 2
image.add(Layer.conv2d({ filters: 4, kernelSize: 1, groups: 2 }))
// @ts-expect-error layer 1 conv2d(4): filters 4 are not a multiple of groups 3
image.add(Layer.conv2d({ filters: 4, kernelSize: 1, groups: 3 }))
// @ts-expect-error layer 1 conv2d(3): groups must be a positive integer, got 0
image.add(Layer.conv2d({ filters: 3, kernelSize: 1, groups: 0 }))
