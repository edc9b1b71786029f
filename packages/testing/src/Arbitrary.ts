/**
 * fast-check arbitraries for shapes and tensors.
 *
 * Values are spread evenly over a range: an integer grid is mapped onto `[min, max]` (raw
 * `fc.double` mostly yields numbers below 1e-6, useless for gradient checks). Entries can be kept away
 * from kinks (`awayFrom: [0]` for relu and abs) and made pairwise distinct (no ties for `max` and
 * `maxPool2d`), without rejection sampling: the allowed set is laid out on the grid directly.
 *
 * @example
 * ```ts
 * import { Arbitrary } from "@typegrad/testing"
 * import fc from "fast-check"
 *
 * fc.assert(fc.property(Arbitrary.tensorOf(Arbitrary.shape({ maxRank: 2 }), { dtype: "float64" }), (x) => {
 *   // ... a property of x
 * }))
 * ```
 *
 * @since 0.1.0
 */
import type { Shape } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"

/**
 * Bounds of generated shapes (all inclusive).
 *
 * @example
 * ```ts
 * Arbitrary.shape({ minRank: 2, maxRank: 2, maxDim: 7 }) // matrices up to 7x7
 * ```
 */
export interface ShapeOptions {
  /** Fewest axes (default 0: scalars included). */
  readonly minRank?: number
  /** Most axes (default 3). */
  readonly maxRank?: number
  /** Smallest dim (default 1). */
  readonly minDim?: number
  /** Largest dim (default 4). */
  readonly maxDim?: number
}

/**
 * How the entries of a generated tensor are drawn.
 *
 * @example
 * ```ts
 * const positive: Arbitrary.ValueOptions = { min: 0.1, max: 3 }            // for log, sqrt
 * const noKink: Arbitrary.ValueOptions = { awayFrom: [0], margin: 0.05 }    // for relu, abs
 * const noTies: Arbitrary.ValueOptions = { distinct: true }                 // for max, maxPool2d
 * ```
 */
export interface ValueOptions {
  /** Smallest value (default -1). */
  readonly min?: number
  /** Largest value (default 1). */
  readonly max?: number
  /** Points to stay away from, such as the kink of relu or abs at 0. */
  readonly awayFrom?: ReadonlyArray<number>
  /** The smallest distance to every point of `awayFrom` (default `(max - min) / 100`). */
  readonly margin?: number
  /**
   * Entries pairwise distinct, at least one grid step apart (no ties for `max` and `maxPool2d`).
   * The grid step is the allowed length divided by `max(resolution, 4 * count)`.
   */
  readonly distinct?: boolean
  /** Number of grid steps over the allowed range (default 2000). */
  readonly resolution?: number
}

/**
 * `ValueOptions` plus the dtype of the tensor.
 *
 * @example
 * ```ts
 * Arbitrary.tensor([4], { dtype: "float64", min: -2, max: 2 })
 * ```
 */
export interface TensorOptions<D extends Tensor.DType> extends ValueOptions {
  /** The dtype (default `"float32"`, as everywhere in typegrad; gradient checks want `"float64"`). */
  readonly dtype?: D
}

/**
 * Shapes with a rank in `[minRank, maxRank]` and dims in `[minDim, maxDim]`.
 *
 * @example
 * ```ts
 * Arbitrary.shape({ minRank: 1, maxRank: 3, maxDim: 5 }) // e.g. [3], [5, 1, 2]
 * ```
 */
export const shape = (options: ShapeOptions = {}): fc.Arbitrary<ReadonlyArray<number>> => {
  const minRank = options.minRank ?? 0
  const maxRank = options.maxRank ?? Math.max(3, minRank)
  const minDim = options.minDim ?? 1
  const maxDim = options.maxDim ?? Math.max(4, minDim)
  if (!(Number.isInteger(minRank) && Number.isInteger(maxRank) && 0 <= minRank && minRank <= maxRank)) {
    throw new RangeError(`Arbitrary.shape: need integers 0 <= minRank <= maxRank, got ${minRank} and ${maxRank}`)
  }
  if (!(Number.isInteger(minDim) && Number.isInteger(maxDim) && 0 <= minDim && minDim <= maxDim)) {
    throw new RangeError(`Arbitrary.shape: need integers 0 <= minDim <= maxDim, got ${minDim} and ${maxDim}`)
  }
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank })
}

/** The allowed set `[min, max]` minus the open balls around `awayFrom`, as sorted closed intervals. */
const allowedIntervals = (
  min: number,
  max: number,
  awayFrom: ReadonlyArray<number>,
  margin: number
): Array<readonly [number, number]> => {
  let intervals: Array<readonly [number, number]> = [[min, max]]
  for (const k of awayFrom) {
    const next: Array<readonly [number, number]> = []
    for (const [a, b] of intervals) {
      if (b <= k - margin || a >= k + margin) next.push([a, b])
      else {
        if (a < k - margin) next.push([a, k - margin])
        if (b > k + margin) next.push([k + margin, b])
      }
    }
    intervals = next
  }
  return intervals.filter(([a, b]) => b > a)
}

/**
 * Arrays of `count` numbers drawn as described by `options` (the entries of `tensor`).
 *
 * @example
 * ```ts
 * Arbitrary.values(6, { min: -3, max: 3, awayFrom: [0], margin: 0.1, distinct: true })
 * ```
 */
export const values = (count: number, options: ValueOptions = {}): fc.Arbitrary<ReadonlyArray<number>> => {
  const min = options.min ?? -1
  const max = options.max ?? 1
  if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max)) {
    throw new RangeError(`Arbitrary.values: need finite min <= max, got ${min} and ${max}`)
  }
  const margin = options.margin ?? (max - min) / 100
  const intervals = allowedIntervals(min, max, options.awayFrom ?? [], margin)
  if (intervals.length === 0) {
    if (
      min === max && (options.awayFrom ?? []).every((k) => Math.abs(k - min) >= margin) &&
      !(options.distinct && count > 1)
    ) {
      return fc.constant(new Array<number>(count).fill(min))
    }
    throw new RangeError(
      `Arbitrary.values: nothing is left of [${min}, ${max}] at distance ${margin} from [${
        (options.awayFrom ?? []).join(", ")
      }]`
    )
  }
  const total = intervals.reduce((s, [a, b]) => s + b - a, 0)
  const steps = Math.max(options.resolution ?? 2000, options.distinct ? 4 * count : 1)
  // A strictly increasing map from the grid {0..steps} onto the allowed set.
  const at = (i: number): number => {
    let t = (i / steps) * total
    for (const [a, b] of intervals) {
      if (t <= b - a) return a + t
      t -= b - a
    }
    return intervals[intervals.length - 1]![1]
  }
  const grid = fc.integer({ min: 0, max: steps })
  const ints = options.distinct
    ? fc.uniqueArray(grid, { minLength: count, maxLength: count })
    : fc.array(grid, { minLength: count, maxLength: count })
  return ints.map((is) => is.map(at))
}

/**
 * Tensors of a fixed shape, entries drawn as described by `options`.
 *
 * @example
 * ```ts
 * Arbitrary.tensor([2, 3], { dtype: "float64", min: -2, max: 2, awayFrom: [0], margin: 0.05 })
 * // fc.Arbitrary<Tensor.Tensor<readonly [2, 3], "float64">>
 * ```
 */
export const tensor = <const S extends Tensor.Shape, D extends Tensor.DType = "float32">(
  dims: S,
  options: TensorOptions<D> = {}
): fc.Arbitrary<Tensor.Tensor<S, D>> => {
  const dtype = (options.dtype ?? "float32") as D
  const count = dims.reduce((n: number, d: number) => n * d, 1)
  return values(count, options).map((vs) => Tensor.fromArray(vs, dims, { dtype }))
}

/**
 * Tensors of a generated shape.
 *
 * @example
 * ```ts
 * Arbitrary.tensorOf(Arbitrary.shape({ minRank: 1, maxDim: 5 }), { dtype: "float64", distinct: true })
 * ```
 */
export const tensorOf = <D extends Tensor.DType = "float32">(
  shapes: fc.Arbitrary<ReadonlyArray<number>>,
  options: TensorOptions<D> = {}
): fc.Arbitrary<Tensor.Tensor<ReadonlyArray<number>, D>> =>
  shapes.chain((s) => tensor<ReadonlyArray<number>, D>(s, options))

// ---------------------------------------------------------------------------------------------------
// Convolution and pooling configurations
// ---------------------------------------------------------------------------------------------------

/**
 * An integer parameter of a generated configuration: a fixed value, an inclusive range, or any
 * arbitrary of integers (for a hand-picked set: `fc.constantFrom(1, 4, 8)`).
 *
 * @example
 * ```ts
 * const fixed: Arbitrary.IntSpec = 2
 * const range: Arbitrary.IntSpec = { min: 1, max: 7 }
 * const picked: Arbitrary.IntSpec = fc.constantFrom(1, 8, 24)
 * ```
 */
export type IntSpec = number | { readonly min: number; readonly max: number } | fc.Arbitrary<number>

/**
 * How a per-axis option (strides, dilation, pool size) is written: one number for both axes, an
 * `[h, w]` pair, or either (half and half).
 *
 * @example
 * ```ts
 * Arbitrary.conv2dConfig({ form: "pair" }) // strides and dilation always [h, w]
 * ```
 */
export type PairForm = "number" | "pair" | "either"

/**
 * A form of `padding`: `"valid"`, `"same"`, `"number"` (`p` on every side), `"pair"` (`[ph, pw]`) or
 * `"explicit"` (`[[top, bottom], [left, right]]`, all four independent).
 *
 * @example
 * ```ts
 * const forms: ReadonlyArray<Arbitrary.PaddingForm> = ["same", "explicit", "explicit"] // explicit twice as often
 * ```
 */
export type PaddingForm = "valid" | "same" | "number" | "pair" | "explicit"

/**
 * Bounds shared by `conv2dConfig` and `pool2dConfig`: the NHWC input and the strides.
 *
 * @example
 * ```ts
 * const small: Arbitrary.Window2dOptions = { batch: 1, height: { min: 3, max: 6 }, width: { min: 3, max: 6 } }
 * ```
 */
export interface Window2dOptions {
  /** Batch size (default 1 to 2). */
  readonly batch?: IntSpec
  /** Input height (default 1 to 7: odd and even sizes). */
  readonly height?: IntSpec
  /** Input width (default 1 to 7). */
  readonly width?: IntSpec
  /** Input channels (default 1 to 3). */
  readonly channels?: IntSpec
  /** Strides, per axis (default 1 to 3). */
  readonly strides?: IntSpec
  /** How strides (and dilation or pool size) are written (default `"either"`). */
  readonly form?: PairForm
}

/**
 * Bounds of `conv2dConfig`.
 *
 * @example
 * ```ts
 * const options: Arbitrary.Conv2dConfigOptions = { kernelSize: { min: 1, max: 5 }, padding: ["same", "explicit"] }
 * ```
 */
export interface Conv2dConfigOptions extends Window2dOptions {
  /** Output channels (default 1 to 3). */
  readonly filters?: IntSpec
  /** Kernel size, per axis (default 1 to 3). */
  readonly kernelSize?: IntSpec
  /** Dilation, per axis (default 1 to 2). */
  readonly dilation?: IntSpec
  /**
   * The padding forms to draw from, each entry equally likely, so a form listed twice is drawn twice as
   * often (default all five once).
   */
  readonly padding?: ReadonlyArray<PaddingForm>
  /** Each explicit pad (`"number"`, `"pair"`, `"explicit"` forms; default 0 to 2). */
  readonly pad?: IntSpec
}

/**
 * Bounds of `pool2dConfig`.
 *
 * @example
 * ```ts
 * const options: Arbitrary.Pool2dConfigOptions = { poolSize: { min: 2, max: 3 }, strides: 1 } // overlapping windows
 * ```
 */
export interface Pool2dConfigOptions extends Window2dOptions {
  /** Window size, per axis (default 1 to 3). */
  readonly poolSize?: IntSpec
  /**
   * The padding forms to draw from, each entry equally likely (default `"valid"` and `"same"`); the explicit
   * forms (`"number"`, `"pair"`, `"explicit"`) draw pads smaller than the pool size on their axis.
   */
  readonly padding?: ReadonlyArray<PaddingForm>
  /** Each explicit pad, before configurations with a pad not smaller than the window are left out (default 0 to 2). */
  readonly pad?: IntSpec
  /**
   * Leave `strides` out in one case of five, so that it defaults to the pool size (default `true`);
   * `false` always writes them.
   */
  readonly defaultStrides?: boolean
}

/**
 * A valid `conv2d` configuration: input and kernel shapes, the options as a user writes them, and the
 * geometry they give (output size and the four pads, as `Shape.conv2dGeometry` gives them, but computed
 * independently from the definitions, so a test can compare the two).
 *
 * @example
 * ```ts
 * const c: Arbitrary.Conv2dConfig = fc.sample(Arbitrary.conv2dConfig(), 1)[0]!
 * Tensor.conv2d(Tensor.zeros(c.input), Tensor.zeros(c.kernel), c.options).shape // c.geometry.outShape
 * ```
 */
export interface Conv2dConfig {
  /** `[n, h, w, c]`. */
  readonly input: readonly [number, number, number, number]
  /** `[kh, kw, c, f]`. */
  readonly kernel: readonly [number, number, number, number]
  readonly options: {
    readonly strides: number | Shape.Pair
    readonly dilation: number | Shape.Pair
    readonly padding: Shape.Padding2d
  }
  readonly geometry: Shape.Geometry2d
}

/**
 * A valid pooling configuration: the input shape, the options as a user writes them, and the geometry
 * they give (as `Shape.pool2dGeometry` gives it, computed independently from the definitions).
 *
 * @example
 * ```ts
 * const p: Arbitrary.Pool2dConfig = fc.sample(Arbitrary.pool2dConfig(), 1)[0]!
 * Tensor.maxPool2d(Tensor.zeros(p.input), p.options).shape // p.geometry.outShape
 * ```
 */
export interface Pool2dConfig {
  /** `[n, h, w, c]`. */
  readonly input: readonly [number, number, number, number]
  readonly options: Shape.Pool2dOptions & { readonly padding: Shape.Padding2d }
  readonly geometry: Shape.Geometry2d
}

const isArbitrary = (spec: IntSpec): spec is fc.Arbitrary<number> =>
  typeof spec === "object" && !("min" in spec && "max" in spec)

const int = (spec: IntSpec, what: string): fc.Arbitrary<number> => {
  if (isArbitrary(spec)) return spec
  const [min, max] = typeof spec === "number" ? [spec, spec] : [spec.min, spec.max]
  if (!(Number.isInteger(min) && Number.isInteger(max) && min <= max)) {
    throw new RangeError(`Arbitrary: ${what} needs integers min <= max, got ${min} and ${max}`)
  }
  return min === max ? fc.constant(min) : fc.integer({ min, max })
}

const perAxis = (a: fc.Arbitrary<number>, form: PairForm): fc.Arbitrary<number | Shape.Pair> =>
  form === "number"
    ? a
    : form === "pair"
    ? fc.tuple(a, a)
    : fc.oneof(a, fc.tuple(a, a))

const paddingOf = (form: PaddingForm, pad: fc.Arbitrary<number>): fc.Arbitrary<Shape.Padding2d> => {
  switch (form) {
    case "valid":
    case "same":
      return fc.constant(form)
    case "number":
      return pad
    case "pair":
      return fc.tuple(pad, pad)
    case "explicit":
      return fc.tuple(fc.tuple(pad, pad), fc.tuple(pad, pad))
  }
}

const forms = <F extends string>(list: ReadonlyArray<F>, what: string): fc.Arbitrary<F> => {
  if (list.length === 0) throw new RangeError(`Arbitrary: ${what} needs at least one padding form`)
  return fc.constantFrom(...list)
}

const pairOf = (v: number | Shape.Pair): Shape.Pair => (typeof v === "number" ? [v, v] : v)

/** `[top, bottom, left, right]` of an explicit padding. */
const explicitPads = (p: Exclude<Shape.Padding2d, "same">): readonly [number, number, number, number] => {
  if (p === "valid") return [0, 0, 0, 0]
  if (typeof p === "number") return [p, p, p, p]
  const [ph, pw] = p
  return typeof ph === "number" && typeof pw === "number"
    ? [ph, ph, pw, pw]
    : [...(ph as Shape.Pair), ...(pw as Shape.Pair)]
}

/** One spatial axis from the definitions; `undefined` when the window does not fit the padded input. */
const axis = (
  size: number,
  k: number,
  stride: number,
  dilation: number,
  pads: "same" | readonly [number, number]
): { readonly out: number; readonly before: number; readonly after: number } | undefined => {
  const eff = (k - 1) * dilation + 1
  if (pads === "same") {
    // TensorFlow: output ceil(size / stride), the total pad split with the smaller half first.
    const out = Math.ceil(size / stride)
    const total = Math.max(0, (out - 1) * stride + eff - size)
    return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) }
  }
  const padded = size + pads[0] + pads[1]
  return padded < eff ? undefined : { out: Math.floor((padded - eff) / stride) + 1, before: pads[0], after: pads[1] }
}

/**
 * The geometry of a window op, computed here from the definitions rather than by `@typegrad/shape`, so that
 * a test driven by these arbitraries checks the library's geometry instead of reusing it.
 */
const geometry = (
  [n, h, w, c]: readonly [number, number, number, number],
  [kh, kw]: Shape.Pair,
  outC: number,
  [sh, sw]: Shape.Pair,
  [dh, dw]: Shape.Pair,
  padding: Shape.Padding2d
): Shape.Geometry2d | undefined => {
  const pads = padding === "same" ? undefined : explicitPads(padding)
  const ah = axis(h, kh, sh, dh, pads === undefined ? "same" : [pads[0], pads[1]])
  const aw = axis(w, kw, sw, dw, pads === undefined ? "same" : [pads[2], pads[3]])
  if (ah === undefined || aw === undefined) return undefined
  return {
    batch: n,
    inH: h,
    inW: w,
    inC: c,
    outH: ah.out,
    outW: aw.out,
    outC,
    kh,
    kw,
    strideH: sh,
    strideW: sw,
    dilationH: dh,
    dilationW: dw,
    padTop: ah.before,
    padBottom: ah.after,
    padLeft: aw.before,
    padRight: aw.after,
    outShape: [n, ah.out, aw.out, outC]
  }
}

/**
 * Valid `conv2d` configurations, small by default: odd and even sizes, strides up to 3, dilation up to
 * 2, every padding form (`"valid"`, `"same"`, a number, `[ph, pw]`, `[[top, bottom], [left, right]]`),
 * strides and dilation written as a number or a pair. Configurations whose kernel does not fit the
 * padded input are filtered out. Each bound can be fixed, a range, or an arbitrary.
 *
 * @example
 * ```ts
 * import { Arbitrary, checkGrads } from "@typegrad/testing"
 * import { Tensor } from "@typegrad/tensor"
 * import fc from "fast-check"
 *
 * const cases = Arbitrary.conv2dConfig({ height: { min: 3, max: 6 }, width: { min: 3, max: 6 } }).chain((c) =>
 *   fc.tuple(fc.constant(c), Arbitrary.tensor(c.input, { dtype: "float64" }), Arbitrary.tensor(c.kernel, { dtype: "float64" }))
 * )
 * fc.assert(fc.property(cases, ([c, x, w]) => checkGrads((k: typeof w) => Tensor.conv2d(x, k, c.options), w).ok))
 * ```
 */
export const conv2dConfig = (options: Conv2dConfigOptions = {}): fc.Arbitrary<Conv2dConfig> => {
  const form = options.form ?? "either"
  const pad = int(options.pad ?? { min: 0, max: 2 }, "conv2dConfig pad")
  const kernel = int(options.kernelSize ?? { min: 1, max: 3 }, "conv2dConfig kernelSize")
  return fc
    .record({
      n: int(options.batch ?? { min: 1, max: 2 }, "conv2dConfig batch"),
      h: int(options.height ?? { min: 1, max: 7 }, "conv2dConfig height"),
      w: int(options.width ?? { min: 1, max: 7 }, "conv2dConfig width"),
      c: int(options.channels ?? { min: 1, max: 3 }, "conv2dConfig channels"),
      f: int(options.filters ?? { min: 1, max: 3 }, "conv2dConfig filters"),
      kh: kernel,
      kw: kernel,
      strides: perAxis(int(options.strides ?? { min: 1, max: 3 }, "conv2dConfig strides"), form),
      dilation: perAxis(int(options.dilation ?? { min: 1, max: 2 }, "conv2dConfig dilation"), form),
      padding: forms<PaddingForm>(options.padding ?? ["valid", "same", "number", "pair", "explicit"], "conv2dConfig")
        .chain((p) => paddingOf(p, pad))
    })
    .map(({ n, h, w, c, f, kh, kw, strides, dilation, padding }) => {
      const input = [n, h, w, c] as const
      const kernelShape = [kh, kw, c, f] as const
      const opts = { strides, dilation, padding }
      return {
        input,
        kernel: kernelShape,
        options: opts,
        geometry: geometry(input, [kh, kw], f, pairOf(strides), pairOf(dilation), padding)
      }
    })
    .filter((c): c is Conv2dConfig => c.geometry !== undefined)
}

/**
 * Valid pooling configurations (for `maxPool2d` and `avgPool2d`), small by default: odd and even sizes,
 * windows up to 3, strides up to 3 (so windows overlap when the strides are smaller than the window, and
 * leave gaps when larger), sometimes no strides at all (they default to the window), `"valid"` and
 * `"same"` padding (explicit pads when `padding` lists their forms), sizes written as a number or a pair.
 * Configurations whose window does not fit are filtered out.
 *
 * @example
 * ```ts
 * import { Arbitrary, checkGrads } from "@typegrad/testing"
 * import { Tensor } from "@typegrad/tensor"
 * import fc from "fast-check"
 *
 * const cases = Arbitrary.pool2dConfig().chain((p) =>
 *   fc.tuple(fc.constant(p), Arbitrary.tensor(p.input, { dtype: "float64", distinct: true }))
 * )
 * fc.assert(fc.property(cases, ([p, x]) => checkGrads((t: Tensor.AnyTensor) => Tensor.maxPool2d(t, p.options), x).ok))
 * ```
 */
export const pool2dConfig = (options: Pool2dConfigOptions = {}): fc.Arbitrary<Pool2dConfig> => {
  const form = options.form ?? "either"
  const stride = perAxis(int(options.strides ?? { min: 1, max: 3 }, "pool2dConfig strides"), form)
  const pad = int(options.pad ?? { min: 0, max: 2 }, "pool2dConfig pad")
  return fc
    .record({
      n: int(options.batch ?? { min: 1, max: 2 }, "pool2dConfig batch"),
      h: int(options.height ?? { min: 1, max: 7 }, "pool2dConfig height"),
      w: int(options.width ?? { min: 1, max: 7 }, "pool2dConfig width"),
      c: int(options.channels ?? { min: 1, max: 3 }, "pool2dConfig channels"),
      poolSize: perAxis(int(options.poolSize ?? { min: 1, max: 3 }, "pool2dConfig poolSize"), form),
      strides: (options.defaultStrides ?? true)
        ? fc.option(stride, { nil: undefined })
        : (stride as fc.Arbitrary<number | Shape.Pair | undefined>),
      padding: forms<PaddingForm>(options.padding ?? ["valid", "same"], "pool2dConfig").chain((p) => paddingOf(p, pad))
    })
    .map(({ n, h, w, c, poolSize, strides, padding }) => {
      const input = [n, h, w, c] as const
      const opts: Pool2dConfig["options"] = strides === undefined
        ? { poolSize, padding }
        : { poolSize, strides, padding }
      const size = pairOf(poolSize)
      // Explicit pads must be smaller than the window on their axis (else a window holds only padding).
      const tooLarge = padding !== "same" &&
        explicitPads(padding).some((p, i) => p >= size[i < 2 ? 0 : 1])
      return {
        input,
        options: opts,
        geometry: tooLarge ? undefined : geometry(input, size, c, pairOf(strides ?? size), [1, 1], padding)
      }
    })
    .filter((p): p is Pool2dConfig => p.geometry !== undefined)
}
