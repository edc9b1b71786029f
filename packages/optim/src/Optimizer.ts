/**
 * Optimizers as pure `init` / `update` over a parameter pytree (the Optax design): `update(grads, state,
 * params)` returns the updates to add to the parameters and the next state, and changes nothing. The state
 * is a typed pytree too (one slot pytree per moment, same structure as the parameters), so it can be
 * checkpointed like the parameters.
 *
 * The arithmetic runs in one fused loop per tensor over the raw buffers: optimizers are not differentiated,
 * and a fused loop avoids the dozen temporary tensors per parameter that composing ops would allocate.
 *
 * @since 0.1.0
 */
import { Pytree, Tensor } from "@typegrad/tensor"
import { unsafeData, unsafeFromData } from "@typegrad/tensor/internal"

/** A learning rate: a constant or a function of the step number (1 for the first update). */
export type LearningRate = number | ((step: number) => number)

/** The state of an optimizer over parameters `P`. */
export interface State<P extends Pytree.Pytree> {
  /** Number of updates done so far. */
  readonly step: number
  /** Per-parameter moments (momentum, first/second moments...), each with the structure of `P`. */
  readonly slots: ReadonlyArray<P>
}

/** A pure optimizer. */
export interface Optimizer {
  readonly name: string
  /** The initial state for `params` (zero moments). */
  readonly init: <P extends Pytree.Pytree>(params: P) => State<P>
  /** The updates to add to `params`, and the next state. */
  readonly update: <P extends Pytree.Pytree>(grads: P, state: State<P>, params: P) => readonly [P, State<P>]
  /**
   * `update` and `applyUpdates` in one pass: the new parameters and the next state (the same values as
   * `applyUpdates(params, update(...)[0])`, without the intermediate updates).
   */
  readonly step: <P extends Pytree.Pytree>(grads: P, state: State<P>, params: P) => readonly [P, State<P>]
}

type Buf = Float32Array | Float64Array

/**
 * One fused step over one tensor: reads `g` and the slots, writes the new slots and `out`: the update, or
 * `p + update` when `p` is given (`step`).
 */
type Kernel = (
  g: Buf,
  p: Buf | undefined,
  slots: ReadonlyArray<Buf>,
  out: Buf,
  newSlots: ReadonlyArray<Buf>,
  lr: number,
  step: number
) => void

const rate = (lr: LearningRate, step: number): number => (typeof lr === "number" ? lr : lr(step))

const checkPositive = (name: string, what: string, v: number): void => {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name}: ${what} must be a positive number, got ${v}`)
}
const checkFraction = (name: string, what: string, v: number): void => {
  if (!(v >= 0 && v < 1)) throw new RangeError(`${name}: ${what} must be in [0, 1), got ${v}`)
}

const make = (name: string, nSlots: number, learningRate: LearningRate, kernel: Kernel): Optimizer => {
  const run = <P extends Pytree.Pytree>(
    grads: P,
    state: State<P>,
    params: P,
    addParams: boolean
  ): readonly [P, State<P>] => {
    const step = state.step + 1
    const lr = rate(learningRate, step)
    const gl = Pytree.leaves(grads)
    const pl = Pytree.leaves(params)
    if (gl.length !== pl.length) {
      throw new TypeError(
        `${name}: grads have ${gl.length} tensors but params have ${pl.length}; pass grads of the params' structure`
      )
    }
    const slotLeaves = state.slots.map((s) => Pytree.leaves(s))
    const newSlotLeaves: Array<Array<Tensor.AnyTensor>> = state.slots.map(() => [])
    const out = Pytree.map(grads, (g, i) => {
      const p = pl[i]!
      if (g.shape.length !== p.shape.length || g.shape.some((d, k) => d !== p.shape[k])) {
        throw new TypeError(
          `${name}: gradient ${i} has shape [${g.shape.join(", ")}] but its parameter has [${p.shape.join(", ")}]`
        )
      }
      const alloc = (): Buf => (p.dtype === "float64" ? new Float64Array(p.size) : new Float32Array(p.size))
      const result = alloc()
      const slots = slotLeaves.map((s) => unsafeData(s[i]!))
      const fresh = slots.map(alloc)
      const gd = g.dtype === p.dtype ? unsafeData(g) : unsafeData(Tensor.cast(g, p.dtype))
      kernel(gd, addParams ? unsafeData(p) : undefined, slots, result, fresh, lr, step)
      fresh.forEach((b, k) => newSlotLeaves[k]!.push(unsafeFromData(b, p.shape)))
      return unsafeFromData(result, p.shape)
    })
    const slots = state.slots.map((s, k) => Pytree.map(s, (_, i) => newSlotLeaves[k]![i]!))
    return [out, { step, slots }] as const
  }
  return {
    name,
    init: (params) => ({
      step: 0,
      slots: Array.from({ length: nSlots }, () => Pytree.map(params, (t) => Tensor.zeros(t.shape, { dtype: t.dtype })))
    }),
    update: (grads, state, params) => run(grads, state, params, false),
    step: (grads, state, params) => run(grads, state, params, true)
  }
}

/**
 * `params + updates`, leaf by leaf.
 *
 * @example
 * ```ts
 * type Params = { readonly w: Tensor.Tensor<readonly [3, 2]> }
 * declare let params: Params
 * declare const updates: Params
 * params = Optimizer.applyUpdates(params, updates)
 * ```
 */
export const applyUpdates = <P extends Pytree.Pytree>(params: P, updates: P): P =>
  Pytree.zipWith(params, updates, (p, u) => {
    const pd = unsafeData(p)
    const ud = unsafeData(u)
    const out = p.dtype === "float64" ? new Float64Array(p.size) : new Float32Array(p.size)
    for (let i = 0; i < out.length; i++) out[i] = pd[i]! + ud[i]!
    return unsafeFromData(out, p.shape)
  })

/** Options of `sgd`. */
export interface SgdOptions {
  readonly learningRate: LearningRate
  /** Momentum coefficient (default 0: plain SGD). */
  readonly momentum?: number
  /** Nesterov momentum (default false). */
  readonly nesterov?: boolean
}

/**
 * Stochastic gradient descent, with optional (Nesterov) momentum: `v = momentum v + g`,
 * update `-lr v` (or `-lr (g + momentum v)` with Nesterov).
 *
 * @example
 * ```ts
 * const opt = Optimizer.sgd({ learningRate: 0.01, momentum: 0.9, nesterov: true })
 * ```
 */
export const sgd = (options: SgdOptions): Optimizer => {
  const mu = options.momentum ?? 0
  if (typeof options.learningRate === "number") checkPositive("sgd", "learningRate", options.learningRate)
  checkFraction("sgd", "momentum", mu)
  if (mu === 0) {
    return make("sgd", 0, options.learningRate, (g, p, _, out, __, lr) => {
      if (p === undefined) { for (let i = 0; i < g.length; i++) out[i] = -lr * g[i]! }
      else for (let i = 0; i < g.length; i++) out[i] = p[i]! - lr * g[i]!
    })
  }
  const nesterov = options.nesterov ?? false
  return make(nesterov ? "nesterov" : "momentum", 1, options.learningRate, (g, p, [v], out, [nv], lr) => {
    const vs = v!
    const nvs = nv!
    for (let i = 0; i < g.length; i++) {
      const vi = mu * vs[i]! + g[i]!
      nvs[i] = vi
      const u = nesterov ? -lr * (g[i]! + mu * vi) : -lr * vi
      out[i] = p === undefined ? u : p[i]! + u
    }
  })
}

/** Options of `adam`. */
export interface AdamOptions {
  readonly learningRate?: LearningRate
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
}

/**
 * Adam with bias correction (defaults as in Keras: learning rate 1e-3, betas 0.9 / 0.999, epsilon 1e-7).
 *
 * @example
 * ```ts
 * const opt = Optimizer.adam({ learningRate: 1e-3 })
 * ```
 */
export const adam = (options: AdamOptions = {}): Optimizer => {
  const b1 = options.beta1 ?? 0.9
  const b2 = options.beta2 ?? 0.999
  const eps = options.epsilon ?? 1e-7
  const learningRate = options.learningRate ?? 1e-3
  if (typeof learningRate === "number") checkPositive("adam", "learningRate", learningRate)
  checkFraction("adam", "beta1", b1)
  checkFraction("adam", "beta2", b2)
  checkPositive("adam", "epsilon", eps)
  return make("adam", 2, learningRate, (g, p, [m, v], out, [nm, nv], lr, step) => {
    // -lr (m / c1) / (sqrt(v / c2) + eps) rewritten as a m / (sqrt(v) + e) with a = -lr sqrt(c2) / c1 and
    // e = eps sqrt(c2): the same value with one square root and one division per entry.
    const c1 = 1 - Math.pow(b1, step)
    const s2 = Math.sqrt(1 - Math.pow(b2, step))
    const a = (-lr * s2) / c1
    const e = eps * s2
    const ob1 = 1 - b1
    const ob2 = 1 - b2
    const ms = m!
    const vs = v!
    const nms = nm!
    const nvs = nv!
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!
      const mi = b1 * ms[i]! + ob1 * gi
      const vi = b2 * vs[i]! + ob2 * gi * gi
      nms[i] = mi
      nvs[i] = vi
      const u = (a * mi) / (Math.sqrt(vi) + e)
      out[i] = p === undefined ? u : p[i]! + u
    }
  })
}

/** Options of `rmsprop`. */
export interface RmspropOptions {
  readonly learningRate?: LearningRate
  /** Decay of the running mean of squared gradients (default 0.9). */
  readonly rho?: number
  readonly epsilon?: number
}

/**
 * RMSprop: `s = rho s + (1 - rho) g^2`, update `-lr g / (sqrt(s) + epsilon)` (defaults as in Keras:
 * learning rate 1e-3, rho 0.9, epsilon 1e-7).
 *
 * @example
 * ```ts
 * const opt = Optimizer.rmsprop({ learningRate: 1e-3 })
 * ```
 */
export const rmsprop = (options: RmspropOptions = {}): Optimizer => {
  const rho = options.rho ?? 0.9
  const eps = options.epsilon ?? 1e-7
  const learningRate = options.learningRate ?? 1e-3
  if (typeof learningRate === "number") checkPositive("rmsprop", "learningRate", learningRate)
  checkFraction("rmsprop", "rho", rho)
  checkPositive("rmsprop", "epsilon", eps)
  return make("rmsprop", 1, learningRate, (g, p, [s], out, [ns], lr) => {
    const ss = s!
    const nss = ns!
    const orho = 1 - rho
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!
      const si = rho * ss[i]! + orho * gi * gi
      nss[i] = si
      const u = (-lr * gi) / (Math.sqrt(si) + eps)
      out[i] = p === undefined ? u : p[i]! + u
    }
  })
}
