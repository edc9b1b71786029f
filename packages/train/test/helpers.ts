import { Pytree } from "@typegrad/autodiff"
import { Dataset, Mnist } from "@typegrad/data"
import { Layer, Model } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"
import { Effect, Result } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect } from "vitest"

/** A fresh temp directory per call, all removed after the file's tests. */
export const tempDirs = (prefix: string): () => string => {
  const made: Array<string> = []
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true })
  })
  return () => {
    const d = mkdtempSync(join(tmpdir(), `typegrad-${prefix}-`))
    made.push(d)
    return d
  }
}

/** Runs `effect` and returns its failure (it must fail, not die). */
export const failureOf = async <A, E>(effect: Effect.Effect<A, E>): Promise<E> => {
  const r = await Effect.runPromise(Effect.result(effect))
  if (Result.isSuccess(r)) throw new Error("expected a failure, got a success")
  return r.failure
}

/** The raw bytes of every leaf of a pytree, in leaf order: equal bytes mean bitwise equal parameters. */
export const bitsOf = (tree: Pytree.Pytree): Array<Uint8Array> =>
  Pytree.leaves(tree).map((t) => {
    const d = Tensor.toArray(t)
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
  })

/** Asserts two parameter pytrees are bitwise identical (same leaves, shapes and bytes). */
export const expectBitwiseEqual = (a: Pytree.Pytree, b: Pytree.Pytree): void => {
  const la = Pytree.paths(a)
  const lb = Pytree.paths(b)
  expect(la.map(([p, t]) => [p, [...t.shape]])).toEqual(lb.map(([p, t]) => [p, [...t.shape]]))
  const ba = bitsOf(a)
  const bb = bitsOf(b)
  ba.forEach((x, i) => {
    expect(Buffer.compare(Buffer.from(x), Buffer.from(bb[i]!)), `leaf ${la[i]![0]} differs`).toBe(0)
  })
}

/** True when some leaf differs in at least one bit. */
export const differ = (a: Pytree.Pytree, b: Pytree.Pytree): boolean => {
  const ba = bitsOf(a)
  const bb = bitsOf(b)
  return ba.some((x, i) => Buffer.compare(Buffer.from(x), Buffer.from(bb[i]!)) !== 0)
}

/** A small dense classifier for MNIST (with dropout, so the per-step dropout seeds matter). */
export const denseModel = Model.input([28, 28, 1])
  .add(Layer.flatten())
  .add(Layer.dense({ units: 32, activation: "relu" }))
  .add(Layer.dropout(0.25))
  .add(Layer.dense({ units: 10, activation: "softmax" }))

/** A tiny dense classifier (fast, for checkpoint/resume mechanics). */
export const tinyModel = Model.input([28, 28, 1])
  .add(Layer.flatten())
  .add(Layer.dense({ units: 16, activation: "relu" }))
  .add(Layer.dropout(0.5))
  .add(Layer.dense({ units: 10 }))

/** A small CNN for MNIST. */
export const smallCnn = Model.input([28, 28, 1])
  .add(Layer.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: "relu" }))
  .add(Layer.maxPool2d({ poolSize: 2 }))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 10, activation: "softmax" }))

/** The first `limit` MNIST training images, split into train and validation with a fixed seed. */
export const mnistSlice = (limit: number, validation: number) =>
  Effect.gen(function*() {
    const all = yield* Mnist.load({ split: "train", limit })
    return yield* Dataset.split(all, { validation, seed: 7 })
  })
