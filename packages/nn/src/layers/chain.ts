/**
 * Layers in order: the type-level folds (output shape, parameter tuple) and the runtime code that builds,
 * initialises and runs a chain. `sequential`, `residual`, `parallel` and `Model` share it.
 *
 * @since 0.1.0
 */
import type { Shape as Rules } from "@typegrad/shape"
import type { Pytree, Tensor } from "@typegrad/tensor"
import { entries } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import type { Any, ApplyContext, Built, Output, Params, SoftmaxTrace } from "./layer.ts"

type Shape = Rules.Shape
type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

/** The output shape of layers `Ls` applied in order to `S` (or the first `ShapeError`). @internal */
export type FoldOut<Ls, S, N extends number> = Ls extends readonly [infer H, ...infer R]
  ? S extends Shape ? FoldOut<R, Output<H, S, N>, N> : S
  : S

/** The parameter tuple of layers `Ls` applied in order to `S`. @internal */
export type FoldParams<Ls, S, D extends DType, Acc extends ReadonlyArray<unknown> = readonly []> = Ls extends
  readonly [infer H, ...infer R] ?
  S extends Shape ? FoldParams<R, Output<H, S>, D, AppendParams<Acc, Params<H, S, D>>> : Acc
  : Acc

/** The output shape of each branch of `Bs` applied to `S` (`parallel`, `add`). @internal */
export type BranchOuts<Bs, S extends Shape, N extends number> = { readonly [K in keyof Bs]: FoldOut<Bs[K], S, N> }

/** The parameters of each branch of `Bs` applied to `S`: one entry per branch (`parallel`, `add`). @internal */
export type BranchParams<Bs, S extends Shape, D extends DType> = { readonly [K in keyof Bs]: FoldParams<Bs[K], S, D> }

/**
 * Appends a layer's parameters to a model's parameter tuple (layers without parameters add nothing).
 *
 * @example
 * ```ts
 * type P = Layer.AppendParams<readonly [], never> // readonly []
 * ```
 */
export type AppendParams<P extends ReadonlyArray<unknown>, X> = [X] extends [never] ? P : readonly [...P, X]

/** Built layers and the chain's output shape (batch dim 1). @internal */
export interface Chain {
  readonly built: ReadonlyArray<Built>
  readonly outShape: ReadonlyArray<number>
}

/** Builds `layers` in order; inner layer `i` is named `${name}.${i} ${tag}` and draws from stream `(stream, i)`. */
export const buildChain = (
  layers: ReadonlyArray<Any>,
  input: ReadonlyArray<number>,
  name: string,
  stream: number
): Chain => {
  const built: Array<Built> = []
  let shape = input
  layers.forEach((l, i) => {
    const b = l.build(shape, `${name}.${i} ${l._tag.toLowerCase()}`, Prng.derive(stream, i))
    built.push(b)
    shape = b.outShape
  })
  return { built, outShape: shape }
}

/** The number of trainable parameters of a chain. */
export const chainParameters = (chain: Chain): number => chain.built.reduce((n, b) => n + b.parameters, 0)

/** The initial states of the stateful layers of chains, or `undefined` when none has state. */
export const chainStates = (
  chains: ReadonlyArray<Chain>
): ((dtype: DType) => ReadonlyArray<readonly [string, Pytree.Pytree]>) | undefined => {
  const built = chains.flatMap((c) => c.built).filter((b) => b.states !== undefined)
  return built.length === 0 ? undefined : (dtype) => built.flatMap((b) => b.states!(dtype))
}

/** `{ states }` for a block's `Built` when a layer inside it has state, else nothing. */
export const stateOf = (chains: ReadonlyArray<Chain>): Pick<Built, "states"> => {
  const states = chainStates(chains)
  return states === undefined ? {} : { states }
}

/** Whether any layer of the chain has parameters. */
export const hasParams = (chain: Chain): boolean => chain.built.some((b) => b.init !== undefined)

/** Initial parameters of a chain: one entry per layer with parameters, each from the same seed. */
export const chainInit = (chain: Chain) => (seed: number, dtype: DType): Pytree.Pytree =>
  chain.built.flatMap((b) => (b.init === undefined ? [] : [b.init(seed, dtype)]))

/**
 * Runs built layers in order, handing each layer with parameters the next entry of `params`; with `logits`
 * the last layer skips a final softmax. `onMissing` (if given) is called when `params` has too few entries.
 */
export const runChain = (
  built: ReadonlyArray<Built>,
  params: ReadonlyArray<Pytree.Pytree>,
  x: AnyTensor,
  ctx: ApplyContext,
  logits: boolean,
  onMissing?: (layer: Built, entry: number) => never
): AnyTensor => {
  let k = 0
  let y = x
  built.forEach((b, i) => {
    const own = b.init === undefined ? undefined : params[k++]
    if (own === undefined && b.init !== undefined && onMissing !== undefined) onMissing(b, k)
    y = logits && i === built.length - 1 ? b.applyLogits(own, y, ctx) : b.apply(own, y, ctx)
  })
  return y
}

/** A chain as one layer's `apply`: its parameters are an array with one entry per layer with parameters. */
export const chainApply =
  (chain: Chain, logits: boolean, name: string) =>
  (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
    if (p !== undefined && !Array.isArray(p)) {
      throw new TypeError(
        `${name}: its params must be an array with one entry per inner layer that has parameters; use model.init`
      )
    }
    return runChain(chain.built, entries(p), x, ctx, logits)
  }

/** `t` as seen after layer `name` that keeps its input: a softmax before it is carried (the first keeper named). */
export const carry = (t: SoftmaxTrace, name: string): SoftmaxTrace =>
  t === undefined ? undefined : { softmax: t.softmax, after: t.after ?? name }

/** The trace after built layer `b` given its input's: the layer's own `trace`, or it keeps its input's. */
export const traceAfter = (b: Built, input: SoftmaxTrace): SoftmaxTrace =>
  b.trace === undefined ? carry(input, b.name) : b.trace(input)

/** The trace of a chain named `name` given its input's (an empty chain keeps its input's softmax). */
export const chainTrace = (built: ReadonlyArray<Built>, input: SoftmaxTrace, name: string): SoftmaxTrace =>
  built.length === 0 ? carry(input, name) : built.reduce((t: SoftmaxTrace, b) => traceAfter(b, t), input)

/**
 * Branches applied to one input and combined: `parallel` concatenates their outputs, `add` sums them.
 * Branch `i` is named `${name}[${i}]` and draws from stream `(stream, i)`; the params are one entry per
 * branch. `outShapeOf` gets the branches' output shapes (and checks them); `combine` their outputs.
 */
export const buildBranches = (
  branches: ReadonlyArray<ReadonlyArray<Any>>,
  input: ReadonlyArray<number>,
  name: string,
  stream: number,
  outShapeOf: (shapes: ReadonlyArray<ReadonlyArray<number>>) => ReadonlyArray<number>,
  combine: (outputs: ReadonlyArray<AnyTensor>) => AnyTensor
): Built => {
  const chains = branches.map((b, i) => buildChain(b, input, `${name}[${i}]`, Prng.derive(stream, i)))
  const outShape = outShapeOf(chains.map((c) => c.outShape))
  const applies = chains.map((c, i) => chainApply(c, false, `${name}[${i}]`))
  const apply = (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
    const ps = entries(p)
    return combine(applies.map((f, i) => f(ps[i], x, ctx)))
  }
  return {
    name,
    outShape,
    parameters: chains.reduce((n, c) => n + chainParameters(c), 0),
    init: (seed, dtype) => chains.map((c) => chainInit(c)(seed, dtype)),
    apply,
    applyLogits: apply,
    // A softmax that reaches any branch's output is part of the combination.
    trace: (t) =>
      carry(
        chains.map((c, i) => chainTrace(c.built, t, `${name}[${i}]`)).find((b) => b !== undefined),
        name
      ),
    ...stateOf(chains)
  }
}
