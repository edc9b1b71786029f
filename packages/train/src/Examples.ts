/**
 * Supervised examples of any kind, for `Train.fit`: a tensor of inputs `[N, ...X]` with targets that are a
 * tensor `[N, ...]` or a pytree of such tensors (several outputs, several targets). Where a
 * `Dataset.Dataset` of `@typegrad/data` holds class indices (classification), `Examples` holds whatever the
 * loss compares the model's output with: regression values, several heads' targets, soft labels.
 *
 * Batches keep the pytree's structure: each leaf is cut along its first axis, with the same rows as the
 * inputs. With `shuffle: true` each run of the stream draws its permutation from Effect's `Random`, as
 * `Dataset.batches` does.
 *
 * @since 0.2.0
 */
import * as Dataset from "@typegrad/data/Dataset"
import { Pytree, ShapeError, Tensor } from "@typegrad/tensor"
import { Effect, Stream } from "effect"
import { rows, widenExampleAxis } from "./internal/rows.ts"

type Shape = Tensor.Shape
type DType = Tensor.DType

/**
 * A pytree whose tensors have their first (example) axis widened to `number`: the type of a batch of `T`.
 *
 * @example
 * ```ts
 * import type { Examples } from "@typegrad/train"
 * type B = Examples.Batched<Tensor.Tensor<readonly [100, 3]>> // Tensor<readonly [number, 3]>
 * ```
 */
export type Batched<T> = BatchedAt<T, []>

// The depth counter bounds the recursion for the generic `Pytree` (a recursive type); real trees are shallow.
type BatchedAt<T, Depth extends ReadonlyArray<0>> = Depth["length"] extends 6 ? T
  : T extends Tensor.Tensor<infer S, infer D>
    ? S extends readonly [number, ...infer R extends Shape] ? Tensor.Tensor<readonly [number, ...R], D> : T
  : { readonly [K in keyof T]: BatchedAt<T[K], [...Depth, 0]> }

/**
 * `count` inputs of shape `X` with their targets `T` (a tensor `[count, ...]` or a pytree of them).
 *
 * @example
 * ```ts
 * import { Examples } from "@typegrad/train"
 * declare const ex: Examples.Examples<readonly [3], Tensor.Tensor<readonly [number, 2]>>
 * ex.inputs.shape // readonly [number, 3]
 * ```
 */
export interface Examples<X extends Shape, T, D extends DType = "float32"> {
  readonly _tag: "Examples"
  /** The inputs, `[count, ...X]`. */
  readonly inputs: Tensor.Tensor<readonly [number, ...X], D>
  /** The targets: every tensor's first axis has `count` rows. */
  readonly targets: T
  /** The number of examples. */
  readonly count: number
}

/**
 * Examples of any input shape, targets and dtype.
 *
 * @example
 * ```ts
 * import type { Examples } from "@typegrad/train"
 * declare const any: Examples.Any
 * any.count // number
 * ```
 */
export type Any = Examples<ReadonlyArray<number>, Pytree.Pytree, DType>

/**
 * A batch: `inputs` `[size, ...X]` and the targets of the same rows, with the pytree structure of `T`.
 *
 * @example
 * ```ts
 * import type { Examples } from "@typegrad/train"
 * declare const b: Examples.Batch<readonly [3], Tensor.Tensor<readonly [number, 2]>>
 * b.targets.shape // readonly [number, 2]
 * ```
 */
export interface Batch<X extends Shape, T extends Pytree.Pytree, D extends DType = "float32"> {
  readonly inputs: Tensor.Tensor<readonly [number, ...X], D>
  readonly targets: T
  /** The number of examples in this batch. */
  readonly size: number
  /** The position of this batch in its epoch, from 0. */
  readonly index: number
}

/**
 * Builds examples from inputs `[N, ...X]` and targets (a tensor or a pytree of tensors, each `[N, ...]`).
 * Throws a `ShapeError` naming the target whose row count differs from the inputs'. The tensors are not
 * copied; the example axis of the targets' types is widened to `number` (see {@link Batched}).
 *
 * @example
 * ```ts
 * import { Examples } from "@typegrad/train"
 * const ex = Examples.make({ inputs: Tensor.zeros([100, 3]), targets: Tensor.zeros([100, 2]) })
 * ex.count // 100; targets: Tensor<readonly [number, 2]>
 * const twoHeads = Examples.make({
 *   inputs: Tensor.zeros([100, 3]),
 *   targets: { position: Tensor.zeros([100, 2]), label: Tensor.zeros([100, 4]) }
 * })
 * ```
 */
export const make = <const X extends Shape, const T extends object, D extends DType = "float32">(input: {
  readonly inputs: Tensor.Tensor<readonly [number, ...X], D>
  readonly targets: T
}): Examples<X, Batched<T>, D> => {
  const { inputs, targets } = input
  if (inputs.shape.length < 1) {
    throw new ShapeError("Examples.make", "Examples.make: inputs must have a leading example axis, got a scalar")
  }
  const count = inputs.shape[0]
  if (!isTree(targets)) {
    throw new TypeError(
      "Examples.make: targets must be a tensor or nested arrays and plain objects of tensors (a pytree)"
    )
  }
  const leaves = Pytree.paths(targets)
  if (leaves.length === 0) {
    throw new ShapeError("Examples.make", "Examples.make: targets hold no tensor; give a tensor or a pytree of tensors")
  }
  for (const [p, t] of leaves) {
    const name = p === "" ? "targets" : `targets.${p}`
    if (t.shape.length < 1 || t.shape[0] !== count) {
      throw new ShapeError(
        "Examples.make",
        `Examples.make: ${count} inputs but ${name} has shape [${t.shape.join(", ")}]`,
        "; give one target row per input (the first axis counts the examples)"
      )
    }
  }
  return { _tag: "Examples", inputs, targets: widenExampleAxis<Batched<T>>(targets), count }
}

/** True for a tensor, or arrays and plain objects of them. */
const isTree = (u: unknown): u is Pytree.Pytree =>
  Tensor.isTensor(u) ||
  (Array.isArray(u) ? u.every(isTree) : Pytree.isNode(u) && Object.values(u).every(isTree))

/**
 * True for `Examples` (as opposed to a classification `Dataset.Dataset`).
 *
 * @example
 * ```ts
 * import { Examples } from "@typegrad/train"
 * declare const data: unknown
 * if (Examples.isExamples(data)) data.count
 * ```
 */
export const isExamples = (u: unknown): u is Any =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "Examples"

/**
 * One epoch of batches as a `Stream`, in order or (with `shuffle: true`) in a permutation drawn from
 * Effect's `Random` on every run of the stream. The last batch may be smaller.
 *
 * @example
 * ```ts
 * import { Examples } from "@typegrad/train"
 * const ex = Examples.make({ inputs: Tensor.zeros([10, 3]), targets: Tensor.zeros([10, 1]) })
 * const sizes = Stream.runCollect(Stream.map(Examples.batches(ex, { batchSize: 4 }), (b) => b.size)) // [4, 4, 2]
 * ```
 */
export const batches = <X extends Shape, T extends Pytree.Pytree, D extends DType>(
  self: Examples<X, T, D>,
  options: { readonly batchSize: number; readonly shuffle?: boolean }
): Stream.Stream<Batch<X, T, D>> => {
  const { batchSize } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Examples.batches: batchSize must be a positive integer, got ${batchSize}`)
  }
  const n = self.count
  const numBatches = Math.ceil(n / batchSize)
  function* epoch(order: Uint32Array | undefined): Generator<Batch<X, T, D>> {
    for (let b = 0; b < numBatches; b++) {
      const start = b * batchSize
      const end = Math.min(n, start + batchSize)
      yield {
        inputs: rows(self.inputs, order, start, end),
        targets: Pytree.map(self.targets, (t) => rows(t, order, start, end)),
        size: end - start,
        index: b
      }
    }
  }
  return options.shuffle === true
    ? Stream.unwrap(Effect.map(Dataset.permutation(n), (order) => Stream.fromIterable(epoch(order), { chunkSize: 1 })))
    : Stream.suspend(() => Stream.fromIterable(epoch(undefined), { chunkSize: 1 }))
}
