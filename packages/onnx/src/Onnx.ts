/**
 * ONNX export: a `Model` and its parameters as an ONNX `ModelProto` (IR 8, opset 17, dynamic batch), to
 * run in ONNX Runtime, Triton or any other ONNX consumer.
 *
 * @since 0.1.0
 */
import type { Layer, Model } from "@typegrad/nn"
import { Shape } from "@typegrad/shape"
import { type Pytree, Tensor } from "@typegrad/tensor"
import { Data } from "effect"
import { type Attribute, type ElemType, encodeModel, type Initializer, type Node } from "./internal/proto.ts"

/**
 * The ONNX IR version of the exported models (ONNX 1.13+, ONNX Runtime 1.14+ read it).
 *
 * @example
 * ```ts
 * const ir: number = Onnx.irVersion // 8
 * ```
 */
export const irVersion = 8

/**
 * The opset (default domain) of the exported models.
 *
 * @example
 * ```ts
 * const opset: number = Onnx.opsetVersion // 17
 * ```
 */
export const opsetVersion = 17

/**
 * Options of `exportModel`: the names of the graph, its input and its output.
 *
 * @example
 * ```ts
 * const options: Onnx.ExportOptions = { inputName: "image", outputName: "probabilities" }
 * ```
 */
export interface ExportOptions {
  /** The graph input's name (default `"input"`); its first dimension is the symbolic `"batch"`. */
  readonly inputName?: string
  /** The graph output's name (default `"output"`). */
  readonly outputName?: string
  /** The graph's name (default `"typegrad"`). */
  readonly graphName?: string
  /**
   * The model state (batch normalisation's running statistics, `model.initState` or what
   * `model.applyWithState` returned): a model with `Layer.batchNorm` needs it.
   */
  readonly state?: Model.State
}

/**
 * A layer that has no ONNX form: a user layer made with `Layer.make` (its forward pass is a JavaScript
 * function), or a layer kind this exporter does not know. `layer` names it as the model does
 * (`"layer 3 double"`, `"layer 2 residual.0 double"` inside a block).
 *
 * @example
 * ```ts
 * declare const model: Model.AnyModel
 * declare const params: ReadonlyArray<Pytree.Pytree>
 * try {
 *   Onnx.exportModel(model, params)
 * } catch (e) {
 *   if (e instanceof Onnx.UnsupportedLayerError) console.error(e.layer)
 * }
 * ```
 */
export class UnsupportedLayerError extends Data.TaggedError("UnsupportedLayerError")<{
  /** The layer, as the model names it. */
  readonly layer: string
  /** Why it cannot be exported. */
  readonly reason: string
}> {
  override get message(): string {
    return `onnx export: ${this.layer} cannot be exported to ONNX: ${this.reason}; replace it with built-in ` +
      `layers (conv2d, conv1d, conv2dTranspose, depthwiseConv2d, maxPool2d, avgPool2d, global pooling, dense, embedding, flatten, dropout, ` +
      `activations, leakyRelu, gelu, layerNorm, batchNorm, residual, add, parallel, sequential), or export the model without it`
  }
}

/**
 * The parameters do not fit the model (a missing entry, or a tensor of another shape or dtype): `layer`
 * names the layer that needs them.
 *
 * @example
 * ```ts
 * declare const e: Onnx.OnnxParamsError
 * console.error(`${e.layer}: ${e.reason}`)
 * ```
 */
export class OnnxParamsError extends Data.TaggedError("OnnxParamsError")<{
  readonly layer: string
  readonly reason: string
}> {
  override get message(): string {
    return `onnx export: ${this.layer}: ${this.reason}; pass the params (and state) of this model (model.init, ` +
      `or Params.load with this model)`
  }
}

type Layout = "nhwc" | "nchw"

/** A value of the graph: its name, its typegrad (NHWC) shape with batch 1, and how it is laid out. */
interface Value {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly layout: Layout
}

interface Built {
  readonly outShape: ReadonlyArray<number>
  readonly hasParams: boolean
}

const toNchw = [0, 3, 1, 2]
const toNhwc = [0, 2, 3, 1]

class GraphBuilder {
  readonly nodes: Array<Node> = []
  readonly initializers: Array<Initializer> = []
  private count = 0

  readonly dtype: Tensor.DType
  readonly state: Model.State | undefined

  constructor(dtype: Tensor.DType, state?: Model.State) {
    this.dtype = dtype
    this.state = state
  }

  get elemType(): ElemType {
    return this.dtype === "float64" ? 11 : 1
  }

  fresh(hint: string): string {
    return `${hint}_${this.count++}`
  }

  node(opType: string, inputs: ReadonlyArray<string>, attributes: ReadonlyArray<Attribute> = [], out?: string) {
    const output = out ?? this.fresh(opType.toLowerCase())
    this.nodes.push({ opType, name: `${opType}_${this.nodes.length}`, inputs, outputs: [output], attributes })
    return output
  }

  constant(hint: string, dims: ReadonlyArray<number>, values: ArrayLike<number>): string {
    const name = this.fresh(hint)
    const wide = this.dtype === "float64"
    const raw = new Uint8Array(values.length * (wide ? 8 : 4))
    const view = new DataView(raw.buffer)
    for (let i = 0; i < values.length; i++) {
      if (wide) view.setFloat64(i * 8, values[i]!, true)
      else view.setFloat32(i * 4, values[i]!, true)
    }
    this.initializers.push({ name, dims, elemType: this.elemType, raw })
    return name
  }

  layout(v: Value, want: Layout): Value {
    if (v.shape.length !== 4 || v.layout === want) return v
    const name = this.node("Transpose", [v.name], [{ name: "perm", ints: want === "nchw" ? toNchw : toNhwc }])
    return { name, shape: v.shape, layout: want }
  }
}

const show = (s: ReadonlyArray<number>) => `[${s.join(", ")}]`

const tensorParam = (
  g: GraphBuilder,
  where: string,
  p: Pytree.Pytree | undefined,
  key: string,
  shape: ReadonlyArray<number>
): Float32Array | Float64Array => {
  const t = typeof p === "object" && p !== null && !Array.isArray(p)
    ? (p as { readonly [k: string]: unknown })[key]
    : undefined
  if (!Tensor.isTensor(t)) {
    throw new OnnxParamsError({ layer: where, reason: `its params have no tensor "${key}"` })
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new OnnxParamsError({
      layer: where,
      reason: `"${key}" has shape ${show(t.shape)} but the layer needs ${show(shape)}`
    })
  }
  if (t.dtype !== g.dtype) {
    throw new OnnxParamsError({ layer: where, reason: `"${key}" is ${t.dtype} but the model is ${g.dtype}` })
  }
  return Tensor.toArray(t)
}

const hasKey = (p: Pytree.Pytree | undefined, key: string): boolean =>
  typeof p === "object" && p !== null && !Array.isArray(p) && key in p

const activation = (g: GraphBuilder, a: Layer.Activation | undefined, v: Value): Value => {
  switch (a) {
    case undefined:
    case "linear":
      return v
    case "relu":
      return { ...v, name: g.node("Relu", [v.name]) }
    case "tanh":
      return { ...v, name: g.node("Tanh", [v.name]) }
    case "sigmoid":
      return { ...v, name: g.node("Sigmoid", [v.name]) }
    case "softmax": {
      // typegrad's softmax runs over the last (NHWC) axis: the channels, axis 1 in NCHW.
      const axis = v.shape.length === 4 && v.layout === "nchw" ? 1 : v.shape.length - 1
      return { ...v, name: g.node("Softmax", [v.name], [{ name: "axis", int: axis }]) }
    }
  }
}

const pads = (geo: Shape.Geometry2d): Array<number> => [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]

const isObject = (u: unknown): u is { readonly [k: string]: unknown } => typeof u === "object" && u !== null

/** The `_tag`s of the built-in layers, each exported by a case of `exportLayer`. */
const builtInTags: ReadonlyArray<string> = [
  "Conv2d",
  "Conv1d",
  "Conv2dTranspose",
  "DepthwiseConv2d",
  "Pool2d",
  "GlobalPool2d",
  "Dense",
  "Embedding",
  "Flatten",
  "Dropout",
  "Activation",
  "LeakyRelu",
  "Gelu",
  "LayerNorm",
  "BatchNorm",
  "Residual",
  "Add",
  "Parallel",
  "Sequential"
]

const unsupported = (where: string, layer: Layer.Any): UnsupportedLayerError =>
  new UnsupportedLayerError({
    layer: where,
    reason: isObject(layer) &&
        builtInTags.includes(layer._tag)
      ? `it claims to be a ${layer._tag} but lacks that layer's configuration (a Layer.make layer?)`
      : `it is a custom layer (Layer.make, "${layer._tag}") whose forward pass is a JavaScript function with no ONNX form`
  })

/** One layer of a chain: its ONNX nodes from `input`, and its output value. */
const exportLayer = (
  g: GraphBuilder,
  layer: Layer.Any,
  where: string,
  built: Built,
  p: Pytree.Pytree | undefined,
  input: Value
): Value => {
  const l = layer as unknown as { readonly [k: string]: unknown }
  const out = built.outShape
  switch (layer._tag) {
    case "Conv2d": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.Conv2dConfig
      const [kh, kw] = typeof c.kernelSize === "number" ? [c.kernelSize, c.kernelSize] : c.kernelSize
      const ch = input.shape[3]!
      const f = c.filters
      const geo = Shape.conv2dGeometry(input.shape, [kh, kw, ch, f], {
        strides: c.strides ?? 1,
        padding: c.padding ?? "valid",
        dilation: c.dilation ?? 1
      }, where)
      // A grouped convolution's kernel is [KH, KW, C / groups, F]; ONNX's `group` attribute takes it as is.
      const groups = c.groups ?? 1
      const cg = ch / groups
      const k = tensorParam(g, where, p, "kernel", [kh, kw, cg, f])
      // [KH, KW, C / groups, F] -> ONNX's [F, C / groups, KH, KW].
      const w = new Float64Array(k.length)
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let cc = 0; cc < cg; cc++) {
            for (let ff = 0; ff < f; ff++) w[((ff * cg + cc) * kh + i) * kw + j] = k[((i * kw + j) * cg + cc) * f + ff]!
          }
        }
      }
      const inputs = [g.layout(input, "nchw").name, g.constant("kernel", [f, cg, kh, kw], w)]
      if ((c.useBias ?? true) || hasKey(p, "bias")) {
        inputs.push(g.constant("bias", [f], tensorParam(g, where, p, "bias", [f])))
      }
      const y = g.node("Conv", inputs, [
        ...(groups === 1 ? [] : [{ name: "group", int: groups }]),
        { name: "kernel_shape", ints: [kh, kw] },
        { name: "strides", ints: [geo.strideH, geo.strideW] },
        { name: "dilations", ints: [geo.dilationH, geo.dilationW] },
        { name: "pads", ints: pads(geo) }
      ])
      return activation(g, c.activation, { name: y, shape: out, layout: "nchw" })
    }
    case "Pool2d": {
      if (!isObject(l["config"]) || (l["kind"] !== "max" && l["kind"] !== "avg")) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.Pool2dConfig
      const geo = Shape.pool2dGeometry(input.shape, {
        poolSize: c.poolSize,
        ...(c.strides === undefined ? {} : { strides: c.strides }),
        ...(c.padding === undefined ? {} : { padding: c.padding })
      }, where)
      const attributes: Array<Attribute> = [
        { name: "kernel_shape", ints: [geo.kh, geo.kw] },
        { name: "strides", ints: [geo.strideH, geo.strideW] },
        { name: "pads", ints: pads(geo) }
      ]
      // Average over the real cells only (TensorFlow's "same"), as typegrad does.
      if (l["kind"] === "avg") attributes.push({ name: "count_include_pad", int: 0 })
      const y = g.node(l["kind"] === "max" ? "MaxPool" : "AveragePool", [g.layout(input, "nchw").name], attributes)
      return { name: y, shape: out, layout: "nchw" }
    }
    case "DepthwiseConv2d": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.DepthwiseConv2dConfig
      const [kh, kw] = typeof c.kernelSize === "number" ? [c.kernelSize, c.kernelSize] : c.kernelSize
      const ch = input.shape[3]!
      const m = c.depthMultiplier ?? 1
      const geo = Shape.conv2dGeometry(input.shape, [kh, kw, ch, ch * m], {
        strides: c.strides ?? 1,
        padding: c.padding ?? "valid",
        dilation: c.dilation ?? 1
      }, where)
      const k = tensorParam(g, where, p, "kernel", [kh, kw, ch, m])
      // [KH, KW, C, M] -> ONNX's grouped [C * M, 1, KH, KW] (group = C, output channel c * M + m).
      const w = new Float64Array(k.length)
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let cc = 0; cc < ch; cc++) {
            for (let mm = 0; mm < m; mm++) w[((cc * m + mm) * kh + i) * kw + j] = k[((i * kw + j) * ch + cc) * m + mm]!
          }
        }
      }
      const inputs = [g.layout(input, "nchw").name, g.constant("kernel", [ch * m, 1, kh, kw], w)]
      if ((c.useBias ?? true) || hasKey(p, "bias")) {
        inputs.push(g.constant("bias", [ch * m], tensorParam(g, where, p, "bias", [ch * m])))
      }
      const y = g.node("Conv", inputs, [
        { name: "group", int: ch },
        { name: "kernel_shape", ints: [kh, kw] },
        { name: "strides", ints: [geo.strideH, geo.strideW] },
        { name: "dilations", ints: [geo.dilationH, geo.dilationW] },
        { name: "pads", ints: pads(geo) }
      ])
      return activation(g, c.activation, { name: y, shape: out, layout: "nchw" })
    }
    case "Conv2dTranspose": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.Conv2dTransposeConfig
      const [kh, kw] = typeof c.kernelSize === "number" ? [c.kernelSize, c.kernelSize] : c.kernelSize
      const ch = input.shape[3]!
      const f = c.filters
      // The convolution it transposes maps the output [N, OH, OW, f] to the input [N, H, W, ch].
      const geo = Shape.conv2dTransposeGeometry(input.shape, [kh, kw, f, ch], {
        strides: c.strides ?? 1,
        padding: c.padding ?? "valid",
        dilation: c.dilation ?? 1
      }, where)
      const k = tensorParam(g, where, p, "kernel", [kh, kw, f, ch])
      // [KH, KW, f, ch] -> ONNX ConvTranspose's [C_in = ch, C_out = f, KH, KW].
      const w = new Float64Array(k.length)
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let ff = 0; ff < f; ff++) {
            for (let cc = 0; cc < ch; cc++) w[((cc * f + ff) * kh + i) * kw + j] = k[((i * kw + j) * f + ff) * ch + cc]!
          }
        }
      }
      const inputs = [g.layout(input, "nchw").name, g.constant("kernel", [ch, f, kh, kw], w)]
      if ((c.useBias ?? true) || hasKey(p, "bias")) {
        inputs.push(g.constant("bias", [f], tensorParam(g, where, p, "bias", [f])))
      }
      // ONNX's size: stride * (in - 1) + output_padding + effective kernel - pads; the forward convolution's
      // pads, and an output padding for what "same" adds when the stride exceeds the effective kernel.
      const extra = (size: number, inp: number, s: number, kk: number, d: number, padded: number) =>
        size - (s * (inp - 1) + (kk - 1) * d + 1 - padded)
      const y = g.node("ConvTranspose", inputs, [
        { name: "kernel_shape", ints: [kh, kw] },
        { name: "strides", ints: [geo.strideH, geo.strideW] },
        { name: "dilations", ints: [geo.dilationH, geo.dilationW] },
        { name: "pads", ints: pads(geo) },
        {
          name: "output_padding",
          ints: [
            extra(geo.inH, geo.outH, geo.strideH, kh, geo.dilationH, geo.padTop + geo.padBottom),
            extra(geo.inW, geo.outW, geo.strideW, kw, geo.dilationW, geo.padLeft + geo.padRight)
          ]
        }
      ])
      return activation(g, c.activation, { name: y, shape: out, layout: "nchw" })
    }
    case "Conv1d": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.Conv1dConfig
      const ch = input.shape[2]!
      const k = c.kernelSize
      const f = c.filters
      const pad = c.padding ?? "valid"
      // The geometry of the unit-height conv2d that typegrad runs.
      const geo = Shape.conv2dGeometry([1, 1, input.shape[1]!, ch], [1, k, ch, f], {
        strides: [1, c.strides ?? 1],
        dilation: [1, c.dilation ?? 1],
        padding: pad === "valid" || pad === "same"
          ? pad
          : typeof pad === "number"
          ? [[0, 0], [pad, pad]]
          : [[0, 0], pad]
      }, where)
      const kv = tensorParam(g, where, p, "kernel", [k, ch, f])
      // [K, C, F] -> ONNX's [F, C, K].
      const w = new Float64Array(kv.length)
      for (let i = 0; i < k; i++) {
        for (let cc = 0; cc < ch; cc++) {
          for (let ff = 0; ff < f; ff++) w[(ff * ch + cc) * k + i] = kv[(i * ch + cc) * f + ff]!
        }
      }
      // [N, L, C] -> [N, C, L] for Conv, and back.
      const x = g.node("Transpose", [input.name], [{ name: "perm", ints: [0, 2, 1] }])
      const inputs = [x, g.constant("kernel", [f, ch, k], w)]
      if ((c.useBias ?? true) || hasKey(p, "bias")) {
        inputs.push(g.constant("bias", [f], tensorParam(g, where, p, "bias", [f])))
      }
      const y = g.node("Conv", inputs, [
        { name: "kernel_shape", ints: [k] },
        { name: "strides", ints: [geo.strideW] },
        { name: "dilations", ints: [geo.dilationW] },
        { name: "pads", ints: [geo.padLeft, geo.padRight] }
      ])
      const back = g.node("Transpose", [y], [{ name: "perm", ints: [0, 2, 1] }])
      return activation(g, c.activation, { name: back, shape: out, layout: "nhwc" })
    }
    case "GlobalPool2d": {
      if (l["kind"] !== "max" && l["kind"] !== "avg") throw unsupported(where, layer)
      const axes = input.layout === "nchw" ? [2, 3] : [1, 2]
      const y = g.node(l["kind"] === "max" ? "ReduceMax" : "ReduceMean", [input.name], [
        { name: "axes", ints: axes },
        { name: "keepdims", int: 0 }
      ])
      return { name: y, shape: out, layout: "nhwc" }
    }
    case "Embedding": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.EmbeddingConfig
      const table = g.constant(
        "embeddings",
        [c.inputDim, c.outputDim],
        tensorParam(g, where, p, "embeddings", [
          c.inputDim,
          c.outputDim
        ])
      )
      // The ids are integer values in a float tensor: INT64 (7) for Gather.
      const ids = g.node("Cast", [g.layout(input, "nhwc").name], [{ name: "to", int: 7 }])
      return { name: g.node("Gather", [table, ids], [{ name: "axis", int: 0 }]), shape: out, layout: "nhwc" }
    }
    case "LeakyRelu": {
      if (typeof l["alpha"] !== "number") throw unsupported(where, layer)
      return { ...input, name: g.node("LeakyRelu", [input.name], [{ name: "alpha", float: l["alpha"] }]) }
    }
    case "Gelu": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const scalar = (v: number) => g.constant("c", [], [v])
      const x = input.name
      // Opset 17 has no Gelu: x / 2 * (1 + erf(x / sqrt 2)), or the tanh form, from elementwise nodes.
      const phi = (l["config"] as Layer.GeluConfig).approximate === true
        ? g.node("Tanh", [
          g.node("Mul", [
            g.node("Add", [x, g.node("Mul", [g.node("Mul", [g.node("Mul", [x, x]), x]), scalar(0.044715)])]),
            scalar(Math.sqrt(2 / Math.PI))
          ])
        ])
        : g.node("Erf", [g.node("Mul", [x, scalar(Math.SQRT1_2)])])
      const y = g.node("Mul", [g.node("Mul", [x, scalar(0.5)]), g.node("Add", [phi, scalar(1)])])
      return { ...input, name: y }
    }
    case "BatchNorm": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as Layer.BatchNormConfig
      const channels = input.shape[input.shape.length - 1]!
      const running = g.state?.[where]
      if (running === undefined) {
        throw new OnnxParamsError({
          layer: where,
          reason:
            `its running statistics are model state, which the export needs: pass { state } (model.initState, or the state model.applyWithState returned) in exportModel's options`
        })
      }
      const mean = tensorParam(g, where, running, "mean", [channels])
      const v = tensorParam(g, where, running, "variance", [channels])
      const scale = tensorParam(g, where, p, "scale", [channels])
      const bias = tensorParam(g, where, p, "bias", [channels])
      // Inference is affine per channel: x * a + b, with a = scale / sqrt(variance + epsilon), b = bias - mean * a.
      const a = Array.from(scale, (sc, i) => sc / Math.sqrt(v[i]! + (c.epsilon ?? 1e-5)))
      const b = Array.from(bias, (bi, i) => bi - mean[i]! * a[i]!)
      const x = g.layout(input, "nhwc")
      const y = g.node("Add", [
        g.node("Mul", [x.name, g.constant("scale", [channels], a)]),
        g.constant("bias", [channels], b)
      ])
      return { name: y, shape: out, layout: "nhwc" }
    }
    case "LayerNorm": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as Layer.LayerNormConfig
      const features = input.shape[input.shape.length - 1]!
      const x = g.layout(input, "nhwc")
      const y = g.node("LayerNormalization", [
        x.name,
        g.constant("scale", [features], tensorParam(g, where, p, "scale", [features])),
        g.constant("bias", [features], tensorParam(g, where, p, "bias", [features]))
      ], [{ name: "axis", int: -1 }, { name: "epsilon", float: c.epsilon ?? 1e-5 }])
      return { name: y, shape: out, layout: "nhwc" }
    }
    case "Dense": {
      if (!isObject(l["config"])) throw unsupported(where, layer)
      const c = l["config"] as unknown as Layer.DenseConfig
      const k = input.shape[input.shape.length - 1]!
      const x = g.layout(input, "nhwc")
      let y = g.node("MatMul", [
        x.name,
        g.constant("kernel", [k, c.units], tensorParam(g, where, p, "kernel", [k, c.units]))
      ])
      if ((c.useBias ?? true) || hasKey(p, "bias")) {
        y = g.node("Add", [y, g.constant("bias", [c.units], tensorParam(g, where, p, "bias", [c.units]))])
      }
      return activation(g, c.activation, { name: y, shape: out, layout: "nhwc" })
    }
    case "Flatten": {
      // typegrad flattens row-major NHWC: back to NHWC first.
      const x = g.layout(input, "nhwc")
      return { name: g.node("Flatten", [x.name], [{ name: "axis", int: 1 }]), shape: out, layout: "nhwc" }
    }
    case "Dropout":
      if (typeof l["rate"] !== "number") throw unsupported(where, layer)
      return input // identity at inference
    case "Activation":
      if (typeof l["activation"] !== "string") throw unsupported(where, layer)
      return activation(g, l["activation"] as Layer.Activation, input)
    case "Sequential":
      if (!Array.isArray(l["layers"])) throw unsupported(where, layer)
      return exportChain(g, l["layers"] as ReadonlyArray<Layer.Any>, where, p, input)
    case "Residual": {
      if (!Array.isArray(l["layers"])) throw unsupported(where, layer)
      const y = g.layout(exportChain(g, l["layers"] as ReadonlyArray<Layer.Any>, where, p, input), input.layout)
      return { name: g.node("Add", [input.name, y.name]), shape: out, layout: input.layout }
    }
    case "Add": {
      if (!Array.isArray(l["branches"])) throw unsupported(where, layer)
      const branches = l["branches"] as ReadonlyArray<ReadonlyArray<Layer.Any>>
      const ps = Array.isArray(p) ? p : []
      const outs = branches.map((b, i) => exportChain(g, b, `${where}[${i}]`, ps[i], input))
      const layout = outs[0]?.layout ?? input.layout
      const y = outs.map((o) => g.layout(o, layout).name).reduce((a, b) => g.node("Add", [a, b]))
      return { name: y, shape: out, layout }
    }
    case "Parallel": {
      if (!Array.isArray(l["branches"]) || typeof l["axis"] !== "number") throw unsupported(where, layer)
      const branches = l["branches"] as ReadonlyArray<ReadonlyArray<Layer.Any>>
      const ps = Array.isArray(p) ? p : []
      const outs = branches.map((b, i) => exportChain(g, b, `${where}[${i}]`, ps[i], input))
      const layout = outs[0]?.layout ?? input.layout
      const rank = out.length
      const nhwcAxis = ((l["axis"] as number) % rank + rank) % rank
      const axis = rank === 4 && layout === "nchw" ? [0, 2, 3, 1][nhwcAxis]! : nhwcAxis
      const y = g.node("Concat", outs.map((o) => g.layout(o, layout).name), [{ name: "axis", int: axis }])
      return { name: y, shape: out, layout }
    }
    default:
      throw unsupported(where, layer)
  }
}

/** A chain of layers inside a block: `params` has one entry per inner layer that has parameters. */
const exportChain = (
  g: GraphBuilder,
  layers: ReadonlyArray<Layer.Any>,
  name: string,
  params: Pytree.Pytree | undefined,
  input: Value
): Value => {
  const ps = Array.isArray(params) ? params as ReadonlyArray<Pytree.Pytree> : []
  let k = 0
  let v = input
  layers.forEach((l, i) => {
    const where = `${name}.${i} ${l._tag.toLowerCase()}`
    const b = l.build(v.shape, where, i)
    const built = { outShape: b.outShape, hasParams: b.init !== undefined }
    const own = built.hasParams ? ps[k++] : undefined
    if (built.hasParams && own === undefined) {
      throw new OnnxParamsError({ layer: where, reason: `the params have no entry ${k - 1} for it` })
    }
    v = exportLayer(g, l, where, built, own, v)
  })
  return v
}

/**
 * The model with its parameters as ONNX `ModelProto` bytes (write them to a `.onnx` file): IR 8, opset 17,
 * the input's first dimension the symbolic `"batch"`, the model's dtype (float32 or float64). The graph
 * computes `model.apply(params, x)` at inference (dropout is the identity); convolutions and pools run in
 * NCHW between Transpose nodes, and the input and output keep typegrad's NHWC layout.
 *
 * Throws `UnsupportedLayerError` for a layer with no ONNX form (a `Layer.make` layer, named in the error)
 * and `OnnxParamsError` for params that do not fit the model.
 *
 * @example
 * ```ts
 * const model = Model.input([28, 28, 1]).add(Layer.flatten()).add(Layer.dense({ units: 10, activation: "softmax" }))
 * const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
 * const bytes: Uint8Array = Onnx.exportModel(model, params) // fs.writeFileSync("model.onnx", bytes) in Node
 * ```
 */
export const exportModel = <M extends Model.AnyModel>(
  model: M,
  params: Model.ParamsOf<M>,
  options?: ExportOptions
): Uint8Array => {
  const g = new GraphBuilder(model.dtype, options?.state)
  const inputName = options?.inputName ?? "input"
  const outputName = options?.outputName ?? "output"
  const ps: ReadonlyArray<Pytree.Pytree> = Array.isArray(params) ? params : []
  let k = 0
  let v: Value = { name: inputName, shape: [1, ...model.inputShape.slice(1)], layout: "nhwc" }
  model.layers.forEach((info, i) => {
    const b = info.layer.build(v.shape, info.label, i + 1)
    const hasParams = b.init !== undefined
    const own = hasParams ? ps[k++] : undefined
    if (hasParams && own === undefined) {
      throw new OnnxParamsError({ layer: info.label, reason: `params has no entry ${k - 1} for it` })
    }
    v = exportLayer(g, info.layer, info.label, { outShape: b.outShape, hasParams }, own, v)
  })
  const last = g.layout(v, "nhwc")
  g.node("Identity", [last.name], [], outputName)
  return encodeModel({
    irVersion,
    opset: opsetVersion,
    producerName: "typegrad",
    producerVersion: "0.1.0",
    graphName: options?.graphName ?? "typegrad",
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: inputName, elemType: g.elemType, dims: ["batch", ...model.inputShape.slice(1)] }],
    outputs: [{ name: outputName, elemType: g.elemType, dims: ["batch", ...last.shape.slice(1)] }]
  })
}
