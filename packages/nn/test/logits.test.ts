// `Model.logits` never returns probabilities: it leaves out a softmax that is the model's last operation, runs
// a softmax followed by a layer with parameters as an ordinary step, and rejects (LogitsError naming both
// layers) a softmax whose output reaches the model's output through a layer that keeps it.
import { Layer, Model, Reference } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const run = <A>(e: Effect.Effect<A>) => Effect.runSync(e.pipe(Random.withSeed(5)))
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))
const x = Tensor.fromArray([0.5, -1, 2, 0.25, 1.5, 0, -0.75, 1, 3, -2, 0.1, 0.2], [3, 4])
const image = Tensor.fromArray(Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => Math.cos(i)), [2, 4, 4, 2])

/** `model.logits` on its own initial params throws a `LogitsError` whose fields and message name both layers. */
const assertLogitsRejected = (model: Model.AnyModel, input: Tensor.AnyTensor, softmax: string, after: string) => {
  const params = run(model.init)
  let error: unknown
  try {
    model.logits(params, input)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(Model.LogitsError)
  const e = error as Model.LogitsError
  expect({ tag: e._tag, softmax: e.softmax, after: e.after }).toEqual({ tag: "LogitsError", softmax, after })
  expect(e.message).toContain(`the softmax of ${softmax} is not the model's last operation (${after} keeps its output)`)
  expect(e.message).toContain("use model.apply for the probabilities")
  // apply still gives the model's output: the rejection is only about logits.
  expect(model.apply(params, input).shape[0]).toBe(input.shape[0])
}

/** `model.logits` equals `model.apply` on the model's own initial params. */
const assertLogitsAreApply = (model: Model.AnyModel, input: Tensor.AnyTensor) => {
  const params = run(model.init)
  expect(values(model.logits(params, input))).toEqual(values(model.apply(params, input)))
}

const rowSums = (t: Tensor.AnyTensor) => values(Tensor.sum(t, { axis: -1 }))

describe("Model.logits leaves out a final softmax", () => {
  it("of the last dense layer (the MNIST CNN that Train.fit trains)", () => {
    const cnn = Reference.mnistCnn
    const params = run(cnn.init)
    const images = Tensor.fromArray(Array.from({ length: 2 * 784 }, (_, i) => (i % 17) / 17), [2, 28, 28, 1])
    const z = cnn.logits(params, images, { training: true, seed: 9 })
    expect(rowSums(z).some((s) => Math.abs(s - 1) > 1e-3)).toBe(true)
    expect(values(Tensor.softmax(z))).toEqual(values(cnn.apply(params, images, { training: true, seed: 9 })))
  })

  it("of a last Layer.softmax(), and at the end of a last (nested) sequential", () => {
    const plain = Model.input([4]).add(Layer.dense({ units: 3 })).add(Layer.softmax())
    const [dense] = run(plain.init)
    const expected = values(Tensor.add(Tensor.matmul(x, dense.kernel), dense.bias))
    expect(values(plain.logits([dense], x))).toEqual(expected)
    rowSums(plain.apply([dense], x)).forEach((s) => expect(s).toBeCloseTo(1, 6))
    const block = Model.input([4]).add(Layer.sequential(Layer.dense({ units: 3 }), Layer.softmax()))
    expect(values(block.logits([[dense]], x))).toEqual(expected)
    rowSums(block.apply([[dense]], x)).forEach((s) => expect(s).toBeCloseTo(1, 6))
    const nested = Model.input([4]).add(
      Layer.sequential(Layer.dropout(0.5), Layer.sequential(Layer.dense({ units: 3, activation: "softmax" })))
    )
    expect(values(nested.logits([[[dense]]], x))).toEqual(expected)
    rowSums(nested.apply([[[dense]]], x)).forEach((s) => expect(s).toBeCloseTo(1, 6))
  })

  it("of a user layer that says how to leave out its softmax", () => {
    interface ClassesRule extends Layer.Rule {
      readonly Label: "classes"
      readonly Out: Layer.InputShape<this>
      readonly Params: never
    }
    const classes = () =>
      Layer.make<ClassesRule>({
        label: "classes",
        outShape: (input) => input,
        forward: (_, v) => Tensor.softmax(Tensor.mul(v, 2)),
        logits: (_, v) => Tensor.mul(v, 2)
      })
    const m = Model.input([4]).add(classes())
    expect(values(m.logits([], x))).toEqual(values(Tensor.mul(x, 2)))
    expect(values(m.apply([], x))).toEqual(values(Tensor.softmax(Tensor.mul(x, 2))))
    // Followed by a layer that keeps it, it is rejected like a built-in softmax.
    assertLogitsRejected(m.add(Layer.relu()), x, "layer 1 classes", "layer 2 relu")
  })
})

describe("Model.logits runs a softmax that a layer with parameters follows", () => {
  it("as an ordinary step: logits equal apply, the softmax included", () => {
    assertLogitsAreApply(
      Model.input([4]).add(Layer.softmax()).add(Layer.dropout(0.5)).add(Layer.dense({ units: 2 })),
      x
    )
    assertLogitsAreApply(
      Model.input([4]).add(Layer.parallel([[Layer.softmax()], [Layer.relu()]])).add(Layer.dense({ units: 2 })),
      x
    )
    assertLogitsAreApply(Model.input([4]).add(Layer.residual(Layer.softmax())).add(Layer.dense({ units: 2 })), x)
    assertLogitsAreApply(
      Model.input([4, 4, 2]).add(Layer.softmax()).add(Layer.conv2d({ filters: 3, kernelSize: 2 })),
      image
    )
    // The softmax is applied: the second dense layer sees probabilities.
    const m = Model.input([4]).add(Layer.dense({ units: 5, activation: "softmax" })).add(Layer.dense({ units: 2 }))
    assertLogitsAreApply(m, x)
    const [a, b] = run(m.init)
    const h = Tensor.softmax(Tensor.add(Tensor.matmul(x, a.kernel), a.bias))
    expect(values(m.logits([a, b], x))).toEqual(values(Tensor.add(Tensor.matmul(h, b.kernel), b.bias)))
  })

  it("a model without a softmax: logits equal apply", () => {
    assertLogitsAreApply(
      Model.input([4]).add(Layer.dense({ units: 3, activation: "relu" })).add(Layer.dense({ units: 2 })),
      x
    )
  })
})

describe("Model.logits rejects a softmax that reaches the output through a layer that keeps it", () => {
  it("followed by dropout, an activation, flatten or pooling", () => {
    const dense = Model.input([4]).add(Layer.dense({ units: 3, activation: "softmax" }))
    assertLogitsRejected(dense.add(Layer.dropout(0.5)), x, "layer 1 dense(3)", "layer 2 dropout(0.5)")
    assertLogitsRejected(dense.add(Layer.dropout(0.5)).add(Layer.relu()), x, "layer 1 dense(3)", "layer 2 dropout(0.5)")
    const softmax = Model.input([4, 4, 2]).add(Layer.softmax())
    assertLogitsRejected(softmax.add(Layer.maxPool2d({ poolSize: 2 })), image, "layer 1 softmax", "layer 2 maxPool2d")
    assertLogitsRejected(softmax.add(Layer.flatten()), image, "layer 1 softmax", "layer 2 flatten")
    assertLogitsRejected(softmax.add(Layer.activation("tanh")), image, "layer 1 softmax", "layer 2 tanh")
  })

  it("inside sequential, residual and parallel blocks", () => {
    const v = Model.input([4])
    const seq = v.add(Layer.sequential(Layer.softmax(), Layer.dropout(0.5)))
    assertLogitsRejected(seq, x, "layer 1 sequential.0 activation", "layer 1 sequential.1 dropout")
    assertLogitsRejected(v.add(Layer.residual(Layer.softmax())), x, "layer 1 residual.0 activation", "layer 1 residual")
    assertLogitsRejected(
      v.add(Layer.softmax()).add(Layer.residual(Layer.dense({ units: 4 }))),
      x,
      "layer 1 softmax",
      "layer 2 residual"
    )
    const branches = v.add(Layer.parallel([[Layer.relu()], [Layer.dense({ units: 2, activation: "softmax" })]]))
    assertLogitsRejected(branches, x, "layer 1 parallel[1].0 dense", "layer 1 parallel")
    // An empty branch or an empty block passes the softmax before it through.
    assertLogitsRejected(
      v.add(Layer.softmax()).add(Layer.parallel([[], [Layer.relu()]])),
      x,
      "layer 1 softmax",
      "layer 2 parallel[0]"
    )
    assertLogitsRejected(v.add(Layer.softmax()).add(Layer.sequential()), x, "layer 1 softmax", "layer 2 sequential")
  })

  it("followed by a user layer (its forward may keep probabilities)", () => {
    interface HalfRule extends Layer.Rule {
      readonly Label: "half"
      readonly Out: Layer.InputShape<this>
      readonly Params: never
    }
    const half = Layer.make<HalfRule>({
      label: "half",
      outShape: (input) => input,
      forward: (_, v) => Tensor.mul(v, 0.5)
    })
    assertLogitsRejected(Model.input([4]).add(Layer.softmax()).add(half), x, "layer 1 softmax", "layer 2 half")
    const m = Model.input([4]).add(half).add(Layer.softmax())
    expect(values(m.logits([], x))).toEqual(values(Tensor.mul(x, 0.5)))
  })
})
