import { grad, Pytree as FromAutodiff } from "@typegrad/autodiff"
import { Pytree, Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

describe("Pytree (re-exported from @typegrad/tensor)", () => {
  it("is the same module as @typegrad/tensor's", () => {
    expect(FromAutodiff).toBe(Pytree)
  })

  it("grad accepts null-prototype objects, as every pytree function does", () => {
    const params: { w: Tensor.Tensor<readonly [2], "float64"> } = Object.assign(Object.create(null), {
      w: Tensor.fromArray([1, 2], [2], { dtype: "float64" })
    })
    const g = grad((p: typeof params) => Tensor.sum(Tensor.square(p.w)))(params)
    expect(Array.from(Tensor.toArray(g.w))).toEqual([2, 4])
  })
})
