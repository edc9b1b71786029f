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
