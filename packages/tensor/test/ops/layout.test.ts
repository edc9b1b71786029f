import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "../reference.ts"
import { close, DTYPES, values } from "./support.ts"

describe("shape manipulation", () => {
  it("reshape with -1 and flatten share the data", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    expect(Tensor.reshape(t, [3, -1]).shape).toEqual([3, 2])
    expect(Tensor.flatten(Tensor.zeros([2, 3, 4])).shape).toEqual([2, 12])
    expect(Array.from(Tensor.toArray(Tensor.reshape(t, [6])))).toEqual([1, 2, 3, 4, 5, 6])
    expect(() => Tensor.reshape(t as Tensor.Tensor<ReadonlyArray<number>>, [4, -1])).toThrow(ShapeError)
  })

  for (const dtype of DTYPES) {
    it(`transpose by any permutation (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }).chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }),
              values(Ref.size(shape))
            )
          ),
          ([shape, perm, data]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const r = Tensor.transpose(t, perm)
            const want = Ref.transpose(dtype === "float32" ? data.map(Math.fround) : data, shape, perm)
            expect([...r.shape]).toEqual(want.shape)
            close(Tensor.toArray(r), want.data, dtype)
          }
        ),
        { numRuns: 60 }
      )
    })
  }

  it("concat along any axis", () => {
    const a = Tensor.fromArray([1, 2, 3, 4], [2, 2])
    const b = Tensor.fromArray([5, 6], [2, 1])
    const c = Tensor.concat([a, b], 1)
    expect(c.shape).toEqual([2, 3])
    expect(Array.from(Tensor.toArray(c))).toEqual([1, 2, 5, 3, 4, 6])
    const d = Tensor.concat([a, Tensor.fromArray([7, 8], [1, 2])], 0)
    expect(Array.from(Tensor.toArray(d))).toEqual([1, 2, 3, 4, 7, 8])
    expect(Array.from(Tensor.toArray(Tensor.concat([a, b], -1)))).toEqual([1, 2, 5, 3, 4, 6])
    expect(() => Tensor.concat([a, Tensor.zeros([3, 3]) as Tensor.Tensor<ReadonlyArray<number>>], 1)).toThrow(
      ShapeError
    )
  })

  it("slice and pad are inverse on the padded region", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    const p = Tensor.pad(t, [[1, 0], [0, 2]])
    expect(p.shape).toEqual([3, 5])
    expect(Array.from(Tensor.toArray(p))).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0])
    expect(Array.from(Tensor.toArray(Tensor.slice(p, [1, 0], [2, 3])))).toEqual([1, 2, 3, 4, 5, 6])
    expect(Array.from(Tensor.toArray(Tensor.slice(t, [0, 1], [2, 1])))).toEqual([2, 5])
    expect(() => Tensor.slice(t, [1, 1], [2, 2])).toThrow(/does not fit/)
  })
})
