/**
 * Weight initialisers. Each one fills a tensor from a 32-bit seed; the model draws the seeds from
 * Effect's `Random`, so a run is reproducible from one seed.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { allocFilled, unsafeFromData } from "@typegrad/tensor/internal"
import * as Prng from "./internal/prng.ts"

/**
 * An initialiser: a well-known scheme by name, or a function of the fans and a seed.
 *
 * - `"glorotUniform"` (Keras' default): uniform in `±sqrt(6 / (fanIn + fanOut))`
 * - `"heNormal"`: truncated normal with standard deviation `sqrt(2 / fanIn)`
 * - `"heUniform"`: uniform in `±sqrt(6 / fanIn)`
 * - `"zeros"`
 *
 * @example
 * ```ts
 * Layer.dense({ units: 128, kernelInitializer: "heNormal" })
 * ```
 */
export type Initializer =
  | "glorotUniform"
  | "heNormal"
  | "heUniform"
  | "zeros"
  | ((shape: ReadonlyArray<number>, fans: Fans, seed: number) => ArrayLike<number>)

/** Fan-in and fan-out of a kernel (receptive field times input / output channels). */
export interface Fans {
  readonly fanIn: number
  readonly fanOut: number
}

// Standard deviation of a unit normal truncated to [-2, 2], to rescale truncated samples.
const TRUNCATED_STD = 0.8796256610342398

/**
 * Creates a tensor of `shape` (its static type keeps the shape) with an initialiser; the values are a pure
 * function of `seed`.
 *
 * @example
 * ```ts
 * const w = Initializer.create("glorotUniform", [784, 10], { fanIn: 784, fanOut: 10 }, 42, "float32")
 * ```
 */
export const create = <const S extends ReadonlyArray<number>, D extends Tensor.DType>(
  init: Initializer,
  shape: S,
  fans: Fans,
  seed: number,
  dtype: D
): Tensor.Tensor<S, D> => {
  const n = shape.reduce((a, b) => a * b, 1)
  // Where the kernels read it in place when it fits (`allocFilled`); every element is written below.
  const data = allocFilled(dtype, n)
  if (typeof init === "function") {
    const values = init(shape, fans, seed)
    if (values.length !== n) {
      throw new RangeError(
        `initializer: returned ${values.length} values for shape [${shape.join(", ")}] (${n} expected)`
      )
    }
    data.set(values)
  } else {
    switch (init) {
      case "glorotUniform": {
        const limit = Math.sqrt(6 / (fans.fanIn + fans.fanOut))
        Prng.fillUniform(data, seed, -limit, limit)
        break
      }
      case "heUniform": {
        const limit = Math.sqrt(6 / fans.fanIn)
        Prng.fillUniform(data, seed, -limit, limit)
        break
      }
      case "heNormal":
        Prng.fillTruncatedNormal(data, seed, Math.sqrt(2 / fans.fanIn) / TRUNCATED_STD)
        break
      case "zeros":
        data.fill(0)
        break
    }
  }
  return unsafeFromData(data as Tensor.ArrayOf<D>, shape)
}
