/**
 * Reference models: well-known architectures written with `Model` and `Layer`, to train as they are, to
 * start from, or to compare against. The CLI's `typegrad train mnist` job, the benchmarks and the tests
 * import them from here, so there is one definition of each.
 *
 * @example
 * ```ts
 * import { Reference } from "@typegrad/nn"
 * import { Effect, Random } from "effect"
 *
 * const params = Effect.runSync(Reference.mnistCnn.init.pipe(Random.withSeed(1)))
 * ```
 *
 * @since 0.1.0
 */
import * as Layer from "./Layer.ts"
import * as Model from "./Model.ts"

/**
 * The classic Keras MNIST CNN, on `[batch, 28, 28, 1]` images: Conv2D 24 2x2 same + ReLU, MaxPool 2,
 * Conv2D 48 2x2 same + ReLU, MaxPool 2, Flatten, Dense 512 ReLU, Dropout 0.5, Dense 128 ReLU, Dropout 0.5,
 * Dense 10 softmax (1,276,466 parameters). Its output type `[batch, 10]` and its parameter shapes are
 * inferred; `logits` gives the output before the final softmax.
 *
 * @example
 * ```ts
 * import { Reference } from "@typegrad/nn"
 * import { Tensor } from "@typegrad/tensor"
 * import { Effect, Random } from "effect"
 *
 * const params = Effect.runSync(Reference.mnistCnn.init.pipe(Random.withSeed(1)))
 * const probabilities = Reference.mnistCnn.apply(params, Tensor.zeros([32, 28, 28, 1]))
 * // Tensor<readonly [number, 10]>: rows of class probabilities
 * ```
 *
 * @since 0.1.0
 */
export const mnistCnn = Model.input([28, 28, 1])
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

/** conv3x3 (no bias) + batch norm: the unit of the CIFAR ResNet. */
const convBn = <const F extends number, const St extends number>(filters: F, strides: St) =>
  [
    Layer.conv2d({ filters, kernelSize: 3, strides, padding: "same", useBias: false }),
    Layer.batchNorm({ momentum: 0.9 })
  ] as const

/** A basic residual block keeping the shape: conv-BN-relu-conv-BN + identity, then relu. */
const basicBlock = <const F extends number>(filters: F) =>
  [
    Layer.add([[...convBn(filters, 1), Layer.relu(), ...convBn(filters, 1)], []]),
    Layer.relu()
  ] as const

/**
 * A downsampling residual block: conv-BN-relu-conv-BN with stride 2 in the first conv, plus a projection
 * shortcut (conv 1x1 stride 2 + BN) to the new channel count, then relu.
 */
const downBlock = <const F extends number>(filters: F) =>
  [
    Layer.add([
      [...convBn(filters, 2), Layer.relu(), ...convBn(filters, 1)],
      [
        Layer.conv2d({ filters, kernelSize: 1, strides: 2, useBias: false }),
        Layer.batchNorm({ momentum: 0.9 })
      ]
    ]),
    Layer.relu()
  ] as const

/**
 * A small ResNet for CIFAR-10 (He et al., 2016, the CIFAR variant), on `[batch, 32, 32, 3]` images:
 * conv3x3 16 + batch norm + ReLU, then three stages of residual blocks (conv-BN-ReLU-conv-BN plus the
 * input, then ReLU) at 16, 32 and 64 channels on 32x32, 16x16 and 8x8 maps (the first block of stages 2
 * and 3 downsamples with stride 2 and a 1x1 projection shortcut), global average pooling and Dense 10
 * softmax: ResNet-14, 175,258 parameters. Its output type `[batch, 10]` is inferred; `logits` gives the
 * output before the softmax. The batch norms' running statistics are model state (`initState`,
 * `applyWithState`), which `Train.fit` threads through training and checkpoints.
 *
 * @example
 * ```ts
 * import { Reference } from "@typegrad/nn"
 * import { Tensor } from "@typegrad/tensor"
 * import { Effect, Random } from "effect"
 *
 * const model = Reference.cifarResNet
 * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
 * const x = Tensor.zeros([8, 32, 32, 3])
 * const [logits, state] = model.applyWithState(params, model.initState, x, { training: true, logits: true })
 * const probabilities = model.apply(params, x, { state }) // Tensor<readonly [number, 10]>
 * ```
 *
 * @since 0.1.0
 */
export const cifarResNet = Model.input([32, 32, 3])
  .add(Layer.conv2d({ filters: 16, kernelSize: 3, padding: "same", useBias: false }))
  .add(Layer.batchNorm({ momentum: 0.9 }))
  .add(Layer.relu())
  .add(Layer.sequential(...basicBlock(16), ...basicBlock(16)))
  .add(Layer.sequential(...downBlock(32), ...basicBlock(32)))
  .add(Layer.sequential(...downBlock(64), ...basicBlock(64)))
  .add(Layer.globalAvgPool2d())
  .add(Layer.dense({ units: 10, activation: "softmax" }))
