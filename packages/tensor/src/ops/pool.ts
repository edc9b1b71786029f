/**
 * Pooling: `maxPool2d` and `avgPool2d` over NHWC input. Max pooling sends the gradient to the first
 * maximum of each window (`maxPool2dBackward`), whose own rule is the gather it is the adjoint of
 * (`maxPool2dGather`); average pooling and its backward pass are each other's transposes.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules } from "@typegrad/shape"
import { dual } from "effect/Function"
import { alloc, allocUninit, bind, type Data, make, type Primitive, sizeOf } from "../internal/core.ts"
import { getKernels } from "../internal/kernels/index.ts"
import type { Pool2dGeometry } from "../internal/kernels/types.ts"
import { apply, definePrimitive, fromImpl, isTensorFirst, nhwc, type Res, toImpl } from "../internal/op.ts"
import type { AnyTensor, DType, Pool2dOptions, Shape, Tensor } from "../Tensor.ts"

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

// The NHWC shape of the pooled input.
const poolInputShape = (g: Pool2dGeometry): ReadonlyArray<number> => [g.n, g.h, g.w, g.c]

/** Max pooling; the gradient goes to the first maximum of each window. */
export const maxPool2dPrimitive: Primitive<Pool2dParams> = definePrimitive("maxPool2d", ([x], { geometry, shape }) => {
  const out = allocUninit(x!.dtype, sizeOf(shape))
  if (out.length > 0) getKernels().maxPool2d(x!.data, out, geometry)
  return make(shape, x!.dtype, out)
}, (ct, [x], _, params) => [apply(maxPool2dBackwardPrimitive, [x!, ct], params)])

/**
 * `maxPool2dBackward(x, dy)`: routes each `dy` to the first maximum of its window in `x`. Linear in `dy`;
 * its rule is the gather it is the adjoint of (nothing for `x`, which only selects).
 */
export const maxPool2dBackwardPrimitive: Primitive<Pool2dParams> = definePrimitive(
  "maxPool2dBackward",
  ([x, dy], { geometry }) => {
    // The kernel writes every input cell (0 where no maximum is); an empty dy leaves the zeros.
    const out = dy!.size > 0 ? allocUninit(x!.dtype, x!.size) : alloc(x!.dtype, x!.size)
    if (out.length > 0 && dy!.size > 0) {
      getKernels().maxPool2dBackwardFromInput(x!.data, dy!.data as Data, out, geometry)
    }
    return make(x!.shape, x!.dtype, out)
  },
  (ct, [x], _, params) => [undefined, apply(maxPool2dGatherPrimitive, [x!, ct], params)]
)

/** `maxPool2dGather(x, g)`: for each window, the entry of `g` at the first maximum of `x`. */
export const maxPool2dGatherPrimitive: Primitive<Pool2dParams> = definePrimitive(
  "maxPool2dGather",
  ([x, g], { geometry, shape }) => {
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
  },
  (ct, [x], _, params) => [undefined, apply(maxPool2dBackwardPrimitive, [x!, ct], params)]
)

/** Average pooling; its rule spreads the cotangent evenly over each window's real cells. */
export const avgPool2dPrimitive: Primitive<Pool2dParams> = definePrimitive("avgPool2d", ([x], { geometry, shape }) => {
  const out = alloc(x!.dtype, sizeOf(shape))
  if (out.length > 0) getKernels().avgPool2d(x!.data, out, geometry)
  return make(shape, x!.dtype, out)
}, (ct, _, __, params) => [apply(avgPool2dBackwardPrimitive, [ct], params)])

/** `avgPool2dBackward(dy)`: spreads each `dy` evenly over the real cells of its window (the transpose of `avgPool2d`). */
export const avgPool2dBackwardPrimitive: Primitive<Pool2dParams> = definePrimitive(
  "avgPool2dBackward",
  ([dy], { geometry }) => {
    const shape = poolInputShape(geometry)
    const out = alloc(dy!.dtype, sizeOf(shape))
    if (out.length > 0 && dy!.size > 0) getKernels().avgPool2dBackward(dy!.data, out, geometry)
    return make(shape, dy!.dtype, out)
  },
  (ct, _, __, params) => [apply(avgPool2dPrimitive, [ct], params)]
)

/**
 * A 2-D pooling op over NHWC input.
 */
export interface PoolOp<Op extends string> {
  <const O extends Pool2dOptions>(
    options: O
  ): <X extends Shape, D extends DType>(
    x: Tensor<X, D> & Rules.Check<Rules.Pool2d<X, O, Op>>
  ) => Tensor<Res<Rules.Pool2d<X, O, Op>>, D>
  <X extends Shape, D extends DType, const O extends Pool2dOptions>(
    x: Tensor<X, D> & Rules.Check<Rules.Pool2d<X, O, Op>>,
    options: O
  ): Tensor<Res<Rules.Pool2d<X, O, Op>>, D>
}

/**
 * Max pooling over NHWC input in one pass; `strides` default to `poolSize`, `padding` is `"valid"`
 * (default), `"same"` or explicit pads as for `conv2d`, each smaller than the pool size (padded cells
 * never win).
 *
 * @example
 * ```ts
 * Tensor.maxPool2d(Tensor.zeros([8, 28, 28, 24]), { poolSize: 2 }) // Tensor<readonly [8, 14, 14, 24]>
 * Tensor.maxPool2d(Tensor.zeros([8, 28, 28, 24]), { poolSize: 3, strides: 2, padding: 1 }) // [8, 14, 14, 24]
 * ```
 */
export const maxPool2d: PoolOp<"maxPool2d"> = dual(isTensorFirst, (x: AnyTensor, options: Pool2dOptions): AnyTensor => {
  const xi = toImpl(x)
  return fromImpl(bind(maxPool2dPrimitive, [xi], pool2dParams(xi.shape, options, "maxPool2d")))
})

/**
 * Average pooling over NHWC input; with `"same"` or explicit padding (as for `maxPool2d`) each window is
 * divided by its number of real (unpadded) cells, as TensorFlow's `"same"` and PyTorch's
 * `count_include_pad=False` do.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [8, 28, 28, 3]>
 * Tensor.avgPool2d(x, { poolSize: [2, 2], strides: 1, padding: "same" })
 * ```
 */
export const avgPool2d: PoolOp<"avgPool2d"> = dual(isTensorFirst, (x: AnyTensor, options: Pool2dOptions): AnyTensor => {
  const xi = toImpl(x)
  return fromImpl(bind(avgPool2dPrimitive, [xi], pool2dParams(xi.shape, options, "avgPool2d")))
})
