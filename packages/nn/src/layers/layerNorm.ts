/**
 * Layer normalisation over the last axis, with a learned scale and bias per feature.
 *
 * @since 0.1.0
 */
import { ShapeError } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import { field, label } from "../internal/layer.ts"
import {
  type InputDType,
  type InputShape,
  type KeepShapeRank2,
  type LastDim,
  type Layer,
  type NamedOr,
  type Rule,
  RuleTypeId,
  variance
} from "./layer.ts"

type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

/**
 * Configuration of a layer normalisation: `epsilon` (default 1e-5, as PyTorch; Keras uses 1e-3) is added
 * to the variance.
 *
 * @example
 * ```ts
 * const config: Layer.LayerNormConfig = { epsilon: 1e-6 }
 * ```
 */
export interface LayerNormConfig {
  readonly epsilon?: number
  readonly name?: string
}

/**
 * Parameters of a layer normalisation: `scale` (starts at 1) and `bias` (starts at 0), one per feature of
 * the last axis (Flax's names; PyTorch's `weight` and `bias`, Keras' `gamma` and `beta`).
 *
 * @example
 * ```ts
 * type P = Layer.LayerNormParams<64, "float32"> // { scale: Tensor<readonly [64]>, bias: Tensor<readonly [64]> }
 * ```
 */
export type LayerNormParams<C extends number, D extends DType> = {
  readonly scale: Tensor.Tensor<readonly [C], D>
  readonly bias: Tensor.Tensor<readonly [C], D>
}

/**
 * The rule of a layer normalisation: the shape is kept (rank 2 or more); parameters sized by the last axis.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.LayerNorm, readonly [number, 16, 64]> // readonly [number, 16, 64]
 * ```
 */
export interface LayerNormRule<C extends LayerNormConfig> extends Rule {
  readonly Label: NamedOr<C, "layerNorm">
  readonly Out: KeepShapeRank2<this, "features">
  readonly Params: LayerNormParams<LastDim<InputShape<this>>, InputDType<this>>
}

/**
 * A layer normalisation.
 *
 * @example
 * ```ts
 * const norm: Layer.LayerNorm<{}> = Layer.layerNorm()
 * ```
 */
export interface LayerNorm<C extends LayerNormConfig = LayerNormConfig> extends Layer<LayerNormRule<C>, "LayerNorm"> {
  readonly config: C
}

/**
 * Layer normalisation (Ba, Kiros and Hinton, 2016): `scale * (x - mean) / sqrt(variance + epsilon) + bias`,
 * the mean and (biased) variance taken over the last axis of each example (`nn.LayerNorm(features)` in
 * PyTorch, `LayerNormalization(axis=-1)` in Keras; on NHWC images that is over the channels of each pixel).
 *
 * @example
 * ```ts
 * const model = Model.input([10, 32]).add(Layer.layerNorm()).add(Layer.flatten()).add(Layer.dense({ units: 4 }))
 * ```
 */
export const layerNorm = <const C extends LayerNormConfig = {}>(config?: C): LayerNorm<C> => {
  const c = (config ?? {}) as C
  const epsilon = c.epsilon ?? 1e-5
  if (!(epsilon > 0 && Number.isFinite(epsilon))) {
    throw new RangeError(`layerNorm: epsilon must be a positive number, got ${epsilon}`)
  }
  return {
    [RuleTypeId]: variance,
    _tag: "LayerNorm",
    label: label(c.name ?? "layerNorm"),
    config: c,
    build: (input, name) => {
      if (input.length < 2) {
        throw new ShapeError(
          name,
          `${name}: expected input of rank 2 or more [batch, ..., features], got [${input.join(", ")}]`
        )
      }
      const features = input[input.length - 1]!
      const apply = (p: Pytree.Pytree | undefined, x: AnyTensor): AnyTensor => {
        const scale = field(p, "scale")
        const bias = field(p, "bias")
        if (!Tensor.isTensor(scale) || !Tensor.isTensor(bias)) {
          throw new TypeError(`${name}: its params must be { scale, bias } tensors; use model.init`)
        }
        return normalise(x, scale, bias, epsilon)
      }
      return {
        name,
        outShape: input,
        parameters: 2 * features,
        init: (_, dtype) => ({ scale: Tensor.ones([features], { dtype }), bias: Tensor.zeros([features], { dtype }) }),
        apply,
        applyLogits: apply,
        trace: () => undefined
      }
    }
  }
}

/** `scale * (x - mean) / sqrt(variance + epsilon) + bias` over the last axis. @internal */
const normalise = (x: AnyTensor, scale: AnyTensor, bias: AnyTensor, epsilon: number): AnyTensor => {
  const centred = Tensor.sub(x, Tensor.mean(x, { axis: -1, keepDims: true }))
  const v = Tensor.mean(Tensor.square(centred), { axis: -1, keepDims: true })
  return Tensor.add(Tensor.mul(Tensor.div(centred, Tensor.sqrt(Tensor.add(v, epsilon))), scale), bias)
}
