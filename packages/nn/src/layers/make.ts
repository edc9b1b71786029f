/**
 * `Layer.make`: a layer of the user's own from its type-level rule and its runtime parts (label, output
 * shape, parameters, forward pass). The result is a layer like the built-in ones: it composes in
 * `Model.input(...).add(...)` and in `sequential`, `residual` and `parallel`, checked at compile time by its
 * rule, at run time by its `outShape`, with the same messages (`layer 3 layerNorm: ...`).
 *
 * @since 0.1.0
 */
import { ShapeError } from "@typegrad/shape"
import { Pytree, Tensor } from "@typegrad/tensor"
import { asRuleParams, treeOf } from "../internal/layer.ts"
import * as Prng from "../internal/prng.ts"
import { type ApplyContext, type Layer, type Rule, type RuleParams, RuleTypeId, variance } from "./layer.ts"

type DType = Tensor.DType
type AnyTensor = Tensor.AnyTensor

/**
 * What a layer's `init` is given: its input shape (batch dim 1), the model's dtype and the layer's own
 * seed (derived from the seed that `model.init` draws from Effect's `Random` and the layer's position, so
 * a seeded `init` is reproducible and no two layers share a stream).
 *
 * @example
 * ```ts
 * const init = ({ input, dtype, seed }: Layer.InitContext) =>
 *   ({ kernel: Initializer.create("glorotUniform", [input[1]!, 4], { fanIn: input[1]!, fanOut: 4 }, seed, dtype) })
 * ```
 */
export interface InitContext {
  /** The input shape with the batch dim as 1, e.g. `[1, 128]`. */
  readonly input: ReadonlyArray<number>
  readonly dtype: DType
  /** The layer's own 32-bit seed. */
  readonly seed: number
}

/**
 * What a layer's `forward` is given besides its params and input: the training flag and the layer's own
 * seed for this forward pass (draw dropout-like masks from it), and the layer's name for messages.
 *
 * @example
 * ```ts
 * const forward = (_: never, x: Tensor.AnyTensor, { training }: Layer.ForwardContext) => (training ? x : Tensor.mul(x, 0.5))
 * ```
 */
export interface ForwardContext extends ApplyContext {
  /** The layer's name in messages, e.g. `layer 3 layerNorm`. */
  readonly name: string
}

/**
 * The runtime parts of a layer with rule `R` (see `make`).
 *
 * @example
 * ```ts
 * const definition: Layer.Definition<Layer.ActivationRule<"relu">> = {
 *   label: "relu",
 *   outShape: (input) => input,
 *   forward: (_, x) => Tensor.relu(x)
 * }
 * ```
 */
export interface Definition<R extends Rule> {
  /** The label in summaries and messages: the same string as the rule's `Label`. */
  readonly label: R["Label"]
  /**
   * The runtime twin of the rule's `Out`: the output shape for an input shape (batch dim 1, kept), or a
   * string saying what is wrong with the input, which becomes a `ShapeError` `"<layer name>: <string>"`.
   */
  readonly outShape: (input: ReadonlyArray<number>) => ReadonlyArray<number> | string
  /** The initial parameters (a pytree of the rule's `Params`); omit it for a layer without parameters. */
  readonly init?: (context: InitContext) => RuleParams<R>
  /** The forward pass; a layer without parameters receives `undefined` as its params. */
  readonly forward: (params: RuleParams<R>, x: AnyTensor, context: ForwardContext) => AnyTensor
  /**
   * For a layer whose `forward` ends with a softmax: the same pass without it. `Model.logits` uses it when
   * the layer is the model's last; without it a softmax before this layer is taken to reach its output.
   */
  readonly logits?: (params: RuleParams<R>, x: AnyTensor, context: ForwardContext) => AnyTensor
}

const show = (s: ReadonlyArray<number>): string => `[${s.join(", ")}]`

/**
 * A layer from its type-level rule `R` (an interface extending `Layer.Rule` that computes `Out`, `Params`
 * and `Label`; use `Layer.Invalid<this, "...">` for an input it rejects) and its runtime `Definition`.
 * At build time `outShape` must keep the batch dim and `init`'s params must be a pytree of tensors; at
 * each forward pass the result must have the shape `outShape` announced (batch dim included): a mismatch
 * is a `ShapeError` naming the layer.
 *
 * @example
 * ```ts
 * interface DoubleRule extends Layer.Rule {
 *   readonly Label: "double"
 *   readonly Out: Layer.InputShape<this>
 *   readonly Params: never
 * }
 * const double = () =>
 *   Layer.make<DoubleRule>({ label: "double", outShape: (input) => input, forward: (_, x) => Tensor.mul(x, 2) })
 *
 * const model = Model.input([4]).add(double()).add(Layer.dense({ units: 3 })) // output [number, 3]
 * ```
 */
export const make = <R extends Rule>(definition: Definition<R>): Layer<R> => ({
  [RuleTypeId]: variance,
  _tag: definition.label,
  label: definition.label,
  build: (input, name, stream) => {
    const out = definition.outShape(input)
    if (typeof out === "string") throw new ShapeError(name, `${name}: ${out}`)
    if (!Array.isArray(out) || out.length === 0 || out.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new TypeError(`${name}: outShape must return positive integer dims or a message, got ${String(out)}`)
    }
    if (out[0] !== input[0]) {
      throw new TypeError(`${name}: outShape must keep the batch dim, got ${show(out)} for input ${show(input)}`)
    }
    const init = definition.init
    const initial = (seed: number, dtype: DType): Pytree.Pytree =>
      treeOf(name, init?.({ input, dtype, seed: Prng.derive(seed, stream) }), dtype)
    // The parameter count, from the shapes of one initialisation (so it cannot disagree with `init`).
    const parameters = init === undefined ? 0 : Pytree.leaves(initial(0, "float32")).reduce((n, t) => n + t.size, 0)
    const run = (
      f: NonNullable<Definition<R>["logits"]>
    ) =>
    (p: Pytree.Pytree | undefined, x: AnyTensor, ctx: ApplyContext): AnyTensor => {
      if (init !== undefined && !Pytree.isNode(p) && !Tensor.isTensor(p)) {
        throw new TypeError(
          `${name}: its params are ${
            p === undefined ? "missing" : `a ${typeof p}`
          }; pass the params that model.init made`
        )
      }
      const y = f(asRuleParams<R>(p), x, { training: ctx.training, seed: Prng.derive(ctx.seed, stream), name })
      const expected = [x.shape[0]!, ...out.slice(1)]
      if (!Tensor.isTensor(y) || y.shape.length !== expected.length || y.shape.some((d, i) => d !== expected[i])) {
        throw new ShapeError(
          name,
          `${name}: forward returned ${Tensor.isTensor(y) ? show(y.shape) : String(y)} where outShape gives ${
            show(expected)
          }; make forward and outShape agree`
        )
      }
      return y
    }
    const logits = definition.logits
    return {
      name,
      outShape: out,
      parameters,
      init: init === undefined ? undefined : initial,
      apply: run(definition.forward),
      applyLogits: run(logits ?? definition.forward),
      ...(logits === undefined ? {} : { trace: () => ({ softmax: name }) })
    }
  }
})
