import { grad } from "@typegrad/autodiff"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const t64 = (xs: ReadonlyArray<number>) => Tensor.fromArray(xs, [xs.length], { dtype: "float64" })
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

/** Reference implementations of one parameter's trajectory, straight from the update formulas. */
const reference = {
  sgd: (lr: number) => (g: number) => -lr * g,
  momentum: (lr: number, mu: number, nesterov: boolean) => (g: number, s: { v: number }) => {
    s.v = mu * s.v + g
    return nesterov ? -lr * (g + mu * s.v) : -lr * s.v
  },
  adam: (lr: number, b1: number, b2: number, eps: number) => {
    let t = 0
    let m = 0
    let v = 0
    return (g: number) => {
      t++
      m = b1 * m + (1 - b1) * g
      v = b2 * v + (1 - b2) * g * g
      return -lr * (m / (1 - b1 ** t)) / (Math.sqrt(v / (1 - b2 ** t)) + eps)
    }
  },
  rmsprop: (lr: number, rho: number, eps: number) => {
    let s = 0
    return (g: number) => {
      s = rho * s + (1 - rho) * g * g
      return (-lr * g) / (Math.sqrt(s) + eps)
    }
  }
}

describe("optimizers match their update formulas", () => {
  const gradients = [[0.5, -1, 2], [0.1, 0.3, -0.7], [-2, 0.25, 1], [0.9, -0.4, 0]]
  const cases = [
    ["sgd", Optimizer.sgd({ learningRate: 0.1 }), () => reference.sgd(0.1)],
    ["momentum", Optimizer.sgd({ learningRate: 0.1, momentum: 0.9 }), () => {
      const s = { v: 0 }
      const f = reference.momentum(0.1, 0.9, false)
      return (g: number) => f(g, s)
    }],
    ["nesterov", Optimizer.sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true }), () => {
      const s = { v: 0 }
      const f = reference.momentum(0.1, 0.9, true)
      return (g: number) => f(g, s)
    }],
    ["adam", Optimizer.adam({ learningRate: 0.01 }), () => reference.adam(0.01, 0.9, 0.999, 1e-7)],
    ["rmsprop", Optimizer.rmsprop({ learningRate: 0.01, rho: 0.8 }), () => reference.rmsprop(0.01, 0.8, 1e-7)]
  ] as const
  for (const [name, opt, makeRef] of cases) {
    it(`${name}`, () => {
      const refs = [makeRef(), makeRef(), makeRef()]
      const params = { w: t64([1, 2, 3]) }
      let state = opt.init(params)
      for (const g of gradients) {
        const [updates, next] = opt.update({ w: t64(g) }, state, params)
        const want = g.map((gi, i) => refs[i]!(gi))
        const got = values(updates.w)
        got.forEach((u, i) => expect(u).toBeCloseTo(want[i]!, 14))
        state = next
      }
      expect(state.step).toBe(gradients.length)
    })
  }
})

describe("purity and structure", () => {
  it("update changes none of its inputs and keeps the pytree structure and dtypes", () => {
    const params = { layers: [{ kernel: Tensor.ones([2, 2]), bias: Tensor.zeros([2]) }], scale: t64([1]) }
    const grads = { layers: [{ kernel: Tensor.full([2, 2], 0.5), bias: Tensor.ones([2]) }], scale: t64([2]) }
    const opt = Optimizer.adam()
    const state = opt.init(params)
    const before = JSON.stringify(
      [params, grads, state].map((x) => JSON.stringify(x, (_, v) => (Tensor.isTensor(v) ? values(v) : v)))
    )
    const [updates, next] = opt.update(grads, state, params)
    const after = JSON.stringify(
      [params, grads, state].map((x) => JSON.stringify(x, (_, v) => (Tensor.isTensor(v) ? values(v) : v)))
    )
    expect(after).toBe(before)
    expect(updates.layers[0]!.kernel.shape).toEqual([2, 2])
    expect(updates.scale.dtype).toBe("float64")
    expect(next.slots).toHaveLength(2)
    expect(state.step).toBe(0)
    const applied = Optimizer.applyUpdates(params, updates)
    expect(values(applied.layers[0]!.bias)).toEqual(values(updates.layers[0]!.bias))
  })

  it("step = applyUpdates(params, update(...)) in one pass, for every optimizer", () => {
    const params = { w: t64([1, -2, 3]), b: t64([0.5, 0, -0.5]) }
    const grads = { w: t64([0.3, -0.1, 2]), b: t64([-1, 0.25, 0]) }
    for (
      const opt of [
        Optimizer.sgd({ learningRate: 0.1 }),
        Optimizer.sgd({ learningRate: 0.1, momentum: 0.9 }),
        Optimizer.adam(),
        Optimizer.rmsprop()
      ]
    ) {
      let s1 = opt.init(params)
      let s2 = opt.init(params)
      let p1 = params
      let p2 = params
      for (let i = 0; i < 3; i++) {
        const [u, n1] = opt.update(grads, s1, p1)
        p1 = Optimizer.applyUpdates(p1, u)
        s1 = n1
        const [q, n2] = opt.step(grads, s2, p2)
        p2 = q
        s2 = n2
      }
      expect(values(p2.w)).toEqual(values(p1.w))
      expect(values(p2.b)).toEqual(values(p1.b))
      expect(values(s2.slots[0]?.w ?? t64([]))).toEqual(values(s1.slots[0]?.w ?? t64([])))
    }
  })

  it("rejects bad hyperparameters and mismatched gradients", () => {
    expect(() => Optimizer.sgd({ learningRate: -1 })).toThrow(/learningRate/)
    expect(() => Optimizer.adam({ beta1: 1 })).toThrow(/beta1/)
    const opt = Optimizer.sgd({ learningRate: 0.1 })
    const params = { w: Tensor.ones([2]) }
    expect(() => opt.update({ w: Tensor.ones([3]) } as never, opt.init(params), params)).toThrow(/shape/)
  })

  it("minimises a quadratic (each optimizer)", () => {
    const target = t64([3, -2, 0.5])
    const loss = (p: { w: Tensor.Tensor<readonly [3], "float64"> }) =>
      Tensor.sum(Tensor.square(Tensor.sub(p.w, target)))
    const dloss = grad(loss)
    for (
      const opt of [
        Optimizer.sgd({ learningRate: 0.1 }),
        Optimizer.sgd({ learningRate: 0.05, momentum: 0.9, nesterov: true }),
        Optimizer.adam({ learningRate: 0.1 }),
        Optimizer.rmsprop({ learningRate: 0.05 })
      ]
    ) {
      let params = { w: t64([0, 0, 0]) as Tensor.Tensor<readonly [3], "float64"> }
      let state = opt.init(params)
      for (let i = 0; i < 500; i++) {
        const [updates, next] = opt.update(dloss(params), state, params)
        params = Optimizer.applyUpdates(params, updates)
        state = next
      }
      expect(Tensor.item(loss(params))).toBeLessThan(1e-3)
    }
  })

  it("learning rate schedules receive the step number", () => {
    const seen: Array<number> = []
    const opt = Optimizer.sgd({ learningRate: (step) => (seen.push(step), 1 / step) })
    const params = { w: t64([0]) }
    let state = opt.init(params)
    for (let i = 0; i < 3; i++) {
      const [u, next] = opt.update({ w: t64([1]) }, state, params)
      expect(values(u.w)[0]).toBeCloseTo(-1 / (i + 1), 15)
      state = next
    }
    expect(seen).toEqual([1, 2, 3])
  })
})
