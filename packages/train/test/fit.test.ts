import { Pytree } from "@typegrad/autodiff"
import { Optimizer } from "@typegrad/optim"
import { Progress, Safetensors, Train } from "@typegrad/train"
import { Effect, Random } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { denseModel, differ, expectBitwiseEqual, mnistSlice, smallCnn, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("fit")

type Slice = Effect.Success<ReturnType<typeof mnistSlice>>
let big: Slice // 1500 train / 500 validation
let small: Slice // 448 train / 64 validation

beforeAll(async () => {
  big = await Effect.runPromise(mnistSlice(2000, 500))
  small = await Effect.runPromise(mnistSlice(512, 64))
})

describe("Train.fit on real MNIST", () => {
  it("a small CNN: ~190 steps of Adam lift validation accuracy from chance to > 80%", async () => {
    const events: Array<string> = []
    const result = await Effect.runPromise(
      Train.fit({
        model: smallCnn,
        optimizer: Optimizer.adam({ learningRate: 3e-3 }),
        train: big.train,
        validation: big.validation,
        epochs: 4,
        batchSize: 32,
        seed: 3
      }).pipe(Effect.provide(Progress.collect(events)))
    )
    expect(result.completedEpochs).toBe(4)
    expect(result.history).toHaveLength(4)
    // measured over seeds 1-6: 0.88-0.90 after 4 epochs; chance is 0.1
    const last = result.history[3]!
    expect(last.validationAccuracy).toBeGreaterThan(0.8)
    expect(last.accuracy).toBeGreaterThan(0.75)
    // the training loss falls epoch over epoch from about ln(10)
    expect(result.history[0]!.loss).toBeLessThan(Math.log(10) + 0.1)
    expect(last.loss).toBeLessThan(result.history[0]!.loss)
    expect(last.loss).toBeLessThan(0.6)
    // validation metrics agree with an independent evaluation of the returned parameters
    const evaluation = await Effect.runPromise(Train.evaluate(smallCnn, result.params, big.validation))
    expect(evaluation.count).toBe(500)
    expect(evaluation.accuracy).toBe(last.validationAccuracy)
    expect(evaluation.loss).toBeCloseTo(last.validationLoss!, 10)

    // events come in order: start, then each epoch's steps 1..S, then the epoch
    const steps = Math.ceil(1500 / 32)
    const expected = ["start 1/4"]
    for (let e = 1; e <= 4; e++) {
      for (let s = 1; s <= steps; s++) expected.push(`step ${e}:${s}`)
      expected.push(`epoch ${e}`)
    }
    expect(events).toEqual(expected)
  })

  it("a small dense model with dropout reaches > 85% validation accuracy", async () => {
    const result = await Effect.runPromise(
      Train.fit({
        model: denseModel,
        optimizer: Optimizer.adam({ learningRate: 3e-3 }),
        train: big.train,
        validation: big.validation,
        epochs: 4,
        batchSize: 32,
        seed: 5
      }).pipe(Effect.provide(Progress.silent))
    )
    // measured over seeds 1-6: 0.89-0.92
    expect(result.history[3]!.validationAccuracy).toBeGreaterThan(0.85)
    // params are a fresh pytree with the model's structure; Adam did 4 * 47 updates
    expect(result.optimizerState.step).toBe(4 * 47)
    const init = await Effect.runPromise(denseModel.init)
    expect(Pytree.paths(result.params).map(([p, t]) => [p, [...t.shape]])).toEqual(
      Pytree.paths(init).map(([p, t]) => [p, [...t.shape]])
    )
  })

  it("reports the running loss and accuracy of the epoch in each step, and the last one equals the epoch's", async () => {
    const steps: Array<Progress.StepInfo> = []
    const epochs: Array<Progress.EpochMetrics> = []
    const layer = Progress.Progress.of({
      start: () => Effect.void,
      step: (s) => Effect.sync(() => void steps.push(s)),
      epoch: (m) => Effect.sync(() => void epochs.push(m)),
      message: () => Effect.void
    })
    const train = small.train // 448 examples, batch 100: 4 full batches and one of 48
    await Effect.runPromise(
      Train.fit({
        model: tinyModel,
        optimizer: Optimizer.sgd({ learningRate: 0.1 }),
        train,
        epochs: 2,
        batchSize: 100,
        seed: 1
      }).pipe(
        Effect.provideService(Progress.Progress, layer)
      )
    )
    expect(steps.map((s) => `${s.epoch}:${s.step}/${s.stepsPerEpoch}`)).toEqual([
      "1:1/5",
      "1:2/5",
      "1:3/5",
      "1:4/5",
      "1:5/5",
      "2:1/5",
      "2:2/5",
      "2:3/5",
      "2:4/5",
      "2:5/5"
    ])
    for (const s of steps) {
      expect(s.epochs).toBe(2)
      expect(Number.isFinite(s.loss)).toBe(true)
      expect(s.accuracy).toBeGreaterThanOrEqual(0)
      expect(s.accuracy).toBeLessThanOrEqual(1)
      // accuracy is a count over the samples seen so far in the epoch
      const seen = Math.min(s.step * 100, 448)
      const accuracy = s.accuracy ?? NaN // the default loss reports accuracy: NaN would fail below
      expect(Math.abs(accuracy * seen - Math.round(accuracy * seen))).toBeLessThan(1e-6)
    }
    expect(epochs).toHaveLength(2)
    expect(epochs[0]!.loss).toBe(steps[4]!.loss)
    expect(epochs[0]!.accuracy).toBe(steps[4]!.accuracy)
    expect(epochs[1]!.loss).toBe(steps[9]!.loss)
    expect(epochs[0]!.validationAccuracy).toBeUndefined()
  })
})

describe("Train.fit reproducibility", () => {
  const run = (seed: number) =>
    Effect.runPromise(
      Train.fit({
        model: tinyModel,
        optimizer: Optimizer.adam({ learningRate: 1e-2 }),
        train: small.train,
        validation: small.validation,
        epochs: 2,
        batchSize: 64,
        seed
      }).pipe(Effect.provide(Progress.silent))
    )

  it("the same seed gives bitwise identical parameters and metrics; another seed does not", async () => {
    const a = await run(11)
    const b = await run(11)
    const c = await run(12)
    expectBitwiseEqual(a.params, b.params)
    expect(a.history.map((h) => [h.loss, h.accuracy, h.validationLoss])).toEqual(
      b.history.map((h) => [h.loss, h.accuracy, h.validationLoss])
    )
    expect(differ(a.params, c.params)).toBe(true)
    // the training actually moved the parameters away from the initialisation
    const init = await Effect.runPromise(tinyModel.init.pipe(Random.withSeed(11)))
    expect(differ(a.params, init)).toBe(true)
  })
})

/** A minimal XML well-formedness check: one root element, balanced and properly nested tags. */
const xmlElements = (xml: string): Array<string> => {
  const body = xml.trim()
  const names: Array<string> = []
  const stack: Array<string> = []
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g
  let at = 0
  let roots = 0
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const text = body.slice(at, m.index)
    if (/[<>]/.test(text)) throw new Error(`stray markup in text: ${JSON.stringify(text.slice(0, 40))}`)
    if (/&(?!amp;|lt;|gt;|quot;|apos;|#\d+;)/.test(text)) {
      throw new Error(`unescaped & in text: ${JSON.stringify(text)}`)
    }
    at = m.index + m[0].length
    const [, close, name, , selfClose] = m
    if (close === "/") {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`)
    } else {
      if (stack.length === 0) roots++
      names.push(name!)
      if (selfClose !== "/") stack.push(name!)
    }
  }
  if (at !== body.length) throw new Error("trailing content after the last tag")
  if (stack.length !== 0) throw new Error(`unclosed <${stack.join(", ")}>`)
  if (roots !== 1) throw new Error(`${roots} root elements`)
  return names
}

describe("Train.fit outputs next to the checkpoint", () => {
  it("writes model.safetensors, metrics.json with per-epoch metrics, and a well-formed training.svg", async () => {
    const dir = tempDir()
    const events: Array<string> = []
    const result = await Effect.runPromise(
      Train.fit({
        model: tinyModel,
        optimizer: Optimizer.adam({ learningRate: 1e-2 }),
        train: small.train,
        validation: small.validation,
        epochs: 3,
        batchSize: 64,
        seed: 2,
        directory: dir,
        title: "tiny <model> & MNIST",
        config: { job: "unit-test", width: 16 }
      }).pipe(Effect.provide(Progress.collect(events)))
    )
    // a message after each epoch says where the checkpoint went
    expect(events.filter((e) => e.includes("checkpoint saved"))).toEqual(
      [1, 2, 3].map((e) => `epoch ${e}: checkpoint saved to ${join(dir, "model.safetensors")}`)
    )
    expect(events.indexOf("epoch 1")).toBeLessThan(
      events.indexOf(`epoch 1: checkpoint saved to ${join(dir, "model.safetensors")}`)
    )

    const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"))
    expect(metrics.job).toBe("unit-test")
    expect(metrics.width).toBe(16)
    expect(metrics.epochs).toHaveLength(3)
    metrics.epochs.forEach((m: Record<string, number>, i: number) => {
      const h = result.history[i]!
      expect(m["epoch"]).toBe(i + 1)
      expect(m["loss"]).toBe(h.loss)
      expect(m["accuracy"]).toBe(h.accuracy)
      expect(m["validationLoss"]).toBe(h.validationLoss)
      expect(m["validationAccuracy"]).toBe(h.validationAccuracy)
      for (const k of ["loss", "accuracy", "validationLoss", "validationAccuracy", "seconds", "samplesPerSecond"]) {
        expect(typeof m[k]).toBe("number")
      }
      expect(m["accuracy"]).toBeGreaterThanOrEqual(0)
      expect(m["validationAccuracy"]).toBeLessThanOrEqual(1)
    })

    const { tensors, metadata } = await Effect.runPromise(Safetensors.read(join(dir, "model.safetensors")))
    expect(metadata["format"]).toBe("typegrad-checkpoint/1")
    expect(metadata["epochsDone"]).toBe("3")
    expect(metadata["stepInEpoch"]).toBe("0")
    expect(metadata["optimizer"]).toBe("adam")
    expect(JSON.parse(metadata["history"]!)).toHaveLength(3)
    // the checkpoint holds exactly the returned parameters, and Adam's two moment slots
    for (const [p, t] of Pytree.paths(result.params)) {
      const saved = tensors.get(`params.${p}`)
      expect(saved?.shape).toEqual(t.shape)
      expectBitwiseEqual(saved!, t)
    }
    expect([...tensors.keys()].filter((k) => k.startsWith("optimizer.")).toSorted()).toEqual(
      [
        "optimizer.0.0.bias",
        "optimizer.0.0.kernel",
        "optimizer.0.1.bias",
        "optimizer.0.1.kernel",
        "optimizer.1.0.bias",
        "optimizer.1.0.kernel",
        "optimizer.1.1.bias",
        "optimizer.1.1.kernel"
      ]
    )

    const svg = readFileSync(join(dir, "training.svg"), "utf8")
    expect(svg.trimStart().startsWith("<svg")).toBe(true)
    expect(svg).toContain("xmlns=\"http://www.w3.org/2000/svg\"")
    const elements = xmlElements(svg)
    expect(elements[0]).toBe("svg")
    // two panels (loss, accuracy) x two series (training, validation), one point per epoch
    const polylines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.trim().split(/\s+/))
    expect(polylines).toHaveLength(4)
    for (const points of polylines) {
      expect(points).toHaveLength(3)
      for (const p of points) expect(p).toMatch(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/)
    }
    expect(svg).toContain("tiny &lt;model&gt; &amp; MNIST")
  })
})
