import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "../reference.ts"
import { close, DTYPES, values } from "./support.ts"

describe("reductions", () => {
  const config = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 })
    .chain((shape) =>
      fc.tuple(
        fc.constant(shape),
        fc.subarray(shape.map((_, i) => i)),
        fc.boolean(),
        values(Ref.size(shape)),
        fc.boolean()
      )
    )
  for (const dtype of DTYPES) {
    for (const kind of ["sum", "mean", "max"] as const) {
      it(`${kind} along any axes (${dtype})`, () => {
        fc.assert(
          fc.property(config, ([shape, axes, keepDims, data, negative]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const op = kind === "sum" ? Tensor.sum : kind === "mean" ? Tensor.mean : Tensor.max
            const axisArg = negative ? axes.map((a) => a - shape.length) : axes
            const r = axes.length === shape.length && !keepDims && axes.length > 0 && negative
              ? op(t)
              : op(t, { axis: axisArg, keepDims })
            const want = Ref.reduce(kind, dtype === "float32" ? data.map(Math.fround) : data, shape, axes, keepDims)
            expect([...r.shape]).toEqual(want.shape)
            close(Tensor.toArray(r), want.data, dtype, 4)
          }),
          { numRuns: 60 }
        )
      })
    }
  }

  it("reduces everything by default and keeps dims on request", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    expect(Tensor.sum(t).shape).toEqual([])
    expect(Tensor.item(Tensor.sum(t))).toBe(21)
    expect(Tensor.item(Tensor.mean(t))).toBe(3.5)
    expect(Tensor.item(Tensor.max(t))).toBe(6)
    expect(Tensor.sum(t, { axis: 1, keepDims: true }).shape).toEqual([2, 1])
    expect(Array.from(Tensor.toArray(Tensor.sum(t, { axis: 0 })))).toEqual([5, 7, 9])
    expect(Array.from(Tensor.toArray(Tensor.max(t, { axis: -1 })))).toEqual([3, 6])
  })

  it("max propagates NaN", () => {
    expect(Tensor.item(Tensor.max(Tensor.fromArray([1, NaN, 3], [3])))).toBeNaN()
  })

  it("rejects an axis out of range", () => {
    const t = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    expect(() => Tensor.sum(t, { axis: 2 })).toThrow(ShapeError)
    expect(() => Tensor.sum(t, { axis: 2 })).toThrow(/sum: axis 2/)
  })
})
