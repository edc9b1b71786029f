// AdamW (decoupled weight decay, Loshchilov & Hutter; Optax's adamw) against steps computed by hand.
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const t64 = (xs: ReadonlyArray<number>) => Tensor.fromArray(xs, [xs.length], { dtype: "float64" })
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

/** One coordinate of AdamW from the paper's formulas: p <- p - lr (mHat / (sqrt(vHat) + eps) + wd p). */
const reference = (lr: (t: number) => number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8) => {
  let t = 0
  let m = 0
  let v = 0
  return (g: number, p: number) => {
    t++
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    const mHat = m / (1 - b1 ** t)
    const vHat = v / (1 - b2 ** t)
    return -lr(t) * (mHat / (Math.sqrt(vHat) + eps) + wd * p)
  }
}

describe("adamw", () => {
  it("the first step by hand: mHat = g, vHat = g^2, so the update is -lr (g / (|g| + eps) + wd p)", () => {
    const opt = Optimizer.adamw({ learningRate: 0.1, weightDecay: 0.01 })
    const params = { w: t64([1, -2, 0]) }
    const [u, state] = opt.update({ w: t64([0.5, 0.25, -4]) }, opt.init(params), params)
    const want = [
      -0.1 * (0.5 / (0.5 + 1e-8) + 0.01 * 1),
      -0.1 * (0.25 / (0.25 + 1e-8) - 0.02),
      -0.1 * (-4 / (4 + 1e-8))
    ]
    values(u.w).forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 15))
    expect(state.step).toBe(1)
    expect(opt.name).toBe("adamw")
    expect(opt.slotCount).toBe(2)
  })

  it("follows the formulas over several steps, with the decay applied to the current parameters", () => {
    const lr = (t: number) => 0.05 / t
    const opt = Optimizer.adamw({ learningRate: lr, weightDecay: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 })
    const refs = [0, 1].map(() => reference(lr, 0.1, 0.8, 0.99, 1e-6))
    const gradients = [[0.5, -1], [0.1, 0.3], [-2, 0.25], [0.9, 0]]
    let params = { w: t64([1, -3]) }
    let state = opt.init(params)
    for (const g of gradients) {
      const before = values(params.w)
      const [p, next] = opt.step({ w: t64(g) }, state, params)
      values(p.w).forEach((x, i) => expect(x).toBeCloseTo(before[i]! + refs[i]!(g[i]!, before[i]!), 14))
      params = p
      state = next
    }
    expect(state.step).toBe(4)
  })

  it("weight decay 0 is Adam with epsilon 1e-8, and the mask keeps biases from decaying", () => {
    const params = { kernel: t64([2, -1]), bias: t64([3]) }
    const grads = { kernel: t64([0.2, 0.4]), bias: t64([-0.6]) }
    const plain = Optimizer.adamw({ learningRate: 0.01, weightDecay: 0 })
    const adam = Optimizer.adam({ learningRate: 0.01, epsilon: 1e-8 })
    const [a] = plain.update(grads, plain.init(params), params)
    const [b] = adam.update(grads, adam.init(params), params)
    values(a.kernel).forEach((x, i) => expect(x).toBeCloseTo(values(b.kernel)[i]!, 15))
    const maskedOpt = Optimizer.adamw({ learningRate: 0.01, weightDecay: 0.5, mask: (path) => path[0] !== "bias" })
    const [c] = maskedOpt.update(grads, maskedOpt.init(params), params)
    expect(values(c.bias)[0]).toBeCloseTo(values(b.bias)[0]!, 15)
    expect(values(c.kernel)[0]).toBeCloseTo(values(b.kernel)[0]! - 0.01 * 0.5 * 2, 15)
    const tree = Optimizer.adamw({ learningRate: 0.01, weightDecay: 0.5, mask: { kernel: true, bias: false } })
    const [d] = tree.update(grads, tree.init(params), params)
    expect(values(d.bias)).toEqual(values(c.bias))
    expect(values(d.kernel)).toEqual(values(c.kernel))
  })

  it("equals chain(scaleByAdam, addDecayedWeights, scaleByLearningRate)", () => {
    const opt = Optimizer.adamw({ learningRate: 0.02, weightDecay: 0.05 })
    const chained = Optimizer.chain(
      Optimizer.scaleByAdam(),
      Optimizer.addDecayedWeights(0.05),
      Optimizer.scaleByLearningRate(0.02)
    )
    const params = { w: t64([1, 2]) }
    let s1 = opt.init(params)
    let s2 = chained.init(params)
    for (const g of [[1, -1], [0.5, 2]]) {
      const [u1, n1] = opt.update({ w: t64(g) }, s1, params)
      const [u2, n2] = chained.update({ w: t64(g) }, s2, params)
      expect(values(u1.w)).toEqual(values(u2.w))
      s1 = n1
      s2 = n2
    }
  })
})
