import { Dataset } from "@typegrad/data"
import { ShapeError, Tensor } from "@typegrad/tensor"
import { Effect, pipe, Random, Schedule, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

/** Example i has every feature equal to i and label i % k. */
const fixture = (n: number, item: readonly [number, number] = [2, 3], k = 4) => {
  const size = item[0] * item[1]
  const images = Float32Array.from({ length: n * size }, (_, j) => Math.floor(j / size))
  return Dataset.make({
    images: Tensor.fromArray(images, [n, item[0], item[1]]),
    labels: Array.from({ length: n }, (_, i) => i % k),
    numClasses: k
  })
}

/** The example ids of a batch (the first feature of each row), checked against labels and one-hot. */
const idsOf = (batch: Dataset.Batch<number, readonly [number, number], number>, k: number): Array<number> => {
  const x = Tensor.toArray(batch.images)
  const row = x.length / batch.size
  const classes = Tensor.toArray(batch.classes)
  const oneHot = Tensor.toArray(batch.labels)
  expect(batch.labels.shape).toEqual([batch.size, k])
  const ids: Array<number> = []
  for (let i = 0; i < batch.size; i++) {
    const id = x[i * row]!
    for (let j = 0; j < row; j++) expect(x[i * row + j]).toBe(id)
    expect(classes[i]).toBe(id % k)
    for (let c = 0; c < k; c++) expect(oneHot[i * k + c]).toBe(c === id % k ? 1 : 0)
    ids.push(id)
  }
  return ids
}

const collect = <A>(s: Stream.Stream<A>, seed?: number): Promise<Array<A>> =>
  Effect.runPromise(seed === undefined ? Stream.runCollect(s) : Random.withSeed(Stream.runCollect(s), seed))

describe("Dataset.make", () => {
  it("checks counts and labels", () => {
    expect(() => Dataset.make({ images: Tensor.zeros([3, 2]), labels: [0, 1], numClasses: 2 })).toThrow(ShapeError)
    expect(() => Dataset.make({ images: Tensor.zeros([2, 2]), labels: [0, 2], numClasses: 2 })).toThrow(
      /label 2 of example 1/
    )
    expect(() => Dataset.make({ images: Tensor.zeros([2, 2]), labels: [0, 0.5], numClasses: 2 })).toThrow(RangeError)
  })
})

describe("Dataset.batches", () => {
  it("yields batches of the right sizes, in order without shuffling", async () => {
    const ds = fixture(10)
    const batches = await collect(Dataset.batches(ds, { batchSize: 4 }))
    expect(batches.map((b) => b.size)).toEqual([4, 4, 2])
    expect(batches.map((b) => b.images.shape)).toEqual([[4, 2, 3], [4, 2, 3], [2, 2, 3]])
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2])
    expect(batches.flatMap((b) => idsOf(b, 4))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it("drops the remainder when asked, and types the batch dim", async () => {
    const ds = fixture(10)
    const stream = pipe(ds, Dataset.batches({ batchSize: 4, shuffle: true, dropRemainder: true }))
    const batches = await collect(stream, 1)
    const first: Tensor.Tensor<readonly [4, number, number]> = batches[0]!.images
    expect(first.shape).toEqual([4, 2, 3])
    const literal = Dataset.make({ images: Tensor.zeros([10, 2, 3]), labels: new Array(10).fill(0), numClasses: 4 })
    const typed = await collect(Dataset.batches(literal, { batchSize: 5, dropRemainder: true }))
    const images: Tensor.Tensor<readonly [5, 2, 3]> = typed[0]!.images
    const labels: Tensor.Tensor<readonly [5, 4]> = typed[0]!.labels
    expect([images.shape, labels.shape]).toEqual([[5, 2, 3], [5, 4]])
    expect(batches.map((b) => b.size)).toEqual([4, 4])
    expect(await collect(Dataset.batches(ds, { batchSize: 11, dropRemainder: true }))).toEqual([])
  })

  it("visits every example exactly once per shuffled epoch", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer(),
        async (n, batchSize, seed) => {
          const ds = fixture(n)
          const batches = await collect(Dataset.batches(ds, { batchSize, shuffle: true }), seed)
          expect(batches.length).toBe(Math.ceil(n / batchSize))
          for (const b of batches.slice(0, -1)) expect(b.size).toBe(batchSize)
          const ids = batches.flatMap((b) => idsOf(b, 4))
          expect(ids.toSorted((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
        }
      ),
      { numRuns: 60 }
    )
  })

  it("same seed, same order; different seeds, different orders; each epoch reshuffles", async () => {
    const ds = fixture(50)
    const order = async (seed: number) =>
      (await collect(Dataset.batches(ds, { batchSize: 8, shuffle: true }), seed)).flatMap((b) => idsOf(b, 4))
    const a = await order(42)
    expect(await order(42)).toEqual(a)
    expect(await order(43)).not.toEqual(a)
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i))
    // two epochs in one seeded run: the second draws a new permutation
    const twoEpochs = await collect(
      Stream.repeat(Dataset.batches(ds, { batchSize: 50, shuffle: true }), Schedule.recurs(1)),
      42
    )
    expect(twoEpochs.length).toBe(2)
    const [e1, e2] = twoEpochs.map((b) => idsOf(b, 4))
    expect(e1).toEqual(a)
    expect(e2).not.toEqual(e1)
    expect(e2!.toSorted((x, y) => x - y)).toEqual(e1!.toSorted((x, y) => x - y))
  })

  it("rejects a bad batch size", () => {
    expect(() => Dataset.batches(fixture(3), { batchSize: 0 })).toThrow(RangeError)
  })
})

describe("Dataset.split", () => {
  it("holds out a disjoint validation set of the right size", async () => {
    const ds = fixture(100)
    for (const [validation, want] of [[0.2, 20], [7, 7], [0.5, 50]] as const) {
      const { train, validation: valid } = await Effect.runPromise(Dataset.split(ds, { validation, seed: 3 }))
      expect(valid.count).toBe(want)
      expect(train.count).toBe(100 - want)
      expect(valid.images.shape).toEqual([want, 2, 3])
      const ids = async (d: typeof ds) =>
        (await collect(Dataset.batches(d, { batchSize: 1000 }))).flatMap((b) => idsOf(b, 4))
      const t = await ids(train)
      const v = await ids(valid)
      expect(new Set([...t, ...v]).size).toBe(100)
      expect([...t, ...v].length).toBe(100)
    }
  })

  it("is reproducible with a seed and differs across seeds", async () => {
    const ds = fixture(60)
    const held = async (seed: number) => {
      const { validation } = await Effect.runPromise(Dataset.split(ds, { validation: 10, seed }))
      return Array.from(Tensor.toArray(validation.images).filter((_, i) => i % 6 === 0))
    }
    expect(await held(1)).toEqual(await held(1))
    expect(await held(1)).not.toEqual(await held(2))
  })

  it("holds out the last examples without shuffling", async () => {
    const { validation } = await Effect.runPromise(Dataset.split(fixture(10), { validation: 0.3, shuffle: false }))
    expect(Array.from(Tensor.toArray(validation.labels))).toEqual([7 % 4, 8 % 4, 9 % 4])
  })

  it("rejects impossible sizes", () => {
    expect(() => Dataset.split(fixture(5), { validation: 6 })).toThrow(RangeError)
    expect(() => Dataset.split(fixture(5), { validation: 0 })).toThrow(RangeError)
    expect(() => Dataset.split(fixture(5), { validation: 1.5 })).toThrow(RangeError)
  })
})

describe("Dataset.normalize, channelStats, take, select", () => {
  it("normalizes each channel", () => {
    const ds = Dataset.make({ images: Tensor.fromArray([1, 10, 3, 30], [2, 1, 2]), labels: [0, 1], numClasses: 2 })
    const stats = Dataset.channelStats(ds)
    expect(stats.mean).toEqual([2, 20])
    expect(stats.std).toEqual([1, 10])
    const n = pipe(ds, Dataset.normalize(stats))
    expect(Array.from(Tensor.toArray(n.images))).toEqual([-1, -1, 1, 1])
    expect(Array.from(Tensor.toArray(Dataset.normalize(ds, { mean: 1, std: 2 }).images))).toEqual([0, 4.5, 1, 14.5])
    expect(() => Dataset.normalize(ds, { mean: [0, 0, 0], std: 1 })).toThrow(ShapeError)
    expect(() => Dataset.normalize(ds, { mean: 0, std: 0 })).toThrow(RangeError)
  })

  it("takes and selects examples", async () => {
    const ds = fixture(10)
    const first = Dataset.take(ds, 3)
    expect(first.count).toBe(3)
    expect((await collect(Dataset.batches(first, { batchSize: 5 }))).flatMap((b) => idsOf(b, 4))).toEqual([0, 1, 2])
    const picked = Dataset.select(ds, [9, 0, 9])
    expect((await collect(Dataset.batches(picked, { batchSize: 5 }))).flatMap((b) => idsOf(b, 4))).toEqual([9, 0, 9])
    expect(() => Dataset.select(ds, [10])).toThrow(RangeError)
  })

  it("permutation is a permutation", async () => {
    const p = await Effect.runPromise(Random.withSeed(Dataset.permutation(100), "s"))
    expect(Array.from(p.toSorted())).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })
})
