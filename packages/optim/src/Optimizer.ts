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
import { allocUninit, getKernels, unsafeData, unsafeFromData } from "@typegrad/tensor/internal"

/** A learning rate: a constant or a function of the step number (1 for the first update). */
export type LearningRate = number | ((step: number) => number)

/** The state of an optimizer over parameters `P`. */
export interface State<P extends Pytree.Pytree> {
  /** Number of updates done so far. */
  readonly step: number
  /** Per-parameter moments (momentum, first/second moments...), each with the structure of `P`. */
  readonly slots: ReadonlyArray<P>
}

/**
 * A gradient transformation (Optax's `GradientTransformation`): `init(params)` gives the state,
 * `update(updates, state, params)` the transformed updates and the next state, changing nothing. Every
 * optimizer is one, and `chain` composes them. `slotCount` is the number of slot pytrees in its state
 * (every transformation of this module gives it; one written without it is asked through `init`).
 *
 * @example
 * ```ts
 * const clip: Optimizer.GradientTransformation = Optimizer.clipByGlobalNorm(1)
 * ```
 */
export interface GradientTransformation {
  readonly name: string
  /** How many slot pytrees (each of the params' structure) its state holds. */
  readonly slotCount?: number
  /** The initial state for `params` (zero moments). */
  readonly init: <P extends Pytree.Pytree>(params: P) => State<P>
  /** The transformed updates (for an optimizer: the updates to add to `params`), and the next state. */
  readonly update: <P extends Pytree.Pytree>(grads: P, state: State<P>, params: P) => readonly [P, State<P>]
}

/** A pure optimizer: a gradient transformation whose updates are added to the parameters. */
export interface Optimizer extends GradientTransformation {
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

/**
 * The smallest normal number of a buffer's element type. Decaying optimizer state (the moment of an entry
 * whose gradient stays zero) is flushed to zero below it: it would otherwise stick in the subnormal range
 * (0.9 times a few units of the last place rounds back to itself), where x86 arithmetic is dozens of times
 * slower. The Adam kernel does the same (docs/design.md, "Optimizer updates as kernels").
 */
const smallestNormal = (a: Buf): number => (a instanceof Float32Array ? 2 ** -126 : 2 ** -1022)

const rateAt = (lr: LearningRate, step: number): number => (typeof lr === "number" ? lr : lr(step))

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
    const lr = rateAt(learningRate, step)
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
      // Every kernel writes all of its outputs: their buffers need no zeroing (and are recycled ones).
      const alloc = (): Buf => allocUninit(p.dtype, p.size)
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
    slotCount: nSlots,
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
    const out = allocUninit(p.dtype, p.size)
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
    const tiny = smallestNormal(nvs)
    for (let i = 0; i < g.length; i++) {
      let vi = mu * vs[i]! + g[i]!
      if (Math.abs(vi) < tiny) vi = 0
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
  return make("adam", 2, learningRate, (g, p, [m, v], out, [mOut, vOut], lr, step) => {
    // -lr (m / c1) / (sqrt(v / c2) + eps) rewritten as a m / (sqrt(v) + e) with a = -lr sqrt(c2) / c1 and
    // e = eps sqrt(c2): the same value with one square root and one division per entry. The pass itself is
    // the backend's fused kernel (SIMD on every thread with the WebAssembly kernels).
    const s2 = Math.sqrt(1 - Math.pow(b2, step))
    getKernels().adam({
      g,
      p,
      m: m!,
      v: v!,
      out,
      mOut: mOut!,
      vOut: vOut!,
      b1,
      b2,
      a: (-lr * s2) / (1 - Math.pow(b1, step)),
      e: eps * s2
    })
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
    const tiny = smallestNormal(nss)
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!
      let si = rho * ss[i]! + orho * gi * gi
      if (si < tiny) si = 0
      nss[i] = si
      const u = (-lr * gi) / (Math.sqrt(si) + eps)
      out[i] = p === undefined ? u : p[i]! + u
    }
  })
}

// ---------------------------------------------------------------------------------------------------------
// Gradient transformations (Optax style)
// ---------------------------------------------------------------------------------------------------------

const allocLike = (t: Tensor.AnyTensor): Buf =>
  t.dtype === "float64" ? new Float64Array(t.size) : new Float32Array(t.size)

const dataAs = (t: Tensor.AnyTensor, like: Tensor.AnyTensor): Buf =>
  t.dtype === like.dtype ? unsafeData(t) : unsafeData(Tensor.cast(t, like.dtype))

/** Checks that `updates` and `params` have the same number of leaves and the same shapes. */
const checkLeaves = (name: string, updates: Pytree.Pytree, params: Pytree.Pytree): void => {
  const ul = Pytree.leaves(updates)
  const pl = Pytree.leaves(params)
  if (ul.length !== pl.length) {
    throw new TypeError(
      `${name}: updates have ${ul.length} tensors but params have ${pl.length}; pass updates of the params' structure`
    )
  }
  ul.forEach((u, i) => {
    const p = pl[i]!
    if (u.shape.length !== p.shape.length || u.shape.some((d, k) => d !== p.shape[k])) {
      throw new TypeError(
        `${name}: update ${i} has shape [${u.shape.join(", ")}] but its parameter has [${p.shape.join(", ")}]`
      )
    }
  })
}

/** `{ slotCount }`, or nothing when it is not known. */
const withSlotCount = (n: number | undefined): { readonly slotCount?: number } =>
  n === undefined ? {} : { slotCount: n }

/** The number of slots of `t`'s state: its `slotCount`, or (when it has none) what its `init` gives. */
const slotCountOf = (t: GradientTransformation, params: Pytree.Pytree): number =>
  t.slotCount ?? t.init(params).slots.length

/** A gradient transformation made an optimizer: `step` is `applyUpdates(params, update(...)[0])`. */
const toOptimizer = (t: GradientTransformation): Optimizer => ({
  name: t.name,
  ...withSlotCount(t.slotCount),
  init: t.init,
  update: t.update,
  step: (grads, state, params) => {
    const [updates, next] = t.update(grads, state, params)
    return [applyUpdates(params, updates), next] as const
  }
})

/** A transformation without slots: `f(updates, params, step)` with the step of this update (from 1). */
const stateless = (
  name: string,
  f: <P extends Pytree.Pytree>(updates: P, params: P, step: number) => P
): Optimizer =>
  toOptimizer({
    name,
    slotCount: 0,
    init: () => ({ step: 0, slots: [] }),
    update: (updates, state, params) => {
      checkLeaves(name, updates, params)
      const step = state.step + 1
      return [f(updates, params, step), { step, slots: [] }] as const
    }
  })

/** Each update times `factor(step)`, leaf by leaf. */
const scaleLeaves = <P extends Pytree.Pytree>(updates: P, factor: number): P =>
  Pytree.map(updates, (u) => {
    const ud = unsafeData(u)
    const out = allocLike(u)
    for (let i = 0; i < out.length; i++) out[i] = factor * ud[i]!
    return unsafeFromData(out, u.shape)
  })

const named = (name: string, transforms: ReadonlyArray<GradientTransformation>): Optimizer => {
  const known = transforms.every((t) => t.slotCount !== undefined)
    ? transforms.map((t) => t.slotCount!)
    : undefined
  return toOptimizer({
    name,
    ...withSlotCount(known?.reduce((a, b) => a + b, 0)),
    init: (params) => ({ step: 0, slots: transforms.flatMap((t) => t.init(params).slots) }),
    update: (grads, state, params) => {
      const counts = known ?? transforms.map((t) => slotCountOf(t, params))
      const offsets: Array<number> = []
      let total = 0
      for (const n of counts) {
        offsets.push(total)
        total += n
      }
      if (state.slots.length !== total) {
        throw new TypeError(`${name}: the state has ${state.slots.length} slots, expected ${total}`)
      }
      let updates = grads
      const slots: Array<typeof grads> = []
      transforms.forEach((t, k) => {
        const own = state.slots.slice(offsets[k]!, offsets[k]! + counts[k]!)
        const [next, nextState] = t.update(updates, { step: state.step, slots: own }, params)
        updates = next
        slots.push(...nextState.slots)
      })
      return [updates, { step: state.step + 1, slots }] as const
    }
  })
}

/**
 * Composes gradient transformations left to right (Optax's `chain`): the updates go through each in turn,
 * and the state holds the slots of all of them, in order. The result is an optimizer (its `step` adds the
 * final updates to the parameters); the pytree type of params and grads is kept.
 *
 * @example
 * ```ts
 * type Params = { readonly w: Tensor.Tensor<readonly [3, 2]>; readonly b: Tensor.Tensor<readonly [2]> }
 * declare const params: Params
 * declare const grads: Params
 * const opt = Optimizer.chain(Optimizer.clipByGlobalNorm(1), Optimizer.adam({ learningRate: 1e-3 }))
 * const [updates, state] = opt.update(grads, opt.init(params), params)
 * const next: Params = Optimizer.applyUpdates(params, updates)
 * ```
 */
export const chain = (...transforms: ReadonlyArray<GradientTransformation>): Optimizer =>
  named(`chain(${transforms.map((t) => t.name).join(", ")})`, transforms)

/**
 * Scales the updates by a constant factor (Optax's `scale`).
 *
 * @example
 * ```ts
 * const halve = Optimizer.scale(0.5)
 * ```
 */
export const scale = (factor: number): Optimizer => {
  if (!Number.isFinite(factor)) throw new RangeError(`scale: factor must be a finite number, got ${factor}`)
  return stateless("scale", (updates) => scaleLeaves(updates, factor))
}

/**
 * Multiplies the updates by `-learningRate` (Optax's `scale_by_learning_rate`): the last link of a chain,
 * turning a descent direction into updates to add. A schedule is called with the step number (1 for the
 * first update), as the optimizers call it.
 *
 * @example
 * ```ts
 * const sgd = Optimizer.chain(Optimizer.scaleByLearningRate(Schedule.cosineDecay({ init: 0.1, steps: 1000 })))
 * ```
 */
export const scaleByLearningRate = (learningRate: LearningRate): Optimizer => {
  if (typeof learningRate === "number") checkPositive("scaleByLearningRate", "learningRate", learningRate)
  return stateless("scaleByLearningRate", (updates, _, step) => scaleLeaves(updates, -rateAt(learningRate, step)))
}

/**
 * Multiplies the updates by `schedule(step)` (1 for the first update), without changing the sign (Optax's
 * `scale_by_schedule`; follow it with `scale(-1)` for descent).
 *
 * @example
 * ```ts
 * const opt = Optimizer.chain(
 *   Optimizer.scaleByAdam(),
 *   Optimizer.scaleBySchedule(Schedule.exponentialDecay({ init: 1e-3, rate: 0.5, steps: 1000 })),
 *   Optimizer.scale(-1)
 * )
 * ```
 */
export const scaleBySchedule = (schedule: (step: number) => number): Optimizer =>
  stateless("scaleBySchedule", (updates, _, step) => scaleLeaves(updates, schedule(step)))

/**
 * Scales all updates together so that their global norm (the square root of the sum of the squares of
 * every entry) is at most `maxNorm`: each update times `min(1, maxNorm / globalNorm)` (Optax's
 * `clip_by_global_norm`).
 *
 * @example
 * ```ts
 * const opt = Optimizer.chain(Optimizer.clipByGlobalNorm(1), Optimizer.sgd({ learningRate: 0.1 }))
 * ```
 */
export const clipByGlobalNorm = (maxNorm: number): Optimizer => {
  checkPositive("clipByGlobalNorm", "maxNorm", maxNorm)
  return stateless("clipByGlobalNorm", (updates) => {
    let sq = 0
    for (const u of Pytree.leaves(updates)) {
      const ud = unsafeData(u)
      for (let i = 0; i < ud.length; i++) sq += ud[i]! * ud[i]!
    }
    const norm = Math.sqrt(sq)
    return norm <= maxNorm ? updates : scaleLeaves(updates, maxNorm / norm)
  })
}

/**
 * Which leaves a transformation applies to: a predicate on the leaf's path (`Pytree.Path`; write it dotted
 * with `Pytree.pathString`) and the leaf, or a pytree of booleans of the params' structure, where a boolean
 * may also stand for a whole subtree (see {@link MaskTree}).
 *
 * @example
 * ```ts
 * // Everything but biases.
 * const notBias: Optimizer.Mask = (path) => path.at(-1) !== "bias"
 * ```
 */
export type Mask = ((path: Pytree.Path, leaf: Tensor.AnyTensor) => boolean) | BoolTree

/**
 * A pytree of booleans: a boolean, or an array or plain object of them.
 *
 * @example
 * ```ts
 * const tree: Optimizer.BoolTree = { dense: { kernel: true, bias: false } }
 * ```
 */
export type BoolTree = boolean | ReadonlyArray<BoolTree> | { readonly [key: string]: BoolTree }

/**
 * A mask typed after the params `P`: a boolean for each tensor, or one boolean for a whole subtree.
 *
 * @example
 * ```ts
 * type Params = { readonly dense: { readonly kernel: Tensor.Tensor<readonly [3, 2]>; readonly bias: Tensor.Tensor<readonly [2]> } }
 * const decay: Optimizer.MaskTree<Params> = { dense: { kernel: true, bias: false } }
 * ```
 */
export type MaskTree<P> = P extends Tensor.AnyTensor ? boolean
  : boolean | { readonly [K in keyof P]: MaskTree<P[K]> }

const maskLeaves = (name: string, mask: Mask, params: Pytree.Pytree): Array<boolean> =>
  Pytree.leavesWithPath(params).map(([path, leaf]) => {
    if (typeof mask === "function") return mask(path, leaf)
    let node: BoolTree | undefined = mask
    for (const key of path) {
      if (typeof node === "boolean") return node
      node = (node as { readonly [key: string]: BoolTree | undefined })[key]
      if (node === undefined) {
        throw new TypeError(`${name}: the mask has no entry for ${Pytree.pathString(path)}`)
      }
    }
    if (typeof node !== "boolean") {
      throw new TypeError(`${name}: the mask at ${Pytree.pathString(path) || "the root"} is not a boolean`)
    }
    return node
  })

/**
 * Applies `transform` to the leaves the mask selects and passes the others through unchanged (Optax's
 * `masked`). The inner transformation sees only the selected leaves (a global norm is theirs); the state
 * keeps its slots in the params' structure, zero for the leaves left out.
 *
 * @example
 * ```ts
 * // Weight decay on everything but biases.
 * const decay = Optimizer.masked(Optimizer.addDecayedWeights(1e-4), (path) => path.at(-1) !== "bias")
 * ```
 */
export const masked = (transform: GradientTransformation, mask: Mask): Optimizer => {
  const name = `masked(${transform.name})`
  const pick = <T>(xs: ReadonlyArray<T>, sel: ReadonlyArray<boolean>): Array<T> => xs.filter((_, i) => sel[i])
  const scatter = <P extends Pytree.Pytree>(
    tree: P,
    sel: ReadonlyArray<boolean>,
    chosen: ReadonlyArray<Tensor.AnyTensor>,
    other: (t: Tensor.AnyTensor, i: number) => Tensor.AnyTensor
  ): P => {
    let j = 0
    return Pytree.map(tree, (t, i) => (sel[i] ? chosen[j++]! : other(t, i)))
  }
  return toOptimizer({
    name,
    ...withSlotCount(transform.slotCount),
    init: (params) => {
      const sel = maskLeaves(name, mask, params)
      const inner = transform.init(pick(Pytree.leaves(params), sel))
      return {
        step: 0,
        slots: inner.slots.map((s) =>
          scatter(params, sel, Pytree.leaves(s), (t) => Tensor.zeros(t.shape, { dtype: t.dtype }))
        )
      }
    },
    update: (updates, state, params) => {
      checkLeaves(name, updates, params)
      const sel = maskLeaves(name, mask, params)
      const [inner, next] = transform.update(
        pick(Pytree.leaves(updates), sel),
        { step: state.step, slots: state.slots.map((s) => pick(Pytree.leaves(s), sel)) },
        pick(Pytree.leaves(params), sel)
      )
      const ul = Pytree.leaves(updates)
      return [
        scatter(updates, sel, inner, (_, i) => ul[i]!),
        {
          step: state.step + 1,
          slots: next.slots.map((s, k) => {
            const old = Pytree.leaves(state.slots[k]!)
            return scatter(params, sel, s, (_, i) => old[i]!)
          })
        }
      ] as const
    }
  })
}

/**
 * Adds `rate * params` to the updates (Optax's `add_decayed_weights`): decoupled weight decay when it comes
 * before `scaleByLearningRate`. With a mask, only the leaves it selects decay.
 *
 * @example
 * ```ts
 * const decay = Optimizer.addDecayedWeights(1e-4, (path) => path.at(-1) !== "bias")
 * ```
 */
export const addDecayedWeights = (rate: number, mask?: Mask): Optimizer => {
  if (!(rate >= 0) || !Number.isFinite(rate)) {
    throw new RangeError(`addDecayedWeights: rate must be a non-negative number, got ${rate}`)
  }
  const decay = stateless("addDecayedWeights", (updates, params) =>
    Pytree.zipWith(updates, params, (u, p) => {
      const ud = unsafeData(u)
      const pd = dataAs(p, u)
      const out = allocLike(u)
      for (let i = 0; i < out.length; i++) out[i] = ud[i]! + rate * pd[i]!
      return unsafeFromData(out, u.shape)
    }))
  return mask === undefined ? decay : { ...masked(decay, mask), name: "addDecayedWeights" }
}

/** Options of `scaleByAdam`. */
export interface ScaleByAdamOptions {
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
}

/**
 * Adam's direction without the learning rate (Optax's `scale_by_adam`): with `m = b1 m + (1 - b1) g`,
 * `v = b2 v + (1 - b2) g^2` and bias corrections at step t, the update is
 * `(m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + epsilon)` (defaults as in Optax: 0.9, 0.999, 1e-8).
 *
 * @example
 * ```ts
 * const adam = Optimizer.chain(Optimizer.scaleByAdam(), Optimizer.scaleByLearningRate(1e-3))
 * ```
 */
export const scaleByAdam = (options: ScaleByAdamOptions = {}): Optimizer => {
  const b1 = options.beta1 ?? 0.9
  const b2 = options.beta2 ?? 0.999
  const eps = options.epsilon ?? 1e-8
  checkFraction("scaleByAdam", "beta1", b1)
  checkFraction("scaleByAdam", "beta2", b2)
  checkPositive("scaleByAdam", "epsilon", eps)
  const name = "scaleByAdam"
  return toOptimizer({
    name,
    slotCount: 2,
    init: (params) => ({
      step: 0,
      slots: [0, 1].map(() => Pytree.map(params, (t) => Tensor.zeros(t.shape, { dtype: t.dtype })))
    }),
    update: (updates, state, params) => {
      checkLeaves(name, updates, params)
      const step = state.step + 1
      const c1 = 1 - Math.pow(b1, step)
      const c2 = 1 - Math.pow(b2, step)
      const [m, v] = state.slots.map((s) => Pytree.leaves(s))
      if (m === undefined || v === undefined) throw new TypeError(`${name}: the state has no moments`)
      const nm: Array<Tensor.AnyTensor> = []
      const nv: Array<Tensor.AnyTensor> = []
      const out = Pytree.map(updates, (g, i) => {
        const gd = unsafeData(g)
        const md = dataAs(m[i]!, g)
        const vd = dataAs(v[i]!, g)
        const o = allocLike(g)
        const mo = allocLike(g)
        const vo = allocLike(g)
        const tiny = smallestNormal(vo)
        for (let k = 0; k < o.length; k++) {
          const gk = gd[k]!
          let mk = b1 * md[k]! + (1 - b1) * gk
          let vk = b2 * vd[k]! + (1 - b2) * gk * gk
          if (Math.abs(mk) < tiny) mk = 0
          if (vk < tiny) vk = 0
          mo[k] = mk
          vo[k] = vk
          o[k] = mk / c1 / (Math.sqrt(vk / c2) + eps)
        }
        nm.push(unsafeFromData(mo, g.shape))
        nv.push(unsafeFromData(vo, g.shape))
        return unsafeFromData(o, g.shape)
      })
      return [out, {
        step,
        slots: [Pytree.map(params, (_, i) => nm[i]!), Pytree.map(params, (_, i) => nv[i]!)]
      }] as const
    }
  })
}

/** Options of `adamw`. */
export interface AdamwOptions extends ScaleByAdamOptions {
  /** A number or a schedule (a function of the step, 1 for the first update); default 1e-3. */
  readonly learningRate?: LearningRate
  /** The decoupled weight decay coefficient (default 1e-4, as in Optax). */
  readonly weightDecay?: number
  /** Which parameters decay (default all): see {@link Mask}. */
  readonly mask?: Mask
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter; Optax's `adamw`):
 * `chain(scaleByAdam, addDecayedWeights(weightDecay, mask), scaleByLearningRate(learningRate))`, so the
 * update is `-lr (mHat / (sqrt(vHat) + epsilon) + weightDecay * params)`. Defaults as in Optax: betas
 * 0.9 / 0.999, epsilon 1e-8, weight decay 1e-4; learning rate 1e-3.
 *
 * @example
 * ```ts
 * const opt = Optimizer.adamw({ learningRate: 1e-3, weightDecay: 1e-2, mask: (path) => path.at(-1) !== "bias" })
 * ```
 */
export const adamw = (options: AdamwOptions = {}): Optimizer => {
  const learningRate = options.learningRate ?? 1e-3
  return named("adamw", [
    scaleByAdam(options),
    addDecayedWeights(options.weightDecay ?? 1e-4, options.mask),
    scaleByLearningRate(learningRate)
  ])
}

/**
 * Gradient accumulation (Optax's `MultiSteps`): the updates are zero except on every `everySteps`-th step,
 * which applies `transform` to the mean of the gradients of the last `everySteps` steps. The mean is kept
 * as a running mean in the first slot (so `everySteps` equal gradients give exactly that gradient), then
 * come `transform`'s slots; `transform` counts only the steps it is applied on (its schedules too).
 *
 * @example
 * ```ts
 * // Adam on the mean gradient of 4 batches: a 4 times larger batch in the same memory.
 * const opt = Optimizer.accumulate(Optimizer.adam({ learningRate: 1e-3 }), 4)
 * ```
 */
export const accumulate = (transform: GradientTransformation, everySteps: number): Optimizer => {
  if (!(Number.isInteger(everySteps) && everySteps >= 1)) {
    throw new RangeError(`accumulate: everySteps must be a positive integer, got ${everySteps}`)
  }
  const name = `accumulate(${transform.name}, ${everySteps})`
  const zerosLike = <P extends Pytree.Pytree>(tree: P): P =>
    Pytree.map(tree, (t) => Tensor.zeros(t.shape, { dtype: t.dtype }))
  return toOptimizer({
    name,
    ...withSlotCount(transform.slotCount === undefined ? undefined : transform.slotCount + 1),
    init: (params) => ({ step: 0, slots: [zerosLike(params), ...transform.init(params).slots] }),
    update: (grads, state, params) => {
      checkLeaves(name, grads, params)
      const [acc, ...inner] = state.slots
      if (acc === undefined) throw new TypeError(`${name}: the state has no accumulator`)
      const n = state.step % everySteps // gradients already in the running mean
      const mean = Pytree.zipWith(acc, grads, (a, g) => {
        const ad = unsafeData(a)
        const gd = dataAs(g, a)
        const out = allocLike(a)
        for (let i = 0; i < out.length; i++) out[i] = ad[i]! + (gd[i]! - ad[i]!) / (n + 1)
        return unsafeFromData(out, a.shape)
      })
      const step = state.step + 1
      if (n + 1 < everySteps) return [zerosLike(params), { step, slots: [mean, ...inner] }] as const
      const [updates, next] = transform.update(
        mean,
        { step: Math.floor(state.step / everySteps), slots: inner },
        params
      )
      return [updates, { step, slots: [zerosLike(params), ...next.slots] }] as const
    }
  })
}
