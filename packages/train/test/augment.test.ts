// Train.fit's `augment` option: called on every training batch (never on validation data) with the seed
// `Seed.derive(seed, 2_000_000 + globalStep)`, so a run augments the same way every time; what it returns
// is what the model trains on.
import { Layer, Loss, Model, Seed } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { Examples, Progress, Train } from "@typegrad/train"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

const model = Model.input([2]).add(Layer.dense({ units: 2 }))
const data = (n: number) =>
  Examples.make({
    inputs: Tensor.fromArray(Array.from({ length: 2 * n }, (_, i) => (i % 5) - 2), [n, 2]),
    targets: Tensor.oneHot(Tensor.fromArray(Array.from({ length: n }, (_, i) => i % 2), [n]), 2)
  })

const fit = (augment: (x: Tensor.AnyTensor, seed: number) => Tensor.AnyTensor) =>
  Effect.runPromise(
    Train.fit(model, data(24), {
      optimizer: Optimizer.sgd({ learningRate: 0.1 }),
      validation: data(8),
      epochs: 2,
      batchSize: 8,
      seed: 3,
      loss: Loss.softmaxCrossEntropy,
      augment
    }).pipe(Effect.provide(Progress.silent))
  )

describe("Train.fit({ augment })", () => {
  it("augments every training batch with the step's derived seed, reproducibly", async () => {
    const seen: Array<readonly [number, number]> = []
    const record = (x: Tensor.AnyTensor, seed: number) => {
      seen.push([x.shape[0]!, seed])
      return x
    }
    const a = await fit(record)
    expect(seen).toEqual(Array.from({ length: 6 }, (_, i) => [8, Seed.derive(3, 2_000_000 + i + 1)]))
    const b = await fit((x) => x)
    expect(Array.from(Tensor.toArray(b.params[0].kernel))).toEqual(Array.from(Tensor.toArray(a.params[0].kernel)))
  })

  it("trains on what augment returns", async () => {
    const plain = await fit((x) => x)
    const zeroed = await fit((x) => Tensor.mul(x, 0))
    // inputs of zeros: the kernel gets no gradient, the validation loss differs
    expect(Array.from(Tensor.toArray(zeroed.params[0].kernel))).not.toEqual(
      Array.from(Tensor.toArray(plain.params[0].kernel))
    )
    expect(zeroed.history[1]!.validationLoss).not.toBe(plain.history[1]!.validationLoss)
  })
})
