/**
 * What every layer is: a value with a runtime `build` and `label`, and a type-level `Rule` (an interface in
 * the style of Effect's `TypeLambda`) that computes its output shape, parameter pytree and label. `Output`,
 * `Params` and `Label` read a layer's own rule, so a new layer is one module that needs no central list.
 *
 * @since 0.1.0
 */
import type { Shape as Rules, ShapeError } from "@typegrad/shape"
import type { Pytree, Tensor } from "@typegrad/tensor"

type Shape = Rules.Shape
type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

/**
 * The key under which a layer carries its type-level rule (`Layer.make` fills it; users need not spell it).
 *
 * @example
 * ```ts
 * const rule: Layer.RuleTypeId = Layer.RuleTypeId
 * ```
 */
export const RuleTypeId: unique symbol = Symbol.for("@typegrad/nn/Layer/Rule")

/**
 * The type of `RuleTypeId`.
 *
 * @example
 * ```ts
 * type RuleOf<L> = L extends { readonly [K in Layer.RuleTypeId]: (_: never) => infer R } ? R : never
 * ```
 */
export type RuleTypeId = typeof RuleTypeId

/**
 * The runtime value under `RuleTypeId`: it only fixes the rule's variance (the rule itself is types only).
 * `Layer.make` puts it there; the library's own layers spell it.
 *
 * @example
 * ```ts
 * const carrier = { [Layer.RuleTypeId]: Layer.variance }
 * ```
 */
export const variance = (_: never): never => _

/**
 * A layer's type-level rule. The input slots `In` (input shape), `DType` and `Index` (the layer's position,
 * for error messages) are filled by intersection; the output slots are read from the result, as in
 * `(R & { readonly In: S })["Out"]`. A rule reads its inputs through `InputShape<this>`, `InputDType<this>`
 * and `Where<this>` (as type arguments: `this` is not allowed inside a nested object type), and rejects an
 * input with `Invalid<this, "...">`. Parameter types are type aliases, not interfaces, so that they are
 * pytrees. `Layer.make<Rule>({ ... })` makes a layer from a rule and its runtime parts.
 *
 * @example
 * ```ts
 * type ScaleParams<D extends Tensor.DType> = { readonly scale: Tensor.Tensor<readonly [], D> }
 * interface ScaleRule extends Layer.Rule {
 *   readonly Label: "scale"
 *   readonly Out: Layer.InputShape<this>
 *   readonly Params: ScaleParams<Layer.InputDType<this>>
 * }
 * ```
 */
export interface Rule {
  /** Input slot: the input shape (batch dim first). */
  readonly In: unknown
  /** Input slot: the model's dtype. */
  readonly DType: unknown
  /** Input slot: the layer's position in its model (1 for the first layer). */
  readonly Index: unknown
  /** The output shape, or a `ShapeError` whose message names the layer (`Where<this>`). */
  readonly Out: unknown
  /** The parameter pytree; `never` for a layer without parameters. */
  readonly Params: unknown
  /** The layer's kind and size as printed in messages, e.g. `dense(512)`; equal to the runtime `label`. */
  readonly Label: string
}

/**
 * A rule's input shape (from its `In` slot).
 *
 * @example
 * ```ts
 * interface IdRule extends Layer.Rule {
 *   readonly Label: "id"
 *   readonly Out: Layer.InputShape<this>
 *   readonly Params: never
 * }
 * ```
 */
export type InputShape<R extends Rule> = R["In"] extends infer S extends Shape ? S : Shape

/**
 * A rule's dtype (from its `DType` slot).
 *
 * @example
 * ```ts
 * type BiasParams<D extends Tensor.DType> = { readonly bias: Tensor.Tensor<readonly [], D> }
 * interface BiasRule extends Layer.Rule {
 *   readonly Label: "bias"
 *   readonly Out: Layer.InputShape<this>
 *   readonly Params: BiasParams<Layer.InputDType<this>>
 * }
 * ```
 */
export type InputDType<R extends Rule> = R["DType"] extends infer D extends DType ? D : DType

/**
 * A rule's position in its model (from its `Index` slot); combinators pass it to their inner layers.
 *
 * @example
 * ```ts
 * type Out<R extends Layer.Rule> = `${Layer.InputIndex<R>}` // "6" for the sixth layer
 * ```
 */
export type InputIndex<R extends Rule> = R["Index"] & number

/**
 * The name of a layer in error messages: its position and label, e.g. `layer 6 dense(512)`.
 *
 * @example
 * ```ts
 * type Named<R extends Layer.Rule> = `${Layer.Where<R>}: expected rank 2` // `Layer.Invalid` builds this
 * ```
 */
export type Where<R extends Rule> = `layer ${InputIndex<R>} ${R["Label"]}`

/**
 * The compile-time error of a rule whose input does not fit: a `ShapeError` whose message starts with the
 * layer's name (`layer 3 layerNorm: ...`), the style of every built-in layer's messages.
 *
 * @example
 * ```ts
 * interface RankTwoRule extends Layer.Rule {
 *   readonly Label: "rankTwo"
 *   readonly Out: Layer.InputShape<this>["length"] extends 2 ? Layer.InputShape<this>
 *     : Layer.Invalid<this, "expected rank 2 [batch, features]">
 *   readonly Params: never
 * }
 * ```
 */
export type Invalid<R extends Rule, Message extends string> = ShapeError<`${Where<R>}: ${Message}`>

/**
 * The last dim of a shape (`number` when the rank or the dim is unknown): what normalisation layers size
 * their parameters by.
 *
 * @example
 * ```ts
 * type C = Layer.LastDim<readonly [number, 8, 8, 16]> // 16
 * ```
 */
export type LastDim<S extends Shape> = S extends readonly [...ReadonlyArray<number>, infer C extends number] ? C
  : number

/**
 * The output of a rule that keeps its input's shape and needs rank 2 or more (`[batch, ..., last]`, the
 * last axis named `What` in the error): the input shape, or the rank error.
 *
 * @example
 * ```ts
 * interface ScaleRule extends Layer.Rule {
 *   readonly Label: "scale"
 *   readonly Out: Layer.KeepShapeRank2<this, "features">
 *   readonly Params: never
 * }
 * ```
 */
export type KeepShapeRank2<R extends Rule, What extends string> = number extends InputShape<R>["length"] ? InputShape<R>
  : InputShape<R>["length"] extends 0 | 1 ? Invalid<
      R,
      `expected input of rank 2 or more [batch, ..., ${What}], got ${Rules.Show<InputShape<R>>}`
    >
  : InputShape<R>

/**
 * The parameter type of rule `R` when the input shape and dtype are known only at run time (unknown dims
 * are `number`): what a layer's `forward` receives and its `init` returns.
 *
 * @example
 * ```ts
 * type P = Layer.RuleParams<Layer.DenseRule<{ units: 10 }>>
 * // { kernel: Tensor<readonly [number, 10], DType>, bias: Tensor<readonly [10], DType> }
 * ```
 */
export type RuleParams<R extends Rule> = (R & {
  readonly In: Shape
  readonly DType: DType
  readonly Index: number
})["Params"]

/**
 * Where a layer's output stands with respect to a softmax, for `Model.logits`: `undefined` when it is not
 * computed from a softmax's output (or a layer with parameters came between), `{ softmax }` when the layer
 * ends with that softmax (its `applyLogits` leaves it out), `{ softmax, after }` when the softmax's output
 * reaches the layer's output through layer `after` (logits cannot leave it out).
 *
 * @example
 * ```ts
 * const t: Layer.SoftmaxTrace = { softmax: "layer 3 softmax", after: "layer 4 dropout(0.5)" }
 * ```
 */
export type SoftmaxTrace = { readonly softmax: string; readonly after?: string } | undefined

/**
 * Runtime context of a forward pass.
 *
 * @example
 * ```ts
 * const ctx: Layer.ApplyContext = { training: true, seed: 42 }
 * ```
 */
export interface ApplyContext {
  /** Dropout is active only when training. */
  readonly training: boolean
  /** Seed of this forward pass's randomness (dropout masks). */
  readonly seed: number
  /**
   * The model state of this forward pass (batch normalisation's running statistics), when the caller
   * threads it (`model.applyWithState`, or `{ state }` for inference); keyed by layer name.
   */
  readonly state?: StateStore | undefined
}

/**
 * The model state of one forward pass, keyed by the names of the stateful layers (`layer 2 batchNorm`,
 * `layer 3 residual.0 batchnorm` inside a block): a layer reads its entry with `get` and, in training, leaves
 * its next value with `set`. The model makes a fresh store per call, so the pass stays a pure function of
 * its inputs (`model.applyWithState` returns the new state).
 *
 * @example
 * ```ts
 * const entries = new Map<string, Pytree.Pytree>()
 * const store: Layer.StateStore = { get: (name) => entries.get(name), set: (name, value) => void entries.set(name, value) }
 * ```
 */
export interface StateStore {
  readonly get: (name: string) => Pytree.Pytree | undefined
  readonly set: (name: string, value: Pytree.Pytree) => void
}

/**
 * A layer once its input shape is known: what a model runs. @internal
 *
 * @example
 * ```ts
 * const built: Layer.Built = Layer.conv2d({ filters: 8, kernelSize: 3 }).build([1, 28, 28, 1], "layer 1 conv2d(8)", 1)
 * ```
 */
export interface Built {
  readonly name: string
  /** Output shape, with the batch dim given as 1. */
  readonly outShape: ReadonlyArray<number>
  /** Number of trainable parameters. */
  readonly parameters: number
  /** Creates the parameters from a seed, or `undefined` for a layer without parameters. */
  readonly init: ((seed: number, dtype: DType) => Pytree.Pytree) | undefined
  readonly apply: (params: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext) => AnyTensor
  /** The same as `apply` without a final softmax (for losses computed stably from logits). */
  readonly applyLogits: (params: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext) => AnyTensor
  /**
   * The initial model state of the layer and of the layers inside it, keyed by layer name (absent for a
   * layer without state): what `model.initState` collects.
   */
  readonly states?: (dtype: DType) => ReadonlyArray<readonly [string, Pytree.Pytree]>
  /**
   * The layer's `SoftmaxTrace` given its input's. When absent the layer keeps its input's softmax: a softmax
   * before it reaches its output (`{ softmax, after: name }`), the safe default for `Model.logits`.
   */
  readonly trace?: (input: SoftmaxTrace) => SoftmaxTrace
}

/**
 * A layer with type-level rule `R`: a plain value that a model builds once it knows the input shape.
 *
 * @example
 * ```ts
 * interface DoubleRule extends Layer.Rule {
 *   readonly Label: "double"
 *   readonly Out: Layer.InputShape<this>
 *   readonly Params: never
 * }
 * interface Double extends Layer.Layer<DoubleRule> {}
 * const double = (): Double =>
 *   Layer.make<DoubleRule>({ label: "double", outShape: (input) => input, forward: (_, x) => Tensor.mul(x, 2) })
 * ```
 */
export interface Layer<R extends Rule = Rule, Tag extends string = string> {
  readonly [RuleTypeId]: (_: never) => R
  readonly _tag: Tag
  /** The label in summaries and messages, e.g. `dense(512)`; the same string as the rule's `Label`. */
  readonly label: R["Label"]
  /** Builds the runtime layer for an input shape (batch dim 1); throws `ShapeError` on a bad wiring. @internal */
  readonly build: (input: ReadonlyArray<number>, name: string, stream: number) => Built
}

/**
 * Any layer.
 *
 * @example
 * ```ts
 * const layers: ReadonlyArray<Layer.Any> = [Layer.flatten(), Layer.dense({ units: 10 })]
 * ```
 */
export type Any = Layer<Rule, string>

/** The rule of layer `L`. */
type RuleOf<L> = L extends { readonly [RuleTypeId]: (_: never) => infer R extends Rule } ? R : never

/**
 * The output shape of layer `L` on an input of shape `S` (or a `ShapeError` naming the layer), read from
 * the layer's rule; `N` is the layer's position in its model.
 *
 * @example
 * ```ts
 * type O = Layer.Output<Layer.Dense<{ units: 10 }>, readonly [number, 128]> // readonly [number, 10]
 * ```
 */
export type Output<L, S extends Shape, N extends number = 0> = (RuleOf<L> & {
  readonly In: S
  readonly Index: N
})["Out"]

/**
 * The parameter pytree of layer `L` on an input of shape `S` (`never` for a layer without parameters).
 *
 * @example
 * ```ts
 * type P = Layer.Params<Layer.Dense<{ units: 10 }>, readonly [number, 128], "float32">
 * // { kernel: Tensor<readonly [128, 10]>, bias: Tensor<readonly [10]> }
 * ```
 */
export type Params<L, S extends Shape, D extends DType> = (RuleOf<L> & { readonly In: S; readonly DType: D })["Params"]

/**
 * The label of a layer in error messages: its position and kind, e.g. `layer 5 dense(512)`.
 *
 * @example
 * ```ts
 * type L = Layer.Label<Layer.Dense<{ units: 512 }>, 5> // "layer 5 dense(512)"
 * ```
 */
export type Label<L, N extends number> = `layer ${N} ${RuleOf<L>["Label"]}`

/**
 * A configured layer's label: its `name` when the config has one, else `Default`.
 *
 * @example
 * ```ts
 * type L = Layer.NamedOr<{ units: 10; name: "head" }, "dense(10)"> // "head"
 * ```
 */
export type NamedOr<C, Default extends string> = C extends { readonly name: infer Nm extends string } ? Nm : Default
