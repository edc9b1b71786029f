import { Dataset } from "@typegrad/data"
import { Layer, Model } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"
import { Plot, Progress, Train } from "@typegrad/train"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

/** Logits of 5 examples over 3 classes, and their labels: rows 0, 2 and 4 are right, 1 and 3 wrong. */
const logits = [
  [2, 1, 0], // argmax 0, label 0: right
  [0, 3, 1], // argmax 1, label 2: wrong
  [0.5, 0.25, 4], // argmax 2, label 2: right
  [1, 1, 0], // tie: argmax 0 (the first), label 1: wrong
  [-1, 5, -2] // argmax 1, label 1: right
]
const labels = [0, 2, 2, 1, 1]

/** Softmax cross-entropy, computed here in float64 without the library. */
const expectedLoss = (rows: Array<Array<number>>, ys: Array<number>): number => {
  let total = 0
  rows.forEach((z, i) => {
    const m = Math.max(...z)
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0))
    total += lse - z[ys[i]!]!
  })
  return total / rows.length
}

// Train.evaluate (and fit) take `Dataset.Dataset`, whose dtype parameter defaults to "float32": a float64
// dataset, which they handle at run time, needs a cast to pass the type checker.
const dataset = (dtype: Tensor.DType): Dataset.Dataset =>
  Dataset.make({
    images: Tensor.fromArray(logits.flat(), [5, 3], { dtype }),
    labels,
    numClasses: 3
  }) as unknown as Dataset.Dataset

describe("Train.evaluate", () => {
  it("gives the exact accuracy and loss for known logits, in batches with a remainder", async () => {
    const identity: Train.Trainable<readonly []> = { init: Effect.succeed([] as const), logits: (_, x) => x }
    for (const batchSize of [1, 2, 3, 5, 1000]) {
      const r = await Effect.runPromise(Train.evaluate(identity, [], dataset("float64"), batchSize))
      expect(r.count).toBe(5)
      expect(r.accuracy).toBe(3 / 5)
      expect(r.loss).toBeCloseTo(expectedLoss(logits, labels), 12)
    }
  })

  it("evaluates a real model with hand-set parameters on its logits (the final softmax is not applied twice)", async () => {
    const model = Model.input([3], { dtype: "float64" }).add(Layer.dense({ units: 3, activation: "softmax" }))
    // kernel = a permutation: logits = x P + b, so the model swaps classes 0 and 1
    const kernel = Tensor.fromArray([0, 1, 0, 1, 0, 0, 0, 0, 1], [3, 3], { dtype: "float64" })
    const bias = Tensor.fromArray([0, 0, 0.5], [3], { dtype: "float64" })
    const params = [{ kernel, bias }] as const
    const swapped = logits.map(([a, b, c]) => [b!, a!, c! + 0.5])
    const r = await Effect.runPromise(Train.evaluate(model, params, dataset("float64"), 2))
    const right = swapped.filter((z, i) => z.indexOf(Math.max(...z)) === labels[i]).length
    expect(right).toBe(1) // after the swap only row 2 ([0.25, 0.5, 4.5], label 2) is right
    expect(r.count).toBe(5)
    expect(r.accuracy).toBe(1 / 5)
    expect(r.loss).toBeCloseTo(expectedLoss(swapped, labels), 12)
  })

  it("float32 data gives the same accuracy and a loss within float32 rounding", async () => {
    const identity: Train.Trainable<readonly []> = { init: Effect.succeed([] as const), logits: (_, x) => x }
    const r = await Effect.runPromise(Train.evaluate(identity, [], dataset("float32"), 2))
    expect(r.accuracy).toBe(3 / 5)
    expect(r.loss).toBeCloseTo(expectedLoss(logits, labels), 5)
  })

  it("an empty dataset has count 0 (and no accuracy)", async () => {
    const identity: Train.Trainable<readonly []> = { init: Effect.succeed([] as const), logits: (_, x) => x }
    const empty = Dataset.make({ images: Tensor.zeros([0, 3]), labels: [], numClasses: 3 })
    const r = await Effect.runPromise(Train.evaluate(identity, [], empty))
    expect(r.count).toBe(0)
    expect(Number.isNaN(r.accuracy)).toBe(true)
  })
})

describe("Plot.trainingCurves", () => {
  const metrics = (epoch: number, validation: boolean): Progress.EpochMetrics => ({
    epoch,
    loss: 1 / epoch,
    accuracy: 1 - 0.5 / epoch,
    validationLoss: validation ? 1.2 / epoch : undefined,
    validationAccuracy: validation ? 1 - 0.6 / epoch : undefined,
    seconds: 1,
    samplesPerSecond: 100
  })

  it("draws one polyline per series with one point per epoch, and none for missing validation", () => {
    const withVal = Plot.trainingCurves([1, 2, 3, 4, 5].map((e) => metrics(e, true)), "t")
    const lines = [...withVal.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(" "))
    expect(lines).toHaveLength(4)
    for (const l of lines) expect(l).toHaveLength(5)
    // x grows with the epoch; the training loss (first series) falls, so its y (SVG: down is larger) grows
    const loss = lines[0]!.map((p) => p.split(",").map(Number) as [number, number])
    for (let i = 1; i < loss.length; i++) {
      expect(loss[i]![0]).toBeGreaterThan(loss[i - 1]![0])
      expect(loss[i]![1]).toBeGreaterThan(loss[i - 1]![1])
    }
    const noVal = Plot.trainingCurves([1, 2].map((e) => metrics(e, false)))
    expect([...noVal.matchAll(/<polyline/g)]).toHaveLength(2)
    expect(noVal.startsWith("<svg")).toBe(true)
    expect(noVal.trimEnd().endsWith("</svg>")).toBe(true)
  })

  it("handles a single epoch, no epochs, and non-finite values without NaN coordinates", () => {
    const one = Plot.trainingCurves([metrics(1, true)])
    expect([...one.matchAll(/<polyline[^>]*points="([^"]*)"/g)].every((m) => m[1]!.split(" ").length === 1)).toBe(true)
    const none = Plot.trainingCurves([])
    expect(none).not.toContain("<polyline")
    const bad = Plot.trainingCurves([metrics(1, true), { ...metrics(2, true), loss: Infinity }, metrics(3, true)])
    expect(bad).not.toMatch(/NaN|Infinity/)
    for (const svg of [one, none, bad]) expect(svg).not.toMatch(/NaN|Infinity/)
  })
})
