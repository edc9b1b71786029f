/**
 * The primitives that run on the numeric kernels: matrix product, convolution and pooling.
 *
 * @internal
 */
import { Shape as Rules } from "@typegrad/shape"
import { alloc, make, primitive, sizeOf, type Data } from "./core.ts"
import { getKernels } from "./kernels/index.ts"
import type { Conv2dGeometry, Pool2dGeometry } from "./kernels/types.ts"

/**
 * `[..., M, K] x [..., K, N] -> [..., M, N]`. A rank-2 right operand is one GEMM over all the rows of
 * the left operand; batched right operands run one GEMM per (broadcast) batch entry.
 */
export const matmulImpl = primitive<null>("matmul", ([a, b]) => {
  const shape = Rules.matmul(a!.shape, b!.shape)
  const dtype = a!.dtype
  const out = alloc(dtype, sizeOf(shape))
  const k = a!.shape[a!.rank - 1]!
  const n = b!.shape[b!.rank - 1]!
  const kernels = getKernels()
  if (b!.rank === 2) {
    const m = a!.size / Math.max(1, k)
    if (m > 0 && n > 0) {
      if (k === 0) return make(shape, dtype, out)
      kernels.gemm({
        transA: false,
        transB: false,
        m,
        n,
        k,
        a: a!.data,
        aOffset: 0,
        lda: k,
        b: b!.data,
        bOffset: 0,
        ldb: n,
        c: out,
        cOffset: 0,
        ldc: n,
        accumulate: false
      })
    }
    return make(shape, dtype, out)
  }
  // Batched: walk the broadcast batch index of the output.
  const m = a!.shape[a!.rank - 2]!
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

/** Validates a convolution (throws `ShapeError`) and computes its geometry. */
export const conv2dParams = (
  xShape: ReadonlyArray<number>,
  wShape: ReadonlyArray<number>,
  options: Rules.Conv2dOptions | undefined
): Conv2dParams => {
  const shape = Rules.conv2d(xShape, wShape, options)
  const g = Rules.conv2dGeometry(xShape, wShape, options)
  return {
    shape,
    geometry: {
      n: xShape[0]!,
      h: xShape[1]!,
      w: xShape[2]!,
      c: xShape[3]!,
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

export const conv2dImpl = primitive<Conv2dParams>("conv2d", ([x, w], { geometry, shape }) => {
  const out = alloc(x!.dtype, sizeOf(shape))
  if (out.length > 0) getKernels().conv2d(x!.data, w!.data as Data, out, geometry)
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
  const shape = Rules.pool2d(xShape, options, op)
  const g = Rules.pool2dGeometry(xShape, options, op)
  return {
    shape,
    geometry: {
      n: xShape[0]!,
      h: xShape[1]!,
      w: xShape[2]!,
      c: xShape[3]!,
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

export const poolImpl = {
  max: primitive<Pool2dParams>("maxPool2d", ([x], { geometry, shape }) => {
    const out = alloc(x!.dtype, sizeOf(shape))
    if (out.length > 0) getKernels().maxPool2d(x!.data, out, geometry)
    return make(shape, x!.dtype, out)
  }),
  avg: primitive<Pool2dParams>("avgPool2d", ([x], { geometry, shape }) => {
    const out = alloc(x!.dtype, sizeOf(shape))
    if (out.length > 0) getKernels().avgPool2d(x!.data, out, geometry)
    return make(shape, x!.dtype, out)
  })
} as const
