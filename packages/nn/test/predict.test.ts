// Model.predict (inference in batches, dropout off, probabilities or logits) and the summary method.
import { Layer, Model } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const assert = <T extends true>(_?: T): void => {}
const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(11)))
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

const model = Model.input([6], { dtype: "float64" })
  .add(Layer.dense({ units: 8, activation: "relu" }))
  .add(Layer.dropout(0.5))
  .add(Layer.dense({ units: 3, activation: "softmax" }))
const params = run(model.init)
const x = Tensor.fromArray(Array.from({ length: 10 * 6 }, (_, i) => Math.cos(i * 0.7)), [10, 6], {
  dtype: "float64"
})

describe("Model.predict", () => {
  it("is the forward pass with dropout off, in batches of any size, concatenated", () => {
    const full = values(model.apply(params, x))
    for (const batchSize of [1, 3, 4, 10, 64]) {
      const y = Model.predict(model, params, x, { batchSize })
      expect(y.shape).toEqual([10, 3])
      values(y).forEach((v, i) => expect(v).toBeCloseTo(full[i]!, 14))
    }
    // The method form, and no batch size: all at once.
    expect(values(model.predict(params, x))).toEqual(full)
    // Training-mode dropout would differ: predict never drops.
    expect(values(model.apply(params, x, { training: true, seed: 3 }))).not.toEqual(full)
  })

  it("returns probabilities, or logits with { logits: true }", () => {
    const probabilities = Model.predict(model, params, x, { batchSize: 4 })
    const logits = Model.predict(model, params, x, { batchSize: 4, logits: true })
    values(Tensor.sum(probabilities, { axis: -1 })).forEach((s) => expect(s).toBeCloseTo(1, 12))
    values(Tensor.softmax(logits)).forEach((p, i) => expect(p).toBeCloseTo(values(probabilities)[i]!, 12))
    expect(values(logits)).toEqual(values(model.logits(params, x)))
  })

  it("is typed by the model: input and output shapes and dtype", () => {
    const y = Model.predict(model, params, x)
    assert<Types.Equal<typeof y, Tensor.Tensor<readonly [number, 3], "float64">>>()
    const z = model.predict(params, x, { batchSize: 2 })
    assert<Types.Equal<typeof z, Tensor.Tensor<readonly [number, 3], "float64">>>()
    const narrow = Tensor.zeros([2, 6], { dtype: "float32" })
    // @ts-expect-error a float32 input for a float64 model
    expect(() => Model.predict(model, params, narrow)).toThrow("dtype")
    expect(() => Model.predict(model, params, x, { batchSize: 0 })).toThrow(
      "Model.predict: batchSize must be a positive integer, got 0"
    )
  })
})

describe("summary", () => {
  it("as a method: the same table as Model.summary, with the new layers' labels, shapes and counts", () => {
    const m = Model.input([16])
      .add(Layer.embedding({ inputDim: 100, outputDim: 8 }))
      .add(Layer.conv1d({ filters: 4, kernelSize: 3, padding: "same" }))
      .add(Layer.layerNorm())
      .add(Layer.gelu())
      .add(Layer.flatten())
      .add(Layer.dense({ units: 2 }))
    expect(m.summary()).toBe(Model.summary(m))
    expect(m.summary()).toBe(
      [
        "layer                      output shape    parameters",
        "layer 1 embedding(100, 8)  [batch, 16, 8]  800",
        "layer 2 conv1d(4)          [batch, 16, 4]  100",
        "layer 3 layerNorm          [batch, 16, 4]  8",
        "layer 4 gelu               [batch, 16, 4]  0",
        "layer 5 flatten            [batch, 64]     0",
        "layer 6 dense(2)           [batch, 2]      130",
        "total parameters: 1038"
      ].join("\n")
    )
  })
})
