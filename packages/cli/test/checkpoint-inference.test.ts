// A checkpoint written by `typegrad train mnist` loads into the README's model for inference: the CLI
// trains on a small slice, the README's CNN (built here exactly as in README.md) loads the parameters with
// `Params.load`, and its predictions on the 10,000 MNIST test images give the accuracy the CLI wrote to
// metrics.json, to the image: the inference is the same computation.
import { Dataset, Mnist } from "@typegrad/data"
import { Layer, Model, Reference } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Params } from "@typegrad/train"
import { Effect, Stream } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { argmaxRows, typegrad } from "./helpers.ts"

const assert = <T extends true>(_?: T): void => {}

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

// The README's model, line for line.
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

// The job trains `Reference.mnistCnn`: the same parameter types as the README's model.
assert<Types.Equal<Model.ParamsOf<typeof cnn>, Model.ParamsOf<typeof Reference.mnistCnn>>>()

describe("a checkpoint written by `typegrad train mnist`", () => {
  it("loads into the README's model, whose predictions on the test set give the CLI's testAccuracy", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "typegrad-inference-")), "run")
    dirs.push(dirname(dir))
    const r = await typegrad([
      "train",
      "mnist",
      "--epochs",
      "1",
      "--train-limit",
      "600",
      "--validation",
      "100",
      "--out",
      dir,
      "--progress",
      "none"
    ])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"))
    expect(metrics.testImages).toBe(10000)

    // The job's checkpoint also holds Adam's state and the run's metadata: load takes the params only.
    const params = await Effect.runPromise(Params.load(dir, cnn))
    assert<Types.Equal<typeof params, Model.ParamsOf<typeof cnn>>>()
    expect(params).toHaveLength(5)
    expect(params[2].kernel.shape).toEqual([2352, 512])

    const test = await Effect.runPromise(Mnist.load({ split: "test" }))
    let correct = 0
    let seen = 0
    await Effect.runPromise(
      Stream.runForEach(Dataset.batches(test, { batchSize: 1000, shuffle: false }), (batch) =>
        Effect.sync(() => {
          const probabilities = cnn.apply(params, batch.images)
          const predicted = argmaxRows(Tensor.toArray(probabilities), 10)
          const truth = Tensor.toArray(batch.classes)
          predicted.forEach((p, i) => {
            if (p === truth[i]) correct++
          })
          seen += batch.size
        }))
    )
    expect(seen).toBe(10000)
    // Far above chance (0.1) after one epoch of 500 images, so the weights are the trained ones...
    expect(correct / seen).toBeGreaterThan(0.3)
    // ...and exactly the job's accuracy, to the image.
    expect(correct).toBe(Math.round(metrics.testAccuracy * 10000))
    expect(correct / seen).toBe(metrics.testAccuracy)
  })
})
