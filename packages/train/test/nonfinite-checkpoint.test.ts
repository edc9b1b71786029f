// Issue 11, item 8: NaN or infinite weights in a checkpoint used to load silently; a resumed run then failed
// with a NonFiniteLossError advising a lower learning rate, and Params.load returned the damaged weights.
// Both now refuse the file, naming the tensor.
import { Pytree } from "@typegrad/autodiff"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { CheckpointError, Params, Progress, Safetensors, Train } from "@typegrad/train"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { failureOf, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("nonfinite")

type Params = ReadonlyArray<Pytree.Pytree>
let data: Effect.Success<ReturnType<typeof mnistSlice>>

const config = (over: Partial<Train.FitConfig<Params>> = {}): Train.FitConfig<Params> => ({
  model: tinyModel,
  optimizer: Optimizer.adam({ learningRate: 1e-2 }),
  train: data.train,
  validation: data.validation,
  epochs: 2,
  batchSize: 64,
  seed: 4,
  ...over
})

/** The checkpoint after epoch 1. */
let original: Safetensors.Contents

beforeAll(async () => {
  data = await Effect.runPromise(mnistSlice(512, 64))
  const dir = tempDir()
  await Effect.runPromise(Train.fit(config({ epochs: 1, directory: dir })).pipe(Effect.provide(Progress.silent)))
  original = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
})

/** The checkpoint with `values` written into tensor `name` at the given indices, in a new directory. */
const damaged = async (name: string, values: ReadonlyArray<readonly [number, number]>): Promise<string> => {
  const t = original.tensors.get(name)
  if (t === undefined) throw new Error(`no tensor ${name}`)
  const d = Tensor.toArray(t)
  for (const [i, v] of values) d[i] = v
  const tensors = new Map(original.tensors)
  tensors.set(name, Tensor.fromArray(d, t.shape, { dtype: t.dtype }))
  const dir = tempDir()
  await Effect.runPromise(Safetensors.write(join(dir, "model.safetensors"), [...tensors], original.metadata))
  return dir
}

describe("a checkpoint with NaN or infinite values is refused at load", () => {
  it("Train.fit's resume: a NaN in a weight is a CheckpointError naming the tensor, not a NonFiniteLossError later", async () => {
    const dir = await damaged("params.0.kernel", [[5, NaN], [9, NaN]])
    const before = readFileSync(join(dir, "model.safetensors"))
    const e = await failureOf(
      Train.fit(config({ resume: dir, directory: dir })).pipe(Effect.provide(Progress.silent))
    )
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toContain(join(dir, "model.safetensors"))
    expect(e.message).toMatch(/params\.0\.kernel holds 2 NaN/)
    expect(e.message).not.toMatch(/learning rate/)
    // the checkpoint is left as it was
    expect(Buffer.compare(readFileSync(join(dir, "model.safetensors")), before)).toBe(0)
  })

  it("Train.fit's resume: an infinite value in the optimizer's state is refused too", async () => {
    const dir = await damaged("optimizer.1.1.bias", [[0, Infinity]])
    const e = await failureOf(Train.fit(config({ resume: dir })).pipe(Effect.provide(Progress.silent)))
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toMatch(/optimizer\.1\.1\.bias holds 1 infinite/)
  })

  it("Params.load and Params.read: a CheckpointError naming the tensor and what it holds", async () => {
    const dir = await damaged("params.1.bias", [[1, -Infinity], [3, NaN]])
    const failures = [await failureOf(Params.load(dir, tinyModel)), await failureOf(Params.read(dir, tinyModel))]
    for (const e of failures) {
      expect(e).toBeInstanceOf(CheckpointError)
      expect(e._tag).toBe("CheckpointError")
      expect(e.message).toContain(join(dir, "model.safetensors"))
      expect(e.message).toMatch(/params\.1\.bias holds 1 NaN and 1 infinite value\(s\) \(of 10\)/)
    }
  })

  it("Params.fromBytes: the same, for bytes", async () => {
    const dir = await damaged("params.0.bias", [[0, NaN]])
    const bytes = readFileSync(join(dir, "model.safetensors"))
    const e = await failureOf(Params.fromBytes(bytes, tinyModel))
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toMatch(/params\.0\.bias holds 1 NaN/)
  })

  it("Params.load ignores non-finite values outside the parameters (a training checkpoint's optimizer state)", async () => {
    const dir = await damaged("optimizer.0.0.bias", [[0, NaN]])
    const params = await Effect.runPromise(Params.load(dir, tinyModel))
    expect(Pytree.leaves(params)).toHaveLength(4)
  })
})
