/**
 * A user's library module that exports a model without importing `Tensor` itself: its declaration emit
 * must be able to name the tensor types through the packages' exports (no TS2742 / TS2883 "cannot be
 * named"). tests/consumer.test.ts emits its `.d.ts` against the installed packages.
 */
import { Layer, Model } from "@typegrad/nn"
import { Effect, Random } from "effect"

/** A small classifier on 8x8 single-channel images. */
export const classifier = Model.input([8, 8, 1])
  .add(Layer.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 3 }))

/** Its parameters, initialised from a seed. */
export const initialParams = (seed: number) => Effect.runSync(classifier.init.pipe(Random.withSeed(seed)))
