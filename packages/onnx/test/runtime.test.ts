/**
 * Exported models run in the real ONNX Runtime (onnxruntime-node, CPU) and agree with typegrad's forward
 * pass: every variant of every layer (strides, paddings incl. even-kernel "same", dilations, both dtypes
 * where the runtime has the kernel), random weights and biases, a batch size other than the one used to
 * build the model (the batch dimension is symbolic).
 */
import { Layer, Model, Reference } from "@typegrad/nn"
import { Onnx } from "@typegrad/onnx"
import { Pytree, Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import * as ort from "onnxruntime-node"
import { afterAll, describe, expect, it } from "vitest"

type AnyParams = ReadonlyArray<Pytree.Pytree>

/** A deterministic uniform stream in [-1, 1). */
const uniform = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 31 - 1
  }
}

const randomParams = <M extends Model.AnyModel>(model: M, seed: number): Model.ParamsOf<M> => {
  const next = uniform(seed)
  const params: AnyParams = Effect.runSync(model.init.pipe(Random.withSeed(seed)))
  const random: unknown = Pytree.map(
    params,
    (t) => Tensor.fromArray(Array.from({ length: t.size }, next), t.shape, { dtype: t.dtype })
  ) as AnyParams
  return random as Model.ParamsOf<M>
}

/** The largest absolute difference between the runtime's output and `model.apply` on a random batch. */
const compare = async (model: Model.AnyModel, options: { readonly batch?: number; readonly seed?: number } = {}) => {
  const seed = options.seed ?? 7
  const batch = options.batch ?? 3
  const params = randomParams(model, seed)
  const bytes = Onnx.exportModel(model, params)
  const session = await ort.InferenceSession.create(bytes)
  const shape = [batch, ...model.inputShape.slice(1)]
  const n = shape.reduce((a, b) => a * b, 1)
  const next = uniform(seed + 1)
  const data = model.dtype === "float64"
    ? Float64Array.from({ length: n }, next)
    : Float32Array.from({ length: n }, next)
  const x = Tensor.fromArray(data, shape, { dtype: model.dtype })
  const expected = Tensor.toArray(model.apply(params, x))
  const result = await session.run({ input: new ort.Tensor(model.dtype, data, shape) })
  const got = result["output"]!
  expect(got.dims).toEqual([batch, ...model.outputShape.slice(1)])
  expect(got.type).toBe(model.dtype)
  const values = got.data as Float32Array | Float64Array
  expect(values.length).toBe(expected.length)
  let max = 0
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - expected[i]!))
  return max
}

const f32 = 1e-5
const f64 = 1e-12

/** The measured differences, printed at the end (the report quotes them). */
const measured: Array<readonly [string, number]> = []
const check = async (what: string, model: Model.AnyModel, tolerance: number, batch?: number) => {
  const diff = await compare(model, batch === undefined ? {} : { batch })
  measured.push([what, diff])
  expect(diff).toBeLessThan(tolerance)
}
afterAll(() => {
  const worst = measured.reduce((m, [, d]) => Math.max(m, d), 0)
  console.info(`onnx runtime comparisons: ${measured.length}, worst max abs diff ${worst.toExponential(2)}`)
  for (const [what, d] of measured) console.info(`  ${d.toExponential(2)}  ${what}`)
})

describe("conv2d", () => {
  const cases: ReadonlyArray<readonly [string, Layer.Conv2dConfig, ReadonlyArray<number>]> = [
    ["valid 3x3", { filters: 4, kernelSize: 3 }, [7, 6, 2]],
    ["same 3x3", { filters: 4, kernelSize: 3, padding: "same" }, [7, 6, 2]],
    ["same even 2x2 (pad bottom/right)", { filters: 3, kernelSize: 2, padding: "same" }, [5, 6, 2]],
    ["same even 4x2, strides 2", { filters: 3, kernelSize: [4, 2], strides: 2, padding: "same" }, [7, 8, 3]],
    ["same strides [2, 3]", { filters: 2, kernelSize: 3, strides: [2, 3], padding: "same" }, [9, 10, 2]],
    ["valid strides 2", { filters: 5, kernelSize: 3, strides: 2 }, [9, 8, 1]],
    ["dilation 2 valid", { filters: 2, kernelSize: 3, dilation: 2 }, [9, 9, 2]],
    ["dilation [2, 1] same even", { filters: 2, kernelSize: 2, dilation: [2, 1], padding: "same" }, [6, 7, 2]],
    ["explicit pads 1", { filters: 2, kernelSize: 3, padding: 1 }, [5, 5, 2]],
    ["explicit pads [2, 0]", { filters: 2, kernelSize: 3, padding: [2, 0] }, [5, 5, 2]],
    ["explicit pads [[0, 2], [1, 3]]", { filters: 2, kernelSize: 2, padding: [[0, 2], [1, 3]] }, [5, 4, 3]],
    ["no bias, tanh", { filters: 3, kernelSize: 3, useBias: false, activation: "tanh" }, [6, 6, 2]],
    ["relu", { filters: 3, kernelSize: 3, activation: "relu" }, [6, 6, 2]],
    ["sigmoid", { filters: 3, kernelSize: 1, activation: "sigmoid" }, [4, 4, 2]],
    ["softmax over channels", { filters: 5, kernelSize: 3, padding: "same", activation: "softmax" }, [4, 5, 2]]
  ]
  it.each(cases)("%s (float32)", async (_, config, input) => {
    await check(`conv2d ${_}`, Model.input(input).add(Layer.conv2d(config) as Layer.Any), f32)
  })
  it("float64 is exported with DOUBLE tensors; this runtime has no double Conv kernel", async () => {
    const model = Model.input([5, 5, 2], { dtype: "float64" }).add(
      Layer.conv2d({ filters: 2, kernelSize: 2, padding: "same" })
    )
    const bytes = Onnx.exportModel(model, randomParams(model, 1))
    await expect(ort.InferenceSession.create(bytes)).rejects.toThrow(/implementation for Conv\(/)
  })
})

describe("pooling", () => {
  const cases: ReadonlyArray<readonly [string, Layer.Pool2dConfig, ReadonlyArray<number>]> = [
    ["2x2 valid", { poolSize: 2 }, [6, 6, 3]],
    ["2x2 valid, odd input", { poolSize: 2 }, [7, 5, 2]],
    ["2x2 same, odd input (pad bottom/right)", { poolSize: 2, padding: "same" }, [7, 5, 2]],
    ["3x3 strides 1 same", { poolSize: 3, strides: 1, padding: "same" }, [5, 6, 2]],
    ["[3, 2] strides [2, 1] same", { poolSize: [3, 2], strides: [2, 1], padding: "same" }, [7, 6, 2]],
    ["3x3 strides 2 valid", { poolSize: 3, strides: 2 }, [9, 8, 2]],
    ["2x2 strides 1 valid", { poolSize: 2, strides: 1 }, [4, 5, 3]],
    ["3x3 strides 2 pads 1", { poolSize: 3, strides: 2, padding: 1 }, [7, 8, 2]],
    ["2x2 pads [[1, 0], [0, 1]]", { poolSize: 2, padding: [[1, 0], [0, 1]] }, [5, 4, 2]]
  ]
  it.each(cases)("maxPool2d %s (float32 and float64)", async (what, config, input) => {
    await check(`maxPool2d ${what}`, Model.input(input).add(Layer.maxPool2d(config) as Layer.Any), f32)
    const wide = Model.input(input, { dtype: "float64" }).add(Layer.maxPool2d(config) as Layer.Any)
    await check(`maxPool2d ${what} float64`, wide, f64)
  })
  it.each(cases)("avgPool2d %s: \"same\" divides by the real cells", async (what, config, input) => {
    await check(`avgPool2d ${what}`, Model.input(input).add(Layer.avgPool2d(config) as Layer.Any), f32)
  })
  it("float64 avgPool2d is exported with DOUBLE tensors; this runtime has no double AveragePool kernel", async () => {
    const model = Model.input([5, 5, 2], { dtype: "float64" }).add(Layer.avgPool2d({ poolSize: 2, padding: "same" }))
    const bytes = Onnx.exportModel(model, randomParams(model, 1))
    await expect(ort.InferenceSession.create(bytes)).rejects.toThrow(/implementation for AveragePool/)
  })
})

describe("dense, flatten, dropout, activations", () => {
  it.each(["linear", "relu", "tanh", "sigmoid", "softmax"] as const)(
    "dense with %s, float32 and float64",
    async (a) => {
      await check(`dense ${a}`, Model.input([6]).add(Layer.dense({ units: 5, activation: a })), f32)
      const wide = Model.input([6], { dtype: "float64" }).add(Layer.dense({ units: 5, activation: a }))
      await check(`dense ${a} float64`, wide, f64)
    }
  )
  it("dense without bias", async () => {
    await check("dense no bias", Model.input([4]).add(Layer.dense({ units: 3, useBias: false })), f32)
  })
  it.each(["relu", "tanh", "sigmoid", "softmax", "linear"] as const)(
    "activation layer %s on NHWC after a conv",
    async (a) => {
      const model = Model.input([5, 4, 2])
        .add(Layer.conv2d({ filters: 3, kernelSize: 2 }))
        .add(Layer.activation(a))
      await check(`activation ${a}`, model, f32)
      const flat = Model.input([7], { dtype: "float64" }).add(Layer.activation(a))
      await check(`activation ${a} float64`, flat, f64)
    }
  )
  it("flatten after a conv is typegrad's row-major NHWC flatten, dropout the identity", async () => {
    const model = Model.input([6, 5, 2])
      .add(Layer.conv2d({ filters: 3, kernelSize: 2, padding: "same", activation: "relu" }))
      .add(Layer.maxPool2d({ poolSize: 2 }))
      .add(Layer.flatten())
      .add(Layer.dropout(0.5))
      .add(Layer.dense({ units: 4, activation: "softmax" }))
    await check("conv, pool, flatten, dropout, dense", model, f32)
  })
  it("flatten of the input (no conv before it), float64", async () => {
    const model = Model.input([3, 4, 2], { dtype: "float64" }).add(Layer.flatten()).add(Layer.dense({ units: 3 }))
    await check("flatten, dense float64", model, f64)
  })
})

describe("research layers: conv1d, global pooling, embedding, leakyRelu, gelu, layerNorm", () => {
  const conv1d: ReadonlyArray<readonly [string, Layer.Conv1dConfig, ReadonlyArray<number>]> = [
    ["valid 3", { filters: 4, kernelSize: 3 }, [9, 2]],
    ["same 4, strides 2", { filters: 3, kernelSize: 4, strides: 2, padding: "same" }, [9, 2]],
    [
      "dilation 2, causal [4, 0], relu",
      { filters: 2, kernelSize: 3, dilation: 2, padding: [4, 0], activation: "relu" },
      [
        8,
        3
      ]
    ],
    ["pads 1, no bias, softmax", { filters: 3, kernelSize: 3, padding: 1, useBias: false, activation: "softmax" }, [
      6,
      2
    ]]
  ]
  const transposed: ReadonlyArray<readonly [string, Layer.Conv2dTransposeConfig, ReadonlyArray<number>]> = [
    ["valid 3x3", { filters: 3, kernelSize: 3 }, [4, 5, 2]],
    ["same 3x3 strides 2", { filters: 2, kernelSize: 3, strides: 2, padding: "same" }, [4, 3, 3]],
    ["same 2x2 strides 3 (output padding)", { filters: 2, kernelSize: 2, strides: 3, padding: "same" }, [3, 3, 2]],
    ["valid [2, 3] strides [2, 1] dilation [1, 2], relu", {
      filters: 2,
      kernelSize: [2, 3],
      strides: [2, 1],
      dilation: [1, 2],
      activation: "relu"
    }, [3, 4, 2]],
    ["same 4x4 strides 2, no bias", { filters: 3, kernelSize: 4, strides: 2, padding: "same", useBias: false }, [
      3,
      3,
      2
    ]]
  ]
  it.each(transposed)("conv2dTranspose %s", async (what, config, input) => {
    await check(`conv2dTranspose ${what}`, Model.input(input).add(Layer.conv2dTranspose(config) as Layer.Any), f32)
  })
  it("depthwiseConv2d (Conv with group = C): multiplier 2 same strides 2, multiplier 1 dilated, relu", async () => {
    const model = Model.input([7, 6, 3])
      .add(Layer.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: "same" }))
      .add(Layer.depthwiseConv2d({ kernelSize: [2, 1], dilation: 2, activation: "relu" }))
      .add(Layer.conv2d({ filters: 2, kernelSize: 1 }))
    await check("depthwiseConv2d", model, f32)
  })
  it("grouped conv2d (Conv with group)", async () => {
    const model = Model.input([6, 5, 4])
      .add(Layer.conv2d({ filters: 6, kernelSize: 3, groups: 2, padding: "same", activation: "relu" }))
      .add(Layer.conv2d({ filters: 3, kernelSize: 2, groups: 3, strides: 2 }))
    await check("grouped conv2d", model, f32)
  })
  it.each(conv1d)("conv1d %s", async (what, config, input) => {
    await check(`conv1d ${what}`, Model.input(input).add(Layer.conv1d(config) as Layer.Any), f32)
  })
  it.each(["avg", "max"] as const)("global %s pooling after a conv (NCHW) and on the input (NHWC)", async (kind) => {
    const pool = () => (kind === "avg" ? Layer.globalAvgPool2d() : Layer.globalMaxPool2d()) as Layer.Any
    const afterConv = Model.input([5, 6, 2]).add(Layer.conv2d({ filters: 3, kernelSize: 2 })).add(pool())
      .add(Layer.dense({ units: 2 }))
    await check(`global ${kind} pool after conv`, afterConv, f32)
    await check(`global ${kind} pool on input`, Model.input([4, 3, 2]).add(pool()), f32)
  })
  it("embedding of float ids (Cast to INT64, Gather), then conv1d and dense", async () => {
    const model = Model.input([6]).add(Layer.embedding({ inputDim: 10, outputDim: 4 }))
      .add(Layer.conv1d({ filters: 3, kernelSize: 2 })).add(Layer.flatten()).add(Layer.dense({ units: 2 }))
    const params = randomParams(model, 5)
    const session = await ort.InferenceSession.create(Onnx.exportModel(model, params))
    const ids = Float32Array.from({ length: 12 }, (_, i) => (i * 7) % 10)
    const expected = Tensor.toArray(model.apply(params, Tensor.fromArray(ids, [2, 6])))
    const got = (await session.run({ input: new ort.Tensor("float32", ids, [2, 6]) }))["output"]!
    expect(got.dims).toEqual([2, 2])
    const values = got.data as Float32Array
    let max = 0
    for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - expected[i]!))
    measured.push(["embedding, conv1d, dense", max])
    expect(max).toBeLessThan(f32)
  })
  it("leakyRelu, exact and tanh gelu, layerNorm on NHWC after a conv and on features", async () => {
    const image = Model.input([5, 4, 2])
      .add(Layer.conv2d({ filters: 3, kernelSize: 2 }))
      .add(Layer.leakyRelu(0.2))
      .add(Layer.layerNorm())
      .add(Layer.gelu())
    await check("conv, leakyRelu, layerNorm, gelu", image, f32)
    const features = Model.input([7])
      .add(Layer.dense({ units: 6 }))
      .add(Layer.gelu({ approximate: true }))
      .add(Layer.layerNorm({ epsilon: 1e-3 }))
      .add(Layer.leakyRelu())
    await check("dense, gelu(tanh), layerNorm, leakyRelu", features, f32)
    const wide = Model.input([7], { dtype: "float64" }).add(Layer.gelu({ approximate: true })).add(Layer.layerNorm())
      .add(Layer.leakyRelu())
    // ONNX float attributes are 32-bit: leakyRelu's alpha and layerNorm's epsilon carry a relative error of
    // about 1e-8 into a float64 graph. The runtime has no double Erf kernel, so the exact gelu is float32 only.
    await check("gelu(tanh), layerNorm, leakyRelu float64 (32-bit attributes)", wide, 1e-8)
  })
})

/**
 * The largest difference between the runtime and `model.apply` with a model state away from its start
 * (one training step on a random batch of 4), on a random batch of 3 of `item`-shaped examples.
 */
const compareWithState = async <M extends Model.AnyModel>(
  model: M,
  params: Model.ParamsOf<M>,
  item: ReadonlyArray<number>,
  seed: number
): Promise<number> => {
  const next = uniform(seed)
  const size = item.reduce((a, b) => a * b, 1)
  const m: Model.AnyModel = model
  const batch = Tensor.fromArray(Float32Array.from({ length: 4 * size }, next), [4, ...item])
  const [, state] = m.applyWithState(params, m.initState, batch, { training: true })
  const session = await ort.InferenceSession.create(Onnx.exportModel(model, params, { state }))
  const data = Float32Array.from({ length: 3 * size }, next)
  const expected = Tensor.toArray(m.apply(params, Tensor.fromArray(data, [3, ...item]), { state }))
  const got = (await session.run({ input: new ort.Tensor("float32", data, [3, ...item]) }))["output"]!
  const values = got.data as Float32Array
  let max = 0
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - expected[i]!))
  return max
}

describe("batchNorm (inference with the running statistics of the state)", () => {
  it("exports x * a + b per channel from params and state; without a state it is an OnnxParamsError", async () => {
    const model = Model.input([5, 5, 2])
      .add(Layer.conv2d({ filters: 3, kernelSize: 2, useBias: false }))
      .add(Layer.batchNorm())
      .add(Layer.relu())
      .add(Layer.residual(Layer.conv2d({ filters: 3, kernelSize: 1 }), Layer.batchNorm({ epsilon: 1e-3 })))
      .add(Layer.flatten())
      .add(Layer.dense({ units: 4 }))
      .add(Layer.batchNorm({ name: "head" }))
    const params = randomParams(model, 9)
    const max = await compareWithState(model, params, [5, 5, 2], 10)
    measured.push(["batchNorm conv, residual, dense", max])
    expect(max).toBeLessThan(f32)
    expect(() => Onnx.exportModel(model, params)).toThrow(Onnx.OnnxParamsError)
    expect(() => Onnx.exportModel(model, params)).toThrow(/layer 2 batchNorm: its running statistics are model state/)
  })

  it("Reference.cifarResNet (add blocks with projection shortcuts, 15 batch norms)", async () => {
    const model = Reference.cifarResNet
    const max = await compareWithState(model, Effect.runSync(model.init.pipe(Random.withSeed(3))), [32, 32, 3], 11)
    measured.push(["cifarResNet", max])
    expect(max).toBeLessThan(f32)
  })
})

describe("blocks", () => {
  it("residual over convolutions (NCHW inside, NHWC outside)", async () => {
    const model = Model.input([6, 6, 3])
      .add(Layer.residual(
        Layer.conv2d({ filters: 4, kernelSize: 2, padding: "same", activation: "relu" }),
        Layer.conv2d({ filters: 3, kernelSize: 3, padding: "same" })
      ))
      .add(Layer.residual(Layer.dropout(0.2), Layer.activation("tanh")))
    await check("residual conv", model, f32)
  })
  it("residual over dense layers, float64", async () => {
    const model = Model.input([5], { dtype: "float64" })
      .add(Layer.dense({ units: 5, activation: "relu" }))
      .add(Layer.residual(Layer.dense({ units: 5, activation: "tanh" }), Layer.dense({ units: 5 })))
    await check("residual dense float64", model, f64)
  })
  it("parallel branches concatenated over channels (an inception block), with an identity branch", async () => {
    const model = Model.input([7, 7, 2])
      .add(Layer.parallel([
        [Layer.conv2d({ filters: 3, kernelSize: 1 })],
        [Layer.conv2d({ filters: 2, kernelSize: 2, padding: "same", activation: "relu" })],
        [Layer.maxPool2d({ poolSize: 3, strides: 1, padding: "same" })],
        []
      ]))
      .add(Layer.conv2d({ filters: 2, kernelSize: 3, strides: 2 }))
    await check("parallel inception", model, f32)
  })
  it("parallel over axis 1 (rows) and over dense features", async () => {
    const rows = Model.input([4, 5, 2])
      .add(Layer.parallel([[Layer.conv2d({ filters: 2, kernelSize: 1 })], []], 1))
      .add(Layer.flatten())
    await check("parallel axis 1", rows, f32)
    const dense = Model.input([6])
      .add(Layer.parallel([[Layer.dense({ units: 2 })], [Layer.dense({ units: 3, activation: "tanh" })]]))
      .add(Layer.dense({ units: 2, activation: "softmax" }))
    await check("parallel dense", dense, f32)
  })
  it("sequential inside parallel inside residual", async () => {
    const model = Model.input([6, 6, 4])
      .add(Layer.residual(
        Layer.parallel([
          [Layer.sequential(Layer.conv2d({ filters: 2, kernelSize: 3, padding: "same" }), Layer.activation("relu"))],
          [Layer.avgPool2d({ poolSize: 2, strides: 1, padding: "same" }), Layer.conv2d({ filters: 2, kernelSize: 1 })]
        ])
      ))
      .add(Layer.flatten())
    await check("residual(parallel(sequential))", model, f32)
  })
})

describe("the exported model", () => {
  const cnn = Model.input([12, 12, 1])
    .add(Layer.conv2d({ filters: 4, kernelSize: 2, padding: "same", activation: "relu" }))
    .add(Layer.maxPool2d({ poolSize: 2 }))
    .add(Layer.conv2d({ filters: 6, kernelSize: 3, strides: 2, dilation: 1, padding: "same", activation: "relu" }))
    .add(Layer.avgPool2d({ poolSize: 2, padding: "same" }))
    .add(Layer.flatten())
    .add(Layer.dense({ units: 16, activation: "relu" }))
    .add(Layer.dropout(0.5))
    .add(Layer.dense({ units: 10, activation: "softmax" }))
  it.each([1, 2, 17])("takes any batch size (batch %i)", async (batch) => {
    await check(`small cnn batch ${batch}`, cnn, f32, batch)
  })
  it("names its input and output as asked", async () => {
    const model = Model.input([3]).add(Layer.dense({ units: 2 }))
    const bytes = Onnx.exportModel(model, randomParams(model, 3), { inputName: "x", outputName: "y" })
    const session = await ort.InferenceSession.create(bytes)
    expect([session.inputNames, session.outputNames]).toEqual([["x"], ["y"]])
  })
})

describe("errors", () => {
  const double = () => Layer.make({ label: "double", outShape: (input) => input, forward: (_, x) => Tensor.mul(x, 2) })
  it("a Layer.make layer is an UnsupportedLayerError naming it", () => {
    const model = Model.input([4]).add(Layer.dense({ units: 4 })).add(double() as Layer.Any)
    const params = randomParams(model, 1)
    expect(() => Onnx.exportModel(model, params)).toThrow(Onnx.UnsupportedLayerError)
    expect(() => Onnx.exportModel(model, params)).toThrow(
      /layer 2 double cannot be exported to ONNX: it is a custom layer \(Layer\.make, "double"\).*replace it with built-in layers/
    )
  })
  it("inside a block too, with its path", () => {
    const model = Model.input([4]).add(Layer.residual(Layer.dense({ units: 4 }), double() as Layer.Any))
    const params = randomParams(model, 1)
    try {
      Onnx.exportModel(model, params)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(Onnx.UnsupportedLayerError)
      expect((e as Onnx.UnsupportedLayerError)._tag).toBe("UnsupportedLayerError")
      expect((e as Onnx.UnsupportedLayerError).layer).toBe("layer 1 residual.1 double")
    }
  })
  it("params of another model are an OnnxParamsError naming the layer", () => {
    const model = Model.input([4]).add(Layer.dense({ units: 3 }))
    const other = Model.input([5]).add(Layer.dense({ units: 3 }))
    // The types refuse these params; a caller that casts gets a tagged error at run time.
    const params = randomParams(other, 1) as unknown as Model.ParamsOf<typeof model>
    expect(() => Onnx.exportModel(model, params)).toThrow(Onnx.OnnxParamsError)
    expect(() => Onnx.exportModel(model, params)).toThrow(
      /layer 1 dense\(3\): "kernel" has shape \[5, 3\] but the layer needs \[4, 3\]/
    )
    expect(() => Onnx.exportModel(model, [] as unknown as typeof params)).toThrow(
      /layer 1 dense\(3\): params has no entry 0/
    )
  })
})
