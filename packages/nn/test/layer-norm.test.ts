// Layer normalisation, a layer the library lacks, written by a user with `Layer.make` (./fixtures/layer-norm.ts,
// the code docs/guide-models.md shows): its shape rule and params at compile time, in a model and inside the
// combinators, its runtime check, its values, and its gradients (checkGrads, float64).
import { Layer, Model } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { checkGrads } from "@typegrad/testing"
import { Effect, Random } from "effect"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { classifier, gradientChecks, type LayerNorm, layerNorm } from "./fixtures/layer-norm.ts"

const assert = <T extends true>(_?: T): void => {}
const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(3)))
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

const mlp = Model.input([6]).add(Layer.dense({ units: 4 })).add(layerNorm()).add(Layer.dense({ units: 2 }))
const cnn = Model.input([8, 8, 3])
  .add(Layer.conv2d({ filters: 4, kernelSize: 3, padding: "same" }))
  .add(Layer.residual(layerNorm(), Layer.conv2d({ filters: 4, kernelSize: 3, padding: "same" })))
  .add(Layer.parallel([[layerNorm()], [Layer.sequential(layerNorm(), Layer.relu())]]))
  .add(Layer.flatten())
  .add(layerNorm({ epsilon: 1e-3 }))

// Compile time: the rule keeps the shape and types the params by the last axis.
type Norm<C extends number> = {
  readonly gain: Tensor.Tensor<readonly [C]>
  readonly bias: Tensor.Tensor<readonly [C]>
}
assert<Types.Equal<ReturnType<typeof mlp.apply>, Tensor.Tensor<readonly [number, 2]>>>()
assert<Types.Equal<Model.ParamsOf<typeof mlp>[1], Norm<4>>>()
assert<Types.Equal<ReturnType<typeof cnn.apply>, Tensor.Tensor<readonly [number, 512]>>>()
assert<Types.Equal<Model.ParamsOf<typeof cnn>[1][0], Norm<4>>>()
assert<Types.Equal<Model.ParamsOf<typeof cnn>[2], readonly [readonly [Norm<4>], readonly [readonly [Norm<4>]]]>>()
assert<Types.Equal<Model.ParamsOf<typeof cnn>[3], Norm<512>>>()
assert<Types.Equal<Model.ParamsOf<typeof classifier>[1][0], Norm<8>>>()
assert<Types.Equal<ReturnType<typeof classifier.apply>, Tensor.Tensor<readonly [number, 10]>>>()
assert<Types.Equal<Layer.Output<LayerNorm, readonly [number, 7, 7, 3]>, readonly [number, 7, 7, 3]>>()
assert<Types.Equal<Layer.Label<LayerNorm, 4>, "layer 4 layerNorm">>()
assert<
  Types.Equal<
    Layer.Params<LayerNorm, readonly [number, 5], "float64">,
    { readonly gain: Tensor.Tensor<readonly [5], "float64">; readonly bias: Tensor.Tensor<readonly [5], "float64"> }
  >
>()

describe("layer normalisation, a user-defined layer", () => {
  it("composes into a model and its combinators: labels, shapes, parameter counts", () => {
    expect(mlp.layers.map((l) => [l.label, l.outputShape, l.parameters])).toEqual([
      ["layer 1 dense(4)", [-1, 4], 28],
      ["layer 2 layerNorm", [-1, 4], 8],
      ["layer 3 dense(2)", [-1, 2], 10]
    ])
    expect(cnn.layers.map((l) => [l.label, l.outputShape, l.parameters])).toEqual([
      ["layer 1 conv2d(4)", [-1, 8, 8, 4], 112],
      ["layer 2 residual", [-1, 8, 8, 4], 8 + 148],
      ["layer 3 parallel", [-1, 8, 8, 8], 16],
      ["layer 4 flatten", [-1, 512], 0],
      ["layer 5 layerNorm", [-1, 512], 1024]
    ])
    const params = run(cnn.init)
    expect(values(params[3].gain)).toEqual(Array.from({ length: 512 }, () => 1))
    expect(values(params[2][1][0][0].bias)).toEqual([0, 0, 0, 0])
    const y = cnn.apply(params, Tensor.fromArray(Array.from({ length: 2 * 192 }, (_, i) => Math.sin(i)), [2, 8, 8, 3]))
    expect(y.shape).toEqual([2, 512])
  })

  it("normalises each example over the last axis: mean 0, variance v / (v + epsilon), then gain and bias", () => {
    const m = Model.input([5], { dtype: "float64" }).add(layerNorm({ epsilon: 0.01 }))
    const data = [1, 2, 3, 4, 10, -3, 0, 0, 0, 3]
    const x = Tensor.fromArray(data, [2, 5], { dtype: "float64" })
    const y = values(m.apply(run(m.init), x))
    for (const row of [0, 1]) {
      const xs = data.slice(row * 5, row * 5 + 5)
      const mean = xs.reduce((a, b) => a + b, 0) / 5
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 5
      const ys = y.slice(row * 5, row * 5 + 5)
      ys.forEach((v, i) => expect(v).toBeCloseTo((xs[i]! - mean) / Math.sqrt(variance + 0.01), 12))
      expect(ys.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12)
      expect(ys.reduce((a, b) => a + b * b, 0) / 5).toBeCloseTo(variance / (variance + 0.01), 12)
    }
    const gain = Tensor.fromArray([2, 2, 2, 2, 2], [5], { dtype: "float64" })
    const bias = Tensor.fromArray([1, 0, 0, 0, -1], [5], { dtype: "float64" })
    const scaled = values(m.apply([{ gain, bias }], x))
    scaled.forEach((v, i) => expect(v).toBeCloseTo(2 * y[i]! + (i % 5 === 0 ? 1 : i % 5 === 4 ? -1 : 0), 12))
  })

  it("the guide's gradient checks pass", () => {
    const results = gradientChecks()
    expect(results).toHaveLength(2)
    for (const r of results) {
      expect(r.entries.length).toBeGreaterThan(0)
      expect(r.ok).toBe(true)
    }
  })

  it("its gradients agree with finite differences (checkGrads, float64), for params and input, to second order", () => {
    const m = Model.input([5], { dtype: "float64" }).add(layerNorm()).add(Layer.dense({ units: 3 }))
    type P = Model.ParamsOf<typeof m>
    const init = run(m.init)
    const params: P = [
      {
        gain: Tensor.fromArray([0.5, -1.2, 2, 0.9, 1.1], [5], { dtype: "float64" }),
        bias: Tensor.fromArray([0.1, 0.2, -0.3, 0, 0.7], [5], { dtype: "float64" })
      },
      init[1]
    ]
    const x = Tensor.fromArray([0.3, -1, 2.5, 0.7, -0.2, 1, 1.5, -2, 0.1, 0.4, -0.6, 0.2, 0.9, 3, -1.1], [3, 5], {
      dtype: "float64"
    })
    const byParams = checkGrads((p: P) => m.apply(p, x), params, { order: 2 })
    const byInput = checkGrads((v: Tensor.Tensor<readonly [number, 5], "float64">) => m.apply(params, v), x, {
      order: 2
    })
    for (const r of [byParams, byInput]) {
      expect(r.entries.filter((e) => e.order === 2).length).toBeGreaterThan(0)
      expect(r.ok).toBe(true)
    }
    // Every leaf of the params was checked: gain, bias, kernel and bias of the dense layer.
    expect(new Set(byParams.entries.map((e) => e.leaf)).size).toBe(4)
  })

  it("rejects an input without a feature axis, at compile time and at run time, naming the layer", () => {
    const scalars = Model.input([])
    expect(() =>
      // @ts-expect-error layer 1 layerNorm: expected input of rank 2 or more [batch, ..., features], got [number]
      scalars.add(layerNorm())
    ).toThrow("layer 1 layerNorm: expected input of rank 2 or more [batch, ..., features], got [1]")
    // Inside a combinator the compile error names the block's position and the user layer, as for built-ins.
    expect(() =>
      // @ts-expect-error layer 1 layerNorm: expected input of rank 2 or more [batch, ..., features], got [number]
      scalars.add(Layer.residual(layerNorm()))
    ).toThrow("expected input of rank 2 or more [batch, ..., features], got [1]")
    // And the next layer sees its output shape: a wrong wiring after it fails with the built-in message.
    const normed = Model.input([6]).add(layerNorm())
    expect(() =>
      // @ts-expect-error layer 2 conv2d(2): input must have rank 4 [N, H, W, C], got [number, 6]
      normed.add(Layer.conv2d({ filters: 2, kernelSize: 1 }))
    ).toThrow("layer 2 conv2d(2): input must have rank 4 [N, H, W, C], got [1, 6]")
  })

  it("is the code the guide shows", () => {
    const here = dirname(fileURLToPath(import.meta.url))
    const fixture = readFileSync(join(here, "fixtures/layer-norm.ts"), "utf8")
    const guide = readFileSync(join(here, "../../../docs/guide-models.md"), "utf8")
    // The fixture without its two header lines, as one ```ts block of the guide.
    const shown = fixture.split("\n").slice(2).join("\n")
    expect(shown).toContain("Layer.make<LayerNormRule>")
    expect(guide).toContain("```ts\n" + shown + "```")
  })
})
