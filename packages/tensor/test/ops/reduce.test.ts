import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { pipe } from "effect/Function"
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
    for (const kind of ["sum", "mean", "max", "min", "logsumexp"] as const) {
      it(`${kind} along any axes (${dtype})`, () => {
        fc.assert(
          fc.property(config, ([shape, axes, keepDims, data, negative]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const op = kind === "sum"
              ? Tensor.sum
              : kind === "mean"
              ? Tensor.mean
              : kind === "max"
              ? Tensor.max
              : kind === "min"
              ? Tensor.min
              : Tensor.logsumexp
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

  it("min and logsumexp: defaults, keepDims, data-last, NaN and empty tensors", () => {
    const t = Tensor.fromArray([3, 1, 2, -4, 5, -4], [2, 3])
    expect(Tensor.item(Tensor.min(t))).toBe(-4)
    expect(Array.from(Tensor.toArray(pipe(t, Tensor.min({ axis: 1 }))))).toEqual([1, -4])
    expect(Tensor.min(t, { axis: 0, keepDims: true }).shape).toEqual([1, 3])
    expect(Tensor.item(Tensor.min(Tensor.fromArray([1, NaN, 3], [3])))).toBeNaN()
    expect(() => Tensor.min(Tensor.zeros([0]))).toThrow("min: cannot take the minimum of an empty tensor of shape [0]")
    expect(() => Tensor.min(t as Tensor.Tensor<ReadonlyArray<number>>, { axis: 2 })).toThrow(/min: axis 2/)
    const l = Tensor.logsumexp(Tensor.fromArray([0, Math.log(3), 1000, 1000], [2, 2], { dtype: "float64" }), {
      axis: 1
    })
    expect(Array.from(Tensor.toArray(l))).toEqual([Math.log(4), 1000 + Math.log(2)])
    const inf = Tensor.fromArray([-Infinity, -Infinity, Infinity, 0], [2, 2], { dtype: "float64" })
    expect(Array.from(Tensor.toArray(pipe(inf, Tensor.logsumexp({ axis: -1, keepDims: true }))))).toEqual([
      -Infinity,
      Infinity
    ])
    expect(Tensor.item(Tensor.logsumexp(Tensor.fromArray([NaN, 1], [2])))).toBeNaN()
    expect(() => Tensor.logsumexp(Tensor.zeros([2, 0]))).toThrow("logsumexp: cannot reduce an empty tensor")
  })

  for (const dtype of DTYPES) {
    for (const kind of ["argmax", "argmin"] as const) {
      it(`${kind} gives the index of the first extreme along any axis (${dtype})`, () => {
        const withTies = fc
          .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 })
          .chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.integer({ min: 0, max: shape.length - 1 }),
              // Few distinct values, so ties are frequent and the first-index convention is exercised.
              fc.array(fc.integer({ min: -2, max: 2 }), { minLength: Ref.size(shape), maxLength: Ref.size(shape) }),
              fc.boolean(),
              fc.boolean()
            )
          )
        fc.assert(
          fc.property(withTies, ([shape, axis, data, keepDims, negative]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const op = kind === "argmax" ? Tensor.argmax : Tensor.argmin
            const r = op(t, { axis: negative ? axis - shape.length : axis, keepDims })
            const want = Ref.argReduce(kind, data, shape, axis)
            expect(r.dtype).toBe(dtype)
            expect([...r.shape]).toEqual(keepDims ? shape.map((d, i) => (i === axis ? 1 : d)) : want.shape)
            expect(Array.from(Tensor.toArray(r))).toEqual(want.data)
          }),
          { numRuns: 60 }
        )
      })
    }
  }

  it("argmax/argmin: flattened by default, data-last, NaN first, errors", () => {
    const t = Tensor.fromArray([3, 7, 2, 7, -1, 0], [2, 3])
    expect(Tensor.item(Tensor.argmax(t))).toBe(1)
    expect(Tensor.item(Tensor.argmin(t))).toBe(4)
    expect(Tensor.argmax(t).shape).toEqual([])
    expect(Array.from(Tensor.toArray(pipe(t, Tensor.argmax({ axis: -1 }))))).toEqual([1, 0])
    expect(Array.from(Tensor.toArray(t.pipe(Tensor.argmin)))).toEqual([4])
    expect(Tensor.item(Tensor.argmax(Tensor.fromArray([1, NaN, 5, NaN], [4])))).toBe(1)
    expect(Tensor.item(Tensor.argmin(Tensor.fromArray([1, NaN, -5], [3])))).toBe(1)
    const dyn = t as Tensor.Tensor<ReadonlyArray<number>>
    expect(() => Tensor.argmax(dyn, { axis: 2 })).toThrow(/argmax: axis 2/)
    expect(() => Tensor.argmax(dyn, { axis: [0] } as unknown as Tensor.ArgReduceOptions)).toThrow(
      "argmax: axis must be a single number, got [0]"
    )
    expect(() => Tensor.argmin(Tensor.zeros([2, 0]), { axis: 1 })).toThrow(
      "argmin: cannot reduce an empty axis of shape [2, 0]"
    )
  })

  it("rejects an axis out of range", () => {
    const t = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    expect(() => Tensor.sum(t, { axis: 2 })).toThrow(ShapeError)
    expect(() => Tensor.sum(t, { axis: 2 })).toThrow(/sum: axis 2/)
  })
})
