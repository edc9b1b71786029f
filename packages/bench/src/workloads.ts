/**
 * The workloads of `pnpm bench`, the same for every peer; each peer builds them in its own native layout
 * (typegrad and TensorFlow.js NHWC / HWIO, PyTorch and jax-js `lax.conv` NCHW / OIHW) and times them.
 *
 * The model is the Keras MNIST CNN (keras.io "Simple MNIST convnet" / the classic `mnist_cnn.py`):
 *
 *   x [B,28,28,1] -> conv 32 3x3 valid + relu -> conv 64 3x3 valid + relu -> maxPool 2 -> dropout 0.25
 *   -> flatten [B,9216] -> dense 128 + relu -> dropout 0.5 -> dense 10 -> softmax cross-entropy; Adam 1e-3
 *
 * `train` is one training step of it (forward with dropout, backward, Adam update, the loss read back),
 * `infer` its forward pass in inference mode (no dropout, no gradient), both in samples/s.
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
  | { readonly kind: "train"; readonly name: string; readonly batch: number }
  | { readonly kind: "infer"; readonly name: string; readonly batch: number }

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

/** Every workload, in the order they run and print. */
export function allWorkloads(): ReadonlyArray<Workload> {
  return [
    gemm(128),
    gemm(256),
    gemm(512),
    gemm(1024),
    // The CNN's two convolutions (forward) at the two training batch sizes, then a wider layer.
    conv(24, 28, 28, 1, 32, 3, "valid", "cnn1"),
    conv(128, 28, 28, 1, 32, 3, "valid", "cnn1"),
    conv(24, 26, 26, 32, 64, 3, "valid", "cnn2"),
    conv(128, 26, 26, 32, 64, 3, "valid", "cnn2"),
    conv(8, 32, 32, 64, 64, 3, "same", "wide"),
    { kind: "train", name: "train step b24", batch: 24 },
    { kind: "train", name: "train step b128", batch: 128 },
    { kind: "infer", name: "inference b256", batch: 256 }
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

/** The CNN's parameters in NHWC / HWIO layout with Glorot-uniform-like scales (the JS peers share them). */
export const CNN_PARAMS: ReadonlyArray<readonly [name: string, shape: ReadonlyArray<number>, scale: number]> = [
  ["w1", [3, 3, 1, 32], Math.sqrt(6 / (9 + 288))],
  ["b1", [32], 0],
  ["w2", [3, 3, 32, 64], Math.sqrt(6 / (288 + 576))],
  ["b2", [64], 0],
  ["d1", [9216, 128], Math.sqrt(6 / (9216 + 128))],
  ["c1", [128], 0],
  ["d2", [128, 10], Math.sqrt(6 / (128 + 10))],
  ["c2", [10], 0]
]

export const ADAM = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const
export const DROPOUT = { afterPool: 0.25, afterDense: 0.5 } as const
