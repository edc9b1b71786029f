import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "../reference.ts"
import { close, DTYPES, values } from "./support.ts"

describe("matmul", () => {
  it("exact small case", () => {
    const a = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    const b = Tensor.fromArray([7, 8, 9, 10, 11, 12], [3, 2])
    const c = Tensor.matmul(a, b)
    expect(c.shape).toEqual([2, 2])
    expect(Array.from(Tensor.toArray(c))).toEqual([58, 64, 139, 154])
  })

  for (const dtype of DTYPES) {
    it(`matches the naive triple loop on random shapes (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.tuple(
            fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
            fc.integer({ min: 1, max: 70 }),
            fc.integer({ min: 1, max: 70 }),
            fc.integer({ min: 1, max: 70 })
          ).chain(([batch, m, k, n]) =>
            fc.tuple(
              fc.constant([...batch, m, k]),
              fc.constant([k, n]),
              values(Ref.size(batch) * m * k),
              values(k * n)
            )
          ),
          ([aShape, bShape, a, b]) => {
            const ta = Tensor.fromArray(a, aShape as ReadonlyArray<number>, { dtype })
            const tb = Tensor.fromArray(b, bShape as ReadonlyArray<number>, { dtype })
            const r = Tensor.matmul(ta, tb)
            const round = dtype === "float32" ? Math.fround : (x: number) => x
            expect([...r.shape]).toEqual([...aShape.slice(0, -1), bShape[1]])
            close(
              Tensor.toArray(r),
              Ref.matmul(a.map(round), aShape, b.map(round), bShape),
              dtype,
              10 * Math.sqrt(bShape[0]!)
            )
          }
        ),
        { numRuns: 40 }
      )
    })
  }

  it("batched right operand broadcasts", () => {
    const a = Tensor.fromArray([1, 0, 0, 1], [1, 2, 2])
    const b = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2])
    const c = Tensor.matmul(a, b)
    expect(c.shape).toEqual([2, 2, 2])
    expect(Array.from(Tensor.toArray(c))).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it("rejects mismatched inner dims at run time", () => {
    const a = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    const b = Tensor.zeros([4, 5] as ReadonlyArray<number>)
    expect(() => Tensor.matmul(a, b)).toThrow(ShapeError)
    expect(() => Tensor.matmul(a, b)).toThrow(/matmul/)
  })
})
