/**
 * Gradient checks: reverse mode against central finite differences, in float64.
 *
 * For a function `f` of a tensor or pytree `x` (to a tensor or pytree), a check draws a random output
 * cotangent `u` and a random input direction `v` and compares two numbers that must agree:
 *
 * - expected, by central differences: `<u, J v> ≈ (<u, f(x + h v)> - <u, f(x - h v)>) / 2h`,
 * - got, by reverse mode: `<J^T u, v>` where `J^T u` is `vjp(f, x)[1](u)`.
 *
 * Each direction costs two forward passes. The step scheme: `h = step` (default 1e-6) and the entries of
 * `v` are `r_i * max(1, |x_i|)` with `r_i` uniform in [-1, 1], so entry `i` moves by about
 * `1e-6 * max(1, |x_i|)`. By default every leaf of the pytree is perturbed on its own, so a failure names
 * the leaf whose gradient is wrong. `order: 2` also checks the second order: the same comparison for the
 * scalar function `x -> <J(x)^T u, w>` (finite differences of the VJP against the VJP of the VJP).
 *
 * Inputs are cast to float64 first (float32 is too coarse for finite differences, best relative error
 * about 5e-4), so `f` must compute in the dtype of its inputs: build constants with `{ dtype: x.dtype }`.
 * A float32 output is rejected with an error saying so.
 *
 * Kinks (relu or abs at 0, ties of max): where the one-sided differences disagree, the sample sits on a
 * point where `f` is not differentiable; such samples are skipped (`kinks: "skip"`, the default) and
 * reported (`result.kinked`, to use with `fc.pre(!result.kinked)`), or judged anyway (`kinks: "fail"`).
 *
 * Randomness is seeded (`seed`, default 42): the same call gives the same directions.
 *
 * @since 0.1.0
 */
import { jvp, vjp } from "@typegrad/autodiff"
import { Pytree, Tensor } from "@typegrad/tensor"

type Tree = Pytree.Pytree
type Leaf = Tensor.AnyTensor

/**
 * Options of `checkGrads`, `assertGrads` and `jvpVjpAgreement`.
 *
 * @example
 * ```ts
 * declare const f: (x: Tensor.Tensor<readonly [3], "float64">) => Tensor.Tensor<readonly [], "float64">
 * declare const x: Tensor.Tensor<readonly [3], "float64">
 * checkGrads(f, x, { order: 2, directions: 5, seed: 1, atol: 1e-6, kinks: "fail" })
 * ```
 */
export interface Options {
  /** Number of random (u, v) pairs per leaf and order (default 3). */
  readonly directions?: number
  /** Absolute tolerance (default 1e-5; 1e-9 for `jvpVjpAgreement`). */
  readonly atol?: number
  /** Relative tolerance, relative to `max(|expected|, |got|)` (default 1e-5; 1e-9 for `jvpVjpAgreement`). */
  readonly rtol?: number
  /** 1 (default): first derivatives; 2: first and second derivatives. */
  readonly order?: 1 | 2
  /** Seed of the directions (default 42). */
  readonly seed?: number
  /** Finite-difference step, relative to `max(1, |x_i|)` (default 1e-6). */
  readonly step?: number
  /** What to do with samples on a kink (one-sided differences disagree): `"skip"` (default) or `"fail"`. */
  readonly kinks?: "skip" | "fail"
  /** One-sided differences disagree when they differ by more than this times `max(1, |each|)` (default 1e-3). */
  readonly kinkTolerance?: number
  /** Perturb each leaf of the input on its own (default true) or all leaves at once. */
  readonly perLeaf?: boolean
}

/**
 * One comparison: a random direction, a leaf of the input, an order.
 *
 * @example
 * ```ts
 * type Params = { readonly x: { readonly dense: { readonly w: Tensor.Tensor<readonly [3, 2], "float64"> } } }
 * declare const params: Params
 * declare const f: (p: Params) => Tensor.Tensor<readonly [], "float64">
 * const failing = checkGrads(f, params).entries.filter((e) => !e.ok).map((e) => e.leaf) // ["x.dense.w"]
 * ```
 */
export interface Entry {
  /** 1: gradient; 2: derivative of the VJP. */
  readonly order: 1 | 2
  /** Index of the random direction, from 0. */
  readonly direction: number
  /** The perturbed leaf of the input, as a path: `x`, `x.w`, `x[1].b`; `x(all leaves)` when all at once. */
  readonly leaf: string
  /** `<u, J v>` by central finite differences (or by `jvp` in `jvpVjpAgreement`). */
  readonly expected: number
  /** `<J^T u, v>` by reverse mode. */
  readonly got: number
  readonly absError: number
  /** `absError / max(|expected|, |got|)` (0 when both are 0). */
  readonly relError: number
  /** Whether the one-sided differences disagreed (a kink or a tie). */
  readonly kink: boolean
  /** Whether the entry was left out of the verdict (a kink, with `kinks: "skip"`). */
  readonly skipped: boolean
  readonly ok: boolean
}

/**
 * The outcome of a check.
 *
 * @example
 * ```ts
 * declare const f: (x: Tensor.Tensor<readonly [3], "float64">) => Tensor.Tensor<readonly [], "float64">
 * declare const x: Tensor.Tensor<readonly [3], "float64">
 * const r = checkGrads(f, x)
 * fc.pre(!r.kinked) // in a property: skip samples on a kink
 * expect(r.ok).toBe(true)
 * ```
 */
export interface Result {
  /** Every entry that was not skipped is within tolerance. */
  readonly ok: boolean
  /** Some sample sat on a kink. */
  readonly kinked: boolean
  readonly entries: ReadonlyArray<Entry>
  /** The entry furthest beyond (or closest to) its tolerance, among those not skipped. */
  readonly worst: Entry | undefined
  readonly seed: number
  readonly atol: number
  readonly rtol: number
}

/**
 * Thrown by `assertGrads` (and `assertOk`); carries the result.
 *
 * @example
 * ```ts
 * declare const f: (x: Tensor.Tensor<readonly [3], "float64">) => Tensor.Tensor<readonly [], "float64">
 * declare const x: Tensor.Tensor<readonly [3], "float64">
 * try { assertGrads(f, x) } catch (e) { if (e instanceof GradientCheckError) console.log(e.result.worst) }
 * ```
 */
export class GradientCheckError extends Error {
  readonly result: Result
  constructor(message: string, result: Result) {
    super(message)
    this.name = "GradientCheckError"
    this.result = result
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/** A small seeded generator (xorshift32) of uniforms in [-1, 1). */
const makeRandom = (seed: number): () => number => {
  let s = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return (s / 4294967296) * 2 - 1
  }
}

/** A leaf's path as a JavaScript accessor from `root`: `x`, `x.w`, `x[1].b`, `x["a-b"]`. */
const accessor = (root: string, path: Pytree.Path): string =>
  root +
  path.map((k) => typeof k === "number" ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)
    .join("")

/** Paths of the leaves, in the order of `Pytree.leaves`. */
const leafPaths = (tree: Tree, root: string): Array<string> =>
  Pytree.leavesWithPath(tree).map(([path]) => accessor(root, path))

const leavesOf = (tree: unknown, what: string): Array<Leaf> => {
  try {
    // A value that is not a pytree is reported below, with what it was.
    return Pytree.leaves(tree as Tree)
  } catch (e) {
    throw new TypeError(`checkGrads: ${what} is not a tensor or a pytree of tensors (${(e as Error).message})`, {
      cause: e
    })
  }
}

const to64 = <X extends Tree>(x: X): X => Pytree.map(x, (t) => (t.dtype === "float64" ? t : Tensor.cast(t, "float64")))

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

const randomArray = (n: number, random: () => number, scale?: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = random() * (scale === undefined ? 1 : Math.max(1, Math.abs(scale[i]!)))
  return out
}

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i])

const float64Leaves = (y: unknown, what: string): Array<Leaf> => {
  const ls = leavesOf(y, what)
  ls.forEach((t, i) => {
    if (t.dtype !== "float64") {
      throw new TypeError(
        `checkGrads: output leaf ${i} of f is ${t.dtype}; the check runs in float64 (inputs are cast), so f must compute ` +
          `in its inputs' dtype (create constants with { dtype: x.dtype }, avoid casts to float32)`
      )
    }
  })
  return ls
}

/** `<u, f(x)>` as a plain number. */
const project = (f: (x: Tree) => Tree, x: Tree, us: ReadonlyArray<Float64Array>): number => {
  const ys = float64Leaves(f(x), "the output of f")
  if (ys.length !== us.length) {
    throw new TypeError(`checkGrads: f returned ${ys.length} tensors at one point and ${us.length} at another`)
  }
  let s = 0
  ys.forEach((y, i) => (s += dot(Tensor.toArray(y), us[i]!)))
  return s
}

/** `x + s * v` where v is given per leaf (missing leaves are not moved). */
const shift = (x: Tree, vs: ReadonlyArray<Float64Array | undefined>, s: number): Tree =>
  Pytree.map(x, (t, i) => {
    const v = vs[i]
    if (v === undefined) return t
    const d = Tensor.toArray(t)
    for (let k = 0; k < d.length; k++) d[k] = d[k]! + s * v[k]!
    return Tensor.fromArray(d, t.shape, { dtype: "float64" })
  })

interface Judged {
  readonly atol: number
  readonly rtol: number
}

const judge = (
  base: Omit<Entry, "absError" | "relError" | "ok" | "skipped">,
  tol: Judged,
  skipKinks: boolean
): Entry => {
  const absError = Math.abs(base.expected - base.got)
  const scale = Math.max(Math.abs(base.expected), Math.abs(base.got))
  const relError = scale === 0 ? (absError === 0 ? 0 : Infinity) : absError / scale
  const skipped = base.kink && skipKinks
  const ok = absError <= tol.atol + tol.rtol * scale
  return { ...base, absError, relError, skipped, ok }
}

/** How far past its tolerance an entry is (> 1 fails); NaN counts as infinitely bad. */
const badness = (e: Entry, tol: Judged): number => {
  const b = e.absError / (tol.atol + tol.rtol * Math.max(Math.abs(e.expected), Math.abs(e.got)))
  return Number.isNaN(b) ? Infinity : b
}

const summarize = (entries: ReadonlyArray<Entry>, seed: number, tol: Judged): Result => {
  const judged = entries.filter((e) => !e.skipped)
  let worst: Entry | undefined
  for (const e of judged) if (worst === undefined || badness(e, tol) > badness(worst, tol)) worst = e
  return {
    ok: judged.every((e) => e.ok),
    kinked: entries.some((e) => e.kink),
    entries,
    worst,
    seed,
    atol: tol.atol,
    rtol: tol.rtol
  }
}

interface Internal {
  readonly entries: Array<Entry>
  /** What is needed to localise a failing entry element by element. */
  readonly replay: Array<{ readonly f: (x: Tree) => Tree; readonly us: ReadonlyArray<Float64Array> }>
}

interface Resolved {
  readonly directions: number
  readonly atol: number
  readonly rtol: number
  readonly order: 1 | 2
  readonly seed: number
  readonly step: number
  readonly skipKinks: boolean
  readonly kinkTolerance: number
  readonly perLeaf: boolean
}

const resolve = (options: Options, exact = false): Resolved => {
  const r: Resolved = {
    directions: options.directions ?? 3,
    atol: options.atol ?? (exact ? 1e-9 : 1e-5),
    rtol: options.rtol ?? (exact ? 1e-9 : 1e-5),
    order: options.order ?? 1,
    seed: options.seed ?? 42,
    step: options.step ?? 1e-6,
    skipKinks: (options.kinks ?? "skip") === "skip",
    kinkTolerance: options.kinkTolerance ?? 1e-3,
    perLeaf: options.perLeaf ?? true
  }
  if (!Number.isInteger(r.directions) || r.directions < 1) {
    throw new RangeError(`checkGrads: directions must be a positive integer, got ${r.directions}`)
  }
  if (r.order !== 1 && r.order !== 2) throw new RangeError(`checkGrads: order must be 1 or 2, got ${String(r.order)}`)
  if (!(r.step > 0)) throw new RangeError(`checkGrads: step must be positive, got ${r.step}`)
  return r
}

/** First-order comparisons of `f` at `x` (already float64), appended to `out`. */
const firstOrder = (
  f: (x: Tree) => Tree,
  x: Tree,
  order: 1 | 2,
  random: () => number,
  o: Resolved,
  out: Internal,
  directions: number = o.directions,
  firstDirection: number = 0
): void => {
  const xs = leavesOf(x, "x")
  const paths = leafPaths(x, "x")
  const y0 = float64Leaves(f(x), "the output of f")
  const [y, pullback] = vjp(f, x)
  for (let d = firstDirection; d < firstDirection + directions; d++) {
    const us = y0.map((t) => randomArray(t.size, random))
    const uTree = Pytree.map(y as Tree, (t, i) => Tensor.fromArray(us[i]!, t.shape, { dtype: t.dtype }))
    const g = leavesOf(pullback(uTree), "the gradient")
    const groups: Array<ReadonlyArray<number>> = o.perLeaf
      ? xs.flatMap((t, i) => (t.size > 0 ? [[i]] : []))
      : [xs.map((_, i) => i)]
    const p0 = project(f, x, us)
    for (const group of groups) {
      const vs: Array<Float64Array | undefined> = xs.map((
        t,
        i
      ) => (group.includes(i) ? randomArray(t.size, random, Tensor.toArray(t)) : undefined))
      const h = o.step
      const plus = project(f, shift(x, vs, h), us)
      const minus = project(f, shift(x, vs, -h), us)
      const expected = (plus - minus) / (2 * h)
      const forward = (plus - p0) / h
      const backward = (p0 - minus) / h
      const kink = Math.abs(forward - backward) > o.kinkTolerance * Math.max(1, Math.abs(forward), Math.abs(backward))
      let got = 0
      vs.forEach((v, i) => {
        if (v !== undefined) got += dot(Tensor.toArray(g[i]!), v)
      })
      const leaf = o.perLeaf ? paths[group[0]!]! : "x(all leaves)"
      out.entries.push(judge({ order, direction: d, leaf, expected, got, kink }, o, o.skipKinks))
      out.replay.push({ f, us })
    }
  }
}

const run = (f: (x: Tree) => Tree, x0: Tree, o: Resolved): Internal => {
  const x = to64(x0)
  const random = makeRandom(o.seed)
  const out: Internal = { entries: [], replay: [] }
  firstOrder(f, x, 1, random, o, out)
  if (o.order === 2) {
    const xs = leavesOf(x, "x")
    const ys = float64Leaves(f(x), "the output of f")
    for (let d = 0; d < o.directions; d++) {
      const us = ys.map((t) => randomArray(t.size, random))
      const ws = xs.map((t) =>
        Tensor.fromArray(randomArray(t.size, random, Tensor.toArray(t)), t.shape, { dtype: "float64" })
      )
      // x -> <J(x)^T u, w>: a scalar whose gradient is the derivative of the VJP.
      const second = (p: Tree): Tree => {
        const [y, pullback] = vjp(f, p)
        const g = leavesOf(
          pullback(Pytree.map(y as Tree, (t, i) => Tensor.fromArray(us[i]!, t.shape, { dtype: t.dtype }))),
          "the gradient"
        )
        let s: Leaf = Tensor.zeros([], { dtype: "float64" })
        g.forEach((gi, i) => (s = Tensor.add(s, Tensor.sum(Tensor.mul(gi, ws[i]!)))))
        return s
      }
      firstOrder(second, x, 2, random, o, out, 1, d)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

/**
 * Compares reverse-mode derivatives of `f` at `x` with central finite differences, in float64, along
 * random directions (see the module documentation). Never throws on a mismatch: read `result.ok`, or use
 * `assertGrads`.
 *
 * @example
 * ```ts
 * import { checkGrads } from "@typegrad/testing"
 * declare const x: Tensor.Tensor<readonly [4, 3], "float64">
 * type Params = { w: Tensor.Tensor<readonly [3, 2], "float64">; b: Tensor.Tensor<readonly [2], "float64"> }
 * declare const params: Params
 * const r = checkGrads((p: Params) => Tensor.tanh(Tensor.add(Tensor.matmul(x, p.w), p.b)), params, { order: 2 })
 * r.ok // true when every comparison is within atol + rtol * scale
 * ```
 */
export const checkGrads = <X extends Tree, Y extends Tree>(f: (x: X) => Y, x: X, options: Options = {}): Result => {
  const o = resolve(options)
  return summarize(run(f as unknown as (x: Tree) => Tree, x, o).entries, o.seed, o)
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toPrecision(8) : String(v))

/**
 * A readable account of a result: the verdict and the worst comparison.
 *
 * @example
 * ```ts
 * declare const f: (x: Tensor.Tensor<readonly [3], "float64">) => Tensor.Tensor<readonly [], "float64">
 * declare const x: Tensor.Tensor<readonly [3], "float64">
 * const r = checkGrads(f, x)
 * expect(r.ok ? "ok" : CheckGrads.format(r)).toBe("ok") // the failure message shows the worst entry
 * ```
 */
export const format = (result: Result): string => {
  const judged = result.entries.filter((e) => !e.skipped)
  const failed = judged.filter((e) => !e.ok).length
  const w = result.worst
  const head = result.ok
    ? `gradient check passed: ${judged.length} comparisons within atol ${result.atol}, rtol ${result.rtol}`
    : `gradient check FAILED: ${failed} of ${judged.length} comparisons off (atol ${result.atol}, rtol ${result.rtol}, seed ${result.seed})`
  const skipped = result.entries.length - judged.length
  const lines = [head + (skipped > 0 ? `; ${skipped} skipped on kinks` : "")]
  if (w !== undefined) {
    lines.push(
      `  worst: order ${w.order}, leaf ${w.leaf}, direction ${w.direction}`,
      `    expected <u, J v> = ${fmt(w.expected)}${w.order === 2 ? " (finite differences of the VJP)" : ""}`,
      `    got      <J^T u, v> = ${fmt(w.got)}${w.order === 2 ? " (VJP of the VJP)" : " (reverse mode)"}`,
      `    abs error ${w.absError.toExponential(3)}, rel error ${w.relError.toExponential(3)}`
    )
  }
  return lines.join("\n")
}

/** Element-by-element comparison of one leaf, for the error message of `assertGrads`. */
const localize = (
  f: (x: Tree) => Tree,
  x: Tree,
  leafIndex: number,
  us: ReadonlyArray<Float64Array>,
  o: Resolved
): string | undefined => {
  const xs = leavesOf(x, "x")
  const t = xs[leafIndex]
  if (t === undefined || t.size === 0 || t.size > 256) return undefined
  const [y, pullback] = vjp(f, x)
  const g = Tensor.toArray(
    leavesOf(
      pullback(Pytree.map(y as Tree, (yt, i) => Tensor.fromArray(us[i]!, yt.shape, { dtype: yt.dtype }))),
      "the gradient"
    )[leafIndex]!
  )
  const data = Tensor.toArray(t)
  let worst: { i: number; expected: number; got: number; err: number } | undefined
  for (let i = 0; i < t.size; i++) {
    const v = new Float64Array(t.size)
    v[i] = Math.max(1, Math.abs(data[i]!))
    const vs = xs.map((_, k) => (k === leafIndex ? v : undefined))
    const expected = (project(f, shift(x, vs, o.step), us) - project(f, shift(x, vs, -o.step), us)) / (2 * o.step) /
      v[i]!
    const got = g[i]!
    const err = Math.abs(expected - got)
    if (worst === undefined || !(err <= worst.err)) worst = { i, expected, got, err }
  }
  if (worst === undefined) return undefined
  const index: Array<number> = []
  let r = worst.i
  for (let k = t.shape.length - 1; k >= 0; k--) {
    index.unshift(r % t.shape[k]!)
    r = Math.floor(r / t.shape[k]!)
  }
  return `    worst element [${index.join(", ")}] of that leaf (shape [${t.shape.join(", ")}]): ` +
    `expected d<u, f>/dx = ${fmt(worst.expected)}, got ${fmt(worst.got)}, abs error ${worst.err.toExponential(3)}`
}

/**
 * Like `checkGrads`, and throws a `GradientCheckError` when a comparison is off (or when every sample
 * sat on a kink, so nothing was checked). The message names the order, the leaf and the direction of the
 * worst comparison, expected and got, absolute and relative errors, and for a small leaf the worst element.
 *
 * @example
 * ```ts
 * import { assertGrads } from "@typegrad/testing"
 * assertGrads((x: Tensor.Tensor<readonly [3], "float64">) => Tensor.softmax(x), Tensor.fromArray([1, 2, 3], [3], { dtype: "float64" }), { order: 2 })
 * ```
 */
export const assertGrads = <X extends Tree, Y extends Tree>(f: (x: X) => Y, x: X, options: Options = {}): Result => {
  const o = resolve(options)
  const internal = run(f as unknown as (x: Tree) => Tree, x, o)
  const result = summarize(internal.entries, o.seed, o)
  if (result.ok && result.entries.some((e) => !e.skipped)) return result
  if (result.ok) {
    throw new GradientCheckError(
      `gradient check: every sample sat on a kink (the one-sided differences disagree), so nothing was checked; ` +
        `move x away from non-differentiable points (Arbitrary.tensor's awayFrom and distinct options)`,
      result
    )
  }
  let message = format(result)
  const w = result.worst
  if (w !== undefined && w.leaf !== "x(all leaves)") {
    const k = internal.entries.indexOf(w)
    const replay = internal.replay[k]
    const leafIndex = leafPaths(x, "x").indexOf(w.leaf)
    if (replay !== undefined && leafIndex >= 0) {
      const line = localize(replay.f, to64(x), leafIndex, replay.us, o)
      if (line !== undefined) message += "\n" + line
    }
  }
  throw new GradientCheckError(message, result)
}

/**
 * Throws a `GradientCheckError` with `format(result)` unless `result.ok`.
 *
 * @example
 * ```ts
 * declare const f: (x: Tensor.Tensor<readonly [3], "float64">) => Tensor.Tensor<readonly [], "float64">
 * declare const x: Tensor.Tensor<readonly [3], "float64">
 * CheckGrads.assertOk(CheckGrads.jvpVjpAgreement(f, x))
 * ```
 */
export const assertOk = (result: Result): Result => {
  if (!result.ok) throw new GradientCheckError(format(result), result)
  return result
}

/**
 * The exact identity `<u, J v> = <J^T u, v>` between `jvp` and `vjp` (no finite differences, so the
 * default tolerances are 1e-9), for random `u` and `v`. Works in the inputs' own dtype.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2, 3], "float64">
 * CheckGrads.jvpVjpAgreement((x: Tensor.AnyTensor) => Tensor.softmax(x), x).ok // true
 * ```
 */
export const jvpVjpAgreement = <X extends Tree, Y extends Tree>(
  f: (x: X) => Y,
  x: X,
  options: Options = {}
): Result => {
  const o = resolve(options, true)
  const random = makeRandom(o.seed)
  const fx = f as unknown as (x: Tree) => Tree
  const xs = leavesOf(x, "x")
  const [y, pullback] = vjp(fx, x)
  const ys = leavesOf(y, "the output of f")
  const entries: Array<Entry> = []
  for (let d = 0; d < o.directions; d++) {
    const uTree = Pytree.map(
      y as Tree,
      (t) => Tensor.fromArray(randomArray(t.size, random), t.shape, { dtype: t.dtype })
    )
    const vTree = Pytree.map(x, (t) => Tensor.fromArray(randomArray(t.size, random), t.shape, { dtype: t.dtype }))
    const us = leavesOf(uTree, "u")
    const vs = leavesOf(vTree, "v")
    const [, tangentOut] = jvp(fx, x, vTree)
    const jv = leavesOf(tangentOut, "the tangent of f")
    const g = leavesOf(pullback(uTree), "the gradient")
    let expected = 0
    let got = 0
    ys.forEach((t, i) => {
      if (!sameShape(jv[i]!.shape, t.shape)) {
        throw new TypeError(
          `jvpVjpAgreement: jvp output ${i} has shape [${jv[i]!.shape.join(", ")}], the output [${t.shape.join(", ")}]`
        )
      }
      expected += dot(Tensor.toArray(us[i]!), Tensor.toArray(jv[i]!))
    })
    xs.forEach((_, i) => (got += dot(Tensor.toArray(g[i]!), Tensor.toArray(vs[i]!))))
    entries.push(judge({ order: 1, direction: d, leaf: "x(all leaves)", expected, got, kink: false }, o, false))
  }
  return summarize(entries, o.seed, o)
}
