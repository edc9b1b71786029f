/**
 * Benchmark cases. A case builds, for each implementation, a thunk that runs the operation once to
 * completion; the harness times the thunks. Inputs are created once per case, outside the timing.
 */
import type { Conv2dGeometry, Kernels } from "@typegrad/tensor/internal"
import type { TfApi } from "./tfjs.ts"

export type Thunk = () => void

/**
 * The slice of the public `Tensor` module the bench uses, typed loosely on purpose: the bench builds
 * shapes at run time, and it should keep compiling while the typed API evolves.
 */
export interface TensorOpsApi {
  fromArray(data: ArrayLike<number>, shape: ReadonlyArray<number>): unknown
  matmul(a: unknown, b: unknown): unknown
  conv2d(x: unknown, w: unknown, options: { readonly padding: "same" | "valid" }): unknown
}

export interface BenchCase {
  readonly group: "matmul" | "conv2d"
  readonly name: string
  readonly flops: number
  /** typegrad on the given kernel set. */
  readonly typegrad: (kernels: Kernels) => Thunk
  /** The public `@typegrad/tensor` ops (`Tensor.matmul`, `Tensor.conv2d`), eager. */
  readonly ops: (api: TensorOpsApi) => Thunk
  /** TensorFlow.js (whatever backend is active); returns a thunk and a disposer for its inputs. */
  readonly tfjs: (tf: TfApi) => { readonly run: Thunk; readonly dispose: () => void }
}

function random(length: number, seed: number): Float32Array {
  const out = new Float32Array(length)
  let s = seed >>> 0
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2147483648 - 1
  }
  return out
}

export function matmulCase(name: string, m: number, k: number, n: number): BenchCase {
  const a = random(m * k, 1)
  const b = random(k * n, 2)
  return {
    group: "matmul",
    name,
    flops: 2 * m * n * k,
    typegrad: (kernels) => {
      const c = new Float32Array(m * n)
      return () =>
        kernels.gemm({
          transA: false,
          transB: false,
          m,
          n,
          k,
          a,
          aOffset: 0,
          lda: k,
          b,
          bOffset: 0,
          ldb: n,
          c,
          cOffset: 0,
          ldc: n,
          accumulate: false
        })
    },
    ops: (api) => {
      const ta = api.fromArray(a, [m, k]), tb = api.fromArray(b, [k, n])
      return () => void api.matmul(ta, tb)
    },
    tfjs: (tf) => {
      const ta = tf.tensor2d(a, [m, k])
      const tb = tf.tensor2d(b, [k, n])
      return {
        run: () => {
          const c = tf.matMul(ta, tb)
          c.dataSync()
          c.dispose()
        },
        dispose: () => {
          ta.dispose()
          tb.dispose()
        }
      }
    }
  }
}

/** A stride-1, dilation-1 convolution with TensorFlow "same" padding. */
export function convSameCase(
  name: string,
  n: number,
  h: number,
  w: number,
  c: number,
  k: number,
  f: number
): BenchCase {
  const total = k - 1
  const g: Conv2dGeometry = {
    n,
    h,
    w,
    c,
    kh: k,
    kw: k,
    f,
    outH: h,
    outW: w,
    strideH: 1,
    strideW: 1,
    dilationH: 1,
    dilationW: 1,
    padTop: Math.floor(total / 2),
    padLeft: Math.floor(total / 2)
  }
  const x = random(n * h * w * c, 3)
  const wt = random(k * k * c * f, 4)
  return {
    group: "conv2d",
    name,
    flops: 2 * n * h * w * k * k * c * f,
    typegrad: (kernels) => {
      const y = new Float32Array(n * h * w * f)
      return () => kernels.conv2d(x, wt, y, g)
    },
    ops: (api) => {
      const tx = api.fromArray(x, [n, h, w, c]), tw = api.fromArray(wt, [k, k, c, f])
      return () => void api.conv2d(tx, tw, { padding: "same" })
    },
    tfjs: (tf) => {
      const tx = tf.tensor4d(x, [n, h, w, c])
      const tw = tf.tensor4d(wt, [k, k, c, f])
      return {
        run: () => {
          const y = tf.conv2d(tx, tw, 1, "same")
          y.dataSync()
          y.dispose()
        },
        dispose: () => {
          tx.dispose()
          tw.dispose()
        }
      }
    }
  }
}

export function allCases(): ReadonlyArray<BenchCase> {
  return [
    matmulCase("matmul 128", 128, 128, 128),
    matmulCase("matmul 256", 256, 256, 256),
    matmulCase("matmul 512", 512, 512, 512),
    matmulCase("matmul 1024", 1024, 1024, 1024),
    // The GEMMs of the MNIST CNN at batch 128 (im2col shapes of its convolutions, then its dense layers).
    matmulCase("gemm 100352x4 * 4x24", 128 * 28 * 28, 4, 24),
    matmulCase("gemm 25088x96 * 96x48", 128 * 14 * 14, 96, 48),
    matmulCase("gemm 128x2352 * 2352x512", 128, 2352, 512),
    matmulCase("gemm 128x512 * 512x128", 128, 512, 128),
    convSameCase("conv 128x28x28x1 -> 24 2x2", 128, 28, 28, 1, 2, 24),
    convSameCase("conv 128x14x14x24 -> 48 2x2", 128, 14, 14, 24, 2, 48),
    convSameCase("conv 8x32x32x64 -> 64 3x3", 8, 32, 32, 64, 3, 64)
  ]
}
