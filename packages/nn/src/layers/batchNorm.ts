/**
 * Batch normalisation over all axes but the last (the features or channels), with learned scale and bias
 * and running statistics kept as explicit model state.
 *
 * @since 0.1.0
 */
import { ShapeError } from "@typegrad/shape"
import { Pytree, Tensor } from "@typegrad/tensor"
import { field, label } from "../internal/layer.ts"
import {
  type ApplyContext,
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
 * Configuration of a batch normalisation: `momentum` of the running statistics (default 0.99, Keras' and
 * Flax's convention: `running = momentum * running + (1 - momentum) * batch`; PyTorch's `momentum=0.1` is
 * 0.9 here) and `epsilon` added to the variance (default 1e-5, as PyTorch and Flax).
 *
 * @example
 * ```ts
 * const config: Layer.BatchNormConfig = { momentum: 0.9, epsilon: 1e-5 }
 * ```
 */
export interface BatchNormConfig {
  readonly momentum?: number
  readonly epsilon?: number
  readonly name?: string
}

/**
 * Parameters of a batch normalisation: `scale` (starts at 1) and `bias` (starts at 0), one per channel.
 *
 * @example
 * ```ts
 * type P = Layer.BatchNormParams<16, "float32"> // { scale: Tensor<readonly [16]>, bias: Tensor<readonly [16]> }
 * ```
 */
export type BatchNormParams<C extends number, D extends DType> = {
  readonly scale: Tensor.Tensor<readonly [C], D>
  readonly bias: Tensor.Tensor<readonly [C], D>
}

/**
 * The state of a batch normalisation: the running `mean` and (biased) `variance` of each channel, starting
 * at 0 and 1. An entry of the model state (`model.initState`, `model.applyWithState`), not a parameter.
 *
 * @example
 * ```ts
 * type S = Layer.BatchNormState<16, "float32"> // { mean: Tensor<readonly [16]>, variance: Tensor<readonly [16]> }
 * ```
 */
export type BatchNormState<C extends number, D extends DType> = {
  readonly mean: Tensor.Tensor<readonly [C], D>
  readonly variance: Tensor.Tensor<readonly [C], D>
}

/**
 * The rule of a batch normalisation: the shape is kept (rank 2 or more); parameters sized by the last axis.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.BatchNorm, readonly [number, 8, 8, 16]> // readonly [number, 8, 8, 16]
 * ```
 */
export interface BatchNormRule<C extends BatchNormConfig> extends Rule {
  readonly Label: NamedOr<C, "batchNorm">
  readonly Out: KeepShapeRank2<this, "channels">
  readonly Params: BatchNormParams<LastDim<InputShape<this>>, InputDType<this>>
}

/**
 * A batch normalisation layer.
 *
 * @example
 * ```ts
 * const norm: Layer.BatchNorm<{}> = Layer.batchNorm()
 * ```
 */
export interface BatchNorm<C extends BatchNormConfig = BatchNormConfig> extends Layer<BatchNormRule<C>, "BatchNorm"> {
  readonly config: C
}

/** A fresh tensor with `t`'s values: state leaves no trace of the forward pass that computed it. */
const detach = (t: AnyTensor): AnyTensor => Tensor.fromArray(Tensor.toArray(t), t.shape, { dtype: t.dtype })

/**
 * Batch normalisation (Ioffe and Szegedy, 2015) over every axis but the last: `[N, C]` features or NHWC
 * images (`BatchNorm1d`/`BatchNorm2d` in PyTorch, `BatchNormalization()` in Keras). In training
 * (`{ training: true }`) each channel is normalised with the mean and biased variance of the batch, then
 * `scale * x_hat + bias`; the running statistics move towards the batch's by `1 - momentum` (the running
 * variance towards the batch's biased variance, as Keras and Flax do; PyTorch uses the unbiased one there,
 * `n / (n - 1)` times larger). At inference the running statistics are used instead.
 *
 * The running statistics are model state, not parameters and not hidden mutation: `model.initState` holds
 * their initial values (mean 0, variance 1, keyed by layer name), `model.applyWithState(params, state, x,
 * options)` returns the output and the next state, and `model.apply(params, x, { state })` or
 * `Model.predict(model, params, x, { state })` run inference with them. Inference without a state is an
 * error naming the layer.
 *
 * @example
 * ```ts
 * import { Effect, Random } from "effect"
 *
 * declare const x: Tensor.Tensor<readonly [32, 8, 8, 3]>
 * const model = Model.input([8, 8, 3])
 *   .add(Layer.conv2d({ filters: 16, kernelSize: 3, padding: "same", useBias: false }))
 *   .add(Layer.batchNorm())
 *   .add(Layer.relu())
 *   .add(Layer.globalAvgPool2d())
 *   .add(Layer.dense({ units: 10 }))
 * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
 * const [y, state] = model.applyWithState(params, model.initState, x, { training: true }) // batch statistics
 * const predictions = model.apply(params, x, { state }) // running statistics
 * ```
 */
export const batchNorm = <const C extends BatchNormConfig = {}>(config?: C): BatchNorm<C> => {
  const c = (config ?? {}) as C
  const momentum = c.momentum ?? 0.99
  const epsilon = c.epsilon ?? 1e-5
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`batchNorm: momentum must be in [0, 1), got ${momentum}`)
  if (!(epsilon > 0 && Number.isFinite(epsilon))) {
    throw new RangeError(`batchNorm: epsilon must be a positive number, got ${epsilon}`)
  }
  return {
    [RuleTypeId]: variance,
    _tag: "BatchNorm",
    label: label(c.name ?? "batchNorm"),
    config: c,
    build: (input, name) => {
      if (input.length < 2) {
        throw new ShapeError(
          name,
          `${name}: expected input of rank 2 or more [batch, ..., channels], got [${input.join(", ")}]`
        )
      }
      const channels = input[input.length - 1]!
      const axes = input.slice(0, -1).map((_, i) => i)
      const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
        const scale = field(p, "scale")
        const bias = field(p, "bias")
        if (!Tensor.isTensor(scale) || !Tensor.isTensor(bias)) {
          throw new TypeError(`${name}: its params must be { scale, bias } tensors; use model.init`)
        }
        let mean: AnyTensor
        let v: AnyTensor
        if (ctx.training) {
          mean = Tensor.mean(x, { axis: axes })
          v = Tensor.mean(Tensor.square(Tensor.sub(x, mean)), { axis: axes })
          const running = ctx.state?.get(name)
          if (ctx.state !== undefined && running !== undefined) {
            const [m0, v0] = runningOf(name, running, channels, x.dtype)
            ctx.state.set(name, {
              mean: detach(Tensor.add(Tensor.mul(m0, momentum), Tensor.mul(mean, 1 - momentum))),
              variance: detach(Tensor.add(Tensor.mul(v0, momentum), Tensor.mul(v, 1 - momentum)))
            })
          }
        } else {
          const running = ctx.state?.get(name)
          if (running === undefined) {
            throw new TypeError(
              `${name}: inference uses the running statistics, which are model state: pass { state } (model.initState, then the state model.applyWithState returns in training), or { training: true } for batch statistics`
            )
          }
          ;[mean, v] = runningOf(name, running, channels, x.dtype)
        }
        const normalised = Tensor.div(Tensor.sub(x, mean), Tensor.sqrt(Tensor.add(v, epsilon)))
        return Tensor.add(Tensor.mul(normalised, scale), bias)
      }
      return {
        name,
        outShape: input,
        parameters: 2 * channels,
        init: (_, dtype) => ({ scale: Tensor.ones([channels], { dtype }), bias: Tensor.zeros([channels], { dtype }) }),
        apply,
        applyLogits: apply,
        trace: () => undefined,
        states: (dtype) => [[name, {
          mean: Tensor.zeros([channels], { dtype }),
          variance: Tensor.ones([channels], { dtype })
        }]]
      }
    }
  }
}

/** The running mean and variance of a state entry, checked. */
const runningOf = (
  name: string,
  s: Pytree.Pytree,
  channels: number,
  dtype: DType
): readonly [AnyTensor, AnyTensor] => {
  const mean = field(s, "mean")
  const v = field(s, "variance")
  const ok = (t: AnyTensor | undefined): t is AnyTensor =>
    Tensor.isTensor(t) && t.dtype === dtype && t.shape.length === 1 && t.shape[0] === channels
  if (!ok(mean) || !ok(v) || !Pytree.isNode(s)) {
    throw new TypeError(
      `${name}: its state must be { mean, variance } ${dtype} tensors of shape [${channels}]; use model.initState`
    )
  }
  return [mean, v]
}
