// A layer defined outside the library with the public helper `Layer.make`: "scale by a learned scalar". Its
// type-level rule (an interface with `In`/`DType` slots, Effect TypeLambda style) gives its output shape and
// its params; it composes into a `Model` and into the combinators like the built-in layers, at compile time
// and at run time.
import { grad } from "@typegrad/autodiff"
import { Layer, Loss, Model } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const assert = <T extends true>(_?: T): void => {}

/** The parameters: one scalar of the model's dtype (a type alias: a pytree node needs an index signature). */
type ScaleParams<D extends Tensor.DType> = { readonly scale: Tensor.Tensor<readonly [], D> }

/** The rule: the shape is kept. */
interface ScaleRule extends Layer.Rule {
  readonly Label: "scale"
  readonly Out: Layer.InputShape<this>
  readonly Params: ScaleParams<Layer.InputDType<this>>
}

/** `x * s` with a learned scalar `s` (initialised to 1). */
interface Scale extends Layer.Layer<ScaleRule> {}

const scale = (): Scale =>
  Layer.make<ScaleRule>({
    label: "scale",
    outShape: (input) => input,
    init: ({ dtype }) => ({ scale: Tensor.ones([], { dtype }) }),
    forward: (p, x) => Tensor.mul(x, p.scale)
  })

const model = Model.input([4])
  .add(Layer.dense({ units: 3 }))
  .add(scale())
  .add(Layer.residual(scale()))
  .add(Layer.softmax())

// Compile time: the output shape is inferred through the user's layer; its params are typed.
type P = Model.ParamsOf<typeof model>
assert<Types.Equal<ReturnType<typeof model.apply>, Tensor.Tensor<readonly [number, 3]>>>()
assert<Types.Equal<P[1], { readonly scale: Tensor.Tensor<readonly []> }>>()
assert<Types.Equal<P[2], readonly [{ readonly scale: Tensor.Tensor<readonly []> }]>>()
assert<Types.Equal<P["length"], 3>>()
assert<Types.Equal<Layer.Output<Scale, readonly [number, 7, 7]>, readonly [number, 7, 7]>>()
assert<
  Types.Equal<
    Layer.Params<Scale, readonly [number, 2], "float64">,
    { readonly scale: Tensor.Tensor<readonly [], "float64"> }
  >
>()
assert<Types.Equal<Layer.Label<Scale, 2>, "layer 2 scale">>()

describe("a user-defined layer", () => {
  const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(1)))

  it("composes into a model: shapes, labels, parameters and the forward pass", () => {
    expect(model.layers.map((l) => [l.label, l.outputShape, l.parameters])).toEqual([
      ["layer 1 dense(3)", [-1, 3], 15],
      ["layer 2 scale", [-1, 3], 1],
      ["layer 3 residual", [-1, 3], 1],
      ["layer 4 softmax", [-1, 3], 0]
    ])
    const params = run(model.init)
    expect(params[1].scale.shape).toEqual([])
    expect(Tensor.item(params[1].scale)).toBe(1)
    const x = Tensor.fromArray([1, -2, 3, 0.5, 0, 1, 2, -1], [2, 4])
    const plain = Tensor.matmul(x, params[0].kernel)
    const twice: P = [params[0], { scale: Tensor.full([], 2) }, [{ scale: Tensor.full([], 0.5) }]]
    // dense, then * 2, then x + 0.5 x: the logits are 3 x W.
    const z = model.logits(twice, x)
    expect(Array.from(Tensor.toArray(z))).toEqual(Array.from(Tensor.toArray(Tensor.mul(plain, Tensor.full([], 3)))))
    expect(Array.from(Tensor.toArray(model.apply(twice, x)))).toEqual(Array.from(Tensor.toArray(Tensor.softmax(z))))
  })

  it("the next layer sees its output shape: a wrong wiring after it fails with the same message", () => {
    const m = Model.input([4]).add(Layer.dense({ units: 3 })).add(scale())
    expect(() =>
      // @ts-expect-error layer 3 conv2d(2): input must have rank 4 [N, H, W, C], got [number, 3]
      m.add(Layer.conv2d({ filters: 2, kernelSize: 1 }))
    ).toThrow("layer 3 conv2d(2): input must have rank 4 [N, H, W, C], got [1, 3]")
  })

  it("its parameter is trained like any other: the gradient reaches it", () => {
    const params = run(model.init)
    const x = Tensor.fromArray([1, -2, 3, 0.5, 0, 1, 2, -1], [2, 4])
    const y = Tensor.fromArray([1, 0, 0, 0, 0, 1], [2, 3])
    const g = grad((p: P) => Loss.softmaxCrossEntropy(model.logits(p, x), y))(params)
    expect(g[1].scale.shape).toEqual([])
    expect(Tensor.item(g[1].scale)).not.toBe(0)
    expect(Tensor.item(g[2][0].scale)).not.toBe(0)
  })
})
