/**
 * Runtime helpers shared by the layer modules, and the only casts they need (each with its reason).
 *
 * @internal
 */
import { Shape as Rules, ShapeError } from "@typegrad/shape"
import { Pytree, Tensor } from "@typegrad/tensor"
import type { Activation } from "../layers/activation.ts"
import type { Rule, RuleParams } from "../layers/layer.ts"

type AnyTensor = Tensor.AnyTensor

/**
 * The runtime label, typed as the layer's type-level label `L`. Each constructor builds the string from the
 * same config fields its rule's `Label` reads (a test checks they agree); TypeScript cannot evaluate the
 * template literal type of a generic config, so the string is read as `L`.
 */
export const label = <L extends string>(s: string): L => s as L

/** A square size as a pair. */
export const pair = (v: number | Rules.Pair): readonly [number, number] => (typeof v === "number" ? [v, v] : v)

/** Throws a `ShapeError` unless `v` is a positive integer. */
export const positiveInt = (name: string, what: string, v: number): void => {
  if (!Number.isInteger(v) || v <= 0) {
    throw new ShapeError(name, `${name}: ${what} must be a positive integer, got ${v}`)
  }
}

/**
 * A field of a layer's parameters. Parameter pytrees are built by the layers' `init` with these keys; the
 * cast reads them back (a wrong pytree fails in `kernelOf` or in the op that receives the field).
 */
export const field = (p: Pytree.Pytree | undefined, key: string): AnyTensor | undefined =>
  (p as Record<string, AnyTensor | undefined> | undefined)?.[key]

/**
 * The `bias` of a layer's parameters, if any. `init` makes it a rank-1 tensor; the cast gives it the rank
 * that `Tensor.conv2dBias`'s signature asks for (the op checks its shape at run time).
 */
export const biasOf = (p: Pytree.Pytree | undefined): Tensor.Tensor<readonly [number]> | undefined =>
  field(p, "bias") as Tensor.Tensor<readonly [number]> | undefined

/** The `kernel` tensor of a layer's parameters, or a `TypeError` that says what was given. */
export const kernelOf = (name: string, p: Pytree.Pytree | undefined): AnyTensor => {
  const k = field(p, "kernel")
  if (!Tensor.isTensor(k)) {
    throw new TypeError(
      `${name}: its params must be { kernel, bias? } tensors, got ${
        JSON.stringify(p === undefined ? null : Object.keys(p))
      }; use model.init`
    )
  }
  return k
}

/**
 * The entries of a combinator's parameters. The caller has checked that `p` is an array or `undefined`;
 * the cast reads it as the array of per-layer pytrees that `init` made.
 */
export const entries = (p: Pytree.Pytree | undefined): ReadonlyArray<Pytree.Pytree> =>
  (p ?? []) as ReadonlyArray<Pytree.Pytree>

/** The axis of a `parallel` block: `-1` (channels) when omitted, which is also the default of its type `A`. */
export const defaultAxis = <A extends number>(axis: A | undefined): A => (axis ?? -1) as A

/** Applies activation `a` (`undefined` is linear). */
export const applyActivation = (a: Activation | undefined, x: AnyTensor): AnyTensor => {
  switch (a) {
    case undefined:
    case "linear":
      return x
    case "relu":
      return Tensor.relu(x)
    case "tanh":
      return Tensor.tanh(x)
    case "sigmoid":
      return Tensor.sigmoid(x)
    case "softmax":
      return Tensor.softmax(x)
  }
}

/** `false` when a layer's config turns the bias off. */
export type HasBias<C> = C extends { readonly useBias: false } ? false : true

/** The parameter tuple of a block, or `never` when no layer of it has parameters. */
export type BlockParams<P> = P extends readonly [] ? never : P

/**
 * What a user layer's `init` returned (`Layer.make`), checked to be a pytree of tensors of the model's
 * dtype; the cast then only states what the check found.
 */
export const treeOf = (name: string, value: unknown, dtype: Tensor.DType): Pytree.Pytree => {
  const what = (detail: string) =>
    new TypeError(`${name}: init must return a pytree of ${dtype} tensors (plain objects and arrays), ${detail}`)
  if (!Pytree.isNode(value) && !Tensor.isTensor(value)) throw what(`got ${value === null ? "null" : typeof value}`)
  const tree = value as Pytree.Pytree
  let leaves: ReadonlyArray<readonly [Pytree.Path, AnyTensor]>
  try {
    leaves = Pytree.leavesWithPath(tree)
  } catch (e) {
    throw what(`but ${e instanceof Error ? e.message.replace(/^pytree: /, "") : String(e)}`)
  }
  const wrong = leaves.find(([, t]) => t.dtype !== dtype)
  if (wrong !== undefined) {
    throw what(`got ${Pytree.pathString(wrong[0]) || "a tensor"} of dtype ${wrong[1].dtype}; create it with { dtype }`)
  }
  return tree
}

/**
 * A user layer's params as its rule's `Params` (`Layer.make`): the model hands each layer the pytree its
 * `init` returned (checked by `treeOf`); a layer without parameters gets `undefined`, where its rule says
 * `never` (its `forward` does not read it).
 */
export const asRuleParams = <R extends Rule>(p: Pytree.Pytree | undefined): RuleParams<R> => p as RuleParams<R>
