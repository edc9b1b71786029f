/**
 * `Train.fit(model, data, options)`: the data is checked against the model at compile time. Each
 * `@ts-expect-error` quotes the message (test/messages.test.ts checks it); the run-time twin of each
 * message is in test/custom.test.ts.
 */
import type { Dataset } from "@typegrad/data"
import { Layer, Loss, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { Examples, Train } from "@typegrad/train"
import { Console, Effect } from "effect"

const options = { optimizer: Optimizer.adam(), epochs: 1, batchSize: 8, seed: 1 }
const cnn = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10, activation: "softmax" }))

declare const images: Dataset.Dataset<readonly [28, 28, 1], 10>
declare const flat: Dataset.Dataset<readonly [784], 10>
declare const fiveClasses: Dataset.Dataset<readonly [28, 28, 1], 5>

// Fits: the result carries the model's parameter type.
const ok = Train.fit(cnn, images, options)
export const params: Effect.Effect<Model.ParamsOf<typeof cnn>, unknown, unknown> = Effect.map(ok, (r) => r.params)

// @ts-expect-error Train.fit: the data's inputs are [number, 784] but the model's input is [number, 28, 28, 1]
Train.fit(cnn, flat, options)
declare const tall: Dataset.Dataset<readonly [14, 56, 1], 10>
// @ts-expect-error Train.fit: the data's inputs are [number, 14, 56, 1] but the model's input is [number, 28, 28, 1]
Train.fit(cnn, tall, options)
// @ts-expect-error Train.fit: the targets are [number, 5] but the model's output is [number, 10] (the default loss, softmax cross-entropy, needs the output's shape)
Train.fit(cnn, fiveClasses, options)

// Regression: Examples with targets of the output's shape, and a loss typed by output and targets.
const linear = Model.input([3]).add(Layer.dense({ units: 2 }))
const regression = Examples.make({ inputs: Tensor.zeros([100, 3]), targets: Tensor.zeros([100, 2]) })
Train.fit(linear, regression, { ...options, loss: Loss.meanSquaredError })
Train.fit(linear, regression, {
  ...options,
  loss: (y, t) => Loss.meanSquaredError(y, t),
  metrics: { mae: (y, t) => Tensor.item(Tensor.mean(Tensor.abs(Tensor.sub(y, t)))) },
  onEpoch: (m) => Console.log(m.metrics)
})

// The targets' width is checked with the default loss...
const wide = Examples.make({ inputs: Tensor.zeros([100, 3]), targets: Tensor.zeros([100, 4]) })
// @ts-expect-error Train.fit: the targets are [number, 4] but the model's output is [number, 2]
Train.fit(linear, wide, options)
// ...and by the loss's own types with a loss of your own.
Train.fit(linear, wide, {
  ...options,
  // @ts-expect-error Type 'Tensor<readonly [number, 2], "float32">' is not assignable to type 'Tensor<readonly [number, 4], "float32">'
  loss: (y: Tensor.Tensor<readonly [number, 4]>, t: Tensor.Tensor<readonly [number, 4]>) => Loss.meanSquaredError(y, t)
})

// A pytree of targets needs a loss of your own.
const twoHeads = Examples.make({
  inputs: Tensor.zeros([100, 3]),
  targets: { a: Tensor.zeros([100, 1]), b: Tensor.zeros([100, 1]) }
})
// @ts-expect-error Train.fit: the default loss (softmax cross-entropy) needs one target tensor; give a loss for a pytree of targets
Train.fit(linear, twoHeads, options)
Train.fit(linear, twoHeads, {
  ...options,
  loss: (y, t) =>
    Tensor.add(
      Loss.meanSquaredError(Tensor.slice(y, [0, 0], [-1, 1]), t.a),
      Loss.meanSquaredError(Tensor.slice(y, [0, 1], [-1, 1]), t.b)
    )
})

// Inputs of the wrong shape for Examples too.
const wrongInputs = Examples.make({ inputs: Tensor.zeros([100, 4]), targets: Tensor.zeros([100, 2]) })
// @ts-expect-error Train.fit: the data's inputs are [number, 4] but the model's input is [number, 3]
Train.fit(linear, wrongInputs, { ...options, loss: Loss.meanSquaredError })

// The onEpoch hook's error and requirements reach fit's type.
class HookError {
  readonly _tag = "HookError"
}
const withHook = Train.fit(linear, regression, {
  ...options,
  loss: Loss.meanSquaredError,
  onEpoch: () => Effect.fail(new HookError())
})
export const hookError: Effect.Effect<unknown, HookError | Train.FitError, unknown> = withHook
