// Train.fit beyond softmax classification: a loss and metrics of your own (regression, several targets),
// learning-rate schedules, early stopping, the per-epoch hook, and the run-time twin of the compile-time
// check of the data against the model.
import { Pytree } from "@typegrad/autodiff"
import { Dataset } from "@typegrad/data"
import { Layer, Loss, Model } from "@typegrad/nn"
import { Optimizer, Schedule } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { DataShapeError, Examples, Progress, Safetensors, Train } from "@typegrad/train"
import { Data, Effect, Random, Stream } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { differ, expectBitwiseEqual, failureOf, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("custom")

/** A deterministic stream of numbers in [-1, 1) (an LCG), so the data is the same in every run. */
const uniform = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s / 2 ** 32) * 2 - 1
  }
}

/** `n` inputs in [-1, 1)^3 and their images under the affine map y = x W + b (W 3x2). */
const W = [[0.5, -1], [2, 0.25], [-0.75, 1.5]]
const b = [0.3, -0.2]
const affine = (n: number, seed: number) => {
  const next = uniform(seed)
  const x = Array.from({ length: n * 3 }, next)
  const y: Array<number> = []
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) {
      y.push(b[j]! + x[i * 3]! * W[0]![j]! + x[i * 3 + 1]! * W[1]![j]! + x[i * 3 + 2]! * W[2]![j]!)
    }
  }
  return { x, y }
}

const linear = Model.input([3]).add(Layer.dense({ units: 2 }))

const mae = (y: Tensor.Tensor<readonly [number, 2]>, t: Tensor.Tensor<readonly [number, 2]>) =>
  Tensor.item(Tensor.mean(Tensor.abs(Tensor.sub(y, t))))

describe("regression with Loss.meanSquaredError", () => {
  const train = (() => {
    const { x, y } = affine(256, 1)
    return Examples.make({ inputs: Tensor.fromArray(x, [256, 3]), targets: Tensor.fromArray(y, [256, 2]) })
  })()
  const validation = (() => {
    const { x, y } = affine(64, 2)
    return Examples.make({ inputs: Tensor.fromArray(x, [64, 3]), targets: Tensor.fromArray(y, [64, 2]) })
  })()

  it("a dense layer learns an affine map: the loss falls below 1e-4, metrics are reported, accuracy is not", async () => {
    const seen: Array<Progress.EpochMetrics> = []
    const result = await Effect.runPromise(
      Train.fit(linear, train, {
        optimizer: Optimizer.adam({ learningRate: 0.05 }),
        validation,
        epochs: 40,
        batchSize: 32,
        seed: 1,
        loss: Loss.meanSquaredError,
        metrics: { mae },
        onEpoch: (m) => Effect.sync(() => void seen.push(m))
      }).pipe(Effect.provide(Progress.silent))
    )
    const first = result.history[0]!
    const last = result.history[39]!
    expect(result.completedEpochs).toBe(40)
    expect(result.stopped).toBeUndefined()
    // the targets have a mean square of about 1.5; a least-squares fit is exact
    expect(first.loss).toBeGreaterThan(0.1)
    expect(last.loss).toBeLessThan(1e-4)
    expect(last.validationLoss).toBeLessThan(1e-4)
    expect(last.accuracy).toBeUndefined()
    expect(last.validationAccuracy).toBeUndefined()
    expect(last.metrics?.["mae"]).toBeLessThan(1e-2)
    expect(last.validationMetrics?.["mae"]).toBeLessThan(1e-2)
    expect(first.metrics?.["mae"]).toBeGreaterThan(last.metrics!["mae"]!)
    // the learned parameters are the map
    const [{ kernel, bias }] = result.params
    Array.from(Tensor.toArray(kernel)).forEach((v, i) => expect(v).toBeCloseTo(W[Math.floor(i / 2)]![i % 2]!, 2))
    Array.from(Tensor.toArray(bias)).forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 2))
    // the validation numbers are those of the returned parameters
    const y = linear.apply(result.params, validation.inputs)
    expect(Tensor.item(Loss.meanSquaredError(y, validation.targets))).toBeCloseTo(last.validationLoss!, 6)
    expect(seen).toEqual(result.history)
  })

  it("several targets as a pytree, with a loss over both heads", async () => {
    const { x, y } = affine(256, 3)
    const heads = Examples.make({
      inputs: Tensor.fromArray(x, [256, 3]),
      targets: {
        first: Tensor.fromArray(y.filter((_, i) => i % 2 === 0), [256, 1]),
        second: Tensor.fromArray(y.filter((_, i) => i % 2 === 1), [256, 1])
      }
    })
    const result = await Effect.runPromise(
      Train.fit(linear, heads, {
        optimizer: Optimizer.adam({ learningRate: 0.05 }),
        epochs: 30,
        batchSize: 32,
        seed: 2,
        loss: (out, t) =>
          Tensor.add(
            Loss.meanSquaredError(Tensor.slice(out, [0, 0], [-1, 1]), t.first),
            Loss.meanSquaredError(Tensor.slice(out, [0, 1], [-1, 1]), t.second)
          ),
        metrics: {
          firstError: (out, t) => Tensor.item(Loss.meanSquaredError(Tensor.slice(out, [0, 0], [-1, 1]), t.first))
        }
      }).pipe(Effect.provide(Progress.silent))
    )
    expect(result.history[0]!.loss).toBeGreaterThan(0.1)
    expect(result.history[29]!.loss).toBeLessThan(1e-3)
    expect(result.history[29]!.metrics?.["firstError"]).toBeLessThan(1e-3)
  })

  it("Examples batches keep rows of inputs and targets together, shuffled by the seed", async () => {
    const ex = Examples.make({
      inputs: Tensor.fromArray([0, 1, 2, 3, 4], [5, 1]),
      targets: { double: Tensor.fromArray([0, 2, 4, 6, 8], [5, 1]) }
    })
    const batches = await Effect.runPromise(
      Stream.runCollect(Examples.batches(ex, { batchSize: 2, shuffle: true })).pipe(Random.withSeed(3))
    )
    expect(batches.map((x) => x.size)).toEqual([2, 2, 1])
    const inputs = batches.flatMap((x) => Array.from(Tensor.toArray(x.inputs)))
    const doubled = batches.flatMap((x) => Array.from(Tensor.toArray(x.targets.double)))
    expect(inputs.toSorted()).toEqual([0, 1, 2, 3, 4])
    expect(doubled).toEqual(inputs.map((v) => 2 * v))
  })

  it("Examples.make says which target has the wrong number of rows", () => {
    expect(() =>
      Examples.make({ inputs: Tensor.zeros([4, 3]), targets: { a: Tensor.zeros([4, 1]), b: Tensor.zeros([3, 1]) } })
    ).toThrow("Examples.make: 4 inputs but targets.b has shape [3, 1]; give one target row per input")
  })
})

type Slice = Effect.Success<ReturnType<typeof mnistSlice>>
let data: Slice // 448 train (7 steps of 64) / 64 validation
const STEPS = 7

beforeAll(async () => {
  data = await Effect.runPromise(mnistSlice(512, 64))
})

const base = () => ({
  optimizer: Optimizer.adam({ learningRate: 1e-2 }),
  validation: data.validation,
  batchSize: 64,
  seed: 4
})

const fit = (options: Train.OptionsFor<typeof tinyModel, Slice["train"]>) =>
  Effect.runPromise(Train.fit(tinyModel, data.train, options).pipe(Effect.provide(Progress.silent)))

describe("early stopping", () => {
  it("the rule: patience epochs without an improvement by more than minDelta", () => {
    const h = (losses: Array<number>): Array<Progress.EpochMetrics> =>
      losses.map((v, i) => ({
        epoch: i + 1,
        loss: 1,
        accuracy: undefined,
        validationLoss: v,
        validationAccuracy: undefined,
        seconds: 1,
        samplesPerSecond: 1
      }))
    expect(Train.earlyStop(h([3, 2, 1]), { patience: 1 })).toBeUndefined()
    const s = Train.earlyStop(h([3, 2, 2.5, 2.1, 1]), { patience: 2 })
    expect(s).toMatchObject({ reason: "earlyStopping", epoch: 4, bestEpoch: 2, best: 2 })
    expect(s?.message).toBe(
      "early stopping after epoch 4: the validation loss has not improved by more than 0 for 2 epoch(s) (best 2 at epoch 2)"
    )
    // an improvement of 0.05 is not one when minDelta is 0.1
    expect(Train.earlyStop(h([3, 2.95, 2.9]), { patience: 2, minDelta: 0.1 })?.epoch).toBe(3)
    expect(Train.earlyStop(h([3, 2.95, 2.9]), { patience: 2, minDelta: 0.01 })).toBeUndefined()
    // NaN is never an improvement
    expect(Train.earlyStop(h([1, NaN]), { patience: 1 })?.epoch).toBe(2)
    // monitoring the training loss (constant 1 here)
    expect(Train.earlyStop(h([3, 2, 1]), { patience: 2, monitor: "loss" })?.epoch).toBe(3)
  })

  it("really stops: fewer epochs than asked, with the reason in the result and in metrics.json", async () => {
    const dir = tempDir()
    const messages: Array<string> = []
    // The training loss falls fast at first; improvements below 0.15 count as none.
    const result = await Effect.runPromise(
      Train.fit(tinyModel, data.train, {
        ...base(),
        epochs: 20,
        directory: dir,
        earlyStopping: { patience: 1, minDelta: 0.15, monitor: "loss" }
      }).pipe(Effect.provide(Progress.collect(messages)))
    )
    expect(result.completedEpochs).toBeLessThan(20)
    expect(result.completedEpochs).toBeGreaterThanOrEqual(2)
    expect(result.history).toHaveLength(result.completedEpochs)
    expect(result.stopped?.reason).toBe("earlyStopping")
    expect(result.stopped?.epoch).toBe(result.completedEpochs)
    // the decision agrees with the rule applied to the history, and not one epoch earlier
    expect(Train.earlyStop(result.history, { patience: 1, minDelta: 0.15, monitor: "loss" })).toEqual(result.stopped)
    expect(Train.earlyStop(result.history.slice(0, -1), { patience: 1, minDelta: 0.15, monitor: "loss" }))
      .toBeUndefined()
    expect(messages).toContain(result.stopped!.message)
    expect(messages.filter((m) => m.startsWith("step ")).length).toBe(result.completedEpochs * STEPS)
    const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"))
    expect(metrics.stopped).toEqual(result.stopped)
    expect(metrics.epochs).toHaveLength(result.completedEpochs)
  })

  it("on the validation loss: a model that does not learn stops after 1 + patience epochs", async () => {
    // SGD with a learning rate of 0 leaves the parameters as they are: the validation loss never improves
    const result = await Effect.runPromise(
      Train.fit(tinyModel, data.train, {
        ...base(),
        optimizer: (learningRate) => Optimizer.sgd({ learningRate }),
        learningRate: () => 0,
        epochs: 10,
        earlyStopping: { patience: 3 }
      }).pipe(Effect.provide(Progress.silent))
    )
    expect(result.completedEpochs).toBe(4)
    expect(result.stopped).toMatchObject({ reason: "earlyStopping", epoch: 4, bestEpoch: 1 })
  })

  it("a resumed run stops where the uninterrupted one stopped, with the same parameters", async () => {
    const rule = { patience: 1, minDelta: 0.15, monitor: "loss" } as const
    const straight = await fit({ ...base(), epochs: 20, earlyStopping: rule })
    const dir = tempDir()
    await fit({ ...base(), epochs: 2, earlyStopping: rule, directory: dir })
    const resumed = await fit({ ...base(), epochs: 20, earlyStopping: rule, directory: dir, resume: dir })
    expect(resumed.completedEpochs).toBe(straight.completedEpochs)
    expect(resumed.stopped).toEqual(straight.stopped)
    expectBitwiseEqual(resumed.params, straight.params)
    // and resuming the stopped run trains nothing more
    const events: Array<string> = []
    const again = await Effect.runPromise(
      Train.fit(tinyModel, data.train, { ...base(), epochs: 20, earlyStopping: rule, resume: dir }).pipe(
        Effect.provide(Progress.collect(events))
      )
    )
    expect(events.some((e) => e.startsWith("step "))).toBe(false)
    expect(events).toContain(straight.stopped!.message)
    expect(again.stopped).toEqual(straight.stopped)
    expectBitwiseEqual(again.params, straight.params)
  })

  it("needs validation data to monitor the validation loss", async () => {
    await expect(
      Effect.runPromise(
        Train.fit(tinyModel, data.train, {
          ...base(),
          validation: undefined,
          epochs: 2,
          earlyStopping: { patience: 1 }
        }).pipe(Effect.provide(Progress.silent))
      )
    ).rejects.toThrow("give validation data or monitor: \"loss\"")
  })
})

describe("learning-rate schedules", () => {
  it("perEpoch gives every step of epoch e the rate of e, as the CLI's --lr-decay did", async () => {
    const rates: Array<Optimizer.LearningRate> = []
    const schedule = Train.perEpoch((epoch) => 1e-2 * 0.5 ** (epoch - 1))
    const viaSchedule = await fit({
      ...base(),
      epochs: 3,
      optimizer: (learningRate) => {
        rates.push(learningRate)
        return Optimizer.adam({ learningRate })
      },
      learningRate: schedule
    })
    expect(rates).toHaveLength(1)
    const lr = rates[0]!
    if (typeof lr === "number") throw new Error("expected a function of the step")
    const byStep = Array.from({ length: 3 * STEPS }, (_, i) => lr(i + 1))
    expect(byStep).toEqual([1e-2, 5e-3, 2.5e-3].flatMap((r) => Array<number>(STEPS).fill(r)))
    // the same numbers as the optimizer-level formula the CLI used before, bit for bit
    const stepsPerEpoch = STEPS
    const byFormula = await fit({
      ...base(),
      epochs: 3,
      optimizer: Optimizer.adam({
        learningRate: (step) => 1e-2 * 0.5 ** Math.floor((step - 1) / stepsPerEpoch)
      })
    })
    expectBitwiseEqual(viaSchedule.params, byFormula.params)
    // and a schedule changes the result
    const constant = await fit({ ...base(), epochs: 3 })
    expect(differ(viaSchedule.params, constant.params)).toBe(true)
  })

  it("a per-step function and a constant are passed through; a resumed run continues the schedule", async () => {
    const warmup = (step: number) => 1e-2 * Math.min(1, step / 10)
    const options = { ...base(), optimizer: (learningRate: Optimizer.LearningRate) => Optimizer.adam({ learningRate }) }
    const straight = await fit({ ...options, epochs: 3, learningRate: warmup })
    const dir = tempDir()
    await fit({ ...options, epochs: 1, learningRate: warmup, directory: dir })
    const resumed = await fit({ ...options, epochs: 3, learningRate: warmup, resume: dir })
    expectBitwiseEqual(resumed.params, straight.params)
    expect(Train.learningRateOf(0.5, 7)).toBe(0.5)
    expect(Train.learningRateOf(warmup, 7)).toBe(warmup)
  })

  it("a Schedule value is a learningRate, and a chained optimizer (adamw) resumes on it exactly", async () => {
    const schedule = Schedule.warmupCosineDecay({ init: 0, peak: 1e-2, warmupSteps: 2, decaySteps: 3 * STEPS })
    const options = {
      ...base(),
      optimizer: (learningRate: Optimizer.LearningRate) => Optimizer.adamw({ learningRate, weightDecay: 1e-2 })
    }
    const straight = await fit({ ...options, epochs: 3, learningRate: schedule })
    const direct = await fit({
      ...base(),
      epochs: 3,
      optimizer: Optimizer.adamw({ learningRate: schedule, weightDecay: 1e-2 })
    })
    expectBitwiseEqual(direct.params, straight.params)
    const dir = tempDir()
    await fit({ ...options, epochs: 1, learningRate: schedule, directory: dir })
    const resumed = await fit({ ...options, epochs: 3, learningRate: schedule, resume: dir })
    expectBitwiseEqual(resumed.params, straight.params)
    const constant = await fit({ ...options, epochs: 3, learningRate: 1e-2 })
    expect(differ(straight.params, constant.params)).toBe(true)
  })

  it("says what to do when learningRate and optimizer do not go together", async () => {
    await expect(fit({ ...base(), epochs: 1, learningRate: 1e-3 })).rejects.toThrow(
      "fit: learningRate needs optimizer to be a function of it"
    )
    await expect(
      fit({
        ...base(),
        epochs: 1,
        optimizer: (learningRate: Optimizer.LearningRate) => Optimizer.sgd({ learningRate })
      })
    ).rejects.toThrow("no learningRate was given")
  })
})

class Stop extends Data.TaggedError("Stop")<{ readonly epoch: number }> {}

describe("the per-epoch hook", () => {
  it("sees each epoch's metrics and context, after the epoch's checkpoint is written", async () => {
    const dir = tempDir()
    const calls: Array<{ epoch: number; history: number; saved: string | undefined }> = []
    const result = await Effect.runPromise(
      Train.fit(tinyModel, data.train, {
        ...base(),
        epochs: 3,
        directory: dir,
        onEpoch: (m, context) =>
          Effect.gen(function*() {
            const { metadata } = yield* Safetensors.read(join(dir, "model.safetensors"))
            expect(context.epochs).toBe(3)
            expect(context.history.at(-1)).toBe(m)
            expect(Pytree.paths(context.params).length).toBe(4)
            calls.push({ epoch: m.epoch, history: context.history.length, saved: metadata["epochsDone"] })
          })
      }).pipe(Effect.provide(Progress.silent))
    )
    expect(calls).toEqual([1, 2, 3].map((e) => ({ epoch: e, history: e, saved: String(e) })))
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3])
  })

  it("its failure fails fit with that error; the checkpoint of the epoch stays and resumes like any other", async () => {
    const dir = tempDir()
    const e = await failureOf(
      Train.fit(tinyModel, data.train, {
        ...base(),
        epochs: 3,
        directory: dir,
        onEpoch: (m) => (m.epoch === 2 ? Effect.fail(new Stop({ epoch: m.epoch })) : Effect.void)
      }).pipe(Effect.provide(Progress.silent))
    )
    expect(e).toBeInstanceOf(Stop)
    const { metadata } = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
    expect(metadata["epochsDone"]).toBe("2")
    // resuming with the hook runs it for the remaining epoch only, and ends where a straight run ends
    const epochs: Array<number> = []
    const resumed = await fit({
      ...base(),
      epochs: 3,
      resume: dir,
      onEpoch: (m) => Effect.sync(() => void epochs.push(m.epoch))
    })
    expect(epochs).toEqual([3])
    const straight = await fit({ ...base(), epochs: 3 })
    expectBitwiseEqual(resumed.params, straight.params)
  })
})

describe("data that does not fit the model, at run time", () => {
  it("inputs of another shape: DataShapeError with the compile-time message", async () => {
    const tall = Dataset.make({
      images: Tensor.reshape(data.train.images, [448, 14, 56, 1]),
      labels: data.train.labels,
      numClasses: 10
    })
    // `number` dims pass the compile-time check (typetest/fit.ts has this case with known dims); the
    // run-time check gives the same message
    const unknownSize: Dataset.Dataset<readonly [number, number, 1], 10> = tall
    const e = await failureOf(
      Train.fit(tinyModel, unknownSize, { ...base(), validation: undefined, epochs: 1 }).pipe(
        Effect.provide(Progress.silent)
      )
    )
    expect(e).toBeInstanceOf(DataShapeError)
    expect(e._tag).toBe("DataShapeError")
    expect(e.message).toBe(
      "Train.fit: the data's inputs are [number, 14, 56, 1] but the model's input is [number, 28, 28, 1]"
    )
  })

  it("targets of another width with the default loss, also in the untyped fit(config)", async () => {
    const five = Dataset.make({ images: data.train.images, labels: data.train.labels, numClasses: 10 })
    const wide = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 5 }))
    const e = await failureOf(
      Train.fit({ model: wide, train: five, ...base(), validation: undefined, epochs: 1 }).pipe(
        Effect.provide(Progress.silent)
      )
    )
    expect(e._tag).toBe("DataShapeError")
    expect(e.message).toBe(
      "Train.fit: the targets are [number, 10] but the model's output is [number, 5] (the default loss, softmax cross-entropy, needs the output's shape)"
    )
    // a pytree of targets with the default loss
    const heads = Examples.make({
      inputs: Tensor.zeros([4, 3]),
      targets: { a: Tensor.zeros([4, 1]), b: Tensor.zeros([4, 1]) }
    })
    const e2 = await failureOf(
      Train.fit({
        model: linear,
        train: heads,
        optimizer: Optimizer.sgd({ learningRate: 0.1 }),
        epochs: 1,
        batchSize: 2,
        seed: 1
      })
        .pipe(Effect.provide(Progress.silent))
    )
    expect(e2.message).toBe(
      "Train.fit: the default loss (softmax cross-entropy) needs one target tensor; give a loss for a pytree of targets"
    )
  })
})

describe("Progress.formatEpoch", () => {
  const m: Progress.EpochMetrics = {
    epoch: 2,
    loss: 0.5,
    accuracy: undefined,
    validationLoss: 0.25,
    validationAccuracy: undefined,
    metrics: { mae: 0.125 },
    validationMetrics: { mae: 0.0625 },
    seconds: 3,
    samplesPerSecond: 100
  }
  it("shows the user's metrics, and '-' for the accuracy a loss of your own does not report", () => {
    expect(Progress.formatEpoch(m, 5)).toBe(
      "epoch 2/5: loss 0.5000 acc - | val loss 0.2500 val acc - | mae 0.1250 | val mae 0.0625 | 100 samples/s, 3s"
    )
  })
  it("is unchanged without metrics", () => {
    const { metrics: _m, validationMetrics: _v, ...plain } = m
    expect(Progress.formatEpoch({ ...plain, accuracy: 0.5, validationAccuracy: 0.75 }, 5)).toBe(
      "epoch 2/5: loss 0.5000 acc 50.00% | val loss 0.2500 val acc 75.00% | 100 samples/s, 3s"
    )
  })
})

describe("lossOn", () => {
  it("the loss and metrics get the logits by default and the output (after the softmax) with lossOn: \"output\"", async () => {
    const model = Model.input([3]).add(Layer.dense({ units: 4, activation: "softmax" }))
    const ex = Examples.make({
      inputs: Tensor.fromArray(Array.from({ length: 24 }, uniform(5)), [8, 3]),
      targets: Tensor.zeros([8, 4])
    })
    const rowSum = (out: Tensor.Tensor<readonly [number, 4]>) => Tensor.item(Tensor.mean(Tensor.sum(out, { axis: 1 })))
    const run = (lossOn: "logits" | "output") =>
      Effect.runPromise(
        Train.fit(model, ex, {
          optimizer: Optimizer.sgd({ learningRate: 0.1 }),
          epochs: 1,
          batchSize: 8,
          seed: 1,
          lossOn,
          loss: Loss.meanSquaredError,
          metrics: { rowSum }
        }).pipe(Effect.provide(Progress.silent))
      )
    const onOutput = await run("output")
    expect(onOutput.history[0]!.metrics?.["rowSum"]).toBeCloseTo(1, 6)
    const onLogits = await run("logits")
    expect(Math.abs(onLogits.history[0]!.metrics!["rowSum"]! - 1)).toBeGreaterThan(1e-3)
  })
})
