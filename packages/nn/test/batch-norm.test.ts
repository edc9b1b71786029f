// Batch normalisation: batch statistics in training, running statistics (explicit model state threaded by
// `applyWithState`, never mutated) at inference; values against a direct computation with PyTorch's
// conventions, the state inside blocks, gradients (checkGrads, float64, second order) and the errors.
import { valueAndGradAux } from "@typegrad/autodiff"
import { Layer, Loss, Model } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { checkGrads } from "@typegrad/testing"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const assert = <T extends true>(_?: T): void => {}
const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(5)))
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))
const f64 = { dtype: "float64" } as const
const wave = (n: number, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(k * i + 0.3) * 1.7 + 0.4)
const expectClose = (got: ReadonlyArray<number>, want: ReadonlyArray<number>, digits = 12) => {
  expect(got.length).toBe(want.length)
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits))
}
/** Per-channel mean and biased variance of NHWC (or [N, C]) data with `c` channels. */
const stats = (data: ReadonlyArray<number>, c: number) => {
  const n = data.length / c
  const mean = Array.from({ length: c }, (_, k) => data.filter((__, i) => i % c === k).reduce((a, b) => a + b, 0) / n)
  const v = Array.from(
    { length: c },
    (_, k) => data.filter((__, i) => i % c === k).reduce((a, b) => a + (b - mean[k]!) ** 2, 0) / n
  )
  return { mean, v }
}

const cnn = Model.input([4, 4, 3])
  .add(Layer.conv2d({ filters: 2, kernelSize: 3, padding: "same", useBias: false }))
  .add(Layer.batchNorm({ momentum: 0.9 }))
  .add(Layer.relu())
  .add(Layer.residual(Layer.conv2d({ filters: 2, kernelSize: 1 }), Layer.batchNorm()))
  .add(Layer.globalAvgPool2d())
  .add(Layer.dense({ units: 3 }))

assert<Types.Equal<ReturnType<typeof cnn.apply>, Tensor.Tensor<readonly [number, 3]>>>()
assert<
  Types.Equal<
    Model.ParamsOf<typeof cnn>[1],
    { readonly scale: Tensor.Tensor<readonly [2]>; readonly bias: Tensor.Tensor<readonly [2]> }
  >
>()
assert<Types.Equal<Layer.Output<Layer.BatchNorm<{}>, readonly [number, 5]>, readonly [number, 5]>>()
assert<Types.Equal<Layer.Label<Layer.BatchNorm<{}>, 2>, "layer 2 batchNorm">>()
assert<Types.Equal<Layer.Label<Layer.BatchNorm<{ name: "bn1" }>, 2>, "layer 2 bn1">>()
assert<
  Types.Equal<ReturnType<typeof cnn.applyWithState>, readonly [Tensor.Tensor<readonly [number, 3]>, Model.State]>
>()

describe("batchNorm", () => {
  it("its state: one entry per batch normalisation, inside blocks too, mean 0 and variance 1", () => {
    expect(Object.keys(cnn.initState)).toEqual(["layer 2 batchNorm", "layer 4 residual.1 batchnorm"])
    const s = cnn.initState["layer 2 batchNorm"] as Layer.BatchNormState<2, "float32">
    expect([values(s.mean), values(s.variance)]).toEqual([[0, 0], [1, 1]])
    expect(cnn.layers.map((l) => [l.label, l.parameters])).toEqual([
      ["layer 1 conv2d(2)", 54],
      ["layer 2 batchNorm", 4],
      ["layer 3 relu", 0],
      ["layer 4 residual", 6 + 4],
      ["layer 5 globalAvgPool2d", 0],
      ["layer 6 dense(3)", 9]
    ])
    expect(Model.input([3]).add(Layer.dense({ units: 2 })).initState).toEqual({})
  })

  it("training: batch statistics per channel; the running statistics move by 1 - momentum", () => {
    const m = Model.input([2, 3], f64).add(Layer.batchNorm({ momentum: 0.9, epsilon: 1e-3 }))
    const data = wave(2 * 2 * 3, 0.8)
    const x = Tensor.fromArray(data, [2, 2, 3], f64)
    const params = run(m.init)
    const [y, next] = m.applyWithState(params, m.initState, x, { training: true })
    const { mean, v } = stats(data, 3)
    expectClose(values(y), data.map((d, i) => (d - mean[i % 3]!) / Math.sqrt(v[i % 3]! + 1e-3)))
    const s = next["layer 1 batchNorm"] as Layer.BatchNormState<3, "float64">
    // PyTorch's momentum=0.1 update, with the biased variance (Keras' and Flax's).
    expectClose(values(s.mean), mean.map((mu) => 0.1 * mu))
    expectClose(values(s.variance), v.map((vv) => 0.9 + 0.1 * vv))
    // Pure: the state given is not modified, and plain apply in training gives the same output.
    const s0 = m.initState["layer 1 batchNorm"] as Layer.BatchNormState<3, "float64">
    expect(values(s0.mean)).toEqual([0, 0, 0])
    expect(values(m.apply(params, x, { training: true }))).toEqual(values(y))
  })

  it("inference: the running statistics, with scale and bias; the state comes back unchanged", () => {
    const m = Model.input([3], f64).add(Layer.batchNorm({ epsilon: 0.01 }))
    const state = {
      "layer 1 batchNorm": {
        mean: Tensor.fromArray([1, -1, 0.5], [3], f64),
        variance: Tensor.fromArray([4, 0.25, 1], [3], f64)
      }
    }
    const params = [{
      scale: Tensor.fromArray([2, 1, -1], [3], f64),
      bias: Tensor.fromArray([0, 1, 0.5], [3], f64)
    }] as const
    const x = Tensor.fromArray([3, 0, 1.5, -1, -1, 0.5], [2, 3], f64)
    const want = [3, 0, 1.5, -1, -1, 0.5].map((d, i) => {
      const k = i % 3
      return ((d - [1, -1, 0.5][k]!) / Math.sqrt([4, 0.25, 1][k]! + 0.01)) * [2, 1, -1][k]! + [0, 1, 0.5][k]!
    })
    expectClose(values(m.apply(params, x, { state })), want)
    const [y, same] = m.applyWithState(params, state, x)
    expectClose(values(y), want)
    expect(same).toEqual(state)
    expectClose(values(Model.predict(m, params, x, { batchSize: 1, state })), want)
  })

  it("a training loop threads the state: valueAndGradAux returns it beside the gradients", () => {
    const m = Model.input([4], f64).add(Layer.dense({ units: 3 })).add(Layer.batchNorm({ momentum: 0.5 }))
    let params = run(m.init)
    let state = m.initState
    const x = Tensor.fromArray(wave(6 * 4, 0.9), [6, 4], f64)
    const labels = Tensor.oneHot(Tensor.fromArray([0, 1, 2, 0, 1, 2], [6], f64), 3)
    for (let step = 0; step < 3; step++) {
      const [, next, grads] = valueAndGradAux((p: typeof params) => {
        const [z, s] = m.applyWithState(p, state, x, { training: true, seed: step })
        return [Loss.softmaxCrossEntropy(z, labels), s] as const
      })(params)
      state = next
      params = [
        {
          kernel: Tensor.sub(params[0].kernel, Tensor.mul(grads[0].kernel, 0.1)),
          bias: Tensor.sub(params[0].bias, Tensor.mul(grads[0].bias, 0.1))
        },
        {
          scale: Tensor.sub(params[1].scale, Tensor.mul(grads[1].scale, 0.1)),
          bias: Tensor.sub(params[1].bias, Tensor.mul(grads[1].bias, 0.1))
        }
      ]
    }
    // Three updates with momentum 0.5 moved the running statistics away from their start (0 and 1).
    const s = state["layer 2 batchNorm"] as Layer.BatchNormState<3, "float64">
    expect(values(s.mean).every((v) => Number.isFinite(v) && v !== 0)).toBe(true)
    expect(values(s.variance).every((v) => Number.isFinite(v) && v !== 1)).toBe(true)
    expect(m.apply(params, x, { state }).shape).toEqual([6, 3])
  })

  it("gradients agree with finite differences: batch statistics (training) and running statistics", () => {
    const m = Model.input([3, 3, 2], f64)
      .add(Layer.conv2d({ filters: 3, kernelSize: 2, useBias: false }))
      .add(Layer.batchNorm())
      .add(Layer.globalAvgPool2d())
      .add(Layer.dense({ units: 2 }))
    const init = run(m.init)
    const params: typeof init = [
      init[0],
      { scale: Tensor.fromArray([0.5, -1.2, 2], [3], f64), bias: Tensor.fromArray([0.1, 0.2, -0.3], [3], f64) },
      init[2]
    ]
    const x = Tensor.fromArray(wave(3 * 18, 0.77), [3, 3, 3, 2], f64)
    const [, state] = m.applyWithState(params, m.initState, x, { training: true })
    const results = [
      checkGrads((p: typeof params) => m.apply(p, x, { training: true }), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v, { training: true }), x, { order: 2 }),
      checkGrads((p: typeof params) => m.apply(p, x, { state }), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v, { state }), x, { order: 2 })
    ]
    expect(results.map((r) => [r.ok, r.entries.some((e) => e.order === 2)])).toEqual(
      Array.from({ length: 4 }, () => [true, true])
    )
  })

  it("errors name the layer: inference without state, a state that does not fit, bad options", () => {
    const m = Model.input([3]).add(Layer.batchNorm({ name: "bn" }))
    const params = run(m.init)
    const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    expect(() => m.apply(params, x)).toThrow(
      "layer 1 bn: inference uses the running statistics, which are model state: pass { state }"
    )
    expect(() => m.applyWithState(params, {}, x, { training: true })).toThrow(
      "model.applyWithState: the state has no entry for layer 1 bn; start from model.initState"
    )
    const wrong = { "layer 1 bn": { mean: Tensor.zeros([2]), variance: Tensor.ones([2]) } }
    expect(() => m.apply(params, x, { state: wrong })).toThrow(
      "layer 1 bn: its state must be { mean, variance } float32 tensors of shape [3]; use model.initState"
    )
    expect(() => Layer.batchNorm({ momentum: 1 })).toThrow("batchNorm: momentum must be in [0, 1), got 1")
    expect(() => Model.input([]).add(Layer.batchNorm() as never)).toThrow(
      "layer 1 batchNorm: expected input of rank 2 or more [batch, ..., channels], got [1]"
    )
  })
})
