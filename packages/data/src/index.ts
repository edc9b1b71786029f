/**
 * `@typegrad/data`: datasets as typed tensors (MNIST from IDX files, CIFAR-10 binary batches), and their
 * batches as Effect `Stream`s with shuffling seeded through Effect's `Random`.
 *
 * @example
 * ```ts
 * import { Effect, Random, Stream } from "effect"
 * import { Dataset, Mnist } from "@typegrad/data"
 *
 * const program = Effect.gen(function*() {
 *   const train = yield* Mnist.load({ split: "train" })
 *   return yield* Dataset.batches(train, { batchSize: 64, shuffle: true }).pipe(Stream.runCount)
 * }).pipe(Random.withSeed(7))
 * ```
 *
 * @since 0.1.0
 */
export * as Augment from "./Augment.ts"
export * as Cifar10 from "./Cifar10.ts"
export * as Dataset from "./Dataset.ts"
export { DatasetFileError } from "./DatasetError.ts"
export * as Idx from "./Idx.ts"
export * as Mnist from "./Mnist.ts"
