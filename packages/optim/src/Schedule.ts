/**
 * Learning-rate schedules as values: a `Schedule` is a function of the step number, `(step) => number`,
 * usable wherever a learning rate is (`Optimizer.adam({ learningRate: schedule })`, `Train.fit`'s
 * `learningRate` option).
 *
 * Steps count updates from 1, as the optimizers count them: `schedule(1)` is the rate of the first update.
 * Each schedule here is Optax's schedule of the same name at count `step - 1` (Optax counts the updates
 * done before), so the first update uses `init` and an optimizer follows the same rates as in Optax. Step
 * counts given as options (`steps`, `warmupSteps`, boundaries) are numbers of updates, as in Optax.
 *
 * @since 0.1.0
 */

/**
 * A learning rate as a function of the step (1 for the first update).
 *
 * @example
 * ```ts
 * const halving: Schedule.Schedule = (step) => 0.1 * 0.5 ** Math.floor((step - 1) / 100)
 * ```
 */
export type Schedule = (step: number) => number

/** The number of updates done before `step` (Optax's count), never below 0. */
const countOf = (step: number): number => Math.max(0, step - 1)

const checkSteps = (name: string, what: string, v: number): void => {
  if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`${name}: ${what} must be a positive integer, got ${v}`)
}
const checkFinite = (name: string, what: string, v: number): void => {
  if (!Number.isFinite(v)) throw new RangeError(`${name}: ${what} must be a finite number, got ${v}`)
}

/**
 * The same rate at every step.
 *
 * @example
 * ```ts
 * const lr = Schedule.constant(1e-3)
 * lr(1) // 0.001
 * ```
 */
export const constant = (value: number): Schedule => {
  checkFinite("constant", "value", value)
  return () => value
}

/** Options of `linear`. */
export interface LinearOptions {
  /** The rate of the first update. */
  readonly init: number
  /** The rate after `steps` updates, kept from then on. */
  readonly end: number
  /** The number of updates over which the rate moves from `init` to `end`. */
  readonly steps: number
}

/**
 * A straight line from `init` to `end` over `steps` updates, then `end` (Optax's `linear_schedule`): with
 * `c = min(step - 1, steps)`, `init + (end - init) c / steps`. A linear warmup is `linear({ init: 0, end:
 * peak, steps })`.
 *
 * @example
 * ```ts
 * const warmup = Schedule.linear({ init: 0, end: 1e-3, steps: 100 })
 * warmup(51) // 0.0005
 * ```
 */
export const linear = (options: LinearOptions): Schedule => {
  const { init, end, steps } = options
  checkFinite("linear", "init", init)
  checkFinite("linear", "end", end)
  checkSteps("linear", "steps", steps)
  return (step) => init + ((end - init) * Math.min(countOf(step), steps)) / steps
}

/** Options of `exponentialDecay`. */
export interface ExponentialDecayOptions {
  /** The rate of the first update. */
  readonly init: number
  /** The factor applied every `steps` updates. */
  readonly rate: number
  /** The number of updates over which the rate is multiplied by `rate` once. */
  readonly steps: number
  /** Decay in whole periods (a staircase) rather than continuously (default false). */
  readonly staircase?: boolean
}

/**
 * `init * rate^(count / steps)` where `count = step - 1` is the number of updates before (with
 * `staircase`, `floor(count / steps)`): Optax's `exponential_decay`.
 *
 * @example
 * ```ts
 * const lr = Schedule.exponentialDecay({ init: 0.1, rate: 0.5, steps: 100, staircase: true })
 * lr(101) // 0.05
 * ```
 */
export const exponentialDecay = (options: ExponentialDecayOptions): Schedule => {
  const { init, rate, steps } = options
  const staircase = options.staircase ?? false
  checkFinite("exponentialDecay", "init", init)
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new RangeError(`exponentialDecay: rate must be a positive number, got ${rate}`)
  }
  checkSteps("exponentialDecay", "steps", steps)
  return (step) => {
    const p = countOf(step) / steps
    return init * Math.pow(rate, staircase ? Math.floor(p) : p)
  }
}

/** Options of `cosineDecay`. */
export interface CosineDecayOptions {
  /** The rate of the first update. */
  readonly init: number
  /** The number of updates over which the rate decays; after them it stays at `alpha * init`. */
  readonly steps: number
  /** The final rate as a fraction of `init` (default 0). */
  readonly alpha?: number
}

/**
 * Cosine decay from `init` to `alpha * init` over `steps` updates (Loshchilov & Hutter's SGDR without
 * restarts; Optax's `cosine_decay_schedule`): with `c = min(step - 1, steps)`,
 * `init * ((1 - alpha) * (1 + cos(pi c / steps)) / 2 + alpha)`.
 *
 * @example
 * ```ts
 * const lr = Schedule.cosineDecay({ init: 0.1, steps: 1000, alpha: 0.01 })
 * lr(1) // 0.1
 * lr(1001) // 0.001
 * ```
 */
export const cosineDecay = (options: CosineDecayOptions): Schedule => {
  const { init, steps } = options
  const alpha = options.alpha ?? 0
  checkFinite("cosineDecay", "init", init)
  checkSteps("cosineDecay", "steps", steps)
  checkFinite("cosineDecay", "alpha", alpha)
  return (step) => {
    const c = Math.min(countOf(step), steps)
    return init * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * c) / steps)) + alpha)
  }
}

/** Options of `warmupCosineDecay`. */
export interface WarmupCosineDecayOptions {
  /** The rate of the first update (often 0). */
  readonly init: number
  /** The rate reached at the end of the warmup. */
  readonly peak: number
  /** The number of updates of the linear warmup from `init` to `peak`. */
  readonly warmupSteps: number
  /** The length of the whole schedule, warmup included (as in Optax); after it the rate stays at `end`. */
  readonly decaySteps: number
  /** The final rate (default 0). */
  readonly end?: number
}

/**
 * A linear warmup from `init` to `peak` over `warmupSteps` updates, then a cosine decay from `peak` to `end`
 * until update `decaySteps` (Optax's `warmup_cosine_decay_schedule`; `decaySteps` includes the warmup).
 * With `c = step - 1`: `init + (peak - init) c / warmupSteps` while `c < warmupSteps`, then
 * `end + (peak - end) (1 + cos(pi min(c - warmupSteps, d) / d)) / 2` with `d = decaySteps - warmupSteps`.
 *
 * @example
 * ```ts
 * const lr = Schedule.warmupCosineDecay({ init: 0, peak: 1e-3, warmupSteps: 100, decaySteps: 1000 })
 * lr(1) // 0
 * lr(101) // 0.001
 * lr(1001) // 0
 * ```
 */
export const warmupCosineDecay = (options: WarmupCosineDecayOptions): Schedule => {
  const { init, peak, warmupSteps, decaySteps } = options
  const end = options.end ?? 0
  checkFinite("warmupCosineDecay", "init", init)
  checkFinite("warmupCosineDecay", "peak", peak)
  checkFinite("warmupCosineDecay", "end", end)
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
    throw new RangeError(`warmupCosineDecay: warmupSteps must be a non-negative integer, got ${warmupSteps}`)
  }
  if (!(Number.isInteger(decaySteps) && decaySteps > warmupSteps)) {
    throw new RangeError(
      `warmupCosineDecay: decaySteps (the whole schedule, warmup included) must be an integer above warmupSteps ${warmupSteps}, got ${decaySteps}`
    )
  }
  const d = decaySteps - warmupSteps
  return (step) => {
    const c = countOf(step)
    if (c < warmupSteps) return init + ((peak - init) * c) / warmupSteps
    const k = Math.min(c - warmupSteps, d)
    return end + (peak - end) * 0.5 * (1 + Math.cos((Math.PI * k) / d))
  }
}

/**
 * A rate that starts at `init` and is multiplied by `scale` once `boundary` updates are done (from step
 * `boundary + 1` on), for each `[boundary, scale]` pair: Optax's `piecewise_constant_schedule`.
 *
 * @example
 * ```ts
 * // 0.1, then 0.01 after 1000 updates, then 0.001 after 2000
 * const lr = Schedule.piecewiseConstant(0.1, [[1000, 0.1], [2000, 0.1]])
 * lr(1000) // 0.1
 * lr(1001) // 0.01
 * ```
 */
export const piecewiseConstant = (
  init: number,
  boundariesAndScales: ReadonlyArray<readonly [boundary: number, scale: number]>
): Schedule => {
  checkFinite("piecewiseConstant", "init", init)
  for (const [b, s] of boundariesAndScales) {
    checkSteps("piecewiseConstant", "a boundary", b)
    checkFinite("piecewiseConstant", "a scale", s)
  }
  return (step) => {
    const c = countOf(step)
    let v = init
    for (const [b, s] of boundariesAndScales) if (c >= b) v *= s
    return v
  }
}

/**
 * Schedules one after the other (Optax's `join_schedules`): `schedules[i]` runs from `boundaries[i - 1]`
 * updates done to `boundaries[i]`, each restarted at its own step 1; there is one boundary less than
 * schedules.
 *
 * @example
 * ```ts
 * // 100 updates of linear warmup, then cosine decay over 900
 * const lr = Schedule.joinSchedules(
 *   [Schedule.linear({ init: 0, end: 1e-3, steps: 100 }), Schedule.cosineDecay({ init: 1e-3, steps: 900 })],
 *   [100]
 * )
 * ```
 */
export const joinSchedules = (
  schedules: ReadonlyArray<Schedule>,
  boundaries: ReadonlyArray<number>
): Schedule => {
  if (schedules.length === 0 || boundaries.length !== schedules.length - 1) {
    throw new RangeError(
      `joinSchedules: give one boundary less than schedules, got ${schedules.length} schedules and ${boundaries.length} boundaries`
    )
  }
  boundaries.forEach((b, i) => {
    checkSteps("joinSchedules", "a boundary", b)
    if (i > 0 && b <= boundaries[i - 1]!) {
      throw new RangeError(`joinSchedules: boundaries must increase, got ${boundaries.join(", ")}`)
    }
  })
  return (step) => {
    const c = countOf(step)
    let i = 0
    while (i < boundaries.length && c >= boundaries[i]!) i++
    const start = i === 0 ? 0 : boundaries[i - 1]!
    return schedules[i]!(step - start)
  }
}
