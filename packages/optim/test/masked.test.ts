// Optimizer.masked: a transformation applied to the leaves a mask selects, by path or by a pytree of booleans.
import { Optimizer } from "@typegrad/optim"
import { Pytree, Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const t64 = (xs: ReadonlyArray<number>) => Tensor.fromArray(xs, [xs.length], { dtype: "float64" })
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

type Vec<N extends number> = Tensor.Tensor<readonly [N], "float64">
type Params = {
  readonly layers: ReadonlyArray<{ readonly kernel: Vec<2>; readonly bias: Vec<1> }>
  readonly scale: Vec<1>
}
const params: Params = {
  layers: [{ kernel: t64([1, 2]) as Vec<2>, bias: t64([3]) as Vec<1> }, {
    kernel: t64([-1, 0.5]) as Vec<2>,
    bias: t64([4]) as Vec<1>
  }],
  scale: t64([2]) as Vec<1>
}
const grads: Params = {
  layers: [{ kernel: t64([3, 0]) as Vec<2>, bias: t64([1]) as Vec<1> }, {
    kernel: t64([0, 4]) as Vec<2>,
    bias: t64([-2]) as Vec<1>
  }],
  scale: t64([5]) as Vec<1>
}

describe("masked", () => {
  it("applies the transformation where a path predicate holds and passes the rest through", () => {
    const seen: Array<string> = []
    const opt = Optimizer.masked(Optimizer.scale(10), (path) => {
      seen.push(Pytree.pathString(path))
      return path.at(-1) === "kernel"
    })
    const [u] = opt.update(grads, opt.init(params), params)
    expect(values(u.layers[0]!.kernel)).toEqual([30, 0])
    expect(values(u.layers[1]!.kernel)).toEqual([0, 40])
    expect(values(u.layers[0]!.bias)).toEqual([1])
    expect(values(u.layers[1]!.bias)).toEqual([-2])
    expect(values(u.scale)).toEqual([5])
    expect(seen).toContain("layers.1.kernel")
    expect(seen).toContain("scale")
  })

  it("takes a pytree of booleans, where a boolean may stand for a subtree", () => {
    const mask: Optimizer.MaskTree<Params> = { layers: [true, { kernel: false, bias: true }], scale: false }
    const opt = Optimizer.masked(Optimizer.scale(-1), mask)
    const [u] = opt.update(grads, opt.init(params), params)
    expect(values(u.layers[0]!.kernel)).toEqual([-3, -0])
    expect(values(u.layers[0]!.bias)).toEqual([-1])
    expect(values(u.layers[1]!.kernel)).toEqual([0, 4])
    expect(values(u.layers[1]!.bias)).toEqual([2])
    expect(values(u.scale)).toEqual([5])
    // @ts-expect-error a typed mask names the params' keys
    const wrong: Optimizer.MaskTree<Params> = { layers: true, scal: false }
    expect(() => Optimizer.masked(Optimizer.scale(2), wrong).init(params)).toThrow(/no entry for scale/)
  })

  it("the inner transformation sees only the selected leaves (global norm of the kernels alone)", () => {
    const opt = Optimizer.masked(Optimizer.clipByGlobalNorm(1), (path) => path.at(-1) === "kernel")
    // kernels (3, 0) and (0, 4): norm 5
    const [u] = opt.update(grads, opt.init(params), params)
    expect(values(u.layers[0]!.kernel)[0]).toBeCloseTo(3 / 5, 15)
    expect(values(u.layers[1]!.kernel)[1]).toBeCloseTo(4 / 5, 15)
    expect(values(u.scale)).toEqual([5])
  })

  it("keeps a stateful transformation's slots in the params' structure, zero where masked out", () => {
    const adam = Optimizer.adam({ learningRate: 0.1 })
    const opt = Optimizer.masked(adam, (path) => path[0] === "scale")
    let state = opt.init(params)
    let alone = adam.init({ scale: params.scale })
    for (const g of [grads, grads]) {
      const [u, next] = opt.update(g, state, params)
      const [v, nextAlone] = adam.update({ scale: g.scale }, alone, { scale: params.scale })
      expect(values(u.scale)).toEqual(values(v.scale))
      expect(values(u.layers[1]!.kernel)).toEqual(values(g.layers[1]!.kernel))
      expect(values(next.slots[0]!.scale)).toEqual(values(nextAlone.slots[0]!.scale))
      expect(values(next.slots[1]!.layers[0]!.kernel)).toEqual([0, 0])
      state = next
      alone = nextAlone
    }
    expect(state.step).toBe(2)
  })
})
