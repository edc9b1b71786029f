// A layer defined outside the library with the public helper `Layer.make`: "scale by a learned scalar". Its
// type-level rule (an interface with `In`/`DType` slots, Effect TypeLambda style) gives its output shape and
// its params; it composes into a `Model` and into the combinators like the built-in layers, at compile time
// and at run time.
import { grad } from "@typegrad/autodiff"
import { Initializer, Layer, Loss, Model } from "@typegrad/nn"
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

describe("Layer.make: the layer's seed and context, and its runtime checks", () => {
  const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(1)))
  type NoiseParams<D extends Tensor.DType> = { readonly w: Tensor.Tensor<readonly [4], D> }
  interface NoiseRule extends Layer.Rule {
    readonly Label: "noise"
    readonly Out: Layer.InputShape<this>
    readonly Params: NoiseParams<Layer.InputDType<this>>
  }
  /** Random weights from the layer's seed; in training, adds noise drawn from the pass's seed for the layer. */
  const noise = () =>
    Layer.make<NoiseRule>({
      label: "noise",
      outShape: (
        input
      ) => (input.length === 2 && input[1] === 4 ? input : `expected [batch, 4], got [${input.join(", ")}]`),
      init: ({ dtype, seed }) => ({
        w: Initializer.create("glorotUniform", [4], { fanIn: 4, fanOut: 4 }, seed, dtype)
      }),
      forward: ({ w }, x, { training, seed }) =>
        training
          ? Tensor.add(
            Tensor.mul(x, w),
            Initializer.create("heUniform", x.shape, { fanIn: 1, fanOut: 1 }, seed, x.dtype)
          )
          : Tensor.mul(x, w)
    })
  const twoNoises = Model.input([4]).add(noise()).add(Layer.sequential(noise()))
  const x = Tensor.fromArray([1, 2, 3, 4, -1, -2, -3, -4], [2, 4])
  const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

  it("init draws from the layer's seed: reproducible from Random's seed, distinct per position and seed", () => {
    const [a, [b]] = run(twoNoises.init)
    const [a2, [b2]] = run(twoNoises.init)
    const [a3] = Effect.runSync(twoNoises.init.pipe(Random.withSeed(2)))
    expect(values(a.w)).toEqual(values(a2.w))
    expect(values(b.w)).toEqual(values(b2.w))
    expect(values(a.w)).not.toEqual(values(b.w))
    expect(values(a.w)).not.toEqual(values(a3.w))
    expect(twoNoises.layers.map((l) => l.parameters)).toEqual([4, 4])
  })

  it("forward gets the training flag and a per-layer seed of the pass", () => {
    const p = run(twoNoises.init)
    const evaluation = values(twoNoises.apply(p, x))
    expect(values(twoNoises.apply(p, x, { seed: 3 }))).toEqual(evaluation)
    const t3 = values(twoNoises.apply(p, x, { training: true, seed: 3 }))
    expect(values(twoNoises.apply(p, x, { training: true, seed: 3 }))).toEqual(t3)
    expect(t3).not.toEqual(evaluation)
    expect(values(twoNoises.apply(p, x, { training: true, seed: 4 }))).not.toEqual(t3)
    // The two layers draw different noise from the same pass seed (with w = 1, each adds its own noise).
    const ones = { w: Tensor.ones([4]) }
    const one = Model.input([4]).add(noise())
    const n1 = values(Tensor.sub(one.apply([ones], x, { training: true, seed: 3 }), x))
    const both = Model.input([4]).add(noise()).add(noise())
    const n12 = values(Tensor.sub(both.apply([ones, ones], x, { training: true, seed: 3 }), x))
    const n2 = n12.map((v, i) => v - n1[i]!)
    expect(n2.some((v, i) => Math.abs(v - n1[i]!) > 1e-3)).toBe(true)
  })

  it("outShape's message becomes a ShapeError naming the layer", () => {
    expect(() => Model.input([3]).add(noise())).toThrow("layer 1 noise: expected [batch, 4], got [1, 3]")
  })

  it("checks outShape, init and forward against each other, naming the layer", () => {
    interface IdRule extends Layer.Rule {
      readonly Label: "id"
      readonly Out: Layer.InputShape<this>
      readonly Params: never
    }
    const id = (parts: Partial<Layer.Definition<IdRule>>) =>
      Layer.make<IdRule>({ label: "id", outShape: (input) => input, forward: (_, v) => v, ...parts })
    const v = Model.input([4])
    expect(() => v.add(id({ outShape: (input) => [2, ...input.slice(1)] }))).toThrow(
      "layer 1 id: outShape must keep the batch dim, got [2, 4] for input [1, 4]"
    )
    expect(() => v.add(id({ outShape: () => [1, 0] }))).toThrow(
      "layer 1 id: outShape must return positive integer dims"
    )
    const flat = v.add(id({ forward: (_, t) => Tensor.reshape(t, [-1]) }))
    expect(() => flat.apply([], x)).toThrow(
      "layer 1 id: forward returned [8] where outShape gives [2, 4]; make forward and outShape agree"
    )
    const withInit = (init: () => never) => v.add(id({ init }))
    expect(() => withInit(() => 3 as never)).toThrow("layer 1 id: init must return a pytree of float32 tensors")
    expect(() => withInit(() => ({ a: [1] }) as never)).toThrow(
      "layer 1 id: init must return a pytree of float32 tensors"
    )
    expect(() => withInit(() => ({ a: Tensor.zeros([2], { dtype: "float64" }) }) as never)).toThrow(
      "got a of dtype float64; create it with { dtype }"
    )
    const noisyBlock = Model.input([4]).add(Layer.residual(noise()))
    expect(() => noisyBlock.apply([[]] as never, x)).toThrow("layer 1 residual.0 noise: its params are missing")
    expect(() => noisyBlock.apply([[3]] as never, x)).toThrow(
      "layer 1 residual.0 noise: its params are a number; pass the params that model.init made"
    )
  })
})
