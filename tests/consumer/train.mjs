// Plain Node ESM, as a user without TypeScript writes it: the README's CNN, a few Adam steps on random
// data with `valueAndGrad`, then a shape rule and a gradient check; the results printed as JSON
// (tests/consumer.test.ts runs it against the installed tarballs).
import { valueAndGrad } from "@typegrad/autodiff"
import { Layer, Loss, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Shape } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { checkGrads } from "@typegrad/testing"
import { Effect, Random } from "effect"

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

// Random images and random one-hot labels from a fixed linear congruential generator.
const n = 16
let state = 12345
const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648
const images = Tensor.fromArray(Float32Array.from({ length: n * 28 * 28 }, next), [n, 28, 28, 1])
const classes = Array.from({ length: n }, () => Math.floor(next() * 10))
const labels = Tensor.fromArray(Float32Array.from({ length: n * 10 }, (_, i) => (classes[Math.floor(i / 10)] === i % 10 ? 1 : 0)), [n, 10])

let params = Effect.runSync(cnn.init.pipe(Random.withSeed(1)))
const optimizer = Optimizer.adam({ learningRate: 1e-3 })
let optState = optimizer.init(params)
const lossAndGrads = valueAndGrad((p) => Loss.softmaxCrossEntropy(cnn.logits(p, images), labels))

const losses = []
for (let step = 0; step < 6; step++) {
  const [loss, grads] = lossAndGrads(params)
  losses.push(Tensor.toArray(loss)[0])
  ;[params, optState] = optimizer.step(grads, optState, params)
}
const probabilities = cnn.apply(params, images)

// The other library packages load under plain Node too: a runtime shape rule and a gradient check.
const convShape = Shape.conv2d([1, 28, 28, 1], [2, 2, 1, 24], { padding: "same" })
const gradCheck = checkGrads((x) => Tensor.sum(Tensor.tanh(x)), Tensor.fromArray([0.1, -0.4, 0.7], [3], { dtype: "float64" }))

process.stdout.write(
  JSON.stringify({
    losses,
    outputShape: probabilities.shape,
    parameterCount: Model.parameterCount(cnn),
    convShape,
    gradCheckOk: gradCheck.ok
  }) + "\n"
)
