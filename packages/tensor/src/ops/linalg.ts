/**
 * Linear algebra: `matmul`, on two primitives that run the GEMM kernel directly: `matmul2d` (with
 * transposed forms, so that backward passes need no materialised transpose) and `batchMatmul`.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules } from "@typegrad/shape"
import { dual } from "effect/Function"
import { alloc, allocUninit, bind, make, type Primitive, sizeOf } from "../internal/core.ts"
import { getKernels } from "../internal/kernels/index.ts"
import { type AnyT, apply, definePrimitive, fromImpl, type Res, sameFloatDType, toImpl } from "../internal/op.ts"
import type { AnyTensor, DType, Shape, Tensor } from "../Tensor.ts"
import { reshapePrimitive, transpose } from "./layout.ts"

/** Flags of the 2-D matrix product: `op(A) op(B)` with `op` the identity or the transpose. */
export interface Matmul2dParams {
  readonly transA: boolean
  readonly transB: boolean
}

/**
 * `op(A) x op(B)` for rank-2 operands, straight onto the GEMM kernel; the transposed forms are what the
 * backward pass of a dense layer needs (`X^T dY`, `dY W^T`) without materialising a transpose.
 */
export const matmul2dPrimitive: Primitive<Matmul2dParams> = definePrimitive(
  "matmul2d",
  ([a, b], { transA, transB }) => {
    const m = transA ? a!.shape[1]! : a!.shape[0]!
    const k = transA ? a!.shape[0]! : a!.shape[1]!
    const n = transB ? b!.shape[0]! : b!.shape[1]!
    const dtype = a!.dtype
    // The GEMM writes all of C when it runs; an empty k leaves the zeros.
    const out = k > 0 ? allocUninit(dtype, m * n) : alloc(dtype, m * n)
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
  },
  (ct, [a, b], _, { transA, transB }, needs) => [
    !needs[0]
      ? undefined
      : transA
      ? apply(matmul2dPrimitive, [b!, ct], { transA: transB, transB: true })
      : apply(matmul2dPrimitive, [ct, b!], { transA: false, transB: !transB }),
    !needs[1]
      ? undefined
      : transB
      ? apply(matmul2dPrimitive, [ct, a!], { transA: true, transB: transA })
      : apply(matmul2dPrimitive, [a!, ct], { transA: !transA, transB: false })
  ]
)

/**
 * `[..., M, K] x [..., K, N] -> [..., M, N]` with broadcast batch dims (both operands rank >= 3 or
 * batched on one side): one GEMM per batch entry.
 */
export const batchMatmulPrimitive: Primitive<null> = definePrimitive("batchMatmul", ([a, b]) => {
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
}, (ct, [a, b], _, __, needs) => [
  needs[0] ? matmul(ct, swapLast(b!)) : undefined,
  needs[1] ? matmul(swapLast(a!), ct) : undefined
])

// Swaps the two innermost axes.
const swapLast = (t: AnyT): AnyT => {
  const perm = t.shape.map((_, i) => i)
  const r = perm.length
  perm[r - 1] = r - 2
  perm[r - 2] = r - 1
  return transpose(t, perm)
}

/**
 * Matrix product `[..., M, K] x [K, N] -> [..., M, N]` (a batched right operand `[..., K, N]` is
 * broadcast against the left one).
 *
 * @example
 * ```ts
 * Tensor.matmul(Tensor.zeros([8, 784]), Tensor.zeros([784, 10])) // Tensor<readonly [8, 10]>
 * ```
 */
export const matmul: {
  <B extends Shape, D extends DType>(
    that: Tensor<B, D>
  ): <A extends Shape>(self: Tensor<A, D> & Rules.Check<Rules.Matmul<A, B>>) => Tensor<Res<Rules.Matmul<A, B>>, D>
  <A extends Shape, B extends Shape, D extends DType>(
    self: Tensor<A, D>,
    that: Tensor<B, NoInfer<D>> & Rules.Check<Rules.Matmul<A, B>>
  ): Tensor<Res<Rules.Matmul<A, B>>, D>
} = dual(2, (self: AnyTensor, that: AnyTensor): AnyTensor => {
  const a = toImpl(self)
  const b = toImpl(that)
  sameFloatDType("matmul", a, b)
  const shape = Rules.matmul(a.shape, b.shape)
  if (b.rank !== 2) return fromImpl(bind(batchMatmulPrimitive, [a, b], null))
  const k = a.shape[a.rank - 1]!
  const a2 = a.rank === 2 ? a : bind(reshapePrimitive, [a], { shape: [a.size / Math.max(1, k) || 0, k] })
  const c = bind(matmul2dPrimitive, [a2, b], { transA: false, transB: false })
  return fromImpl(a.rank === 2 ? c : bind(reshapePrimitive, [c], { shape }))
})
