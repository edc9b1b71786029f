// Optimizer.accumulate (Optax's MultiSteps): zero updates but every k-th step, which applies the mean gradient.
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const t64 = (xs: ReadonlyArray<number>) => Tensor.fromArray(xs, [xs.length], { dtype: "float64" })
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

describe("accumulate", () => {
  it("k steps of g equal one step of g (Adam, bit for bit), with zero updates in between", () => {
    const adam = Optimizer.adam({ learningRate: 0.1 })
    const opt = Optimizer.accumulate(adam, 3)
    expect(opt.slotCount).toBe(3)
    const params = { w: t64([1, -2, 0.5]) }
    let state = opt.init(params)
    let plain = adam.init(params)
    for (const g of [[0.3, -1.2, 2.5], [1, 0.1, -0.4]]) {
      for (let i = 0; i < 2; i++) {
        const [u, next] = opt.update({ w: t64(g) }, state, params)
        expect(values(u.w)).toEqual([0, 0, 0])
        state = next
      }
      const [u, next] = opt.update({ w: t64(g) }, state, params)
      const [v, nextPlain] = adam.update({ w: t64(g) }, plain, params)
      expect(values(u.w)).toEqual(values(v.w))
      expect(values(next.slots[1]!.w)).toEqual(values(nextPlain.slots[0]!.w))
      expect(values(next.slots[2]!.w)).toEqual(values(nextPlain.slots[1]!.w))
      expect(values(next.slots[0]!.w)).toEqual([0, 0, 0])
      state = next
      plain = nextPlain
    }
    expect(state.step).toBe(6)
  })

  it("applies the mean of the k gradients", () => {
    const opt = Optimizer.accumulate(Optimizer.sgd({ learningRate: 1 }), 4)
    const params = { w: t64([0, 0]) }
    const gs = [[1, 2], [3, -2], [0.5, 0], [-1.5, 4]]
    let state = opt.init(params)
    let last = params
    for (const g of gs) {
      const [u, next] = opt.update({ w: t64(g) }, state, params)
      last = u
      state = next
    }
    const mean = [0, 1].map((i) => gs.reduce((s, g) => s + g[i]!, 0) / 4)
    values(last.w).forEach((x, i) => expect(x).toBeCloseTo(-mean[i]!, 15))
  })

  it("the inner transformation counts only the steps it is applied on, and k = 1 is the transformation", () => {
    const seen: Array<number> = []
    const opt = Optimizer.accumulate(Optimizer.sgd({ learningRate: (step) => (seen.push(step), 1) }), 2)
    const params = { w: t64([0]) }
    let state = opt.init(params)
    for (let i = 0; i < 6; i++) state = opt.update({ w: t64([1]) }, state, params)[1]
    expect(seen).toEqual([1, 2, 3])
    const adam = Optimizer.adam()
    const once = Optimizer.accumulate(adam, 1)
    const [a] = once.update({ w: t64([0.7]) }, once.init(params), params)
    const [b] = adam.update({ w: t64([0.7]) }, adam.init(params), params)
    expect(values(a.w)).toEqual(values(b.w))
    expect(() => Optimizer.accumulate(adam, 0)).toThrow(/everySteps/)
  })

  it("step adds the updates: parameters move only every k-th step", () => {
    const opt = Optimizer.accumulate(Optimizer.sgd({ learningRate: 0.5 }), 2)
    let params = { w: t64([1]) }
    let state = opt.init(params)
    const trail: Array<number> = []
    for (let i = 0; i < 4; i++) {
      const [p, next] = opt.step({ w: t64([2]) }, state, params)
      params = p
      state = next
      trail.push(values(p.w)[0]!)
    }
    expect(trail).toEqual([1, 0, 0, -1])
  })
})
