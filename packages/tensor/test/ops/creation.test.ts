import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { pipe } from "effect/Function"
import { describe, expect, it } from "vitest"

describe("creation and reading", () => {
  it("zeros, ones, full, fromArray, toArray in both dtypes", () => {
    const z = Tensor.zeros([2, 3])
    expect(z.shape).toEqual([2, 3])
    expect(z.dtype).toBe("float32")
    expect(Tensor.toArray(z)).toEqual(new Float32Array(6))
    const o = Tensor.ones([2], { dtype: "float64" })
    expect(o.dtype).toBe("float64")
    expect(Tensor.toArray(o)).toBeInstanceOf(Float64Array)
    expect(Array.from(Tensor.toArray(Tensor.full([3], 0.5)))).toEqual([0.5, 0.5, 0.5])
    const s = Tensor.scalar(3)
    expect(s.shape).toEqual([])
    expect(Tensor.toArray(s).length).toBe(1)
    expect(Tensor.item(s)).toBe(3)
    const m = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], { dtype: "float64" })
    expect([...m.shape]).toEqual([2, 3])
    expect(Array.from(Tensor.toArray(m))).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("toArray returns a fresh copy; tensors are immutable", () => {
    const t = Tensor.fromArray([1, 2], [2])
    const a = Tensor.toArray(t)
    a[0] = 99
    expect(Tensor.toArray(t)[0]).toBe(1)
    expect(Object.isFrozen(t.shape)).toBe(true)
  })

  it("fromArray rejects a wrong length with a ShapeError naming the sizes", () => {
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(ShapeError)
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(
      /fromArray: data has 3 elements but shape \[2, 2\] needs 4/
    )
  })

  it("rejects nested arrays with a hint to flatten them", () => {
    expect(() => Tensor.fromArray([[1, 2], [3, 4]] as unknown as ArrayLike<number>, [2, 2])).toThrow(
      /flatten nested arrays/
    )
  })

  it("rejects bad dims and dtypes", () => {
    expect(() => Tensor.zeros([2, -1] as ReadonlyArray<number>)).toThrow(/invalid dim -1/)
    expect(() => Tensor.zeros([1.5] as ReadonlyArray<number>)).toThrow(ShapeError)
    expect(() => Tensor.zeros([2], { dtype: "int8" as "float32" })).toThrow(/unknown dtype/)
    expect(() => Tensor.add(Tensor.ones([2]), Tensor.ones([2], { dtype: "float64" }) as never)).toThrow(/dtypes/)
  })

  it("is Pipeable and dual", () => {
    const x = Tensor.fromArray([-1, 2], [2])
    expect(Array.from(Tensor.toArray(x.pipe(Tensor.relu, Tensor.add(1))))).toEqual([1, 3])
    expect(Array.from(Tensor.toArray(pipe(x, Tensor.mul(Tensor.fromArray([3, 4], [2])))))).toEqual([-3, 8])
    expect(Tensor.item(Tensor.sum(x))).toBe(1)
    expect(Tensor.item(pipe(x, Tensor.sum({ axis: 0 })))).toBe(1)
    expect(Tensor.transpose(Tensor.zeros([2, 3])).shape).toEqual([3, 2])
    expect(pipe(Tensor.zeros([2, 3]), Tensor.transpose([1, 0])).shape).toEqual([3, 2])
    expect(Tensor.softmax(x).shape).toEqual([2])
    expect(Tensor.isTensor(x)).toBe(true)
    expect(Tensor.isTensor({ shape: [] })).toBe(false)
  })
})
