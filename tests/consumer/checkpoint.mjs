// Plain Node ESM against the installed tarballs, after `npx typegrad train mnist` wrote a run directory
// (argv[2]): the README's CNN loads the job's checkpoint with `Params.load` and predicts the 10,000 MNIST
// test images; a checkpoint that does not fit a model is a tagged error naming the tensor; a layer of
// the user's own (`Layer.make`) composes into a model, initialises and trains. Results as JSON on stdout
// (tests/consumer.test.ts checks them).
import { grad } from "@typegrad/autodiff"
import { Dataset, Mnist } from "@typegrad/data"
import { Layer, Model } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"
import { Params } from "@typegrad/train"
import { Effect, Random, Stream } from "effect"

const run = process.argv[2]

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

// The job's checkpoint, into the README's model; predictions on the test set.
const params = await Effect.runPromise(Params.load(run, cnn))
const test = await Effect.runPromise(Mnist.load({ split: "test" }))
let correct = 0
let seen = 0
await Effect.runPromise(
  Stream.runForEach(Dataset.batches(test, { batchSize: 1000, shuffle: false }), (batch) =>
    Effect.sync(() => {
      const p = Tensor.toArray(cnn.apply(params, batch.images))
      const truth = Tensor.toArray(batch.classes)
      for (let r = 0; r < batch.size; r++) {
        let best = 0
        for (let c = 1; c < 10; c++) if (p[r * 10 + c] > p[r * 10 + best]) best = c
        if (best === truth[r]) correct++
      }
      seen += batch.size
    }))
)

// The same file into a model it does not fit: a tagged error that names the tensor.
const wrong = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
const mismatch = await Effect.runPromise(Effect.flip(Params.load(run, wrong)))

// A layer of the user's own: a learned scale, composed after a dense layer.
const scale = Layer.make({
  label: "scale",
  outShape: (input) => input,
  init: ({ dtype }) => ({ scale: Tensor.full([], 2, { dtype }) }),
  forward: (p, x) => Tensor.mul(x, p.scale)
})
const model = Model.input([4]).add(Layer.dense({ units: 3 })).add(scale)
const custom = await Effect.runPromise(model.init.pipe(Random.withSeed(7)))
const x = Tensor.ones([2, 4])
const y = model.apply(custom, x)
const g = grad((p) => Tensor.sum(model.apply(p, x)))(custom)

console.log(JSON.stringify({
  seen,
  correct,
  mismatch: { tag: mismatch._tag, message: mismatch.message },
  custom: {
    summary: Model.summary(model),
    outShape: y.shape,
    scale: Tensor.item(custom[1].scale),
    scaleGrad: Tensor.item(g[1].scale),
    denseOutputSum: Tensor.item(Tensor.sum(model.apply([custom[0], { scale: Tensor.scalar(1) }], x)))
  }
}))
