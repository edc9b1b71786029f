import { grad, valueAndGradAux } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { toImpl } from "@typegrad/tensor/internal"
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

  it("unwraps tracers inside null-prototype objects too (the pytree rule for nodes)", () => {
    const traceOf = (t: Tensor.AnyTensor) => toImpl(t).trace
    const f = (x: V) => {
      const y = Tensor.exp(x)
      const aux: { y: V; nested: Array<{ y: V }> } = Object.assign(Object.create(null), {
        y,
        nested: [Object.assign(Object.create(null), { y })]
      })
      return [Tensor.sum(y), aux] as const
    }
    const [, aux] = valueAndGradAux(f)(v([0, 1, 2]))
    expect(traceOf(aux.y)).toBeUndefined()
    expect(traceOf(aux.nested[0]!.y)).toBeUndefined()
    expect(Array.from(Tensor.toArray(aux.nested[0]!.y))).toEqual([1, Math.E, Math.exp(2)])
  })

  it("keeps non-tensor aux values as they are (class instances, typed arrays, undefined)", () => {
    class Note {
      readonly text: string
      constructor(text: string) {
        this.text = text
      }
    }
    const note = new Note("kept")
    const raw = new Float64Array([1, 2])
    const [, aux] = valueAndGradAux((x: V) => [Tensor.sum(x), { note, raw, none: undefined }] as const)(v([1, 2, 3]))
    expect(aux.note).toBe(note)
    expect(aux.raw).toBe(raw)
    expect(aux.none).toBeUndefined()
  })
})
