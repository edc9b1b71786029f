/**
 * The workloads of `pnpm bench`, the same for every peer; each peer builds them in its own native layout
 * (typegrad and TensorFlow.js NHWC / HWIO, PyTorch and jax-js `lax.conv` NCHW / OIHW) and times them.
 *
 * The CNN workloads run one of two networks (`CNN_MODELS`, `--model`), on [B,28,28,1] inputs:
 *
 * - `keras`: the Keras MNIST CNN (keras.io "Simple MNIST convnet" / `mnist_cnn.py`):
 *   conv 32 3x3 valid + relu -> conv 64 3x3 valid + relu -> maxPool 2 -> dropout 0.25 -> flatten [B,9216]
 *   -> dense 128 + relu -> dropout 0.5 -> dense 10.
 * - `reference` (the default): `Reference.mnistCnn` of `@typegrad/nn`, the network `pnpm mnist` trains: conv 24 2x2 same
 *   + relu -> maxPool 2 -> conv 48 2x2 same + relu -> maxPool 2 -> flatten [B,2352] -> dense 512 + relu
 *   -> dropout 0.5 -> dense 128 + relu -> dropout 0.5 -> dense 10.
 *
 * Both end in softmax cross-entropy and train with Adam 1e-3. `train` is one training step (forward with
 * dropout, backward, Adam update, the loss read back), `infer` the forward pass in inference mode (no
 * dropout, no gradient), both in samples/s. The peers build the network from the layer list below.
 */

export type Workload =
  | {
    readonly kind: "gemm"
    readonly name: string
    /** C[n,n] = A[n,n] B[n,n]. */
    readonly n: number
    readonly flops: number
  }
  | {
    readonly kind: "conv"
    readonly name: string
    readonly batch: number
    readonly h: number
    readonly w: number
    readonly c: number
    readonly f: number
    /** Square kernel, stride 1, dilation 1. */
    readonly k: number
    /** "valid": no padding; "same": TensorFlow's (output h x w). */
    readonly padding: "valid" | "same"
    readonly flops: number
  }
  | { readonly kind: "train"; readonly name: string; readonly batch: number; readonly model: CnnModelName }
  | { readonly kind: "infer"; readonly name: string; readonly batch: number; readonly model: CnnModelName }

/** A layer of the CNN workloads. Convolutions are stride 1 and followed by a relu; pooling is max 2x2 stride 2. */
export type CnnLayer =
  | { readonly kind: "conv"; readonly filters: number; readonly k: number; readonly padding: "valid" | "same" }
  | { readonly kind: "pool" }
  | { readonly kind: "dropout"; readonly rate: number }
  | { readonly kind: "flatten" }
  | { readonly kind: "dense"; readonly units: number; readonly relu: boolean }

export type CnnModelName = "keras" | "reference"

export const CNN_MODELS: Record<CnnModelName, ReadonlyArray<CnnLayer>> = {
  keras: [
    { kind: "conv", filters: 32, k: 3, padding: "valid" },
    { kind: "conv", filters: 64, k: 3, padding: "valid" },
    { kind: "pool" },
    { kind: "dropout", rate: 0.25 },
    { kind: "flatten" },
    { kind: "dense", units: 128, relu: true },
    { kind: "dropout", rate: 0.5 },
    { kind: "dense", units: 10, relu: false }
  ],
  reference: [
    { kind: "conv", filters: 24, k: 2, padding: "same" },
    { kind: "pool" },
    { kind: "conv", filters: 48, k: 2, padding: "same" },
    { kind: "pool" },
    { kind: "flatten" },
    { kind: "dense", units: 512, relu: true },
    { kind: "dropout", rate: 0.5 },
    { kind: "dense", units: 128, relu: true },
    { kind: "dropout", rate: 0.5 },
    { kind: "dense", units: 10, relu: false }
  ]
}

/** A layer with the shape it receives (`[h, w, c]` or `[features]`, batch left out) and its parameters. */
export interface PlannedLayer {
  readonly layer: CnnLayer
  readonly inShape: ReadonlyArray<number>
  readonly outShape: ReadonlyArray<number>
  /** conv: weight HWIO and bias; dense: weight [in, out] and bias; with a Glorot-uniform scale. */
  readonly params?: {
    readonly w: ReadonlyArray<number>
    readonly b: ReadonlyArray<number>
    readonly scale: number
  }
}

/** Walks a CNN from [28, 28, 1]: every layer's input and output shapes and parameter shapes. */
export function planCnn(model: CnnModelName): ReadonlyArray<PlannedLayer> {
  let shape: ReadonlyArray<number> = [28, 28, 1]
  return CNN_MODELS[model].map((layer): PlannedLayer => {
    const inShape = shape
    switch (layer.kind) {
      case "conv": {
        const [h, w, c] = inShape as [number, number, number]
        const cut = layer.padding === "same" ? 0 : layer.k - 1
        shape = [h - cut, w - cut, layer.filters]
        const fanIn = layer.k * layer.k * c, fanOut = layer.k * layer.k * layer.filters
        return {
          layer,
          inShape,
          outShape: shape,
          params: {
            w: [layer.k, layer.k, c, layer.filters],
            b: [layer.filters],
            scale: Math.sqrt(6 / (fanIn + fanOut))
          }
        }
      }
      case "pool": {
        const [h, w, c] = inShape as [number, number, number]
        shape = [Math.floor(h / 2), Math.floor(w / 2), c]
        return { layer, inShape, outShape: shape }
      }
      case "dropout":
        return { layer, inShape, outShape: shape }
      case "flatten":
        shape = [inShape.reduce((a, b) => a * b, 1)]
        return { layer, inShape, outShape: shape }
      case "dense": {
        const n = inShape[0]!
        shape = [layer.units]
        return {
          layer,
          inShape,
          outShape: shape,
          params: { w: [n, layer.units], b: [layer.units], scale: Math.sqrt(6 / (n + layer.units)) }
        }
      }
    }
  })
}

/**
 * The CNN's parameters, in layer order (`w<i>`, `b<i>` for layer i), HWIO / [in, out], with their initial
 * values (weights uniform at the Glorot scale, biases 0): the JavaScript peers start from the same values.
 */
export function cnnParams(
  model: CnnModelName
): ReadonlyArray<readonly [name: string, shape: ReadonlyArray<number>, data: Float32Array]> {
  return planCnn(model).flatMap((p, i) =>
    p.params === undefined ? [] : [
      [`w${i}`, p.params.w, random(p.params.w.reduce((a, b) => a * b, 1), 100 + i, p.params.scale)] as const,
      [`b${i}`, p.params.b, new Float32Array(p.params.b.reduce((a, b) => a * b, 1))] as const
    ]
  )
}

export type WorkloadKind = Workload["kind"]

/** What a figure of this workload is: a rate, higher is better. */
export const unitOf = (w: Workload): "GFLOP/s" | "samples/s" =>
  w.kind === "gemm" || w.kind === "conv" ? "GFLOP/s" : "samples/s"

/** The figure (GFLOP/s or samples/s) of one run taking `ms` milliseconds. */
export const figureOf = (w: Workload, ms: number): number =>
  w.kind === "gemm" || w.kind === "conv" ? w.flops / ms / 1e6 : w.batch / ms * 1000

/** The output size of a convolution workload (stride 1). */
export const convOut = (w: Extract<Workload, { kind: "conv" }>): { readonly outH: number; readonly outW: number } =>
  w.padding === "same" ? { outH: w.h, outW: w.w } : { outH: w.h - w.k + 1, outW: w.w - w.k + 1 }

const gemm = (n: number): Workload => ({ kind: "gemm", name: `gemm ${n}`, n, flops: 2 * n * n * n })

const conv = (
  batch: number,
  h: number,
  w: number,
  c: number,
  f: number,
  k: number,
  padding: "valid" | "same",
  label: string
): Workload => {
  const outH = padding === "same" ? h : h - k + 1
  const outW = padding === "same" ? w : w - k + 1
  return {
    kind: "conv",
    name: `conv ${label} b${batch} ${h}x${w}x${c}->${outH}x${outW}x${f} ${k}x${k}`,
    batch,
    h,
    w,
    c,
    f,
    k,
    padding,
    flops: 2 * batch * outH * outW * k * k * c * f
  }
}

/** The two convolutions (forward) of each network, at the two training batch sizes. */
const CONVS: Readonly<Record<CnnModelName, ReadonlyArray<Workload>>> = {
  reference: [
    conv(24, 28, 28, 1, 24, 2, "same", "ref1"),
    conv(128, 28, 28, 1, 24, 2, "same", "ref1"),
    conv(24, 14, 14, 24, 48, 2, "same", "ref2"),
    conv(128, 14, 14, 24, 48, 2, "same", "ref2")
  ],
  keras: [
    conv(24, 28, 28, 1, 32, 3, "valid", "cnn1"),
    conv(128, 28, 28, 1, 32, 3, "valid", "cnn1"),
    conv(24, 26, 26, 32, 64, 3, "valid", "cnn2"),
    conv(128, 26, 26, 32, 64, 3, "valid", "cnn2")
  ]
}

/**
 * Every workload, in the order they run and print; the CNN ones for each of `models` (default: the
 * reference network, the one `pnpm mnist` trains).
 */
export function allWorkloads(models: ReadonlyArray<CnnModelName> = ["reference"]): ReadonlyArray<Workload> {
  const suffix = (m: CnnModelName) => (m === "reference" ? "" : ` (${m})`)
  return [
    gemm(128),
    gemm(256),
    gemm(512),
    gemm(1024),
    ...models.flatMap((model) => CONVS[model]),
    // A wider layer.
    conv(8, 32, 32, 64, 64, 3, "same", "wide"),
    ...models.flatMap((model): ReadonlyArray<Workload> => [
      { kind: "train", name: `train step b24${suffix(model)}`, batch: 24, model },
      { kind: "train", name: `train step b128${suffix(model)}`, batch: 128, model },
      { kind: "infer", name: `inference b256${suffix(model)}`, batch: 256, model }
    ])
  ]
}

/** A workload is selected by `--filter` when its name or kind contains the filter text. */
export const matches = (w: Workload, filter: string | undefined): boolean =>
  filter === undefined || w.name.includes(filter) || w.kind.includes(filter)

/** Deterministic uniform values in [-scale, scale) (a 32-bit LCG): the same inputs on every run. */
export function random(length: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(length)
  let s = seed >>> 0
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 2147483648 - 1) * scale
  }
  return out
}

/** The class of sample `i` in the synthetic CNN batches (every peer uses the same labels). */
export const labelOf = (i: number): number => (i * 7) % 10

/** One-hot labels `[batch, 10]` of the synthetic CNN batches. */
export function oneHotLabels(batch: number): Float32Array {
  const y = new Float32Array(batch * 10)
  for (let i = 0; i < batch; i++) y[i * 10 + labelOf(i)] = 1
  return y
}

export const ADAM = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const
