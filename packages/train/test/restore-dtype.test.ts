// Train.fit's resume converts a checkpoint stored in the other float dtype (float64 <-> float32) to the
// model's dtype, as it always has (Params.load refuses that unless { cast: true }: loading for inference
// is explicit about it, a resume continues the model's own run). Kept under test since the restore reuses
// Params.fromContents (with cast: true).
import { Pytree } from "@typegrad/autodiff"
import { Layer, Loss, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { Examples, Progress, Safetensors, Train } from "@typegrad/train"
import { Effect } from "effect"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { expectBitwiseEqual, tempDirs } from "./helpers.ts"

const tempDir = tempDirs("restore-dtype")

type Params = ReadonlyArray<Pytree.Pytree>

const model = Model.input([3]).add(Layer.dense({ units: 4, activation: "relu" })).add(Layer.dense({ units: 1 }))
const train = Examples.make({
  inputs: Tensor.fromArray(Float32Array.from({ length: 48 * 3 }, (_, i) => Math.sin(i)), [48, 3]),
  targets: Tensor.fromArray(Float32Array.from({ length: 48 }, (_, i) => Math.cos(i)), [48, 1])
})
const config = (over: Partial<Train.FitConfig<Params>> = {}): Train.FitConfig<Params> => ({
  model,
  train,
  loss: Loss.meanSquaredError,
  optimizer: Optimizer.adam({ learningRate: 1e-2 }),
  epochs: 2,
  batchSize: 16,
  seed: 2,
  ...over
})
const fit = (c: Train.FitConfig<Params>) => Effect.runPromise(Train.fit(c).pipe(Effect.provide(Progress.silent)))

describe("resume and dtypes", () => {
  it("a checkpoint stored as float64 resumes a float32 model, converted, to the same parameters bit for bit", async () => {
    const straight = await fit(config())
    const dir = tempDir()
    await fit(config({ epochs: 1, directory: dir }))
    const file = join(dir, "model.safetensors")
    const { metadata, tensors } = await Effect.runPromise(Safetensors.read(file))
    const as64 = [...tensors].map(([name, t]) => [name, Tensor.cast(t, "float64")] as const)
    const dir64 = tempDir()
    await Effect.runPromise(Safetensors.write(join(dir64, "model.safetensors"), as64, metadata))
    const resumed = await fit(config({ resume: dir64 }))
    expect(Pytree.leaves(resumed.params).every((t) => t.dtype === "float32")).toBe(true)
    expectBitwiseEqual(resumed.params, straight.params)
    expectBitwiseEqual(resumed.optimizerState.slots, straight.optimizerState.slots)
  })
})
