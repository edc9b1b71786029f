// Issue 11, item 4: a checkpoint's metadata is decoded with a schema before a resume uses it. A wrong type
// or an impossible value used to crash with a TypeError (history not a list), to skip work silently (a step
// past the end of the epoch) or to be read as NaN (a string where a number belongs).
import { Pytree } from "@typegrad/autodiff"
import { Optimizer } from "@typegrad/optim"
import { CheckpointError, Progress, Safetensors, Train } from "@typegrad/train"
import { Deferred, Effect, Fiber, Layer as EffectLayer } from "effect"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { failureOf, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("metadata")

type Params = ReadonlyArray<Pytree.Pytree>
let data: Effect.Success<ReturnType<typeof mnistSlice>> // 448 train (7 steps of 64) / 64 validation

const config = (over: Partial<Train.FitConfig<Params>> = {}): Train.FitConfig<Params> => ({
  model: tinyModel,
  optimizer: Optimizer.adam({ learningRate: 1e-2 }),
  train: data.train,
  validation: data.validation,
  epochs: 3,
  batchSize: 64,
  seed: 4,
  ...over
})

/** A progress layer that blocks at (epoch, step) after telling `reached`. */
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

/** A checkpoint interrupted after step 3 of epoch 2 (one epoch in its history, a running sum). */
let original: Safetensors.Contents

beforeAll(async () => {
  data = await Effect.runPromise(mnistSlice(512, 64))
  const dir = tempDir()
  const reached = Effect.runSync(Deferred.make<void>())
  const fiber = Effect.runFork(Train.fit(config({ directory: dir })).pipe(Effect.provide(blockAt(2, 3, reached))))
  await Effect.runPromise(Deferred.await(reached))
  await Effect.runPromise(Fiber.interrupt(fiber))
  await Effect.runPromise(Fiber.await(fiber))
  original = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
})

/** The original checkpoint with some metadata replaced (`undefined` removes the key), written to a fresh file. */
const edited = async (changes: Readonly<Record<string, string | undefined>>): Promise<string> => {
  const metadata: Record<string, string> = { ...original.metadata }
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete metadata[k]
    else metadata[k] = v
  }
  const file = join(tempDir(), "model.safetensors")
  await Effect.runPromise(Safetensors.write(file, [...original.tensors], metadata))
  return file
}

const resumeFailure = async (changes: Readonly<Record<string, string | undefined>>) => {
  const file = await edited(changes)
  // a defect (TypeError) would reject this promise instead of returning the failure
  const e = await failureOf(Train.fit(config({ resume: file })).pipe(Effect.provide(Progress.silent)))
  expect(e).toBeInstanceOf(CheckpointError)
  expect(e._tag).toBe("CheckpointError")
  expect(e.message).toContain(file)
  expect(e.message).not.toMatch(/TypeError|undefined|NaN/)
  return e
}

describe("checkpoint metadata is decoded with a schema", () => {
  it("the unedited checkpoint resumes (the base of every case below)", async () => {
    const file = await edited({})
    const result = await Effect.runPromise(Train.fit(config({ resume: file })).pipe(Effect.provide(Progress.silent)))
    expect(result.completedEpochs).toBe(3)
  })

  it.each([
    ["history not a list", { history: `{"epoch":1}` }, /history.*(array|list)/i],
    ["history not JSON", { history: "[{" }, /history.*JSON/i],
    ["a string where a number belongs in history", {
      history: JSON.stringify([{ epoch: 1, loss: "0.5", seconds: 1, samplesPerSecond: 1 }])
    }, /history\[0\]\.loss/],
    [
      "a history entry without its loss",
      { history: JSON.stringify([{ epoch: 1, seconds: 1, samplesPerSecond: 1 }]) },
      /history\[0\]\.loss/
    ],
    ["epochsDone not a number", { epochsDone: "one" }, /epochsDone/],
    ["epochsDone negative", { epochsDone: "-1" }, /epochsDone/],
    ["epochsDone empty", { epochsDone: "" }, /epochsDone/],
    ["stepInEpoch fractional", { stepInEpoch: "2.5" }, /stepInEpoch/],
    ["stepInEpoch missing", { stepInEpoch: undefined }, /stepInEpoch/],
    ["globalStep missing", { globalStep: undefined }, /globalStep/],
    ["batchSize a word", { batchSize: "sixty-four" }, /batchSize/],
    ["seed not a number", { seed: "x" }, /seed/],
    ["running with a string where a number belongs", {
      running: JSON.stringify({ loss: "1", correct: 0, seen: 192 })
    }, /running\.loss/],
    ["running not an object", { running: "[1,2]" }, /running/]
  ])("%s: a CheckpointError naming the field", async (_, changes, field) => {
    const e = await resumeFailure(changes)
    expect(e.message).toMatch(field)
    expect(e.message).toMatch(/corrupt|written by/)
  })

  it.each([
    [
      "a step past the end of the epoch (7 steps)",
      { stepInEpoch: "8", globalStep: "15", optimizerStep: "15" },
      /stepInEpoch.*8.*7 steps/
    ],
    ["a history of 2 epochs for epochsDone 1", {
      history: JSON.stringify([1, 2].map((epoch) => ({ epoch, loss: 1, seconds: 1, samplesPerSecond: 1 })))
    }, /history.*2 epoch.*epochsDone.*1/],
    ["history epochs out of order", {
      history: JSON.stringify([{ epoch: 2, loss: 1, seconds: 1, samplesPerSecond: 1 }])
    }, /history\[0\]\.epoch/],
    ["globalStep before the position in the epoch", { globalStep: "2", optimizerStep: "2" }, /globalStep/],
    ["optimizerStep unlike globalStep", { optimizerStep: "3" }, /optimizerStep/],
    ["running counts more examples than the steps saw", {
      running: JSON.stringify({ loss: 1, correct: 0, seen: 10_000 })
    }, /running\.seen/]
  ])("an impossible value, %s: a CheckpointError naming the field", async (_, changes, field) => {
    const e = await resumeFailure(changes)
    expect(e.message).toMatch(field)
  })
})
