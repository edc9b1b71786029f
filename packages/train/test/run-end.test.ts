// The end of a run: what `fit` writes when the loop has nothing left to do, and the progress line's
// description of an epoch's steps.
import { Pytree } from "@typegrad/autodiff"
import { Optimizer } from "@typegrad/optim"
import { Progress, Safetensors, Train } from "@typegrad/train"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { expectBitwiseEqual, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("run-end")

type Params = ReadonlyArray<Pytree.Pytree>
let data: Effect.Success<ReturnType<typeof mnistSlice>> // 436 train / 64 validation

const config = (over: Partial<Train.FitConfig<Params>> = {}): Train.FitConfig<Params> => ({
  model: tinyModel,
  optimizer: Optimizer.adam({ learningRate: 1e-2 }),
  train: data.train,
  validation: data.validation,
  epochs: 1,
  batchSize: 64,
  seed: 4,
  ...over
})

const fit = (c: Train.FitConfig<Params>, progress = Progress.silent) =>
  Effect.runPromise(Train.fit(c).pipe(Effect.provide(progress)))

beforeAll(async () => {
  data = await Effect.runPromise(mnistSlice(500, 64))
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe("a resumed run with nothing left to train", () => {
  // Regression (issue 11, item 1): `--resume A --out B` of a finished run trained nothing and wrote
  // nothing, so B was never created and the job's final metrics write crashed with ENOENT.
  it("writes the checkpoint, metrics and plot into its directory and says there was nothing to train", async () => {
    const a = join(tempDir(), "A")
    const b = join(tempDir(), "B")
    const done = await fit(config({ directory: a }))
    const events: Array<string> = []
    const again = await fit(config({ resume: a, directory: b }), Progress.collect(events))
    expect(events.some((e) => e.startsWith("step "))).toBe(false)
    expect(events).toContain(
      `nothing left to train: 1 of 1 epoch(s) done: checkpoint saved to ${join(b, "model.safetensors")}`
    )
    expectBitwiseEqual(again.params, done.params)
    for (const f of ["model.safetensors", "metrics.json", "training.svg"]) expect(existsSync(join(b, f))).toBe(true)
    const { tensors, metadata } = await Effect.runPromise(Safetensors.read(join(b, "model.safetensors")))
    expect(metadata["epochsDone"]).toBe("1")
    const paths = Pytree.paths(done.params)
    expectBitwiseEqual(paths.map(([p]) => tensors.get(`params.${p}`)!), paths.map(([, t]) => t))
    expect(JSON.parse(readFileSync(join(b, "metrics.json"), "utf8")).epochs).toHaveLength(1)
  })

  it("resumed into its own directory, it leaves the checkpoint as it is", async () => {
    const a = tempDir()
    await fit(config({ directory: a }))
    const bytes = readFileSync(join(a, "model.safetensors"))
    const events: Array<string> = []
    await fit(config({ resume: join(a, "model.safetensors"), directory: a }), Progress.collect(events))
    expect(events).toContain(
      `nothing left to train: 1 of 1 epoch(s) done: the checkpoint ${join(a, "model.safetensors")} is unchanged`
    )
    expect(Buffer.compare(readFileSync(join(a, "model.safetensors")), bytes)).toBe(0)
  })
})

describe("the progress line", () => {
  // Regression (issue 11, item 11): 436 samples in batches of 64 are 7 steps, 6 of 64 and a last one of
  // 52; the line said "7 steps of 63 samples" (samples divided by steps).
  it("names the batch size and the size of a last partial batch", async () => {
    const written: Array<string> = []
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      written.push(String(s))
      return true
    })
    await fit(config({ validation: undefined }), Progress.lines)
    vi.restoreAllMocks()
    const start = written.find((l) => l.startsWith("training "))
    expect(start).toBe(`training 1 epoch(s) from epoch 1: 7 steps of 64 samples (the last of 52)\n`)
  })
})
