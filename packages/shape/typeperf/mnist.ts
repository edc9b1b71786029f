// The classic Keras MNIST CNN, with an unknown (`number`) batch and with a literal batch.
import type { Shape, Types } from "../src/index.ts"
import { conv, dense, flatten, input, maxPool, reshape, type T } from "./api.ts"

// as a chain of type-level rules
type Cnn<X extends Shape.Shape> = Shape.Conv2d<X, [2, 2, 1, 24], { padding: "same" }> extends
  infer A extends Shape.Shape
  ? Shape.Pool2d<A, { poolSize: 2 }> extends infer B extends Shape.Shape
    ? Shape.Conv2d<B, [2, 2, 24, 48], { padding: "same" }> extends infer C extends Shape.Shape
      ? Shape.Pool2d<C, { poolSize: 2 }> extends infer D extends Shape.Shape
        ? Shape.Flatten<D> extends infer E extends Shape.Shape
          ? Shape.Matmul<E, [2352, 512]> extends infer F extends Shape.Shape
            ? Shape.Matmul<F, [512, 128]> extends infer G extends Shape.Shape ? Shape.Matmul<G, [128, 10]> : never
          : never
        : never
      : never
    : never
  : never
  : never
export const typeLevelDynamic: Cnn<[number, 28, 28, 1]> = [0, 10] as readonly [number, 10]
export const typeLevelStatic: Cnn<[60000, 28, 28, 1]> = [60000, 10] as const

// as calls
const model = <X extends Shape.Shape>(x: T<X>) => x
declare const images: T<readonly [number, 784]>
const x = reshape(images, [-1, 28, 28, 1])
const a = maxPool(conv(x, [2, 2, 1, 24], { padding: "same" }), { poolSize: 2 })
const b = maxPool(conv(a, [2, 2, 24, 48], { padding: "same" }), { poolSize: 2 })
const c = dense(dense(dense(flatten(b), [2352, 512]), [512, 128]), [128, 10])
export const dynamicBatch: T<readonly [number, 10]> = model(c)

const xs = input([128, 28, 28, 1])
const as = maxPool(conv(xs, [2, 2, 1, 24], { padding: "same" }), { poolSize: 2 })
const bs = maxPool(conv(as, [2, 2, 24, 48], { padding: "same" }), { poolSize: 2 })
export const staticBatch: T<readonly [128, 10]> = dense(dense(dense(flatten(bs), [2352, 512]), [512, 128]), [128, 10])

export const exact: [
  Types.Equal<Cnn<[number, 28, 28, 1]>, readonly [number, 10]>,
  Types.Equal<Cnn<[60000, 28, 28, 1]>, readonly [60000, 10]>,
  Types.Equal<typeof c, T<readonly [number, 10]>>
] = [true, true, true]
