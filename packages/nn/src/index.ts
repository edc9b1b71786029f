/**
 * `@typegrad/nn`: layers, models, initialisers, losses and metrics with shapes in the types.
 *
 * @example
 * ```ts
 * import { Layer, Model } from "@typegrad/nn"
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10, activation: "softmax" }))
 * ```
 *
 * @since 0.1.0
 */
export * as Initializer from "./Initializer.ts"
export * as Layer from "./Layer.ts"
export * as Loss from "./Loss.ts"
export * as Metric from "./Metric.ts"
export * as Model from "./Model.ts"
/**
 * Reference models (the classic Keras MNIST CNN), defined once for the CLI, the benchmarks and the tests.
 *
 * @example
 * ```ts
 * import { Reference } from "@typegrad/nn"
 * const out = Reference.mnistCnn.outputShape // [-1, 10]
 * ```
 *
 * @since 0.1.0
 */
export * as Reference from "./Reference.ts"
/**
 * `Seed.derive(seed, stream)`: the one seed mixer for independent random streams (layers, steps, epochs).
 *
 * @example
 * ```ts
 * import { Seed } from "@typegrad/nn"
 * const stepSeed = Seed.derive(42, 7)
 * ```
 *
 * @since 0.1.0
 */
export * as Seed from "./Seed.ts"
