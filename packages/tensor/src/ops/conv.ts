/**
 * Convolution: `conv2d` and the fused `conv2dBias` (bias and relu applied while the GEMM output is in
 * cache), on four primitives whose rules close under differentiation: the gradient of a convolution is a
 * transposed convolution (`conv2dBackpropInput`) and a correlation with the output's gradient
 * (`conv2dBackpropFilter`), and the rules of those are the other two.
 *
 * @internal the public names are re-exported by `Tensor.ts`
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { dual } from "effect/Function"
import { alloc, allocUninit, bind, type Data, isTensor, make, type Primitive, sizeOf } from "../internal/core.ts"
import { arenaMark, getKernels } from "../internal/kernels/index.ts"
import type { Conv2dGeometry } from "../internal/kernels/types.ts"
import { type AnyT, apply, definePrimitive, fromImpl, nhwc, type Res, sameFloatDType, toImpl } from "../internal/op.ts"
import { releaseTemporary } from "../internal/recycle.ts"
import type { AnyTensor, Conv2dOptions, DType, Shape, Tensor } from "../Tensor.ts"
import { reluGradPrimitive } from "./elementwise.ts"
import { sum } from "./reduce.ts"

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
export const conv2dPrimitive: Primitive<Conv2dParams> = definePrimitive("conv2d", ([x, w], { geometry, shape }) => {
  const out = allocUninit(x!.dtype, sizeOf(shape))
  if (out.length > 0) getKernels().conv2d(x!.data, w!.data as Data, out, geometry)
  return make(shape, x!.dtype, out)
}, (ct, [x, w], _, params, needs) => [
  needs[0] ? apply(conv2dBackpropInputPrimitive, [ct, w!], params) : undefined,
  needs[1] ? apply(conv2dBackpropFilterPrimitive, [x!, ct], params) : undefined
])

/** Parameters of the fused convolution: the convolution's, and whether a relu follows the bias. */
export interface Conv2dBiasParams extends Conv2dParams {
  readonly relu: boolean
}

/**
 * `conv2d(x, w) + b`, optionally followed by relu, in one pass: the bias and relu are applied to each
 * block of the GEMM output while it is still in cache.
 */
export const conv2dBiasPrimitive: Primitive<Conv2dBiasParams> = definePrimitive(
  "conv2dBias",
  ([x, w, b], { geometry, shape, relu }) => {
    const out = allocUninit(x!.dtype, sizeOf(shape))
    if (out.length > 0) getKernels().conv2d(x!.data, w!.data as Data, out, geometry, { bias: b!.data as Data, relu })
    return make(shape, x!.dtype, out)
  },
  (ct, [x, w, b], out, params, needs) => {
    const mark = arenaMark()
    const dz = params.relu ? apply(reluGradPrimitive, [ct, out], null) : ct
    const grads = [
      needs[0] ? apply(conv2dBackpropInputPrimitive, [dz, w!], params) : undefined,
      needs[1] ? apply(conv2dBackpropFilterPrimitive, [x!, dz], params) : undefined,
      needs[2] ? sum(dz, { axis: [0, 1, 2] }) : undefined
    ]
    // The relu's gradient is this rule's own temporary, as large as the output: give its memory back now.
    if (params.relu) {
      const impl = (t: AnyT | undefined) => (t === undefined ? undefined : toImpl(t))
      releaseTemporary(toImpl(dz), mark, [ct, x, w, b, out].map(impl), grads.map(impl))
    }
    return grads
  }
)

/** `backpropInput(dy, w)`: the gradient of `conv2d` with respect to its input (a transposed convolution). */
export const conv2dBackpropInputPrimitive: Primitive<Conv2dParams> = definePrimitive(
  "conv2dBackpropInput",
  ([dy, w], { geometry }) => {
    const shape = inputShape(geometry)
    // The kernel overwrites the whole gradient when it runs; an empty dy leaves the zeros.
    const out = dy!.size > 0 ? allocUninit(dy!.dtype, sizeOf(shape)) : alloc(dy!.dtype, sizeOf(shape))
    if (out.length > 0 && dy!.size > 0) getKernels().conv2dBackpropInput(dy!.data, w!.data as Data, out, geometry)
    return make(shape, dy!.dtype, out)
  },
  (ct, [dy, w], _, params, needs) => [
    needs[0] ? apply(conv2dPrimitive, [ct, w!], params) : undefined,
    needs[1] ? apply(conv2dBackpropFilterPrimitive, [ct, dy!], params) : undefined
  ]
)

/** `backpropFilter(x, dy)`: the gradient of `conv2d` with respect to its filter. */
export const conv2dBackpropFilterPrimitive: Primitive<Conv2dParams> = definePrimitive(
  "conv2dBackpropFilter",
  ([x, dy], { geometry }) => {
    const shape = filterShape(geometry)
    const out = dy!.size > 0 ? allocUninit(x!.dtype, sizeOf(shape)) : alloc(x!.dtype, sizeOf(shape))
    if (out.length > 0 && dy!.size > 0) getKernels().conv2dBackpropFilter(x!.data, dy!.data as Data, out, geometry)
    return make(shape, x!.dtype, out)
  },
  (ct, [x, dy], _, params, needs) => [
    needs[0] ? apply(conv2dBackpropInputPrimitive, [dy!, ct], params) : undefined,
    needs[1] ? apply(conv2dPrimitive, [x!, ct], params) : undefined
  ]
)

/**
 * 2-D convolution (cross-correlation, as in every deep learning library): `x` is NHWC `[N, H, W, C]`,
 * `w` is `[KH, KW, C, F]`, the result `[N, OH, OW, F]`. `padding` is `"valid"` (default), `"same"`
 * (TensorFlow semantics), a number, `[ph, pw]` or `[[top, bottom], [left, right]]`; `strides` and
 * `dilation` are a number or `[h, w]`.
 *
 * @example
 * ```ts
 * const y = Tensor.conv2d(Tensor.zeros([8, 28, 28, 1]), Tensor.zeros([2, 2, 1, 24]), { padding: "same" })
 * // Tensor<readonly [8, 28, 28, 24]>
 * ```
 */
export const conv2d: {
  <W extends Shape, D extends DType, const O extends Conv2dOptions = {}>(
    w: Tensor<W, D>,
    options?: O
  ): <X extends Shape>(x: Tensor<X, D> & Rules.Check<Rules.Conv2d<X, W, O>>) => Tensor<Res<Rules.Conv2d<X, W, O>>, D>
  <X extends Shape, W extends Shape, D extends DType, const O extends Conv2dOptions = {}>(
    x: Tensor<X, D>,
    w: Tensor<W, NoInfer<D>> & Rules.Check<Rules.Conv2d<X, W, O>>,
    options?: O
  ): Tensor<Res<Rules.Conv2d<X, W, O>>, D>
} = dual(
  (args: IArguments) => isTensor(args[1]),
  (x: AnyTensor, w: AnyTensor, options?: Conv2dOptions): AnyTensor => {
    const xi = toImpl(x)
    const wi = toImpl(w)
    sameFloatDType("conv2d", xi, wi)
    return fromImpl(bind(conv2dPrimitive, [xi, wi], conv2dParams(xi.shape, wi.shape, options)))
  }
)

/**
 * Transposed 2-D convolution (the gradient of `conv2d` with respect to its input; "deconvolution"): `y` is
 * NHWC `[N, H, W, F]`, `w` is `[KH, KW, C, F]` (the kernel of the convolution it transposes, Keras'
 * `Conv2DTranspose` layout), the result `[N, OH, OW, C]` with `OH = H * stride` for `"same"` and
 * `(H - 1) * stride + (KH - 1) * dilation + 1` for `"valid"` (default), as `tf.nn.conv2d_transpose`.
 * `conv2d(x, w, options)` of a result has `y`'s shape, and the two are adjoint:
 * `<conv2d(x, w), y> = <x, conv2dTranspose(y, w)>`. Runs on `conv2dBackpropInput`, so its gradients (to any
 * order) are the convolution primitives'.
 *
 * @example
 * ```ts
 * declare const y: Tensor.Tensor<readonly [8, 7, 7, 32]>
 * declare const w: Tensor.Tensor<readonly [3, 3, 16, 32]>
 * Tensor.conv2dTranspose(y, w, { strides: 2, padding: "same" }) // Tensor<readonly [8, 14, 14, 16]>
 * pipe(y, Tensor.conv2dTranspose(w, { strides: 2 }))          // Tensor<readonly [8, 15, 15, 16]>
 * ```
 */
export const conv2dTranspose: {
  <W extends Shape, D extends DType, const O extends Rules.Conv2dTransposeOptions = {}>(
    w: Tensor<W, D>,
    options?: O
  ): <X extends Shape>(
    y: Tensor<X, D> & Rules.Check<Rules.Conv2dTranspose<X, W, O>>
  ) => Tensor<Res<Rules.Conv2dTranspose<X, W, O>>, D>
  <X extends Shape, W extends Shape, D extends DType, const O extends Rules.Conv2dTransposeOptions = {}>(
    y: Tensor<X, D>,
    w: Tensor<W, NoInfer<D>> & Rules.Check<Rules.Conv2dTranspose<X, W, O>>,
    options?: O
  ): Tensor<Res<Rules.Conv2dTranspose<X, W, O>>, D>
} = dual(
  (args: IArguments) => isTensor(args[1]),
  (y: AnyTensor, w: AnyTensor, options?: Rules.Conv2dTransposeOptions): AnyTensor => {
    const yi = toImpl(y)
    const wi = toImpl(w)
    sameFloatDType("conv2dTranspose", yi, wi)
    const g = Rules.conv2dTransposeGeometry(yi.shape, wi.shape, options)
    const forward = conv2dParams([g.batch, g.inH, g.inW, g.inC], wi.shape, {
      strides: [g.strideH, g.strideW],
      dilation: [g.dilationH, g.dilationW],
      padding: options?.padding ?? "valid"
    })
    return fromImpl(bind(conv2dBackpropInputPrimitive, [yi, wi], forward))
  }
)

/** Options of `conv2dBias`: those of `conv2d`, and whether a relu follows. */
export interface Conv2dBiasOptions extends Conv2dOptions {
  readonly relu?: boolean
}

/**
 * `conv2d(x, w) + b` (and relu when `relu: true`) fused into one pass: what a convolution layer computes,
 * without the intermediate tensors. `b` is `[F]`.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [8, 28, 28, 3]>
 * declare const w: Tensor.Tensor<readonly [3, 3, 3, 16]>
 * declare const b: Tensor.Tensor<readonly [16]>
 * const y = Tensor.conv2dBias(x, w, b, { padding: "same", relu: true }) // relu(conv2d(x, w) + b)
 * ```
 */
export const conv2dBias = <
  X extends Shape,
  W extends Shape,
  D extends DType,
  const O extends Conv2dBiasOptions = {}
>(
  x: Tensor<X, D>,
  w: Tensor<W, NoInfer<D>> & Rules.Check<Rules.Conv2d<X, W, O>>,
  b: Tensor<readonly [W extends readonly [number, number, number, infer F extends number] ? F : number], NoInfer<D>>,
  options?: O
): Tensor<Res<Rules.Conv2d<X, W, O>>, D> => {
  const xi = toImpl(x)
  const wi = toImpl(w)
  const bi = toImpl(b)
  sameFloatDType("conv2dBias", xi, wi)
  sameFloatDType("conv2dBias", xi, bi)
  const params = conv2dParams(xi.shape, wi.shape, options)
  const f = wi.shape[3]
  if (bi.rank !== 1 || bi.shape[0] !== f) {
    throw new ShapeError(
      "conv2dBias",
      `conv2dBias: bias of shape [${
        bi.shape.join(", ")
      }] does not match the kernel's ${f} filters; pass a bias of shape [${f}]`
    )
  }
  return fromImpl(bind(conv2dBiasPrimitive, [xi, wi, bi], { ...params, relu: options?.relu ?? false }))
}
