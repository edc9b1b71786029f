/**
 * Global average and max pooling over NHWC input: `[N, H, W, C] -> [N, C]`.
 *
 * @since 0.1.0
 */
import { type Shape as Rules, ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { label } from "../internal/layer.ts"
import { type InputShape, type Invalid, type Layer, type Rule, RuleTypeId, variance } from "./layer.ts"

type Shape = Rules.Shape
type AnyTensor = Tensor.AnyTensor

type GlobalOut<S extends Shape, R extends Rule> = number extends S["length"] ? readonly [number, number]
  : S extends readonly [infer N extends number, number, number, infer C extends number] ? readonly [N, C]
  : Invalid<R, `expected input of rank 4 [N, H, W, C], got ${Rules.Show<S>}`>

/**
 * The rule of a global pooling layer: `[N, H, W, C] -> [N, C]`; no parameters.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.GlobalPool2d<"avg">, readonly [number, 7, 7, 64]> // readonly [number, 64]
 * ```
 */
export interface GlobalPool2dRule<K extends "max" | "avg"> extends Rule {
  readonly Label: `global${K extends "max" ? "Max" : "Avg"}Pool2d`
  readonly Out: GlobalOut<InputShape<this>, this>
  readonly Params: never
}

/**
 * A global average or max pooling layer.
 *
 * @example
 * ```ts
 * const pool: Layer.GlobalPool2d<"avg"> = Layer.globalAvgPool2d()
 * ```
 */
export interface GlobalPool2d<K extends "max" | "avg" = "max" | "avg">
  extends Layer<GlobalPool2dRule<K>, "GlobalPool2d">
{
  readonly kind: K
}

const globalPool = <K extends "max" | "avg">(kind: K): GlobalPool2d<K> => ({
  [RuleTypeId]: variance,
  _tag: "GlobalPool2d",
  label: label(kind === "max" ? "globalMaxPool2d" : "globalAvgPool2d"),
  kind,
  build: (input, name) => {
    if (input.length !== 4) {
      throw new ShapeError(name, `${name}: expected input of rank 4 [N, H, W, C], got [${input.join(", ")}]`)
    }
    const apply = (_: unknown, x: AnyTensor): AnyTensor =>
      kind === "max" ? Tensor.max(x, { axis: [1, 2] }) : Tensor.mean(x, { axis: [1, 2] })
    return { name, outShape: [input[0]!, input[3]!], parameters: 0, init: undefined, apply, applyLogits: apply }
  }
})

/**
 * The mean of each channel over the spatial axes: `[N, H, W, C] -> [N, C]` (Keras' `GlobalAveragePooling2D`,
 * PyTorch's `AdaptiveAvgPool2d(1)` then `flatten`), the usual head of a ResNet.
 *
 * @example
 * ```ts
 * const model = Model.input([8, 8, 3])
 *   .add(Layer.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }))
 *   .add(Layer.globalAvgPool2d()) // [number, 16]
 *   .add(Layer.dense({ units: 10 }))
 * ```
 */
export const globalAvgPool2d = (): GlobalPool2d<"avg"> => globalPool("avg")

/**
 * The maximum of each channel over the spatial axes: `[N, H, W, C] -> [N, C]`. The gradient goes to the
 * first maximum of each channel (as `Tensor.max` sends it).
 *
 * @example
 * ```ts
 * const model = Model.input([8, 8, 3]).add(Layer.globalMaxPool2d()) // output [number, 3]
 * ```
 */
export const globalMaxPool2d = (): GlobalPool2d<"max"> => globalPool("max")
