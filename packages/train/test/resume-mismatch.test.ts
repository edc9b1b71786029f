// Issue 11, item 2: a resume checks everything that decides the remaining steps. A mid-epoch resume on other
// data (`--train-limit 3000` interrupted, resumed with `--train-limit 600`) used to be accepted: the epoch
// "completed" with 0 steps and its metrics mixed two datasets. Only batch size and seed were compared.
import { Pytree } from "@typegrad/autodiff"
import { Dataset } from "@typegrad/data"
import { Layer, Loss, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { CheckpointError, Examples, Progress, Safetensors, Train } from "@typegrad/train"
import { Deferred, Effect, Fiber, Layer as EffectLayer } from "effect"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { expectBitwiseEqual, failureOf, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("mismatch")

type Params = ReadonlyArray<Pytree.Pytree>
let data: Effect.Success<ReturnType<typeof mnistSlice>> // 448 train (7 steps of 64) / 64 validation

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

const blockAt = (epoch: number, step: number, reached: Deferred.Deferred<void>) =>
  EffectLayer.succeed(
    Progress.Progress,
    Progress.Progress.of({
      start: () => Effect.void,
      step: (s) => (s.epoch === epoch && s.step === step
        ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.never)
        : Effect.void),
      epoch: () => Effect.void,
      message: () => Effect.void
    })
  )

/** A checkpoint of `c`, interrupted after `step` of `epoch` (step 0: after the whole epoch before it). */
const checkpoint = async (c: Train.FitConfig<Params>, epoch: number, step: number): Promise<string> => {
  const dir = tempDir()
  if (step === 0) {
    await Effect.runPromise(
      Train.fit({ ...c, epochs: epoch - 1, directory: dir }).pipe(Effect.provide(Progress.silent))
    )
    return dir
  }
  const reached = Effect.runSync(Deferred.make<void>())
  const fiber = Effect.runFork(Train.fit({ ...c, directory: dir }).pipe(Effect.provide(blockAt(epoch, step, reached))))
  await Effect.runPromise(Deferred.await(reached))
  await Effect.runPromise(Fiber.interrupt(fiber))
  await Effect.runPromise(Fiber.await(fiber))
  return dir
}

const refusal = async (c: Train.FitConfig<Params>) => {
  const e = await failureOf(Train.fit(c).pipe(Effect.provide(Progress.silent)))
  expect(e).toBeInstanceOf(CheckpointError)
  expect(e._tag).toBe("CheckpointError")
  return e
}

const resumed = async (c: Train.FitConfig<Params>) => {
  const events: Array<string> = []
  const result = await Effect.runPromise(Train.fit(c).pipe(Effect.provide(Progress.collect(events))))
  return { result, events }
}

/** The first `n` examples of a dataset. */
const firstOf = (d: typeof data.train, n: number) =>
  Dataset.make({
    images: Tensor.fromArray(Tensor.toArray(d.images).slice(0, n * 784), [n, 28, 28, 1]),
    labels: Tensor.fromArray(Tensor.toArray(d.labels).slice(0, n), [n]),
    numClasses: 10
  })

beforeAll(async () => {
  data = await Effect.runPromise(mnistSlice(512, 64))
})

describe("a resume refuses other training data", () => {
  it("mid-epoch, fewer examples (the issue's --train-limit 3000 then 600): refused, naming both counts", async () => {
    const dir = await checkpoint(config(), 1, 5)
    const e = await refusal(config({ train: firstOf(data.train, 128), resume: dir }))
    expect(e.message).toMatch(/448 training examples.*128/)
    expect(e.message).toMatch(/same training data/)
  })

  it("mid-epoch, as many examples with other contents: refused, naming the contents", async () => {
    const dir = await checkpoint(config(), 1, 3)
    // the validation images take the place of the first 64 training images: same count, other examples
    const pixels = Tensor.toArray(data.train.images)
    pixels.set(Tensor.toArray(data.validation.images), 0)
    const labels = Tensor.toArray(data.train.labels)
    labels.set(Tensor.toArray(data.validation.labels), 0)
    const other = Dataset.make({
      images: Tensor.fromArray(pixels, [448, 28, 28, 1]),
      labels: Tensor.fromArray(labels, [448]),
      numClasses: 10
    })
    const e = await refusal(config({ train: other, resume: dir }))
    expect(e.message).toMatch(/other training data.*contents/)
  })

  it("at an epoch boundary too: the history and the rest of the run describe one dataset", async () => {
    const dir = await checkpoint(config(), 2, 0)
    const e = await refusal(config({ train: firstOf(data.train, 320), resume: dir }))
    expect(e.message).toMatch(/448 training examples.*320/)
  })

  it("Examples with other targets (regression): refused", async () => {
    const inputs = Tensor.fromArray(Float32Array.from({ length: 64 * 3 }, (_, i) => Math.sin(i)), [64, 3])
    const targets = (k: number) =>
      Tensor.fromArray(Float32Array.from({ length: 64 }, (_, i) => k * Math.cos(i)), [64, 1])
    const model = Model.input([3]).add(Layer.dense({ units: 1 }))
    const c = (train: Examples.Any, resume?: string): Train.FitConfig<Params> => ({
      model,
      train,
      loss: Loss.meanSquaredError,
      optimizer: Optimizer.sgd({ learningRate: 0.1 }),
      epochs: 2,
      batchSize: 16,
      seed: 1,
      ...(resume === undefined ? {} : { resume })
    })
    const dir = await checkpoint(c(Examples.make({ inputs, targets: targets(1) })), 2, 0)
    const e = await refusal(c(Examples.make({ inputs, targets: targets(2) }), dir))
    expect(e.message).toMatch(/other training data.*contents/)
    const same = await resumed(c(Examples.make({ inputs, targets: targets(1) }), dir))
    expect(same.result.completedEpochs).toBe(2)
  })
})

describe("a mid-epoch resume refuses other optimizer settings", () => {
  it("another learning rate: refused, saying the optimizer's settings differ", async () => {
    const dir = await checkpoint(config(), 1, 4)
    const e = await refusal(config({ optimizer: Optimizer.adam({ learningRate: 1e-3 }), resume: dir }))
    expect(e.message).toMatch(/adam.*settings.*(learning rate)/)
    expect(e.message).toMatch(/same optimizer settings/)
  })

  it("another momentum, and another schedule: refused", async () => {
    const sgd = (momentum: number) => Optimizer.sgd({ learningRate: 0.05, momentum })
    const dir = await checkpoint(config({ optimizer: sgd(0.9) }), 1, 2)
    const e1 = await refusal(config({ optimizer: sgd(0.5), resume: dir }))
    expect(e1.message).toMatch(/momentum.*settings/)
    const scheduled = (decay: number): Partial<Train.FitConfig<Params>> => ({
      optimizer: (learningRate) => Optimizer.adam({ learningRate }),
      learningRate: Train.perEpoch((epoch) => 1e-2 * decay ** (epoch - 1))
    })
    const dir2 = await checkpoint(config(scheduled(0.5)), 2, 2)
    const e2 = await refusal(config({ ...scheduled(0.7), resume: dir2 }))
    expect(e2.message).toMatch(/settings/)
  })

  it("several differences are named together (batch size, seed and learning rate)", async () => {
    const dir = await checkpoint(config(), 1, 4)
    const e = await refusal(
      config({ optimizer: Optimizer.adam({ learningRate: 1e-3 }), batchSize: 32, seed: 5, resume: dir })
    )
    expect(e.message).toMatch(/batch size 64.*32/)
    expect(e.message).toMatch(/seed 4.*5/)
    expect(e.message).toMatch(/settings/)
  })

  it("the same run resumes exactly (the checks do not refuse what they should accept)", async () => {
    const straight = await Effect.runPromise(Train.fit(config()).pipe(Effect.provide(Progress.silent)))
    const dir = await checkpoint(config(), 2, 3)
    const { events, result } = await resumed(config({ resume: dir }))
    expect(events.filter((e) => /differ|checked/.test(e))).toEqual([])
    expectBitwiseEqual(result.params, straight.params)
  })
})

describe("at an epoch boundary the recipe may change, and the run says so", () => {
  it("a lower learning rate (as after a NonFiniteLossError) is accepted with a message naming the change", async () => {
    const dir = await checkpoint(config(), 2, 0)
    const { events, result } = await resumed(
      config({ optimizer: Optimizer.adam({ learningRate: 1e-3 }), batchSize: 32, resume: dir })
    )
    expect(result.completedEpochs).toBe(2)
    expect(events.some((e) => /batch size 64.*32/.test(e) && /settings/.test(e))).toBe(true)
  })
})

describe("checkpoints written before these checks", () => {
  /** The checkpoint in `dir` without the metadata this version adds, in a new directory. */
  const asOld = async (dir: string): Promise<string> => {
    const { metadata, tensors } = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
    const { data: _data, optimizerProbe: _probe, ...old } = metadata
    expect(_data).toBeDefined()
    expect(_probe).toBeDefined()
    const out = tempDir()
    await Effect.runPromise(Safetensors.write(join(out, "model.safetensors"), [...tensors], old))
    return out
  }

  it("resume with the old checks (batch size and seed mid-epoch) and say that data and optimizer settings were not checked", async () => {
    const dir = await asOld(await checkpoint(config(), 1, 3))
    const { events, result } = await resumed(config({ resume: dir }))
    expect(result.completedEpochs).toBe(2)
    expect(events.some((e) => /predates.*not checked/.test(e))).toBe(true)
    const e = await refusal(config({ batchSize: 32, resume: dir }))
    expect(e.message).toMatch(/batch size/)
  })
})
