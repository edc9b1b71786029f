/**
 * Max and average pooling layers over NHWC input.
 *
 * @since 0.1.0
 */
import { Shape as Rules } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { label } from "../internal/layer.ts"
import { type InputShape, type Layer, type NamedOr, type Rule, RuleTypeId, variance, type Where } from "./layer.ts"

type AnyTensor = Tensor.AnyTensor

/**
 * Configuration of a pooling layer: `padding` is `"valid"` (default), `"same"` or explicit pads as for
 * `conv2d`, each smaller than the pool size (padded cells never win a max and are not counted in an average).
 *
 * @example
 * ```ts
 * const config: Layer.Pool2dConfig = { poolSize: 2, strides: 2, padding: "same" }
 * const stem: Layer.Pool2dConfig = { poolSize: 3, strides: 2, padding: 1 } // ResNet's stem pool
 * ```
 */
export interface Pool2dConfig extends Rules.Pool2dOptions {
  readonly name?: string
}

/**
 * The rule of a pooling layer: `Shape.Pool2d`; no parameters.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Pool2d<"max", { poolSize: 2 }>, readonly [number, 28, 28, 8]>
 * // readonly [number, 14, 14, 8]
 * ```
 */
export interface Pool2dRule<K extends "max" | "avg", C extends Pool2dConfig> extends Rule {
  readonly Label: NamedOr<C, `${K}Pool2d`>
  readonly Out: Rules.Pool2d<InputShape<this>, C, Where<this>>
  readonly Params: never
}

/**
 * A max or average pooling layer.
 *
 * @example
 * ```ts
 * const pool: Layer.Pool2d<"max", { readonly poolSize: 2 }> = Layer.maxPool2d({ poolSize: 2 })
 * ```
 */
export interface Pool2d<K extends "max" | "avg" = "max" | "avg", C extends Pool2dConfig = Pool2dConfig>
  extends Layer<Pool2dRule<K, C>, "Pool2d">
{
  readonly kind: K
  readonly config: C
}

const pool = <K extends "max" | "avg", const C extends Pool2dConfig>(kind: K, config: C): Pool2d<K, C> => ({
  [RuleTypeId]: variance,
  _tag: "Pool2d",
  label: label(config.name ?? `${kind}Pool2d`),
  kind,
  config,
  build: (input, name) => {
    const options: Rules.Pool2dOptions = {
      poolSize: config.poolSize,
      ...(config.strides === undefined ? {} : { strides: config.strides }),
      ...(config.padding === undefined ? {} : { padding: config.padding })
    }
    const outShape = Rules.pool2d(input, options, name)
    const apply = (
      _: unknown,
      x: AnyTensor
    ): AnyTensor => (kind === "max" ? Tensor.maxPool2d(x, options) : Tensor.avgPool2d(x, options))
    return { name, outShape, parameters: 0, init: undefined, apply, applyLogits: apply }
  }
})

/**
 * Max pooling; strides default to the pool size.
 *
 * @example
 * ```ts
 * Layer.maxPool2d({ poolSize: 2 })
 * ```
 */
export const maxPool2d = <const C extends Pool2dConfig>(config: C): Pool2d<"max", C> => pool("max", config)

/**
 * Average pooling; with `"same"` padding each window averages its real cells.
 *
 * @example
 * ```ts
 * Layer.avgPool2d({ poolSize: 2, padding: "same" })
 * ```
 */
export const avgPool2d = <const C extends Pool2dConfig>(config: C): Pool2d<"avg", C> => pool("avg", config)
