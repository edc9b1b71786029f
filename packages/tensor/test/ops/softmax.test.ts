import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { close, DTYPES, values } from "./support.ts"

describe("softmax", () => {
  for (const dtype of DTYPES) {
    it(`rows sum to one, shift invariant, logSoftmax = log(softmax) (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 0, max: 1 }),
          (r, c, axis) =>
            fc.assert(
              fc.property(values(r * c), (data) => {
                const x = Tensor.fromArray(data.map((v) => v * 20), [r, c] as ReadonlyArray<number>, { dtype })
                const s = Tensor.softmax(x, axis)
                const sums = Tensor.toArray(Tensor.sum(s, { axis }))
                close(sums, new Array(sums.length).fill(1), dtype, 10)
                close(Tensor.toArray(Tensor.softmax(Tensor.add(x, 100), axis)), Tensor.toArray(s), dtype, 100)
                close(Tensor.toArray(Tensor.logSoftmax(x, axis)), Array.from(Tensor.toArray(s), Math.log), dtype, 100)
              }),
              { numRuns: 3 }
            )
        ),
        { numRuns: 15 }
      )
    })
  }

  it("is stable for huge logits", () => {
    const x = Tensor.fromArray([1000, 0, -1000], [3], { dtype: "float64" })
    const l = Tensor.toArray(Tensor.logSoftmax(x))
    expect(l[0]).toBeCloseTo(0, 12)
    expect(l[1]).toBeCloseTo(-1000, 9)
    expect(Number.isFinite(l[2]!)).toBe(true)
  })
})
