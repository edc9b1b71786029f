/**
 * The reverse-mode engine.
 *
 * A call to `vjp` opens a trace: the differentiated inputs are wrapped in tracers (tensors that carry the
 * trace), and every primitive applied to a tracer is handed to the trace (`bind` in the tensor package),
 * which computes the primal with the inputs unwrapped and records one node. The pullback walks the nodes
 * backwards and applies each primitive's VJP rule. The nodes belong to that one call: nothing global is
 * recorded, and everything is garbage once the caller drops the pullback.
 *
 * Nesting: each trace gets a level larger than every trace opened before it. `bind` hands an application
 * to the innermost (highest-level) trace among its inputs; that trace unwraps only its own tracers and
 * re-binds, so an outer trace sees the inner computation as ordinary ops on its own tracers. Rules are
 * written with differentiable ops, so the backward pass of an inner trace is itself recorded by outer
 * traces: this is what makes `grad(grad(f))` right, with no perturbation confusion.
 *
 * @internal
 */
import { Tensor } from "@typegrad/tensor"
import {
  arenaMark,
  arenaReleaseDead,
  bind,
  type FloatImpl,
  fromImpl,
  isFloat,
  type Primitive,
  sumTo,
  TensorImpl,
  toImpl,
  type Trace
} from "@typegrad/tensor/internal"

interface Node {
  readonly primitive: Primitive | undefined
  /** The inputs as the user's code passed them (tracers of this trace, or constants). */
  readonly inputs: ReadonlyArray<TensorImpl>
  /** The same inputs with this trace's tracers unwrapped. */
  readonly primals: ReadonlyArray<TensorImpl>
  readonly params: unknown
  readonly output: TensorImpl
  /** The pullback of this application, for primitives with a per-application rule (customVjp). */
  readonly pullback?: ((cotangent: TensorImpl) => ReadonlyArray<TensorImpl | undefined>) | undefined
}

/** A tensor that is being differentiated by one trace. */
export class Tracer extends TensorImpl {
  readonly primal: TensorImpl
  readonly node: Node

  constructor(primal: TensorImpl, trace: ReverseTrace, node: Node) {
    super(primal.shape, primal.dtype, primal.data, trace)
    this.primal = primal
    this.node = node
  }
}

// Levels only grow: a trace opened inside another one always gets a larger level. This counter is the
// only module state, and it records nothing about any computation. Every kind of trace (reverse here,
// batching in `batching.ts`) draws its level from it, so nested transformations of any kinds order.
let nextLevel = 1

/** A level larger than that of every trace opened before. */
export const newLevel = (): number => nextLevel++

// How many traced functions (the `f` of a vjp or a vmap) are running now. While one runs, an enclosing
// trace may record any tensor it sees, so a backward pass run inside one releases nothing early (see
// `backward`). Like `nextLevel`, it records nothing about any computation.
let tracedRunning = 0

/** Runs a traced function (a transformation's `f` on its tracers), counted in `tracedRunning`. */
export const runTraced = <A>(f: () => A): A => {
  tracedRunning++
  try {
    return f()
  } finally {
    tracedRunning--
  }
}

export class ReverseTrace implements Trace {
  readonly level: number = newLevel()
  readonly nodes: Array<Node> = []

  /** Wraps an input to be differentiated. */
  leaf(t: TensorImpl): Tracer {
    const node: Node = { primitive: undefined, inputs: [], primals: [], params: undefined, output: t }
    return new Tracer(t, this, node)
  }

  readonly process = (primitive: Primitive, inputs: ReadonlyArray<TensorImpl>, params: unknown): TensorImpl => {
    const primals = inputs.map((t) => (t.trace === this ? (t as Tracer).primal : t))
    if (primitive.traced !== undefined) {
      const { output, vjp } = primitive.traced(primals, params)
      const node: Node = { primitive, inputs, primals, params, output, pullback: vjp }
      this.nodes.push(node)
      return new Tracer(output, this, node)
    }
    const output = bind(primitive, primals, params)
    const node: Node = { primitive, inputs, primals, params, output }
    this.nodes.push(node)
    return new Tracer(output, this, node)
  }

  /** Unwraps this trace's tracer (the primal value); other tensors are returned as they are. */
  unwrap(t: TensorImpl): TensorImpl {
    return t.trace === this ? (t as Tracer).primal : t
  }

  /**
   * Propagates cotangents from outputs to inputs. `seeds` pairs output tensors (as returned by the
   * traced function) with their cotangents; returns the cotangent of each tracer in `wrt` (`undefined` when
   * the output does not depend on it).
   */
  backward(
    seeds: ReadonlyArray<readonly [TensorImpl, TensorImpl]>,
    wrt: ReadonlyArray<Tracer>
  ): Array<TensorImpl | undefined> {
    const cotangents = new Map<Node, TensorImpl>()
    // Early release: the buffers of dropped cotangents (summed into another, or consumed by their node's
    // rule) go back to the module memory's arena now instead of at the next collection (a training step
    // drops about a third of the bytes it allocates here, and fewer collections are a faster step). Safe
    // only when nothing else can hold them:
    // - only at the top level (no traced function running, so no enclosing trace records them);
    // - only buffers made during this pass (from `mark` on), so never a forward value, a seed or a constant;
    // - never a cotangent a user's rule saw or made (`customVjp`, `customJvp`: `pinned`);
    // - never one that a pending cotangent shares memory with (a rule may pass its cotangent on, or a view).
    const early = tracedRunning === 0
    const mark = early ? arenaMark() : 0
    const dropped: Array<TensorImpl> = []
    const pinned = new Set<TensorImpl>()
    const live = function*(): Generator<ArrayBufferView> {
      for (const ct of cotangents.values()) yield ct.data
    }
    const releaseDropped = (): void => {
      for (const t of dropped) {
        if (t.trace === undefined && !pinned.has(t)) arenaReleaseDead(t.data, mark, live())
      }
      dropped.length = 0
    }
    const accumulate = (node: Node, ct: TensorImpl): void => {
      const prev = cotangents.get(node)
      if (prev === undefined) {
        cotangents.set(node, ct)
        return
      }
      cotangents.set(node, toImpl(Tensor.add(fromImpl(prev), fromImpl(ct))))
      if (early) dropped.push(prev, ct)
    }
    for (const [y, ct] of seeds) {
      if (y.trace === this) accumulate((y as Tracer).node, ct)
    }
    // Seeds summed together were made before the pass: nothing to release.
    dropped.length = 0
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!
      const ct = cotangents.get(node)
      if (ct === undefined) continue
      cotangents.delete(node)
      const primitive = node.primitive!
      if (primitive.vjp === undefined && node.pullback === undefined) {
        throw new Error(
          `autodiff: the primitive "${primitive.name}" has no gradient rule, so its inputs cannot be differentiated; ` +
            `wrap its inputs in stopGradient if a zero gradient is what you want`
        )
      }
      const needs = node.inputs.map((t) => t.trace === this)
      const cts = node.pullback !== undefined
        ? node.pullback(ct)
        : primitive.vjp!(ct, node.primals, node.output, node.params, needs)
      if (node.pullback !== undefined) {
        pinned.add(ct)
        for (const c of cts) if (c !== undefined) pinned.add(c)
      }
      for (let k = 0; k < node.inputs.length; k++) {
        const c = cts[k]
        // int32 and bool values get no cotangent (they are piecewise constant in everything).
        if (!needs[k] || c === undefined) continue
        const target = node.primals[k]!
        if (!isFloat(target)) continue
        const fitted = fitCotangent(c, target)
        if (early && fitted !== c) dropped.push(c)
        accumulate((node.inputs[k] as Tracer).node, fitted)
      }
      if (early) {
        dropped.push(ct)
        releaseDropped()
      }
    }
    return wrt.map((t) => cotangents.get(t.node))
  }
}

/** Sums a broadcast cotangent back to its (float) input's shape and matches its dtype. */
const fitCotangent = (ct: TensorImpl, target: FloatImpl): TensorImpl => {
  let c = fromImpl(ct)
  const shape = target.shape
  if (c.shape.length !== shape.length || c.shape.some((d, i) => d !== shape[i])) c = sumTo(c, shape)
  if (c.dtype !== target.dtype) c = Tensor.cast(c, target.dtype)
  return toImpl(c)
}
