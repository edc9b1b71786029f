/**
 * The primitives that run on the numeric kernels: matrix product, convolution and pooling.
 *
 * @internal
 */
import { Shape as Rules } from "@typegrad/shape"
import { alloc, type Data, make, primitive, sizeOf } from "./core.ts"
import { reluBackward } from "./kernels/fused.ts"
import { getKernels } from "./kernels/index.ts"
import type { Conv2dGeometry, Pool2dGeometry } from "./kernels/types.ts"

/** Flags of the 2-D matrix product: `op(A) op(B)` with `op` the identity or the transpose. */
export interface Matmul2dParams {
  readonly transA: boolean
  readonly transB: boolean
}

/**
 * `op(A) x op(B)` for rank-2 operands, straight onto the GEMM kernel; the transposed forms are what the
 * backward pass of a dense layer needs (`X^T dY`, `dY W^T`) without materialising a transpose.
 */
export const matmul2d = primitive<Matmul2dParams>("matmul2d", ([a, b], { transA, transB }) => {
  const m = transA ? a!.shape[1]! : a!.shape[0]!
  const k = transA ? a!.shape[0]! : a!.shape[1]!
  const n = transB ? b!.shape[0]! : b!.shape[1]!
  const dtype = a!.dtype
  const out = alloc(dtype, m * n)
  if (m > 0 && n > 0 && k > 0) {
    getKernels().gemm({
      transA,
      transB,
      m,
      n,
      k,
      a: a!.data,
      aOffset: 0,
      lda: a!.shape[1]!,
      b: b!.data,
      bOffset: 0,
      ldb: b!.shape[1]!,
      c: out,
      cOffset: 0,
      ldc: n,
      accumulate: false
    })
  }
  return make([m, n], dtype, out)
})

/**
 * `[..., M, K] x [..., K, N] -> [..., M, N]` with broadcast batch dims (both operands rank >= 3 or
 * batched on one side): one GEMM per batch entry.
 */
export const batchMatmul = primitive<null>("batchMatmul", ([a, b]) => {
  const shape = Rules.matmul(a!.shape, b!.shape)
  const dtype = a!.dtype
  const out = alloc(dtype, sizeOf(shape))
  const k = a!.shape[a!.rank - 1]!
  const n = b!.shape[b!.rank - 1]!
  const m = a!.shape[a!.rank - 2]!
  const kernels = getKernels()
  const batchShape = shape.slice(0, -2)
  const aBatch = a!.shape.slice(0, -2)
  const bBatch = b!.shape.slice(0, -2)
  const batches = sizeOf(batchShape)
  const index = new Array<number>(batchShape.length).fill(0)
  const offsetOf = (batch: ReadonlyArray<number>, block: number): number => {
    let off = 0
    let stride = block
    for (let i = batch.length - 1; i >= 0; i--) {
      const axis = batchShape.length - batch.length + i
      const d = batch[i]!
      if (d !== 1) off += index[axis]! * stride
      stride *= d
    }
    return off
  }
  for (let t = 0; t < batches; t++) {
    if (m > 0 && n > 0 && k > 0) {
      kernels.gemm({
        transA: false,
        transB: false,
        m,
        n,
        k,
        a: a!.data,
        aOffset: offsetOf(aBatch, m * k),
        lda: k,
        b: b!.data,
        bOffset: offsetOf(bBatch, k * n),
        ldb: n,
        c: out,
        cOffset: t * m * n,
        ldc: n,
        accumulate: false
      })
    }
    for (let axis = batchShape.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < batchShape[axis]!) break
      index[axis] = 0
    }
  }
  return make(shape, dtype, out)
})

/** Parameters of a convolution: the kernel geometry and the output shape. */
export interface Conv2dParams {
  readonly geometry: Conv2dGeometry
  readonly shape: ReadonlyArray<number>
}

/** The batch, height, width and channels of a validated NHWC shape. */
const nhwc = (s: ReadonlyArray<number>) => ({ n: s[0]!, h: s[1]!, w: s[2]!, c: s[3]! })

/** Validates a convolution (throws `ShapeError`) and computes its geometry. */
export const conv2dParams = (
  xShape: ReadonlyArray<number>,
  wShape: ReadonlyArray<number>,
  options: Rules.Conv2dOptions | undefined
): Conv2dParams => {
  // One geometry computation validates the call and gives the output shape (`Rules.conv2d` is its outShape).
  const g = Rules.conv2dGeometry(xShape, wShape, options)
  return {
    shape: g.outShape,
    geometry: {
      ...nhwc(xShape),
      kh: wShape[0]!,
      kw: wShape[1]!,
      f: wShape[3]!,
      outH: g.outH,
      outW: g.outW,
      strideH: g.strideH,
      strideW: g.strideW,
      dilationH: g.dilationH,
      dilationW: g.dilationW,
      padTop: g.padTop,
      padLeft: g.padLeft
    }
  }
}

const inputShape = (g: Conv2dGeometry): ReadonlyArray<number> => [g.n, g.h, g.w, g.c]
const filterShape = (g: Conv2dGeometry): ReadonlyArray<number> => [g.kh, g.kw, g.c, g.f]

/** `conv2d(x, w)`: the forward convolution. */
export const conv2dImpl = primitive<Conv2dParams>("conv2d", ([x, w], { geometry, shape }) => {
  const out = alloc(x!.dtype, sizeOf(shape))
  if (out.length > 0) getKernels().conv2d(x!.data, w!.data as Data, out, geometry)
  return make(shape, x!.dtype, out)
})

/** Parameters of the fused convolution: the convolution's, and whether a relu follows the bias. */
export interface Conv2dBiasParams extends Conv2dParams {
  readonly relu: boolean
}

/**
 * `conv2d(x, w) + b`, optionally followed by relu, in one pass: the bias and relu are applied to each
 * block of the GEMM output while it is still in cache.
 */
export const conv2dBias = primitive<Conv2dBiasParams>("conv2dBias", ([x, w, b], { geometry, shape, relu }) => {
  const out = alloc(x!.dtype, sizeOf(shape))
  if (out.length > 0) getKernels().conv2d(x!.data, w!.data as Data, out, geometry, { bias: b!.data as Data, relu })
  return make(shape, x!.dtype, out)
})

/** `reluGrad(ct, y)`: `ct` where the relu output `y` is positive, else 0 (relu's backward pass). */
export const reluGrad = primitive<null>("reluGrad", ([ct, y]) => {
  const out = alloc(ct!.dtype, ct!.size)
  reluBackward(ct!.data, y!.data as Data, out, ct!.size)
  return make(ct!.shape, ct!.dtype, out)
})

/** `backpropInput(dy, w)`: the gradient of `conv2d` with respect to its input (a transposed convolution). */
export const conv2dBackpropInput = primitive<Conv2dParams>("conv2dBackpropInput", ([dy, w], { geometry }) => {
  const shape = inputShape(geometry)
  const out = alloc(dy!.dtype, sizeOf(shape))
  if (out.length > 0 && dy!.size > 0) getKernels().conv2dBackpropInput(dy!.data, w!.data as Data, out, geometry)
  return make(shape, dy!.dtype, out)
})

/** `backpropFilter(x, dy)`: the gradient of `conv2d` with respect to its filter. */
export const conv2dBackpropFilter = primitive<Conv2dParams>("conv2dBackpropFilter", ([x, dy], { geometry }) => {
  const shape = filterShape(geometry)
  const out = alloc(x!.dtype, sizeOf(shape))
  if (out.length > 0 && dy!.size > 0) getKernels().conv2dBackpropFilter(x!.data, dy!.data as Data, out, geometry)
  return make(shape, x!.dtype, out)
})

/** Parameters of a pooling op. */
export interface Pool2dParams {
  readonly geometry: Pool2dGeometry
  readonly shape: ReadonlyArray<number>
}

/** Validates a pooling op (throws `ShapeError`) and computes its geometry. */
export const pool2dParams = (
  xShape: ReadonlyArray<number>,
  options: Rules.Pool2dOptions,
  op: "maxPool2d" | "avgPool2d"
): Pool2dParams => {
  const g = Rules.pool2dGeometry(xShape, options, op)
  return {
    shape: g.outShape,
    geometry: {
      ...nhwc(xShape),
      kh: g.kh,
      kw: g.kw,
      outH: g.outH,
      outW: g.outW,
      strideH: g.strideH,
      strideW: g.strideW,
      padTop: g.padTop,
      padLeft: g.padLeft
    }
  }
}

const poolInputShape = (g: Pool2dGeometry): ReadonlyArray<number> => [g.n, g.h, g.w, g.c]

export const poolImpl = {
  /** Max pooling. */
  max: primitive<Pool2dParams>("maxPool2d", ([x], { geometry, shape }) => {
    const out = alloc(x!.dtype, sizeOf(shape))
    if (out.length > 0) getKernels().maxPool2d(x!.data, out, geometry)
    return make(shape, x!.dtype, out)
  }),
  /** `maxBackward(x, dy)`: routes each `dy` to the first maximum of its window in `x`. */
  maxBackward: primitive<Pool2dParams>("maxPool2dBackward", ([x, dy], { geometry }) => {
    const out = alloc(x!.dtype, x!.size)
    if (out.length > 0 && dy!.size > 0) {
      getKernels().maxPool2dBackwardFromInput(x!.data, dy!.data as Data, out, geometry)
    }
    return make(x!.shape, x!.dtype, out)
  }),
  /** `maxGather(x, g)`: for each window, the entry of `g` at the first maximum of `x` (the adjoint of `maxBackward`). */
  maxGather: primitive<Pool2dParams>("maxPool2dGather", ([x, g], { geometry, shape }) => {
    const n = sizeOf(shape)
    const out = alloc(x!.dtype, n)
    if (n > 0) {
      const argmax = new Int32Array(n)
      getKernels().maxPool2d(x!.data, alloc(x!.dtype, n), geometry, argmax)
      const gd = g!.data
      for (let i = 0; i < n; i++) {
        const j = argmax[i]!
        out[i] = j >= 0 ? gd[j]! : 0
      }
    }
    return make(shape, x!.dtype, out)
  }),
  /** Average pooling. */
  avg: primitive<Pool2dParams>("avgPool2d", ([x], { geometry, shape }) => {
    const out = alloc(x!.dtype, sizeOf(shape))
    if (out.length > 0) getKernels().avgPool2d(x!.data, out, geometry)
    return make(shape, x!.dtype, out)
  }),
  /** `avgBackward(dy)`: spreads each `dy` evenly over the real cells of its window. */
  avgBackward: primitive<Pool2dParams>("avgPool2dBackward", ([dy], { geometry }) => {
    const shape = poolInputShape(geometry)
    const out = alloc(dy!.dtype, sizeOf(shape))
    if (out.length > 0 && dy!.size > 0) getKernels().avgPool2dBackward(dy!.data, out, geometry)
    return make(shape, dy!.dtype, out)
  })
} as const
