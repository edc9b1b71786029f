// `Reference.cifarResNet` and `Layer.add`: the output type `[batch, 10]` inferred at compile time, the
// shapes through the stages, batch-norm state entries, and add's shape checks (compile time and run time).
import { Layer, Model, Reference } from "@typegrad/nn"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const assert = <T extends true>(_?: T): void => {}
const model = Reference.cifarResNet

assert<Types.Equal<ReturnType<typeof model.apply>, Tensor.Tensor<readonly [number, 10]>>>()
assert<Types.Equal<ReturnType<typeof model.logits>, Tensor.Tensor<readonly [number, 10]>>>()

describe("Reference.cifarResNet", () => {
  it("maps [batch, 32, 32, 3] to class probabilities, with batch-norm state threaded", () => {
    const params = Effect.runSync(model.init.pipe(Random.withSeed(1)))
    expect(Model.parameterCount(model)).toBe(175258)
    const x = Tensor.fromArray(Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i) * 0.5), [2, 32, 32, 3])
    const [logits, state] = model.applyWithState(params, model.initState, x, { training: true, logits: true })
    expect(logits.shape).toEqual([2, 10])
    // 1 stem + 3 stages x 2 blocks x 2 convs + 2 projection shortcuts = 15 batch norms
    expect(Object.keys(state).length).toBe(15)
    const p = Tensor.toArray(model.apply(params, x, { state }))
    expect(p.length).toBe(20)
    expect(p.slice(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
  })
})

describe("Layer.add", () => {
  it("sums branches of one shape; an empty branch is the identity", () => {
    const m = Model.input([4]).add(Layer.add([[Layer.dense({ units: 4 })], []]))
    assert<Types.Equal<ReturnType<typeof m.apply>, Tensor.Tensor<readonly [number, 4]>>>()
    const params = Effect.runSync(m.init.pipe(Random.withSeed(1)))
    const x = Tensor.fromArray([1, 2, 3, 4], [1, 4])
    const d = Model.input([4]).add(Layer.dense({ units: 4 }))
    const y = Array.from(Tensor.toArray(m.apply(params, x)))
    const want = Array.from(Tensor.toArray(d.apply([params[0][0][0]], x))).map((v, i) => v + [1, 2, 3, 4][i]!)
    y.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5))
  })

  it("rejects branches of different shapes, at compile time and at run time", () => {
    const bad = Layer.add([[Layer.dense({ units: 3 })], []])
    // @ts-expect-error the branches give [number, 3] and [number, 4]
    expect(() => Model.input([4]).add(bad)).toThrow(/the branches give \[1, 3\] and \[1, 4\]/)
  })
})
