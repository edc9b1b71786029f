/**
 * Layers: plain values that describe a transformation (`Layer.conv2d({ filters: 24, kernelSize: 2 })`).
 *
 * A layer does not know its input shape until it is added to a model; the model then computes the
 * output shape at compile time with `Layer.Output<L, S>` (the rules of `@typegrad/shape`) and the typed
 * parameter pytree with `Layer.Params<L, S, D>`. Both read the layer's own type-level `Rule`, so each layer
 * is one module under `layers/` holding its rule, its runtime build and its label. Layers are data, so
 * combinators (`residual`, `parallel`, `sequential`) can compute the shapes of their branches too.
 *
 * @since 0.1.0
 */
import type { Nat } from "@typegrad/shape"

export * from "./layers/activation.ts"
export * from "./layers/add.ts"
export * from "./layers/batchNorm.ts"
export type { AppendParams } from "./layers/chain.ts"
export * from "./layers/conv1d.ts"
export * from "./layers/conv2d.ts"
export * from "./layers/conv2dTranspose.ts"
export * from "./layers/dense.ts"
export * from "./layers/depthwiseConv2d.ts"
export * from "./layers/dropout.ts"
export * from "./layers/embedding.ts"
export * from "./layers/flatten.ts"
export * from "./layers/gelu.ts"
export * from "./layers/globalPool2d.ts"
export * from "./layers/layer.ts"
export * from "./layers/layerNorm.ts"
export * from "./layers/leakyRelu.ts"
export * from "./layers/make.ts"
export * from "./layers/parallel.ts"
export * from "./layers/pool2d.ts"
export * from "./layers/residual.ts"
export * from "./layers/sequential.ts"

/** @internal the type-level counter of layers, re-exported for `Model`. */
export type Next<N extends number> = Nat.Add<N, 1>
