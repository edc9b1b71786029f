/**
 * Labelled datasets held in memory, and their batches as `Stream`s.
 *
 * A {@link Dataset} is a tensor of examples `[N, ...Item]` with a tensor of class indices `[N]`.
 * {@link batches} turns it into a `Stream` of {@link Batch}es for one epoch; with `shuffle: true` each run of
 * the stream draws a fresh Fisher-Yates permutation from Effect's `Random` service, so
 * `Random.withSeed(seed)` reproduces the order, and running the stream again (`Stream.repeat`, one run per
 * epoch) gives a new order. {@link split} holds out a validation set, {@link normalize} standardises
 * channels.
 *
 * Everything here is synchronous and pure except the draws from `Random`.
 *
 * @since 0.1.0
 */
import { ShapeError, Tensor } from "@typegrad/tensor"
import { subView, unsafeData, unsafeFromData } from "@typegrad/tensor/internal"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"

type Shape = Tensor.Shape
type DType = Tensor.DType
type Buffer = Float32Array | Float64Array

/**
 * An in-memory labelled dataset: `count` examples of shape `Item`, each with a class index in
 * `0 .. numClasses - 1`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@typegrad/tensor"
 * import { Dataset } from "@typegrad/data"
 *
 * const ds: Dataset.Dataset<readonly [2], 3> = Dataset.make({
 *   images: Tensor.fromArray([0, 1, 2, 3, 4, 5], [3, 2]),
 *   labels: [0, 2, 1],
 *   numClasses: 3
 * })
 * ```
 *
 * @since 0.1.0
 */
export interface Dataset<Item extends Shape = Shape, K extends number = number, D extends DType = "float32"> {
  /** The examples, `[count, ...Item]`. */
  readonly images: Tensor.Tensor<readonly [number, ...Item], D>
  /** The class index of each example (integers stored as floats), `[count]`. */
  readonly labels: Tensor.Tensor<readonly [number], D>
  /** The number of examples. */
  readonly count: number
  /** The number of classes: labels lie in `0 .. numClasses - 1`. */
  readonly numClasses: K
}

/**
 * A batch of examples. `images` is `[size, ...Item]`, `labels` the one-hot encoding `[size, K]`, `classes`
 * the class indices `[size]`. `B` is the batch size when every batch has it (`dropRemainder: true`),
 * `number` otherwise.
 *
 * @example
 * ```ts
 * import { Dataset } from "@typegrad/data"
 * declare const b: Dataset.Batch<32, readonly [28, 28, 1], 10>
 * b.images.shape // readonly [32, 28, 28, 1]
 * b.labels.shape // readonly [32, 10]
 * ```
 *
 * @since 0.1.0
 */
export interface Batch<
  B extends number = number,
  Item extends Shape = Shape,
  K extends number = number,
  D extends DType = "float32"
> {
  /** The examples, `[size, ...Item]`. */
  readonly images: Tensor.Tensor<readonly [B, ...Item], D>
  /** One-hot labels, `[size, numClasses]`. */
  readonly labels: Tensor.Tensor<readonly [B, K], D>
  /** Class indices, `[size]`. */
  readonly classes: Tensor.Tensor<readonly [B], D>
  /** The number of examples in this batch. */
  readonly size: number
  /** The position of this batch in its epoch, from 0. */
  readonly index: number
}

/**
 * Options of {@link batches}.
 *
 * @example
 * ```ts
 * import { Dataset } from "@typegrad/data"
 * const o: Dataset.BatchOptions<64, true> = { batchSize: 64, shuffle: true, dropRemainder: true }
 * ```
 *
 * @since 0.1.0
 */
export interface BatchOptions<B extends number = number, Drop extends boolean = boolean> {
  /** Examples per batch (a positive integer). */
  readonly batchSize: B
  /** Draw a new permutation from `Random` on every run of the stream (default `false`: dataset order). */
  readonly shuffle?: boolean
  /** Leave out the last batch when it is smaller than `batchSize` (default `false`). */
  readonly dropRemainder?: Drop
}

/**
 * Options of {@link split}.
 *
 * @example
 * ```ts
 * import { Dataset } from "@typegrad/data"
 * const o: Dataset.SplitOptions = { validation: 0.1, seed: 42 }
 * ```
 *
 * @since 0.1.0
 */
export interface SplitOptions {
  /** How many examples to hold out: a count (an integer >= 1) or a fraction in `(0, 1)`. */
  readonly validation: number
  /** Seed of the permutation; without it the ambient `Random` service is used. */
  readonly seed?: string | number
  /** Choose the held-out examples at random (default `true`); `false` holds out the last ones, like Keras. */
  readonly shuffle?: boolean
}

/**
 * Per-channel statistics, as given to {@link normalize}. A single number applies to every channel.
 *
 * @example
 * ```ts
 * import { Dataset } from "@typegrad/data"
 * const s: Dataset.ChannelStats = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.243, 0.261] }
 * ```
 *
 * @since 0.1.0
 */
export interface ChannelStats {
  readonly mean: number | ReadonlyArray<number>
  readonly std: number | ReadonlyArray<number>
}

// ---------------------------------------------------------------------------------------------------
// internals
// ---------------------------------------------------------------------------------------------------

const dataOf = <D extends DType>(t: Tensor.Tensor<Shape, D>): Buffer => unsafeData(t) as Buffer

const allocLike = (like: Buffer, length: number): Buffer =>
  like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)

const rowSizeOf = (ds: Dataset<Shape, number, DType>): number => ds.images.shape.slice(1).reduce((a, b) => a * b, 1)

const wrapAs = <S extends Shape, D extends DType>(data: Buffer, shape: readonly number[]): Tensor.Tensor<S, D> =>
  unsafeFromData(data as Tensor.ArrayOf<D>, shape) as unknown as Tensor.Tensor<S, D>

/** Copies the rows `indices[start .. end)` of `src` into the fresh contiguous `out`. */
const gatherRows = (
  src: Buffer,
  rowSize: number,
  indices: ArrayLike<number>,
  start: number,
  end: number,
  out: Buffer
) => {
  if (rowSize === 1) {
    for (let i = start; i < end; i++) out[i - start] = src[indices[i]!]!
    return
  }
  for (let i = start; i < end; i++) {
    const from = indices[i]! * rowSize
    out.set(src.subarray(from, from + rowSize), (i - start) * rowSize)
  }
}

const oneHotInto = (classes: Buffer, numClasses: number, out: Buffer): void => {
  for (let i = 0; i < classes.length; i++) out[i * numClasses + classes[i]!] = 1
}

/** A Fisher-Yates permutation of `0 .. n - 1` drawn from `random`. */
const permutationWith = (random: Random.Random, n: number): Uint32Array => {
  const p = new Uint32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i >= 1; i--) {
    const j = Math.min(i, Math.floor(random.nextDoubleUnsafe() * (i + 1)))
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

// ---------------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------------

/**
 * Builds a dataset from a tensor of examples `[N, ...Item]` and `N` class indices. Throws a `ShapeError`
 * when the counts differ, and a `RangeError` when a label is not an integer in `0 .. numClasses - 1`.
 * The tensors are not copied.
 *
 * @example
 * ```ts
 * import { Tensor } from "@typegrad/tensor"
 * import { Dataset } from "@typegrad/data"
 *
 * const ds = Dataset.make({ images: Tensor.zeros([4, 2, 2, 1]), labels: [0, 1, 1, 0], numClasses: 2 })
 * ds.count // 4; ds is Dataset<readonly [2, 2, 1], 2>
 * ```
 *
 * @since 0.1.0
 */
export const make = <const Item extends Shape, const K extends number, D extends DType = "float32">(input: {
  readonly images: Tensor.Tensor<readonly [number, ...Item], D>
  readonly labels: Tensor.Tensor<readonly [number], D> | ArrayLike<number>
  readonly numClasses: K
}): Dataset<Item, K, D> => {
  const { images, numClasses } = input
  if (images.rank < 1) {
    throw new ShapeError("Dataset.make", "Dataset.make: images must have a leading example axis, got a scalar")
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`Dataset.make: numClasses must be a positive integer, got ${numClasses}`)
  }
  const count = images.shape[0]
  const like = dataOf(images)
  let labels: Tensor.Tensor<readonly [number], D>
  if (Tensor.isTensor(input.labels)) {
    labels = input.labels as Tensor.Tensor<readonly [number], D>
    if (labels.rank !== 1) {
      throw new ShapeError(
        "Dataset.make",
        `Dataset.make: labels must be a vector of class indices, got shape [${labels.shape.join(", ")}]`
      )
    }
  } else {
    const source = input.labels as ArrayLike<number>
    const buffer = allocLike(like, source.length)
    for (let i = 0; i < source.length; i++) buffer[i] = source[i]!
    labels = wrapAs(buffer, [source.length])
  }
  if (labels.shape[0] !== count) {
    throw new ShapeError(
      "Dataset.make",
      `Dataset.make: ${count} examples but ${labels.shape[0]} labels`,
      "; give one class index per example"
    )
  }
  const ls = dataOf(labels)
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new RangeError(`Dataset.make: label ${l} of example ${i} is not a class index in 0 .. ${numClasses - 1}`)
    }
  }
  return { images, labels, count, numClasses }
}

/**
 * The dataset of the examples at `indices`, in that order, copied into fresh contiguous buffers.
 *
 * @example
 * ```ts
 * import { Tensor } from "@typegrad/tensor"
 * import { Dataset } from "@typegrad/data"
 *
 * const ds = Dataset.make({ images: Tensor.fromArray([0, 1, 2], [3, 1]), labels: [0, 1, 0], numClasses: 2 })
 * Dataset.select(ds, [2, 0]).count // 2
 * ```
 *
 * @since 0.1.0
 */
export const select: {
  (indices: ArrayLike<number>): <Item extends Shape, K extends number, D extends DType>(
    self: Dataset<Item, K, D>
  ) => Dataset<Item, K, D>
  <Item extends Shape, K extends number, D extends DType>(
    self: Dataset<Item, K, D>,
    indices: ArrayLike<number>
  ): Dataset<Item, K, D>
} = dual(2, <Item extends Shape, K extends number, D extends DType>(
  self: Dataset<Item, K, D>,
  indices: ArrayLike<number>
): Dataset<Item, K, D> => {
  const n = indices.length
  for (let i = 0; i < n; i++) {
    const k = indices[i]!
    if (!Number.isInteger(k) || k < 0 || k >= self.count) {
      throw new RangeError(`Dataset.select: index ${k} is out of range for a dataset of ${self.count} examples`)
    }
  }
  const rowSize = rowSizeOf(self)
  const src = dataOf(self.images)
  const images = allocLike(src, n * rowSize)
  gatherRows(src, rowSize, indices, 0, n, images)
  const labels = allocLike(src, n)
  gatherRows(dataOf(self.labels), 1, indices, 0, n, labels)
  return {
    images: wrapAs(images, [n, ...self.images.shape.slice(1)]),
    labels: wrapAs(labels, [n]),
    count: n,
    numClasses: self.numClasses
  }
})

/**
 * The first `n` examples (all of them when `n >= count`), sharing the buffers of `self` (no copy).
 *
 * @example
 * ```ts
 * import { Tensor } from "@typegrad/tensor"
 * import { Dataset } from "@typegrad/data"
 *
 * const ds = Dataset.make({ images: Tensor.zeros([10, 3]), labels: new Array(10).fill(0), numClasses: 1 })
 * Dataset.take(ds, 4).count // 4
 * ```
 *
 * @since 0.1.0
 */
export const take: {
  (n: number): <Item extends Shape, K extends number, D extends DType>(self: Dataset<Item, K, D>) => Dataset<Item, K, D>
  <Item extends Shape, K extends number, D extends DType>(self: Dataset<Item, K, D>, n: number): Dataset<Item, K, D>
} = dual(2, <Item extends Shape, K extends number, D extends DType>(
  self: Dataset<Item, K, D>,
  n: number
): Dataset<Item, K, D> => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`Dataset.take: n must be a non-negative integer, got ${n}`)
  if (n >= self.count) return self
  const rowSize = rowSizeOf(self)
  return {
    images: wrapAs(subView(dataOf(self.images), 0, n * rowSize), [n, ...self.images.shape.slice(1)]),
    labels: wrapAs(subView(dataOf(self.labels), 0, n), [n]),
    count: n,
    numClasses: self.numClasses
  }
})

// ---------------------------------------------------------------------------------------------------
// randomness
// ---------------------------------------------------------------------------------------------------

/**
 * A uniformly random permutation of `0 .. n - 1` (Fisher-Yates), drawn from Effect's `Random` service.
 *
 * @example
 * ```ts
 * import { Effect, Random } from "effect"
 * import { Dataset } from "@typegrad/data"
 *
 * const p = Effect.runSync(Dataset.permutation(5).pipe(Random.withSeed(1))) // e.g. Uint32Array [3, 0, 4, 1, 2]
 * ```
 *
 * @since 0.1.0
 */
export const permutation = (n: number): Effect.Effect<Uint32Array> =>
  Effect.map(Effect.service(Random.Random), (random) => permutationWith(random, n))

/**
 * Holds out a validation set: `validation` examples (a count, or a fraction of `count`) chosen by a
 * random permutation (seeded by `seed`, or drawn from the ambient `Random`), the rest is `train`. Both
 * keep the original relative order of their examples and get fresh buffers. With `shuffle: false` the
 * last examples are held out.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dataset, Mnist } from "@typegrad/data"
 *
 * const program = Effect.gen(function*() {
 *   const all = yield* Mnist.load({ split: "train" })
 *   const { train, validation } = yield* Dataset.split(all, { validation: 0.1, seed: 42 })
 *   return [train.count, validation.count] // [54000, 6000]
 * })
 * ```
 *
 * @since 0.1.0
 */
export const split: {
  (options: SplitOptions): <Item extends Shape, K extends number, D extends DType>(
    self: Dataset<Item, K, D>
  ) => Effect.Effect<{ readonly train: Dataset<Item, K, D>; readonly validation: Dataset<Item, K, D> }>
  <Item extends Shape, K extends number, D extends DType>(
    self: Dataset<Item, K, D>,
    options: SplitOptions
  ): Effect.Effect<{ readonly train: Dataset<Item, K, D>; readonly validation: Dataset<Item, K, D> }>
} = dual(2, <Item extends Shape, K extends number, D extends DType>(
  self: Dataset<Item, K, D>,
  options: SplitOptions
): Effect.Effect<{ readonly train: Dataset<Item, K, D>; readonly validation: Dataset<Item, K, D> }> => {
  const v = options.validation
  const n = self.count
  let held: number
  if (Number.isInteger(v) && v >= 1) held = v
  else if (v > 0 && v < 1) held = Math.round(v * n)
  else {
    throw new RangeError(`Dataset.split: validation must be a count >= 1 or a fraction in (0, 1), got ${v}`)
  }
  if (held > n) {
    throw new RangeError(`Dataset.split: cannot hold out ${held} examples from a dataset of ${n}`)
  }
  const order: Effect.Effect<Uint32Array> = options.shuffle === false
    ? Effect.succeed(Uint32Array.from({ length: n }, (_, i) => i))
    : options.seed === undefined
    ? permutation(n)
    : Random.withSeed(permutation(n), options.seed)
  return Effect.map(order, (p) => {
    const trainIdx = p.subarray(0, n - held).toSorted()
    const validIdx = p.subarray(n - held).toSorted()
    return { train: select(self, trainIdx), validation: select(self, validIdx) }
  })
})

// ---------------------------------------------------------------------------------------------------
// batches
// ---------------------------------------------------------------------------------------------------

/**
 * One epoch of batches as a `Stream`. Without `shuffle` the batches follow the dataset order and their
 * `images` and `classes` share the dataset's buffers (no copy); with `shuffle: true` every run of the
 * stream draws a Fisher-Yates permutation from Effect's `Random` and copies whole rows into fresh
 * contiguous buffers (`TypedArray.set`). `labels` is always a fresh one-hot tensor. With
 * `dropRemainder: true` every batch has exactly `batchSize` examples and the batch dim is typed as
 * `batchSize`.
 *
 * @example
 * ```ts
 * import { Effect, Random, Stream } from "effect"
 * import { Dataset, Mnist } from "@typegrad/data"
 *
 * const program = Effect.gen(function*() {
 *   const train = yield* Mnist.load({ split: "train" })
 *   const epoch = Dataset.batches(train, { batchSize: 32, shuffle: true, dropRemainder: true })
 *   // Stream<Batch<32, readonly [28, 28, 1], 10>>
 *   return yield* Stream.runCount(epoch) // 1875
 * }).pipe(Random.withSeed(42)) // same seed, same order
 * ```
 *
 * @since 0.1.0
 */
export const batches: {
  <const B extends number, Drop extends boolean = false>(options: BatchOptions<B, Drop>): <
    Item extends Shape,
    K extends number,
    D extends DType
  >(self: Dataset<Item, K, D>) => Stream.Stream<Batch<Drop extends true ? B : number, Item, K, D>>
  <Item extends Shape, K extends number, D extends DType, const B extends number, Drop extends boolean = false>(
    self: Dataset<Item, K, D>,
    options: BatchOptions<B, Drop>
  ): Stream.Stream<Batch<Drop extends true ? B : number, Item, K, D>>
} = dual(2, <Item extends Shape, K extends number, D extends DType>(
  self: Dataset<Item, K, D>,
  options: BatchOptions
): Stream.Stream<Batch<number, Item, K, D>> => {
  const { batchSize } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Dataset.batches: batchSize must be a positive integer, got ${batchSize}`)
  }
  const n = self.count
  const dropRemainder = options.dropRemainder === true
  const numBatches = dropRemainder ? Math.floor(n / batchSize) : Math.ceil(n / batchSize)
  const rowSize = rowSizeOf(self)
  const itemShape = self.images.shape.slice(1)
  const images = dataOf(self.images)
  const labels = dataOf(self.labels)
  const K = self.numClasses

  function* epoch(order: Uint32Array | undefined): Generator<Batch<number, Item, K, D>> {
    for (let b = 0; b < numBatches; b++) {
      const start = b * batchSize
      const end = Math.min(n, start + batchSize)
      const size = end - start
      let x: Buffer
      let y: Buffer
      if (order === undefined) {
        x = subView(images, start * rowSize, end * rowSize)
        y = subView(labels, start, end)
      } else {
        x = allocLike(images, size * rowSize)
        gatherRows(images, rowSize, order, start, end, x)
        y = allocLike(labels, size)
        gatherRows(labels, 1, order, start, end, y)
      }
      const oneHot = allocLike(labels, size * K)
      oneHotInto(y, K, oneHot)
      yield {
        images: wrapAs(x, [size, ...itemShape]),
        labels: wrapAs(oneHot, [size, K]),
        classes: wrapAs(y, [size]),
        size,
        index: b
      }
    }
  }

  return options.shuffle === true
    ? Stream.unwrap(Effect.map(permutation(n), (order) => Stream.fromIterable(epoch(order), { chunkSize: 1 })))
    : Stream.suspend(() => Stream.fromIterable(epoch(undefined), { chunkSize: 1 }))
}) as never

// ---------------------------------------------------------------------------------------------------
// normalisation
// ---------------------------------------------------------------------------------------------------

const perChannel = (value: number | ReadonlyArray<number>, channels: number, what: string): ReadonlyArray<number> => {
  if (typeof value === "number") return new Array<number>(channels).fill(value)
  if (value.length !== channels) {
    throw new ShapeError(
      "Dataset.normalize",
      `Dataset.normalize: ${what} has ${value.length} values but the images have ${channels} channels`,
      "; give one value per channel (the last axis) or a single number"
    )
  }
  return value
}

/**
 * Standardises each channel (the last axis): `(x - mean[c]) / std[c]`, into a fresh buffer. Throws a
 * `ShapeError` when the number of values does not match the channels, a `RangeError` for a `std` of 0.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dataset, Mnist } from "@typegrad/data"
 *
 * const program = Mnist.load({ split: "test" }).pipe(
 *   Effect.map(Dataset.normalize({ mean: 0.1307, std: 0.3081 }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const normalize: {
  (
    stats: ChannelStats
  ): <Item extends Shape, K extends number, D extends DType>(self: Dataset<Item, K, D>) => Dataset<Item, K, D>
  <Item extends Shape, K extends number, D extends DType>(
    self: Dataset<Item, K, D>,
    stats: ChannelStats
  ): Dataset<Item, K, D>
} = dual(2, <Item extends Shape, K extends number, D extends DType>(
  self: Dataset<Item, K, D>,
  stats: ChannelStats
): Dataset<Item, K, D> => {
  const shape = self.images.shape
  const channels = shape.length > 1 ? shape[shape.length - 1]! : 1
  const mean = perChannel(stats.mean, channels, "mean")
  const std = perChannel(stats.std, channels, "std")
  const scale = std.map((s) => {
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new RangeError(`Dataset.normalize: std must be positive and finite, got ${s}`)
    }
    return 1 / s
  })
  const src = dataOf(self.images)
  const out = allocLike(src, src.length)
  if (channels === 1) {
    const m = mean[0]!
    const k = scale[0]!
    for (let i = 0; i < src.length; i++) out[i] = (src[i]! - m) * k
  } else {
    for (let i = 0; i < src.length; i += channels) {
      for (let c = 0; c < channels; c++) out[i + c] = (src[i + c]! - mean[c]!) * scale[c]!
    }
  }
  return { ...self, images: wrapAs(out, shape) }
})

/**
 * The mean and (population) standard deviation of each channel (the last axis) over all examples and
 * positions, accumulated in float64: the input {@link normalize} expects.
 *
 * @example
 * ```ts
 * import { Dataset } from "@typegrad/data"
 * declare const train: Dataset.Dataset<readonly [32, 32, 3], 10>
 * const normalized = Dataset.normalize(train, Dataset.channelStats(train))
 * ```
 *
 * @since 0.1.0
 */
export const channelStats = <Item extends Shape, K extends number, D extends DType>(
  self: Dataset<Item, K, D>
): { readonly mean: ReadonlyArray<number>; readonly std: ReadonlyArray<number> } => {
  const shape = self.images.shape
  const channels = shape.length > 1 ? shape[shape.length - 1]! : 1
  const src = dataOf(self.images)
  const sum = new Float64Array(channels)
  const sumSq = new Float64Array(channels)
  for (let i = 0; i < src.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const x = src[i + c]!
      sum[c]! += x
      sumSq[c]! += x * x
    }
  }
  const per = src.length / channels
  const mean = Array.from(sum, (s) => (per > 0 ? s / per : 0))
  const std = Array.from(sumSq, (s, c) => (per > 0 ? Math.sqrt(Math.max(0, s / per - mean[c]! ** 2)) : 0))
  return { mean, std }
}
