import { grad, valueAndGradAux } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

type V = Tensor.Tensor<readonly [3], "float64">
const v = (xs: ReadonlyArray<number>): V => Tensor.fromArray(xs, [3], { dtype: "float64" })

describe("valueAndGradAux", () => {
  it("returns the value, plain auxiliary tensors and the gradient of the value only", () => {
    const f = (x: V) => {
      const y = Tensor.exp(x)
      return [Tensor.sum(y), { y, label: "exp" }] as const
    }
    const [value, aux, g] = valueAndGradAux(f)(v([0, 1, 2]))
    expect(Tensor.item(value)).toBeCloseTo(1 + Math.E + Math.exp(2), 12)
    expect(Array.from(Tensor.toArray(aux.y))).toEqual([1, Math.E, Math.exp(2)])
    expect(aux.label).toBe("exp")
    expect(Array.from(Tensor.toArray(g))).toEqual([1, Math.E, Math.exp(2)])
    // The aux tensor is a plain value: using it later records nothing and needs no trace.
    expect(Tensor.item(Tensor.sum(aux.y))).toBeCloseTo(Tensor.item(value), 12)
  })

  it("composes under an enclosing grad (aux stays a value of the enclosing trace)", () => {
    // The inner gradient of sum(y^2 * x) is 2 y x; at y = x, sum(g) = sum(2 x^2), whose derivative is 4x.
    const outer = grad((x: V) => {
      const [, aux, g] = valueAndGradAux((y: V) =>
        [Tensor.sum(Tensor.mul(Tensor.square(y), x)), Tensor.mul(y, 2)] as const
      )(x)
      return Tensor.sum(Tensor.add(g, Tensor.mul(aux, 0)))
    })
    expect(Array.from(Tensor.toArray(outer(v([1, 2, 3]))))).toEqual([4, 8, 12])
  })
})
