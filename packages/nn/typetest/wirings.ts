/**
 * Wrong wirings inside combinators and in named layers: the compile error names the outer layer's position
 * and the inner layer that is wrong (test/messages.test.ts checks each quoted message).
 */
import { Layer, Model } from "@typegrad/nn"

const conv = Model.input([28, 28, 1]).add(Layer.conv2d({ filters: 8, kernelSize: 3 }))

// @ts-expect-error layer 2 conv2d(8): kernel 30 larger than padded input 26
conv.add(Layer.residual(Layer.conv2d({ filters: 8, kernelSize: 30 })))
// @ts-expect-error layer 2 conv2d(8): input must have rank 4 [N, H, W, C], got [number, 5408]
conv.add(Layer.sequential(Layer.flatten(), Layer.conv2d({ filters: 8, kernelSize: 3 })))
// @ts-expect-error layer 2 parallel: shapes [number, 26, 26, 4] and [number, 24, 24, 6] differ at axis 1
conv.add(Layer.parallel([[Layer.conv2d({ filters: 4, kernelSize: 1 })], [Layer.conv2d({ filters: 6, kernelSize: 3 })]]))
// @ts-expect-error layer 2 dense(4): expected input of rank 2 [batch, features], got [number, 26, 26, 8]
conv.add(Layer.parallel([[Layer.dense({ units: 4 })], [Layer.relu()]]))
// @ts-expect-error layer 2 named: kernel 30 larger than padded input 26
conv.add(Layer.conv2d({ filters: 8, kernelSize: 30, name: "named" }))
// @ts-expect-error layer 2 head: expected input of rank 2 [batch, features], got [number, 26, 26, 8]
conv.add(Layer.dense({ units: 10, name: "head" }))
// @ts-expect-error layer 2 avgPool2d: pool size 30 larger than input 26
conv.add(Layer.avgPool2d({ poolSize: 30 }))

// Dropout and activations keep the shape; the position counts every layer.
const flat = conv.add(Layer.flatten()).add(Layer.dropout(0.5)).add(Layer.relu())
// @ts-expect-error layer 5 conv2d(1): input must have rank 4 [N, H, W, C], got [number, 5408]
flat.add(Layer.conv2d({ filters: 1, kernelSize: 1 }))
