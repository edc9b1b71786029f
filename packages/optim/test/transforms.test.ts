// Gradient transformations (Optax style): chain, clipping by global norm, scaling, weight decay, masks.
import { Optimizer } from "@typegrad/optim"
import { Pytree, Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const t64 = (xs: ReadonlyArray<number>) => Tensor.fromArray(xs, [xs.length], { dtype: "float64" })
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

type Params = { readonly w: Tensor.Tensor<readonly [2], "float64">; readonly b: Tensor.Tensor<readonly [1], "float64"> }
const params: Params = {
  w: Tensor.fromArray([1, -2], [2], { dtype: "float64" }),
  b: Tensor.fromArray([0.5], [1], { dtype: "float64" })
}
const grads: Params = {
  w: Tensor.fromArray([3, 0], [2], { dtype: "float64" }),
  b: Tensor.fromArray([-4], [1], { dtype: "float64" })
}

describe("stateless transformations", () => {
  it("scale and scaleByLearningRate multiply by the factor and by -lr(step)", () => {
    const [u] = Optimizer.scale(0.5).update(grads, Optimizer.scale(0.5).init(params), params)
    expect(values(u.w)).toEqual([1.5, 0])
    expect(values(u.b)).toEqual([-2])
    const opt = Optimizer.scaleByLearningRate((step) => 0.1 * step)
    let state = opt.init(params)
    const seen: Array<number> = []
    for (let k = 1; k <= 3; k++) {
      const [v, next] = opt.update(grads, state, params)
      seen.push(values(v.b)[0]!)
      state = next
    }
    expect(seen[0]).toBeCloseTo(0.4, 15)
    expect(seen[1]).toBeCloseTo(0.8, 15)
    expect(seen[2]).toBeCloseTo(1.2, 15)
    expect(state.step).toBe(3)
    expect(state.slots).toEqual([])
  })

  it("scaleBySchedule multiplies by schedule(step) without flipping the sign; with scale(-1) it is scaleByLearningRate", () => {
    const schedule = (step: number) => 1 / step
    const opt = Optimizer.scaleBySchedule(schedule)
    const descent = Optimizer.chain(Optimizer.scaleBySchedule(schedule), Optimizer.scale(-1))
    const byRate = Optimizer.scaleByLearningRate(schedule)
    let s1 = opt.init(params)
    let s2 = descent.init(params)
    let s3 = byRate.init(params)
    for (const want of [-4, -2, -4 / 3]) {
      const [u, n1] = opt.update(grads, s1, params)
      const [v, n2] = descent.update(grads, s2, params)
      const [w, n3] = byRate.update(grads, s3, params)
      expect(values(u.b)[0]).toBeCloseTo(want, 15)
      expect(values(v.b)).toEqual(values(w.b))
      s1 = n1
      s2 = n2
      s3 = n3
    }
  })

  it("clipByGlobalNorm scales by min(1, maxNorm / globalNorm)", () => {
    // global norm of (3, 0, -4) is 5
    const clip = Optimizer.clipByGlobalNorm(1)
    const [u] = clip.update(grads, clip.init(params), params)
    expect(values(u.w)[0]).toBeCloseTo(3 / 5, 15)
    expect(values(u.w)[1]).toBe(0)
    expect(values(u.b)[0]).toBeCloseTo(-4 / 5, 15)
    const loose = Optimizer.clipByGlobalNorm(10)
    const [same] = loose.update(grads, loose.init(params), params)
    expect(values(same.w)).toEqual([3, 0])
    expect(values(same.b)).toEqual([-4])
    const exact = Optimizer.clipByGlobalNorm(5)
    expect(values(exact.update(grads, exact.init(params), params)[0].b)).toEqual([-4])
    expect(() => Optimizer.clipByGlobalNorm(0)).toThrow(/maxNorm/)
  })

  it("addDecayedWeights adds rate * params, only where the mask says", () => {
    const decay = Optimizer.addDecayedWeights(0.1)
    const [u] = decay.update(grads, decay.init(params), params)
    expect(values(u.w)).toEqual([3 + 0.1 * 1, 0 + 0.1 * -2])
    expect(values(u.b)).toEqual([-4 + 0.1 * 0.5])
    const noBias = Optimizer.addDecayedWeights(0.1, (path) => path[0] !== "b")
    const [v] = noBias.update(grads, noBias.init(params), params)
    expect(values(v.w)).toEqual([3 + 0.1 * 1, 0 + 0.1 * -2])
    expect(values(v.b)).toEqual([-4])
    expect(() => Optimizer.addDecayedWeights(-1)).toThrow(/rate/)
  })
})

describe("chain", () => {
  it("runs the transformations in order: clip then sgd equals sgd of the clipped gradient", () => {
    const opt = Optimizer.chain(Optimizer.clipByGlobalNorm(1), Optimizer.scaleByLearningRate(0.1))
    const [u, state] = opt.update(grads, opt.init(params), params)
    const w: Tensor.Tensor<readonly [2], "float64"> = u.w // the params' static type is kept
    expect(values(w)[0]).toBeCloseTo(-0.1 * (3 / 5), 15)
    expect(values(w)[1]).toBeCloseTo(0, 15)
    expect(values(u.b)[0]).toBeCloseTo(0.1 * (4 / 5), 15)
    expect(state.step).toBe(1)
    // the order matters: scaling first, then clipping, clips the scaled updates (norm 0.5 < 1: unchanged)
    const other = Optimizer.chain(Optimizer.scaleByLearningRate(0.1), Optimizer.clipByGlobalNorm(1))
    expect(values(other.update(grads, other.init(params), params)[0].b)[0]).toBeCloseTo(0.4, 15)
  })

  it("holds the slots of its members in order and keeps the existing optimizers' numbers exactly", () => {
    const adam = Optimizer.adam({ learningRate: 0.01 })
    const momentum = Optimizer.sgd({ learningRate: 0.1, momentum: 0.9 })
    const opt = Optimizer.chain(Optimizer.scale(1), adam, Optimizer.scale(1))
    expect(opt.slotCount).toBe(2)
    const both = Optimizer.chain(momentum, adam)
    expect(both.slotCount).toBe(3)
    let s1 = opt.init(params)
    let s2 = adam.init(params)
    let s3 = both.init(params)
    let s4 = momentum.init(params)
    let s5 = adam.init(params)
    const gs = [grads, { w: t64([0.1, -0.2]), b: t64([0.3]) }, { w: t64([-1, 2]), b: t64([0]) }] as Array<Params>
    for (const g of gs) {
      const [u1, n1] = opt.update(g, s1, params)
      const [u2, n2] = adam.update(g, s2, params)
      expect(values(u1.w)).toEqual(values(u2.w))
      expect(values(u1.b)).toEqual(values(u2.b))
      expect(values(n1.slots[1]!.w)).toEqual(values(n2.slots[1]!.w))
      const [u3, n3] = both.update(g, s3, params)
      const [m, n4] = momentum.update(g, s4, params)
      const [u5, n5] = adam.update(m, s5, params)
      expect(values(u3.w)).toEqual(values(u5.w))
      expect(values(n3.slots[0]!.w)).toEqual(values(n4.slots[0]!.w))
      expect(values(n3.slots[2]!.b)).toEqual(values(n5.slots[1]!.b))
      s1 = n1
      s2 = n2
      s3 = n3
      s4 = n4
      s5 = n5
    }
    expect(s1.step).toBe(3)
  })

  it("is pure, and step = applyUpdates(params, update(...))", () => {
    const opt = Optimizer.chain(Optimizer.clipByGlobalNorm(1), Optimizer.adam({ learningRate: 0.1 }))
    const state = opt.init(params)
    const snapshot = () => JSON.stringify([params, grads, state], (_, v) => (Tensor.isTensor(v) ? values(v) : v))
    const before = snapshot()
    const [u, n1] = opt.update(grads, state, params)
    const [p, n2] = opt.step(grads, state, params)
    expect(snapshot()).toBe(before)
    expect(values(p.w)).toEqual(values(Optimizer.applyUpdates(params, u).w))
    expect(values(n2.slots[0]!.b)).toEqual(values(n1.slots[0]!.b))
    expect(state.step).toBe(0)
  })

  it("chains a transformation written without slotCount (an Optimizer literal as before still type-checks)", () => {
    // a running sum of the updates in one slot, written the way optimizers were written before slotCount
    const add = (a: Tensor.AnyTensor, b: Tensor.AnyTensor) => Tensor.add(a, b)
    const sum: Optimizer.Optimizer = {
      name: "sum",
      init: (p) => ({ step: 0, slots: [Pytree.map(p, (t) => Tensor.zeros(t.shape, { dtype: t.dtype }))] }),
      update: (u, state) => {
        const total = Pytree.zipWith(state.slots[0]!, u, add)
        return [total, { step: state.step + 1, slots: [total] }] as const
      },
      step: (u, state, p) => {
        const total = Pytree.zipWith(state.slots[0]!, u, add)
        return [Pytree.zipWith(p, total, add), { step: state.step + 1, slots: [total] }] as const
      }
    }
    const adam = Optimizer.adam({ learningRate: 0.1 })
    const opt = Optimizer.chain(sum, adam)
    expect(opt.slotCount).toBeUndefined()
    let state = opt.init(params)
    expect(state.slots).toHaveLength(3)
    let s1 = sum.init(params)
    let s2 = adam.init(params)
    for (let i = 0; i < 2; i++) {
      const [u, next] = opt.update(grads, state, params)
      const [v, n1] = sum.update(grads, s1, params)
      const [w, n2] = adam.update(v, s2, params)
      expect(values(u.w)).toEqual(values(w.w))
      expect(values(next.slots[0]!.b)).toEqual(values(n1.slots[0]!.b))
      expect(values(next.slots[2]!.w)).toEqual(values(n2.slots[1]!.w))
      state = next
      s1 = n1
      s2 = n2
    }
  })

  it("refuses a state of another shape and mismatched gradients", () => {
    const opt = Optimizer.chain(Optimizer.adam())
    expect(() => opt.update(grads, { step: 0, slots: [] }, params)).toThrow(/slots/)
    expect(() => Optimizer.clipByGlobalNorm(1).update({ w: t64([1]) } as never, { step: 0, slots: [] }, params))
      .toThrow(/tensors/)
  })
})
