/**
 * Kernel-level types shared by every backend (portable JS, WebAssembly SIMD).
 *
 * Conventions: row-major storage everywhere, activations NHWC, convolution weights
 * [KH, KW, C, F]. Kernels never allocate their outputs: the caller passes them in.
 * All arrays passed to one call have the same element type.
 */

/** The two storage types a kernel works on. */
export type FloatArray = Float32Array | Float64Array

/** Arguments of `C (+)= op(A) * op(B)` where op(A) is [m, k] and op(B) is [k, n]. */
export interface GemmArgs<A extends FloatArray> {
  /** When true, A is stored as [k, m] (row-major, leading dimension lda) and op(A) = A^T. */
  readonly transA: boolean
  /** When true, B is stored as [n, k] (row-major, leading dimension ldb) and op(B) = B^T. */
  readonly transB: boolean
  readonly m: number
  readonly n: number
  readonly k: number
  readonly a: A
  readonly aOffset: number
  /** Distance between consecutive stored rows of A. */
  readonly lda: number
  readonly b: A
  readonly bOffset: number
  readonly ldb: number
  readonly c: A
  readonly cOffset: number
  readonly ldc: number
  /** false: C = op(A) op(B) (beta 0, C is not read); true: C += op(A) op(B) (beta 1). */
  readonly accumulate: boolean
}

/**
 * Geometry of a 2-D convolution. Input [n, h, w, c], weights [kh, kw, c, f], output [n, outH, outW, f].
 * Padding at the bottom/right is implied by outH/outW (cells outside the input read as zero).
 */
export interface Conv2dGeometry {
  readonly n: number
  readonly h: number
  readonly w: number
  readonly c: number
  readonly kh: number
  readonly kw: number
  readonly f: number
  readonly outH: number
  readonly outW: number
  readonly strideH: number
  readonly strideW: number
  readonly dilationH: number
  readonly dilationW: number
  readonly padTop: number
  readonly padLeft: number
}

/** Optional epilogue of the forward convolution. */
export interface Conv2dEpilogue<A extends FloatArray> {
  /** Added to every output pixel, length f. */
  readonly bias?: A | undefined
  /** Apply relu after the bias, as `Tensor.relu`: x > 0 or NaN keeps x, else +0. */
  readonly relu?: boolean | undefined
}

/**
 * Geometry of a 2-D pooling window over NHWC input [n, h, w, c] to output [n, outH, outW, c].
 * Padding at the bottom/right is implied by outH/outW; padded cells never take part
 * (max never picks them, average divides by the number of real cells, as TensorFlow does).
 */
export interface Pool2dGeometry {
  readonly n: number
  readonly h: number
  readonly w: number
  readonly c: number
  readonly kh: number
  readonly kw: number
  readonly outH: number
  readonly outW: number
  readonly strideH: number
  readonly strideW: number
  readonly padTop: number
  readonly padLeft: number
}

/**
 * One Adam step for one parameter, fused: reads `g`, `m`, `v` (and `p`) once, writes `mOut`, `vOut` and `out`
 * (all of one length). `m' = b1 m + (1 - b1) g`, `v' = b2 v + (1 - b2) g g`, `u = a m' / (sqrt(v') + e)`,
 * `out = p + u`, or `out = u` when `p` is left out. The bias corrections are folded into `a` and `e` by the
 * caller (`a = -lr sqrt(1 - b2^t) / (1 - b1^t)`, `e = eps sqrt(1 - b2^t)`).
 */
export interface AdamArgs<A extends FloatArray> {
  readonly g: A
  readonly p: A | undefined
  readonly m: A
  readonly v: A
  readonly out: A
  readonly mOut: A
  readonly vOut: A
  readonly b1: number
  readonly b2: number
  readonly a: number
  readonly e: number
}

/**
 * A complete set of numeric kernels. Backends are interchangeable: every implementation computes the
 * same results (up to floating-point summation order) for both element types.
 */
export interface Kernels {
  readonly name: string
  /** `C (+)= op(A) op(B)`. */
  gemm<A extends FloatArray>(args: GemmArgs<A>): void
  /** y[n, outH, outW, f] = conv(x[n, h, w, c], w[kh, kw, c, f]) (+ bias) (relu). */
  conv2d<A extends FloatArray>(x: A, w: A, y: A, g: Conv2dGeometry, epilogue?: Conv2dEpilogue<A>): void
  /** dx[n, h, w, c] = gradient of conv2d w.r.t. its input, given dy[n, outH, outW, f]. Overwrites dx. */
  conv2dBackpropInput<A extends FloatArray>(dy: A, w: A, dx: A, g: Conv2dGeometry): void
  /** dw[kh, kw, c, f] = gradient of conv2d w.r.t. its weights. Overwrites dw. */
  conv2dBackpropFilter<A extends FloatArray>(x: A, dy: A, dw: A, g: Conv2dGeometry): void
  /**
   * y = max over each window. When `argmax` (length of y) is given, it receives, for each output cell, the
   * flat index into x of the first maximum (row-major window order); -1 if the window has no real cell.
   */
  maxPool2d<A extends FloatArray>(x: A, y: A, g: Pool2dGeometry, argmax?: Int32Array): void
  /** dx = 0, then dx[argmax[i]] += dy[i]. */
  maxPool2dBackward<A extends FloatArray>(dy: A, argmax: Int32Array, dx: A, g: Pool2dGeometry): void
  /** Same as `maxPool2dBackward`, recomputing the first maximum of each window from x. */
  maxPool2dBackwardFromInput<A extends FloatArray>(x: A, dy: A, dx: A, g: Pool2dGeometry): void
  /** y = mean over the real cells of each window. */
  avgPool2d<A extends FloatArray>(x: A, y: A, g: Pool2dGeometry): void
  /** dx = each dy spread evenly over the real cells of its window. Overwrites dx. */
  avgPool2dBackward<A extends FloatArray>(dy: A, dx: A, g: Pool2dGeometry): void
  /** One fused Adam step over a parameter's entries (see `AdamArgs`). */
  adam<A extends FloatArray>(args: AdamArgs<A>): void
  /**
   * relu's backward pass from its output: out[i] = y[i] > 0 ? ct[i] : +0 for i < n (bit for bit: ct's bits
   * or zero).
   */
  reluBackward<A extends FloatArray>(ct: A, y: A, out: A, n: number): void
  /**
   * Column sums of `rows` rows of `n` (the bias gradients): acc[j] += data[r * n + j] in float64, four rows
   * per pass then the rest one by one (`js/reduce.ts`), the same bits in every implementation.
   */
  sumRows<A extends FloatArray>(data: A, rows: number, n: number, acc: Float64Array): void
}
