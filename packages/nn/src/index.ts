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
export * as Seed from "./Seed.ts"
