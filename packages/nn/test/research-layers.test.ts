// The research-breadth layers (issue 12): leakyRelu, gelu, layerNorm, embedding, global pooling and conv1d.
// For each: its output shape, params and label at compile time, its values against a direct computation,
// its gradients against finite differences (checkGrads, float64, to second order) and its runtime errors.
// The compile-time errors are in ../typetest/research-layers.ts (checked by messages.test.ts).
import { Layer, Model } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { checkGrads } from "@typegrad/testing"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const assert = <T extends true>(_?: T): void => {}
const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(7)))
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))
const f64 = { dtype: "float64" } as const
const wave = (n: number, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(k * i + 0.3) * 1.7)
const expectClose = (got: ReadonlyArray<number>, want: ReadonlyArray<number>, digits = 12) => {
  expect(got.length).toBe(want.length)
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits))
}
/** Whether each check passed and compared second derivatives too (expected: all `[true, true]`). */
const passed = (...results: ReadonlyArray<ReturnType<typeof checkGrads>>) =>
  results.map((r) => [r.ok, r.entries.some((e) => e.order === 2)])

// ---------------------------------------------------------------------------------------------------------
// Compile time: shapes, params and labels.

const seq = Model.input([12])
  .add(Layer.embedding({ inputDim: 50, outputDim: 8 }))
  .add(Layer.conv1d({ filters: 6, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }))
  .add(Layer.layerNorm())
  .add(Layer.gelu())
  .add(Layer.conv1d({ filters: 4, kernelSize: 2, dilation: 2, padding: [2, 0] }))
  .add(Layer.leakyRelu(0.2))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 3 }))
const image = Model.input([6, 6, 2])
  .add(Layer.conv2d({ filters: 5, kernelSize: 3, padding: "same" }))
  .add(Layer.gelu({ approximate: true }))
  .add(Layer.parallel([[Layer.globalAvgPool2d()], [Layer.globalMaxPool2d()]]))
  .add(Layer.dense({ units: 2 }))

assert<Types.Equal<ReturnType<typeof seq.apply>, Tensor.Tensor<readonly [number, 3]>>>()
assert<Types.Equal<ReturnType<typeof image.apply>, Tensor.Tensor<readonly [number, 2]>>>()
assert<
  Types.Equal<Model.ParamsOf<typeof seq>[0], { readonly embeddings: Tensor.Tensor<readonly [50, 8]> }>
>()
assert<
  Types.Equal<
    Model.ParamsOf<typeof seq>[1],
    { readonly kernel: Tensor.Tensor<readonly [3, 8, 6]>; readonly bias: Tensor.Tensor<readonly [6]> }
  >
>()
assert<
  Types.Equal<
    Model.ParamsOf<typeof seq>[2],
    { readonly scale: Tensor.Tensor<readonly [6]>; readonly bias: Tensor.Tensor<readonly [6]> }
  >
>()
assert<Types.Equal<Model.ParamsOf<typeof seq>[4], Layer.DenseParams<24, 3, "float32">>>()
assert<Types.Equal<Model.ParamsOf<typeof image>[1], readonly [readonly [], readonly []]>>()
// Output shapes, layer by layer.
type Emb = Layer.Embedding<{ inputDim: 50; outputDim: 8 }>
assert<Types.Equal<Layer.Output<Emb, readonly [number, 12]>, readonly [number, 12, 8]>>()
assert<Types.Equal<Layer.Output<Emb, readonly [number, 3, 4]>, readonly [number, 3, 4, 8]>>()
assert<Types.Equal<Layer.Output<Emb, readonly [number]>, readonly [number, 8]>>()
type C1 = Layer.Conv1d<{ filters: 6; kernelSize: 3; strides: 2; padding: "same" }>
assert<Types.Equal<Layer.Output<C1, readonly [number, 12, 8]>, readonly [number, 6, 6]>>()
assert<Types.Equal<Layer.Output<C1, readonly [number, 13, 8]>, readonly [number, 7, 6]>>()
type C2 = Layer.Conv1d<{ filters: 4; kernelSize: 5; dilation: 2; strides: 3 }>
// floor((20 - 9) / 3) + 1 = 4
assert<Types.Equal<Layer.Output<C2, readonly [number, 20, 1]>, readonly [number, 4, 4]>>()
type C3 = Layer.Conv1d<{ filters: 4; kernelSize: 3; padding: 1 }>
assert<Types.Equal<Layer.Output<C3, readonly [8, 10, 2]>, readonly [8, 10, 4]>>()
// A length known only at run time degrades to `number`; the channels and filters stay exact.
assert<Types.Equal<Layer.Output<C3, readonly [number, number, 2]>, readonly [number, number, 4]>>()
assert<
  Types.Equal<
    Layer.Params<C3, readonly [number, number, 2], "float64">["kernel"],
    Tensor.Tensor<readonly [3, 2, 4], "float64">
  >
>()
assert<Types.Equal<Layer.Output<Layer.GlobalPool2d<"avg">, readonly [number, 7, 7, 64]>, readonly [number, 64]>>()
assert<Types.Equal<Layer.Output<Layer.GlobalPool2d<"max">, readonly [4, number, number, 3]>, readonly [4, 3]>>()
assert<Types.Equal<Layer.Output<Layer.LayerNorm<{}>, readonly [number, 7, 3]>, readonly [number, 7, 3]>>()
assert<
  Types.Equal<
    Layer.Params<Layer.LayerNorm<{}>, readonly [number, number], "float32">,
    Layer.LayerNormParams<number, "float32">
  >
>()
assert<Types.Equal<Layer.Output<Layer.LeakyRelu<0.1>, readonly [number, 7, 3]>, readonly [number, 7, 3]>>()
assert<Types.Equal<Layer.Output<Layer.Gelu<{}>, readonly [number, 5]>, readonly [number, 5]>>()
// Labels (the runtime labels are checked in labels.test.ts).
assert<Types.Equal<Layer.Label<Layer.LeakyRelu<0.2>, 3>, "layer 3 leakyRelu(0.2)">>()
assert<Types.Equal<typeof Layer.leakyRelu extends () => Layer.LeakyRelu<0.01> ? true : false, true>>()
assert<Types.Equal<Layer.Label<Layer.Gelu<{}>, 1>, "layer 1 gelu">>()
assert<Types.Equal<Layer.Label<Layer.Gelu<{ approximate: true }>, 1>, "layer 1 gelu(tanh)">>()
assert<Types.Equal<Layer.Label<Layer.LayerNorm<{}>, 2>, "layer 2 layerNorm">>()
assert<Types.Equal<Layer.Label<Emb, 1>, "layer 1 embedding(50, 8)">>()
assert<Types.Equal<Layer.Label<C1, 2>, "layer 2 conv1d(6)">>()
assert<Types.Equal<Layer.Label<Layer.GlobalPool2d<"avg">, 2>, "layer 2 globalAvgPool2d">>()
assert<Types.Equal<Layer.Label<Layer.GlobalPool2d<"max">, 2>, "layer 2 globalMaxPool2d">>()

describe("research layers in models", () => {
  it("build with the shapes, labels and parameter counts the types announce", () => {
    expect(seq.layers.map((l) => [l.label, l.outputShape, l.parameters])).toEqual([
      ["layer 1 embedding(50, 8)", [-1, 12, 8], 400],
      ["layer 2 conv1d(6)", [-1, 6, 6], 3 * 8 * 6 + 6],
      ["layer 3 layerNorm", [-1, 6, 6], 12],
      ["layer 4 gelu", [-1, 6, 6], 0],
      ["layer 5 conv1d(4)", [-1, 6, 4], 2 * 6 * 4 + 4],
      ["layer 6 leakyRelu(0.2)", [-1, 6, 4], 0],
      ["layer 7 flatten", [-1, 24], 0],
      ["layer 8 dense(3)", [-1, 3], 75]
    ])
    expect(image.layers.map((l) => [l.label, l.outputShape])).toEqual([
      ["layer 1 conv2d(5)", [-1, 6, 6, 5]],
      ["layer 2 gelu(tanh)", [-1, 6, 6, 5]],
      ["layer 3 parallel", [-1, 10]],
      ["layer 4 dense(2)", [-1, 2]]
    ])
    const params = run(seq.init)
    const ids = Tensor.fromArray(Array.from({ length: 24 }, (_, i) => (i * 7) % 50), [2, 12])
    expect(seq.apply(params, ids).shape).toEqual([2, 3])
    const y = image.apply(run(image.init), Tensor.fromArray(wave(2 * 72), [2, 6, 6, 2]))
    expect(y.shape).toEqual([2, 2])
  })
})

describe("leakyRelu", () => {
  it("is x above 0 and alpha * x below, with gradient alpha at 0 (as PyTorch)", () => {
    const m = Model.input([5], f64).add(Layer.leakyRelu(0.2))
    const x = Tensor.fromArray([-2, -0.5, 0, 0.5, 3], [1, 5], f64)
    expectClose(values(m.apply([], x)), [-0.4, -0.1, 0, 0.5, 3])
    expect(values(Model.input([2]).add(Layer.leakyRelu()).apply([], Tensor.fromArray([-1, 1], [1, 2]))))
      .toEqual([Math.fround(-0.01), 1])
    const r = checkGrads((v: typeof x) => m.apply([], v), x, { order: 2 })
    expect(r.ok).toBe(true)
    expect(() => Layer.leakyRelu(Number.NaN)).toThrow("leakyRelu: alpha must be a finite number, got NaN")
  })

  it("gradients agree with finite differences away from 0", () => {
    const m = Model.input([6], f64).add(Layer.dense({ units: 4 })).add(Layer.leakyRelu(0.1))
    const params = run(m.init)
    const x = Tensor.fromArray(wave(18), [3, 6], f64)
    expect(passed(
      checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
    )).toEqual(Array.from({ length: 2 }, () => [true, true]))
  })
})

// erf to 1e-15 for the reference: the same series and continued fraction tested in @typegrad/tensor.
const refGelu = (x: number) => {
  // erf by composite Simpson integration (independent of the library's erf).
  const z = x / Math.SQRT2
  const n = 20000
  const h = z / n
  let s = 1 + Math.exp(-z * z)
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2))
  return 0.5 * x * (1 + (s * h) / 3 * (2 / Math.sqrt(Math.PI)))
}
const refGeluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))

describe("gelu", () => {
  const xs = [-4, -1.5, -0.3, 0, 0.2, 1, 2.5, 6]
  it("exact: x * (1 + erf(x / sqrt 2)) / 2; approximate: the tanh form", () => {
    const x = Tensor.fromArray(xs, [1, 8], f64)
    expectClose(values(Model.input([8], f64).add(Layer.gelu()).apply([], x)), xs.map(refGelu), 12)
    expectClose(
      values(Model.input([8], f64).add(Layer.gelu({ approximate: true })).apply([], x)),
      xs.map(refGeluTanh),
      14
    )
    // Known values (PyTorch's gelu): gelu(1) = 0.8413447460685429, gelu(-1) = -0.15865525393145707.
    expectClose(values(Model.input([2], f64).add(Layer.gelu()).apply([], Tensor.fromArray([1, -1], [1, 2], f64))), [
      0.8413447460685429,
      -0.15865525393145707
    ], 15)
  })

  it("gradients agree with finite differences, both forms", () => {
    const x = Tensor.fromArray(wave(12, 0.7), [2, 6], f64)
    for (const layer of [Layer.gelu(), Layer.gelu({ approximate: true })]) {
      const m = Model.input([6], f64).add(Layer.dense({ units: 3 })).add(layer)
      const params = run(m.init)
      expect(passed(
        checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
        checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
      )).toEqual(Array.from({ length: 2 }, () => [true, true]))
    }
  })
})

describe("layerNorm", () => {
  it("normalises over the last axis, then scale and bias", () => {
    const m = Model.input([2, 4], f64).add(Layer.layerNorm({ epsilon: 0.01 }))
    const data = [1, 2, 3, 10, -3, 0, 0, 3]
    const x = Tensor.fromArray(data, [1, 2, 4], f64)
    const want = [0, 1].flatMap((row) => {
      const r = data.slice(row * 4, row * 4 + 4)
      const mean = r.reduce((a, b) => a + b, 0) / 4
      const v = r.reduce((a, b) => a + (b - mean) ** 2, 0) / 4
      return r.map((e) => (e - mean) / Math.sqrt(v + 0.01))
    })
    const params = run(m.init)
    expectClose(values(params[0].scale), [1, 1, 1, 1])
    expectClose(values(m.apply(params, x)), want)
    const scale = Tensor.fromArray([2, 1, 1, 0.5], [4], f64)
    const bias = Tensor.fromArray([0, 1, 0, -1], [4], f64)
    expectClose(
      values(m.apply([{ scale, bias }], x)),
      want.map((w, i) => w * [2, 1, 1, 0.5][i % 4]! + [0, 1, 0, -1][i % 4]!)
    )
    expect(() => Layer.layerNorm({ epsilon: 0 })).toThrow("layerNorm: epsilon must be a positive number, got 0")
  })

  it("gradients agree with finite differences, for params and input", () => {
    const m = Model.input([5], f64).add(Layer.layerNorm()).add(Layer.dense({ units: 2 }))
    const init = run(m.init)
    const params: typeof init = [
      {
        scale: Tensor.fromArray([0.5, -1.2, 2, 0.9, 1.1], [5], f64),
        bias: Tensor.fromArray([0.1, 0.2, -0.3, 0, 0.7], [5], f64)
      },
      init[1]
    ]
    const x = Tensor.fromArray(wave(15, 1.3), [3, 5], f64)
    expect(passed(
      checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
    )).toEqual(Array.from({ length: 2 }, () => [true, true]))
  })

  it("rejects an input without a feature axis at run time, naming the layer", () => {
    expect(() => Model.input([]).add(Layer.layerNorm() as never)).toThrow(
      "layer 1 layerNorm: expected input of rank 2 or more [batch, ..., features], got [1]"
    )
  })
})

describe("embedding", () => {
  it("looks up rows of the table; ids of any rank", () => {
    const m = Model.input([3], f64).add(Layer.embedding({ inputDim: 4, outputDim: 2 }))
    const table = Tensor.fromArray([0, 1, 10, 11, 20, 21, 30, 31], [4, 2], f64)
    const y = m.apply([{ embeddings: table }], Tensor.fromArray([3, 0, 3, 1, 1, 2], [2, 3], f64))
    expect(y.shape).toEqual([2, 3, 2])
    expect(values(y)).toEqual([30, 31, 0, 1, 30, 31, 10, 11, 10, 11, 20, 21])
    const params = run(m.init)
    expect(params[0].embeddings.shape).toEqual([4, 2])
    expect(values(params[0].embeddings).every((v) => Math.abs(v) <= 0.05)).toBe(true)
  })

  it("the table's gradient adds the cotangents of repeated ids (scatterAdd); checked to second order", () => {
    const m = Model.input([4], f64).add(Layer.embedding({ inputDim: 5, outputDim: 3 })).add(Layer.flatten())
      .add(Layer.dense({ units: 2 })).add(Layer.gelu())
    const params = run(m.init)
    const ids = Tensor.fromArray([0, 2, 2, 4, 1, 1, 1, 3], [2, 4], f64)
    expect(passed(checkGrads((p: typeof params) => m.apply(p, ids), params, { order: 2 }))).toEqual(
      Array.from({ length: 1 }, () => [true, true])
    )
    // Directly: the gradient of sum(embed(ids)) counts each id.
    const e = Model.input([4], f64).add(Layer.embedding({ inputDim: 5, outputDim: 1 }))
    const r = checkGrads(
      (p: ReturnType<typeof run<Model.ParamsOf<typeof e>>>) => Tensor.sum(e.apply(p, ids)),
      run(e.init)
    )
    expect(r.ok).toBe(true)
  })

  it("rejects an id that is not an integer in [0, inputDim), naming the layer", () => {
    const m = Model.input([2]).add(Layer.embedding({ inputDim: 4, outputDim: 2, name: "tokens" }))
    const params = run(m.init)
    expect(() => m.apply(params, Tensor.fromArray([1, 4], [1, 2]))).toThrow(
      "layer 1 tokens: id 4 at flat position 1 of input [1, 2] is not an integer in [0, 4)"
    )
    expect(() => m.apply(params, Tensor.fromArray([0.5, 1], [1, 2]))).toThrow("id 0.5 at flat position 0")
    expect(() => Model.input([2]).add(Layer.embedding({ inputDim: 0, outputDim: 2 }))).toThrow(
      "layer 1 embedding(0, 2): inputDim must be a positive integer, got 0"
    )
  })
})

describe("global pooling", () => {
  const data = wave(2 * 3 * 4 * 2, 0.9)
  const x = Tensor.fromArray(data, [2, 3, 4, 2], f64)
  const channel = (n: number, c: number) => Array.from({ length: 12 }, (_, i) => data[((n * 12) + i) * 2 + c]!)

  it("averages or takes the maximum of each channel: [N, H, W, C] -> [N, C]", () => {
    const avg = values(Model.input([3, 4, 2], f64).add(Layer.globalAvgPool2d()).apply([], x))
    const max = values(Model.input([3, 4, 2], f64).add(Layer.globalMaxPool2d()).apply([], x))
    const cells = [[0, 0], [0, 1], [1, 0], [1, 1]] as const
    expectClose(avg, cells.map(([n, c]) => channel(n, c).reduce((a, b) => a + b, 0) / 12))
    expectClose(max, cells.map(([n, c]) => Math.max(...channel(n, c))))
  })

  it("gradients agree with finite differences", () => {
    for (const pool of [Layer.globalAvgPool2d(), Layer.globalMaxPool2d()]) {
      const m = Model.input([3, 4, 2], f64).add(Layer.conv2d({ filters: 3, kernelSize: 2 })).add(pool)
        .add(Layer.dense({ units: 2 }))
      const params = run(m.init)
      expect(passed(
        checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
        checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
      )).toEqual(Array.from({ length: 2 }, () => [true, true]))
    }
  })

  it("rejects an input that is not NHWC at run time, naming the layer", () => {
    expect(() => Model.input([5]).add(Layer.globalAvgPool2d() as never)).toThrow(
      "layer 1 globalAvgPool2d: expected input of rank 4 [N, H, W, C], got [1, 5]"
    )
  })
})

/** Direct 1-D convolution: x [N, L, C], w [K, C, F], explicit pads. */
const conv1dRef = (
  x: ReadonlyArray<number>,
  [n, l, c]: readonly [number, number, number],
  w: ReadonlyArray<number>,
  [k, f]: readonly [number, number],
  { stride, dilation, left, right }: { stride: number; dilation: number; left: number; right: number }
) => {
  const ol = Math.floor((l + left + right - dilation * (k - 1) - 1) / stride) + 1
  const out: Array<number> = []
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < ol; o++) {
      for (let ff = 0; ff < f; ff++) {
        let s = 0
        for (let kk = 0; kk < k; kk++) {
          const i = o * stride + kk * dilation - left
          if (i < 0 || i >= l) continue
          for (let cc = 0; cc < c; cc++) s += x[(b * l + i) * c + cc]! * w[(kk * c + cc) * f + ff]!
        }
        out.push(s)
      }
    }
  }
  return { out, ol }
}

describe("conv1d", () => {
  const cases = [
    { config: { filters: 3, kernelSize: 3 }, l: 9, geo: { stride: 1, dilation: 1, left: 0, right: 0 } },
    {
      config: { filters: 2, kernelSize: 2, strides: 3, dilation: 2 },
      l: 11,
      geo: { stride: 3, dilation: 2, left: 0, right: 0 }
    },
    {
      config: { filters: 2, kernelSize: 3, padding: [4, 0], dilation: 2 },
      l: 7,
      geo: { stride: 1, dilation: 2, left: 4, right: 0 }
    },
    {
      config: { filters: 2, kernelSize: 4, strides: 2, padding: "same" },
      l: 7,
      geo: { stride: 2, dilation: 1, left: 1, right: 2 }
    },
    { config: { filters: 1, kernelSize: 3, padding: 1 }, l: 5, geo: { stride: 1, dilation: 1, left: 1, right: 1 } }
  ] as const

  it("matches a direct 1-D convolution (strides, dilation, explicit, causal and same padding)", () => {
    for (const { config, l, geo } of cases) {
      const c = 2
      const m = Model.input([l, c], f64).add(Layer.conv1d({ ...config, useBias: false } as Layer.Conv1dConfig))
      const params = run(m.init) as ReadonlyArray<{ readonly kernel: Tensor.AnyTensor }>
      const x = wave(2 * l * c, 0.37)
      const y = m.apply(params as never, Tensor.fromArray(x, [2, l, c], f64))
      const ref = conv1dRef(x, [2, l, c], values(params[0]!.kernel), [config.kernelSize, config.filters], geo)
      expect(y.shape).toEqual([2, ref.ol, config.filters])
      expectClose(values(y), ref.out)
    }
  })

  it("adds the bias and applies the activation", () => {
    const m = Model.input([4, 1], f64).add(Layer.conv1d({ filters: 1, kernelSize: 2, activation: "relu" }))
    const kernel = Tensor.fromArray([1, -1], [2, 1, 1], f64)
    const bias = Tensor.fromArray([0.5], [1], f64)
    const y = m.apply([{ kernel, bias }], Tensor.fromArray([1, 3, 2, 2], [1, 4, 1], f64))
    expect(values(y)).toEqual([0, 1.5, 0.5])
  })

  it("gradients agree with finite differences, for params and input", () => {
    const m = Model.input([7, 2], f64)
      .add(Layer.conv1d({ filters: 3, kernelSize: 3, strides: 2, dilation: 1, padding: "same", activation: "tanh" }))
      .add(Layer.conv1d({ filters: 2, kernelSize: 2, dilation: 2, padding: [2, 0] }))
    const params = run(m.init)
    const x = Tensor.fromArray(wave(2 * 14, 0.61), [2, 7, 2], f64)
    expect(passed(
      checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
    )).toEqual(Array.from({ length: 2 }, () => [true, true]))
  })

  it("rejects wrong wirings at run time with conv2d's sizes, naming the layer", () => {
    const dyn = Model.input([4, 2]) as unknown as Model.Model<
      readonly [number, number, number],
      readonly [number, number, number],
      readonly []
    >
    expect(() => dyn.add(Layer.conv1d({ filters: 2, kernelSize: 6 }))).toThrow(
      "layer 1 conv1d(2): kernel 6 larger than padded input 4"
    )
    // @ts-expect-error layer 1 conv1d(2): strides must be a positive integer, got 0
    expect(() => dyn.add(Layer.conv1d({ filters: 2, kernelSize: 2, strides: 0 }))).toThrow(
      "layer 1 conv1d(2): strides must be a positive integer, got 0"
    )
    expect(() => dyn.add(Layer.conv1d({ filters: 2, kernelSize: 2, padding: -1 }) as never)).toThrow(
      "layer 1 conv1d(2): padding must be non-negative integers, got -1"
    )
    expect(() => Model.input([4]).add(Layer.conv1d({ filters: 2, kernelSize: 2 }) as never)).toThrow(
      "layer 1 conv1d(2): expected input of rank 3 [N, L, C], got [1, 4]"
    )
  })
})

describe("pooling layers with explicit padding", () => {
  it("maxPool2d and avgPool2d take conv2d's explicit pads (each smaller than the window)", () => {
    const stem = Model.input([8, 8, 2])
      .add(Layer.maxPool2d({ poolSize: 3, strides: 2, padding: 1 }))
      .add(Layer.avgPool2d({ poolSize: 2, strides: 1, padding: [[1, 0], [0, 1]] }))
    assert<Types.Equal<ReturnType<typeof stem.apply>, Tensor.Tensor<readonly [number, 4, 4, 2]>>>()
    expect(stem.layers.map((l) => l.outputShape)).toEqual([[-1, 4, 4, 2], [-1, 4, 4, 2]])
    const x = Tensor.fromArray(wave(2 * 128, 0.45), [2, 8, 8, 2], f64)
    const m = Model.input([8, 8, 2], f64).add(Layer.avgPool2d({ poolSize: 3, strides: 2, padding: 1 }))
      .add(Layer.maxPool2d({ poolSize: 2, padding: [1, 0] }))
    expect(m.apply([], x).shape).toEqual([2, 3, 2, 2])
    const r = checkGrads((v: typeof x) => m.apply([], v), x, { order: 2 })
    expect([r.ok, r.entries.some((e) => e.order === 2)]).toEqual([true, true])
    const dyn = Model.input([3, 3, 1]) as unknown as Model.Model<
      ReadonlyArray<number>,
      ReadonlyArray<number>,
      readonly []
    >
    expect(() => dyn.add(Layer.maxPool2d({ poolSize: 2, padding: 2 }))).toThrow(
      "layer 1 maxPool2d: padding 2 must be smaller than pool size 2"
    )
  })
})

describe("conv2dTranspose", () => {
  type Up = Layer.Conv2dTranspose<{ filters: 4; kernelSize: 3; strides: 2; padding: "same" }>
  assert<Types.Equal<Layer.Output<Up, readonly [number, 7, 7, 8]>, readonly [number, 14, 14, 4]>>()
  assert<Types.Equal<Layer.Output<Up, readonly [number, number, 7, 8]>, readonly [number, number, 14, 4]>>()
  assert<
    Types.Equal<
      Layer.Params<Up, readonly [number, 7, 7, 8], "float32">,
      { readonly kernel: Tensor.Tensor<readonly [3, 3, 4, 8]>; readonly bias: Tensor.Tensor<readonly [4]> }
    >
  >()
  assert<Types.Equal<Layer.Label<Up, 2>, "layer 2 conv2dTranspose(4)">>()

  it("is Tensor.conv2dTranspose plus a bias, then the activation; the shapes the types announce", () => {
    const m = Model.input([3, 4, 2], f64)
      .add(Layer.conv2dTranspose({ filters: 3, kernelSize: [2, 3], strides: 2, activation: "tanh" }))
    assert<Types.Equal<ReturnType<typeof m.apply>, Tensor.Tensor<readonly [number, 6, 9, 3], "float64">>>()
    expect(m.layers.map((l) => [l.label, l.outputShape, l.parameters])).toEqual([
      ["layer 1 conv2dTranspose(3)", [-1, 6, 9, 3], 2 * 3 * 3 * 2 + 3]
    ])
    const params = run(m.init)
    const bias = Tensor.fromArray([0.1, -0.2, 0.3], [3], f64)
    const x = Tensor.fromArray(wave(2 * 24, 0.3), [2, 3, 4, 2], f64)
    const y = m.apply([{ kernel: params[0].kernel, bias }], x)
    const want = Tensor.tanh(Tensor.add(Tensor.conv2dTranspose(x, params[0].kernel, { strides: 2 }), bias))
    expectClose(values(y), values(want))
  })

  it("gradients agree with finite differences (an encoder-decoder), for params and input", () => {
    const m = Model.input([4, 4, 1], f64)
      .add(Layer.conv2d({ filters: 2, kernelSize: 2, strides: 2, activation: "tanh" }))
      .add(Layer.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: "same" }))
    const params = run(m.init)
    const x = Tensor.fromArray(wave(2 * 16, 0.5), [2, 4, 4, 1], f64)
    expect(m.apply(params, x).shape).toEqual([2, 4, 4, 1])
    expect(passed(
      checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
    )).toEqual([[true, true], [true, true]])
  })

  it("rejects a wrong input at run time with the sizes, naming the layer", () => {
    expect(() => Model.input([5]).add(Layer.conv2dTranspose({ filters: 2, kernelSize: 2 }) as never)).toThrow(
      "layer 1 conv2dTranspose(2): input must have rank 4 [N, H, W, F], got [1, 5]"
    )
  })
})

describe("depthwiseConv2d", () => {
  type Dw = Layer.DepthwiseConv2d<{ kernelSize: 3; depthMultiplier: 2; padding: "same" }>
  assert<Types.Equal<Layer.Output<Dw, readonly [number, 8, 8, 4]>, readonly [number, 8, 8, 8]>>()
  assert<Types.Equal<Layer.Output<Dw, readonly [number, 8, 8, number]>, readonly [number, 8, 8, number]>>()
  assert<
    Types.Equal<
      Layer.Params<Dw, readonly [number, 8, 8, 4], "float32">,
      { readonly kernel: Tensor.Tensor<readonly [3, 3, 4, 2]>; readonly bias: Tensor.Tensor<readonly [8]> }
    >
  >()
  assert<Types.Equal<Layer.Label<Dw, 1>, "layer 1 depthwiseConv2d(2)">>()

  /** Each channel with its own filters: output channel c * M + m. */
  const depthwiseRef = (
    x: ReadonlyArray<number>,
    [n, h, w, c]: readonly [number, number, number, number],
    k: ReadonlyArray<number>,
    [kh, kw, m]: readonly [number, number, number],
    stride: number
  ) => {
    const oh = Math.floor((h - kh) / stride) + 1
    const ow = Math.floor((w - kw) / stride) + 1
    const out: Array<number> = []
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let cc = 0; cc < c; cc++) {
            for (let mm = 0; mm < m; mm++) {
              let s = 0
              for (let a = 0; a < kh; a++) {
                for (let e = 0; e < kw; e++) {
                  s += x[((b * h + i * stride + a) * w + j * stride + e) * c + cc]! *
                    k[((a * kw + e) * c + cc) * m + mm]!
                }
              }
              out.push(s)
            }
          }
        }
      }
    }
    return out
  }

  it("convolves each channel with its own filters (valid, strides 2, multiplier 2)", () => {
    const m = Model.input([7, 6, 3], f64).add(
      Layer.depthwiseConv2d({ kernelSize: [3, 2], depthMultiplier: 2, strides: 2, useBias: false })
    )
    expect(m.layers[0]!.outputShape).toEqual([-1, 3, 3, 6])
    const params = run(m.init)
    const x = wave(2 * 7 * 6 * 3, 0.41)
    const y = m.apply(params, Tensor.fromArray(x, [2, 7, 6, 3], f64))
    expectClose(values(y), depthwiseRef(x, [2, 7, 6, 3], values(params[0].kernel), [3, 2, 2], 2))
  })

  it("gradients agree with finite differences, for params and input", () => {
    const m = Model.input([4, 4, 2], f64)
      .add(Layer.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: "same", activation: "tanh" }))
      .add(Layer.conv2d({ filters: 2, kernelSize: 1 }))
    const params = run(m.init)
    const x = Tensor.fromArray(wave(2 * 32, 0.57), [2, 4, 4, 2], f64)
    expect(passed(
      checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
    )).toEqual([[true, true], [true, true]])
  })
})

describe("grouped conv2d", () => {
  type G = Layer.Conv2d<{ filters: 6; kernelSize: 3; groups: 2; padding: "same" }>
  assert<Types.Equal<Layer.Output<G, readonly [number, 5, 5, 4]>, readonly [number, 5, 5, 6]>>()
  assert<
    Types.Equal<
      Layer.Params<G, readonly [number, 5, 5, 4], "float32">,
      { readonly kernel: Tensor.Tensor<readonly [3, 3, 2, 6]>; readonly bias: Tensor.Tensor<readonly [6]> }
    >
  >()
  assert<Types.Equal<Layer.Label<G, 1>, "layer 1 conv2d(6)">>()

  it("each group of filters sees its group of channels: the concatenation of per-group convolutions", () => {
    const m = Model.input([5, 4, 4], f64).add(Layer.conv2d({ filters: 6, kernelSize: 2, groups: 2, strides: [2, 1] }))
    expect(m.layers.map((l) => [l.outputShape, l.parameters])).toEqual([[[-1, 2, 3, 6], 2 * 2 * 2 * 6 + 6]])
    const params = run(m.init)
    const bias = Tensor.fromArray([1, 2, 3, 4, 5, 6], [6], f64)
    const kernel = params[0].kernel
    const x = Tensor.fromArray(wave(2 * 80, 0.33), [2, 5, 4, 4], f64)
    const y = m.apply([{ kernel, bias }], x)
    const part = (g: number) =>
      Tensor.conv2d(
        Tensor.slice(x, [0, 0, 0, 2 * g], [2, 5, 4, 2]),
        Tensor.slice(kernel, [0, 0, 0, 3 * g], [2, 2, 2, 3]),
        { strides: [2, 1] }
      )
    const want = Tensor.add(Tensor.concat([part(0), part(1)], -1), bias)
    expectClose(values(y), values(want))
  })

  it("gradients agree with finite differences, for params and input", () => {
    const m = Model.input([3, 3, 4], f64).add(
      Layer.conv2d({ filters: 2, kernelSize: 2, groups: 2, activation: "tanh" })
    )
    const params = run(m.init)
    const x = Tensor.fromArray(wave(2 * 36, 0.71), [2, 3, 3, 4], f64)
    expect(passed(
      checkGrads((p: typeof params) => m.apply(p, x), params, { order: 2 }),
      checkGrads((v: typeof x) => m.apply(params, v), x, { order: 2 })
    )).toEqual([[true, true], [true, true]])
  })

  it("rejects groups that do not divide the channels or filters, at run time too", () => {
    const dyn = Model.input([4, 4, 3]) as unknown as Model.Model<
      ReadonlyArray<number>,
      ReadonlyArray<number>,
      readonly []
    >
    expect(() => dyn.add(Layer.conv2d({ filters: 4, kernelSize: 1, groups: 2 }))).toThrow(
      "layer 1 conv2d(4): input channels 3 are not a multiple of groups 2"
    )
    expect(() => dyn.add(Layer.conv2d({ filters: 4, kernelSize: 1, groups: 3 }))).toThrow(
      "layer 1 conv2d(4): filters 4 are not a multiple of groups 3"
    )
  })
})
