/**
 * An embedding table: integer ids (held in a float tensor, as `Tensor.oneHot` and `Tensor.gather` take
 * them) to learned vectors.
 *
 * @since 0.1.0
 */
import { type Shape as Rules, ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import * as Init from "../Initializer.ts"
import { field, label, positiveInt } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import { type InputDType, type InputShape, type Layer, type NamedOr, type Rule, RuleTypeId, variance } from "./layer.ts"

type Shape = Rules.Shape
type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

/**
 * Configuration of an embedding: `inputDim` ids (0 to `inputDim - 1`), each mapped to a vector of
 * `outputDim` entries. The table starts uniform in [-0.05, 0.05] (Keras' default) unless
 * `embeddingsInitializer` says otherwise.
 *
 * @example
 * ```ts
 * const config: Layer.EmbeddingConfig = { inputDim: 1000, outputDim: 64 }
 * ```
 */
export interface EmbeddingConfig {
  readonly inputDim: number
  readonly outputDim: number
  readonly embeddingsInitializer?: Init.Initializer
  readonly name?: string
}

/**
 * Parameters of an embedding: the table `embeddings` `[inputDim, outputDim]`.
 *
 * @example
 * ```ts
 * type P = Layer.EmbeddingParams<1000, 64, "float32"> // { embeddings: Tensor<readonly [1000, 64]> }
 * ```
 */
export type EmbeddingParams<V extends number, E extends number, D extends DType> = {
  readonly embeddings: Tensor.Tensor<readonly [V, E], D>
}

type EmbeddingOut<S extends Shape, E extends number> = number extends S["length"] ? ReadonlyArray<number>
  : readonly [...S, E]

/**
 * The rule of an embedding: `[B, ...ids] -> [B, ...ids, outputDim]`, with an `[inputDim, outputDim]` table.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Embedding<{ inputDim: 100; outputDim: 8 }>, readonly [number, 12]>
 * // readonly [number, 12, 8]
 * ```
 */
export interface EmbeddingRule<C extends EmbeddingConfig> extends Rule {
  readonly Label: NamedOr<C, `embedding(${C["inputDim"]}, ${C["outputDim"]})`>
  readonly Out: EmbeddingOut<InputShape<this>, C["outputDim"]>
  readonly Params: EmbeddingParams<C["inputDim"], C["outputDim"], InputDType<this>>
}

/**
 * An embedding layer.
 *
 * @example
 * ```ts
 * const embed: Layer.Embedding<{ readonly inputDim: 100; readonly outputDim: 8 }> = Layer.embedding({ inputDim: 100, outputDim: 8 })
 * ```
 */
export interface Embedding<C extends EmbeddingConfig = EmbeddingConfig> extends Layer<EmbeddingRule<C>, "Embedding"> {
  readonly config: C
}

const uniform = (shape: ReadonlyArray<number>, _: Init.Fans, seed: number): Float64Array => {
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1))
  Prng.fillUniform(out, seed, -0.05, 0.05)
  return out
}

/**
 * A lookup table (`nn.Embedding` in PyTorch, `Embedding` in Keras): each id `i` of the input becomes row
 * `i` of the learned table, so `[B, T]` ids give `[B, T, outputDim]`. Ids are integer values in a float
 * tensor of the model's dtype; one that is not an integer in `[0, inputDim)` is a `ShapeError` naming the
 * layer. The table's gradient adds each row's cotangents (`Tensor.gather`'s rule, a `scatterAdd`); the ids
 * get none.
 *
 * @example
 * ```ts
 * const model = Model.input([12])
 *   .add(Layer.embedding({ inputDim: 100, outputDim: 8 }))
 *   .add(Layer.flatten())
 *   .add(Layer.dense({ units: 2 })) // output [number, 2]
 * ```
 */
export const embedding = <const C extends EmbeddingConfig>(config: C): Embedding<C> => ({
  [RuleTypeId]: variance,
  _tag: "Embedding",
  label: label(config.name ?? `embedding(${config.inputDim}, ${config.outputDim})`),
  config,
  build: (input, name, stream) => {
    positiveInt(name, "inputDim", config.inputDim)
    positiveInt(name, "outputDim", config.outputDim)
    const v = config.inputDim
    const e = config.outputDim
    const apply = (p: Pytree.Pytree | undefined, x: AnyTensor): AnyTensor => {
      const table = field(p, "embeddings")
      if (!Tensor.isTensor(table)) throw new TypeError(`${name}: its params must be { embeddings }; use model.init`)
      const ids = Tensor.toArray(x)
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!
        if (!(Number.isInteger(id) && id >= 0 && id < v)) {
          throw new ShapeError(
            name,
            `${name}: id ${id} at flat position ${i} of input [${
              x.shape.join(", ")
            }] is not an integer in [0, ${v}); ids index a table of ${v} rows`
          )
        }
      }
      return Tensor.gather(table, x, { axis: 0 })
    }
    return {
      name,
      outShape: [...input, e],
      parameters: v * e,
      init: (seed, dtype) => ({
        embeddings: Init.create(
          config.embeddingsInitializer ?? uniform,
          [v, e],
          { fanIn: v, fanOut: e },
          Prng.derive(seed, stream),
          dtype
        )
      }),
      apply,
      applyLogits: apply,
      trace: () => undefined
    }
  }
})
