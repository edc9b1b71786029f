// Train.fit threads a model's state (batch normalisation's running statistics): each step's next state
// comes out of the same forward pass as the gradient, validation uses the running statistics, the
// checkpoint holds them (`state.<path>`), a resumed run continues them bitwise, and the result returns them.
import { Layer, Loss, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { Examples, Progress, Safetensors, Train } from "@typegrad/train"
import { Effect } from "effect"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { expectBitwiseEqual, tempDirs } from "./helpers.ts"

const tempDir = tempDirs("batch-norm")

const uniform = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s / 2 ** 32) * 2 - 1
  }
}

/** Three classes from the sign pattern of shifted, scaled inputs (batch normalisation's use case). */
const classes = (n: number, seed: number) => {
  const next = uniform(seed)
  const x = Array.from({ length: n * 4 }, () => next() * 5 + 3)
  const labels = Array.from({ length: n }, (_, i) => (x[i * 4]! > 3 ? (x[i * 4 + 1]! > 3 ? 0 : 1) : 2))
  return Examples.make({
    inputs: Tensor.fromArray(x, [n, 4]),
    targets: Tensor.oneHot(Tensor.fromArray(labels, [n]), 3)
  })
}

const model = Model.input([4])
  .add(Layer.dense({ units: 8, useBias: false }))
  .add(Layer.batchNorm({ momentum: 0.8 }))
  .add(Layer.relu())
  .add(Layer.dense({ units: 3 }))

const train = classes(96, 1)
const validation = classes(32, 2)
const options = (more: object = {}) => ({
  optimizer: Optimizer.adam({ learningRate: 0.05 }),
  validation,
  epochs: 3,
  batchSize: 16,
  seed: 4,
  loss: Loss.softmaxCrossEntropy,
  ...more
})
const fit = (more: object = {}) =>
  Effect.runPromise(Train.fit(model, train, options(more)).pipe(Effect.provide(Progress.silent)))

describe("Train.fit with batch normalisation", () => {
  it("returns the running statistics, and validates with them", async () => {
    const result = await fit()
    const s = result.modelState["layer 2 batchNorm"] as { mean: Tensor.AnyTensor; variance: Tensor.AnyTensor }
    expect(Object.keys(result.modelState)).toEqual(["layer 2 batchNorm"])
    expect(Array.from(Tensor.toArray(s.mean)).some((v) => Math.abs(v) > 0.1)).toBe(true)
    const last = result.history[2]!
    const y = model.apply(result.params, validation.inputs, { state: result.modelState })
    expect(Tensor.item(Loss.softmaxCrossEntropy(y, validation.targets))).toBeCloseTo(last.validationLoss!, 5)
    expect(last.loss).toBeLessThan(result.history[0]!.loss)
  })

  it("checkpoints the state, and a resumed run continues it bitwise", async () => {
    const dir = tempDir()
    const straight = await fit()
    await fit({ epochs: 2, directory: dir })
    const { tensors } = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
    expect([...tensors.keys()].filter((k) => k.startsWith("state."))).toEqual([
      "state.layer 2 batchNorm.mean",
      "state.layer 2 batchNorm.variance"
    ])
    const resumed = await fit({ resume: dir })
    expectBitwiseEqual(resumed.params, straight.params)
    expectBitwiseEqual(resumed.modelState, straight.modelState)
    const losses = (h: typeof straight.history) => h.map((e) => [e.epoch, e.loss, e.validationLoss])
    expect(losses(resumed.history)).toEqual(losses(straight.history))
  })
})
