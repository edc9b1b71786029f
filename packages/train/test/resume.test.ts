import { Pytree } from "@typegrad/autodiff"
import { Dataset } from "@typegrad/data"
import { Layer, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { CheckpointError, NonFiniteLossError, Progress, Safetensors, Train } from "@typegrad/train"
import { Cause, Deferred, Effect, Exit, Fiber, Layer as EffectLayer, Result } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { expectBitwiseEqual, failureOf, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("resume")

type Slice = Effect.Success<ReturnType<typeof mnistSlice>>
let data: Slice // 448 train (7 steps of 64) / 64 validation

type Params = ReadonlyArray<Pytree.Pytree>

const EPOCHS = 3
const STEPS = 7

const config = (over: Partial<Train.FitConfig<Params>> = {}): Train.FitConfig<Params> => ({
  model: tinyModel,
  optimizer: Optimizer.adam({ learningRate: 1e-2 }),
  train: data.train,
  validation: data.validation,
  epochs: EPOCHS,
  batchSize: 64,
  seed: 4,
  ...over
})

const fit = (c: Train.FitConfig<Params>, progress = Progress.silent) =>
  Effect.runPromise(Train.fit(c).pipe(Effect.provide(progress)))

const comparable = (h: ReadonlyArray<Progress.EpochMetrics>) =>
  h.map((m) => [m.epoch, m.loss, m.accuracy, m.validationLoss, m.validationAccuracy])

let straight: Train.FitResult<Params>

beforeAll(async () => {
  data = await Effect.runPromise(mnistSlice(512, 64))
  straight = await fit(config())
})

describe("resume from a checkpoint", () => {
  it.each([1, 2])("training %i epoch(s), then resuming to 3, gives the same parameters bit for bit", async (k) => {
    const dir = tempDir()
    const first = await fit(config({ epochs: k, directory: dir }))
    expect(first.completedEpochs).toBe(k)
    const events: Array<string> = []
    const resumed = await fit(config({ resume: dir, directory: dir }), Progress.collect(events))
    expect(resumed.completedEpochs).toBe(EPOCHS)
    expect(resumed.history).toHaveLength(EPOCHS)
    expectBitwiseEqual(resumed.params, straight.params)
    expectBitwiseEqual(resumed.optimizerState.slots, straight.optimizerState.slots)
    expect(resumed.optimizerState.step).toBe(EPOCHS * STEPS)
    expect(comparable(resumed.history)).toEqual(comparable(straight.history))
    // it continued where the checkpoint left off: no step of a finished epoch is run again
    expect(events[0]).toMatch(new RegExp(`resumed from .*: ${k} epoch\\(s\\) and 0 step\\(s\\) done`))
    expect(events[1]).toBe(`start ${k + 1}/${EPOCHS}`)
    expect(events[2]).toBe(`step ${k + 1}:1`)
    expect(events.filter((e) => e.startsWith("step "))).toHaveLength((EPOCHS - k) * STEPS)
    // the checkpoint now records all epochs
    const { metadata } = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
    expect(metadata["epochsDone"]).toBe(String(EPOCHS))
    expect(JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")).epochs).toHaveLength(EPOCHS)
  })

  it("accepts the checkpoint file itself as well as its directory, and resuming a finished run changes nothing", async () => {
    const dir = tempDir()
    const done = await fit(config({ directory: dir }))
    const events: Array<string> = []
    const again = await fit(config({ resume: join(dir, "model.safetensors") }), Progress.collect(events))
    expect(events.some((e) => e.startsWith("step "))).toBe(false)
    expectBitwiseEqual(again.params, done.params)
    expect(again.history).toHaveLength(EPOCHS)
  })

  it("refuses a checkpoint of another model, with a CheckpointError that says so", async () => {
    const dir = tempDir()
    await fit(config({ epochs: 1, directory: dir }))
    const wider = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 17, activation: "relu" })).add(
      Layer.dense({ units: 10 })
    )
    const e1 = await failureOf(Train.fit(config({ model: wider, resume: dir })).pipe(Effect.provide(Progress.silent)))
    expect(e1).toBeInstanceOf(CheckpointError)
    expect(e1._tag).toBe("CheckpointError")
    expect(e1.message).toContain(join(dir, "model.safetensors"))
    expect(e1.message).toMatch(
      /params\.0\.(kernel|bias) has shape \[(784, )?16\] but the model needs \[(784, )?17\].*another model/
    )
    const deeper = tinyModel.add(Layer.dense({ units: 10 }))
    const e2 = await failureOf(Train.fit(config({ model: deeper, resume: dir })).pipe(Effect.provide(Progress.silent)))
    expect(e2._tag).toBe("CheckpointError")
    expect(e2.message).toMatch(/params\.2\.(kernel|bias) is missing.*another model/)
  })

  // Regression: restore used to look up only the tensors the new model needs and ignore the rest, so a
  // checkpoint of a deeper model (tinyModel + dense(10)) whose first layers have the same shapes was
  // silently accepted by tinyModel.
  it("refuses a checkpoint of a bigger model whose first layers match (extra tensors)", async () => {
    const dir = tempDir()
    const deeper = tinyModel.add(Layer.dense({ units: 10 }))
    await fit(config({ model: deeper, epochs: 1, directory: dir }))
    const e = await failureOf(
      Train.fit(config({ model: tinyModel, resume: dir })).pipe(Effect.provide(Progress.silent))
    )
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toMatch(/another model/)
  })

  it("refuses a checkpoint trained with another optimizer", async () => {
    const dir = tempDir()
    await fit(config({ epochs: 1, directory: dir }))
    const e = await failureOf(
      Train.fit(config({ optimizer: Optimizer.sgd({ learningRate: 0.1, momentum: 0.9 }), resume: dir })).pipe(
        Effect.provide(Progress.silent)
      )
    )
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e.message).toContain("adam")
    expect(e.message).toContain("momentum")
    expect(e.message).toMatch(/same optimizer/)
  })

  it("refuses a missing checkpoint and a safetensors file that is not a training checkpoint", async () => {
    const dir = tempDir()
    const e1 = await failureOf(
      Train.fit(config({ resume: join(dir, "nothing-here") })).pipe(Effect.provide(Progress.silent))
    )
    expect(e1._tag).toBe("CheckpointError")
    expect(e1.message).toContain("nothing-here")
    const foreign = join(dir, "foreign.safetensors")
    await Effect.runPromise(Safetensors.write(foreign, [["weight", Tensor.zeros([2, 2])]]))
    const e2 = await failureOf(Train.fit(config({ resume: foreign })).pipe(Effect.provide(Progress.silent)))
    expect(e2._tag).toBe("CheckpointError")
    expect(e2.message).toContain(foreign)
    expect(e2.message).toMatch(/not a typegrad training checkpoint/)
  })
})

/** A progress layer that blocks at (epoch, step) after telling `reached`, so the test can interrupt the fiber there. */
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

describe("interruption", () => {
  it.each([[1, 1], [2, 3], [2, STEPS]])(
    "interrupted after step %i:%i, it saves a checkpoint that resumes to the same parameters bit for bit",
    async (epoch, step) => {
      const dir = tempDir()
      const reached = Effect.runSync(Deferred.make<void>())
      const fiber = Effect.runFork(
        Train.fit(config({ directory: dir })).pipe(Effect.provide(blockAt(epoch, step, reached)))
      )
      await Effect.runPromise(Deferred.await(reached))
      await Effect.runPromise(Fiber.interrupt(fiber))
      const exit = await Effect.runPromise(Fiber.await(fiber))
      expect(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)).toBe(true)

      const { metadata } = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
      expect(metadata["epochsDone"]).toBe(String(epoch - 1))
      expect(metadata["stepInEpoch"]).toBe(String(step))
      expect(metadata["globalStep"]).toBe(String((epoch - 1) * STEPS + step))
      expect(JSON.parse(metadata["history"]!)).toHaveLength(epoch - 1)

      const events: Array<string> = []
      const resumed = await fit(config({ resume: dir, directory: dir }), Progress.collect(events))
      expect(events[0]).toMatch(new RegExp(`${epoch - 1} epoch\\(s\\) and ${step} step\\(s\\) done`))
      const firstStep = events.find((e) => e.startsWith("step "))
      expect(firstStep).toBe(step === STEPS ? `step ${epoch + 1}:1` : `step ${epoch}:${step + 1}`)
      expectBitwiseEqual(resumed.params, straight.params)
      expect(comparable(resumed.history)).toEqual(comparable(straight.history))
    }
  )
})

describe("resuming in the middle of an epoch", () => {
  it("needs the batch size and seed the epoch was started with", async () => {
    const dir = tempDir()
    const reached = Effect.runSync(Deferred.make<void>())
    const fiber = Effect.runFork(Train.fit(config({ directory: dir })).pipe(Effect.provide(blockAt(1, 2, reached))))
    await Effect.runPromise(Deferred.await(reached))
    await Effect.runPromise(Fiber.interrupt(fiber))
    await Effect.runPromise(Fiber.await(fiber))
    const base = config({ resume: dir })
    for (const changed of [{ batchSize: base.batchSize + 1 }, { seed: base.seed + 1 }]) {
      const e = await failureOf(Train.fit({ ...base, ...changed }).pipe(Effect.provide(Progress.silent)))
      expect(e._tag).toBe("CheckpointError")
      expect(e.message).toMatch(/same batch size and seed/)
    }
  })
})

describe("non-finite loss", () => {
  /** Epoch 1 on clean data with `model` into `dir`, then a resume on data with one NaN pixel. */
  const nanRun = async (model: Train.Trainable<Params>) => {
    const dir = tempDir()
    await fit(config({ model, epochs: 1, directory: dir }))
    const before = readFileSync(join(dir, "model.safetensors"))
    const metricsBefore = readFileSync(join(dir, "metrics.json"))
    const pixels = Tensor.toArray(data.train.images)
    pixels[192 * 784 + 300] = NaN // one pixel of one image; every epoch sees every image
    const poisoned = Dataset.make({
      images: Tensor.fromArray(pixels, [448, 28, 28, 1]),
      labels: data.train.labels,
      numClasses: 10
    })
    const result = await Effect.runPromise(
      Effect.result(
        Train.fit(config({ model, train: poisoned, resume: dir, directory: dir })).pipe(Effect.provide(Progress.silent))
      )
    )
    return { dir, before, metricsBefore, result }
  }

  it("NaN in the data (linear model) fails with NonFiniteLossError naming epoch and step; the earlier checkpoint is untouched", async () => {
    const linear = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10 }))
    const { dir, before, metricsBefore, result } = await nanRun(linear)
    if (Result.isSuccess(result)) throw new Error("expected a NonFiniteLossError, got a success")
    const e = result.failure
    expect(e).toBeInstanceOf(NonFiniteLossError)
    expect(e._tag).toBe("NonFiniteLossError")
    if (!(e instanceof NonFiniteLossError)) throw e
    expect(e.epoch).toBe(2)
    expect(e.step).toBeGreaterThanOrEqual(1)
    expect(e.step).toBeLessThanOrEqual(STEPS)
    expect(Number.isNaN(e.loss)).toBe(true)
    expect(e.message).toContain(`epoch 2, step ${e.step}`)
    expect(e.message).toMatch(/learning rate|NaN/)
    expect(Buffer.compare(readFileSync(join(dir, "model.safetensors")), before)).toBe(0)
    expect(Buffer.compare(readFileSync(join(dir, "metrics.json")), metricsBefore)).toBe(0)
  })

  // Regression: when Tensor.relu mapped NaN to 0 (PyTorch, TensorFlow and JAX give NaN), a NaN pixel never
  // made the loss non-finite: the forward pass hid it, the first kernel's gradient was NaN (NaN * 0), the
  // update wrote NaN into the weights, and fit "succeeded" with (and saved) NaN parameters.
  it("NaN in the data (ReLU model) fails with NonFiniteLossError instead of training on with NaN weights", async () => {
    const { result } = await nanRun(tinyModel)
    if (Result.isSuccess(result)) {
      const nan = Pytree.leaves(result.success.params).some((t) => Tensor.toArray(t).some(Number.isNaN))
      throw new Error(`fit succeeded; its parameters ${nan ? "contain NaN" : "are finite"}`)
    }
    expect(result.failure._tag).toBe("NonFiniteLossError")
  })

  it("an exploding learning rate fails in epoch 2; the checkpoint of epoch 1 is kept byte for byte", async () => {
    const dir = tempDir()
    const target = join(dir, "model.safetensors")
    let afterEpoch1: Buffer | undefined
    const progress = EffectLayer.succeed(
      Progress.Progress,
      Progress.Progress.of({
        start: () => Effect.void,
        step: () => Effect.void,
        epoch: () => Effect.void,
        message: (t) => Effect.sync(() => (t.startsWith("epoch 1:") ? (afterEpoch1 = readFileSync(target)) : undefined))
      })
    )
    // a good rate for epoch 1, then 1e20 (sgd 1e6 only makes the loss huge but finite: log-softmax is stable)
    const optimizer = Optimizer.sgd({ learningRate: (s) => (s <= STEPS ? 0.05 : 1e20) })
    const e = await failureOf(Train.fit(config({ optimizer, directory: dir })).pipe(Effect.provide(progress)))
    expect(e._tag).toBe("NonFiniteLossError")
    if (!(e instanceof NonFiniteLossError)) throw e
    expect(e.epoch).toBe(2)
    expect(e.message).toContain(`epoch 2, step ${e.step}`)
    expect(afterEpoch1).toBeDefined()
    expect(Buffer.compare(readFileSync(target), afterEpoch1!)).toBe(0)
    const { metadata } = await Effect.runPromise(Safetensors.read(target))
    expect(metadata["epochsDone"]).toBe("1")
    expect(metadata["stepInEpoch"]).toBe("0")
  })
})
