/**
 * Inverted dropout, active only in training.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { unsafeFromData } from "@typegrad/tensor/internal"
import * as Prng from "../internal/prng.ts"
import { type ApplyContext, type InputShape, type Layer, type Rule, RuleTypeId, variance } from "./layer.ts"

type AnyTensor = Tensor.AnyTensor

/**
 * The rule of a dropout layer: the shape is kept; the label shows the rate.
 *
 * @example
 * ```ts
 * type L = Layer.Label<Layer.Dropout<0.5>, 7> // "layer 7 dropout(0.5)"
 * ```
 */
export interface DropoutRule<R extends number> extends Rule {
  readonly Label: `dropout(${R})`
  readonly Out: InputShape<this>
  readonly Params: never
}

/**
 * Inverted dropout, active only in training.
 *
 * @example
 * ```ts
 * const drop: Layer.Dropout<0.5> = Layer.dropout(0.5)
 * ```
 */
export interface Dropout<R extends number = number> extends Layer<DropoutRule<R>, "Dropout"> {
  readonly rate: R
}

/**
 * Inverted dropout: in training each entry is zeroed with probability `rate` and the rest scaled by
 * `1 / (1 - rate)`; the identity otherwise. The mask is drawn from the forward pass's seed, so a seeded
 * run is reproducible.
 *
 * @example
 * ```ts
 * Layer.dropout(0.5)
 * ```
 */
export const dropout = <const R extends number>(rate: R): Dropout<R> => {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`)
  }
  return {
    [RuleTypeId]: variance,
    _tag: "Dropout",
    label: `dropout(${rate})` as const,
    rate,
    build: (input, name, stream) => {
      const apply = (_: unknown, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
        if (!ctx.training || rate === 0) return x
        const mask = x.dtype === "float64" ? new Float64Array(x.size) : new Float32Array(x.size)
        Prng.fillDropoutMask(mask, Prng.derive(ctx.seed, stream), rate)
        return Tensor.mul(x, unsafeFromData(mask, x.shape))
      }
      return { name, outShape: input, parameters: 0, init: undefined, apply, applyLogits: apply }
    }
  }
}
