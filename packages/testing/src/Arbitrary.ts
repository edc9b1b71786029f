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
