import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { pipe } from "effect/Function"
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
    const dyn = t as Tensor.Tensor<ReadonlyArray<number>>
    expect(() => Tensor.slice(dyn, [1, 1], [2, 2])).toThrow(
      "slice: box [1, 1] + [2, 2] does not fit in shape [2, 3] at axis 0"
    )
    expect(() => Tensor.slice(dyn, [0, 2], [1, -1])).not.toThrow()
    expect(() => Tensor.slice(dyn, [0, 4], [1, -1])).toThrow(
      "slice: box [0, 4] + [1, -1] does not fit in shape [2, 3] at axis 1"
    )
    expect(() => Tensor.slice(dyn, [0], [1])).toThrow(
      "slice: begin [0] and size [1] must have one entry per axis of [2, 3]"
    )
    expect(() => Tensor.slice(dyn, [0.5, 0], [1, 1])).toThrow(ShapeError)
  })

  for (const dtype of DTYPES) {
    it(`slice takes any box, data-first and data-last (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.tuple(...shape.map((d) =>
                fc.integer({ min: 0, max: d - 1 }).chain((b) =>
                  fc.tuple(fc.constant(b), fc.integer({ min: -1, max: d - b }))
                )
              )),
              values(Ref.size(shape)),
              fc.boolean()
            )
          ),
          ([shape, boxes, data, last]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const begin = boxes.map(([b]) => b)
            const size = boxes.map(([, z]) => z)
            const r = last ? pipe(t, Tensor.slice(begin, size)) : Tensor.slice(t, begin, size)
            const out = size.map((z, i) => (z === -1 ? shape[i]! - begin[i]! : z))
            // Reference: every input index inside the box, in row-major order.
            const want: Array<number> = []
            const strides = shape.map((_, i) => Ref.size(shape.slice(i + 1)))
            for (let k = 0; k < Ref.size(out); k++) {
              let rest = k
              let flat = 0
              for (let i = out.length - 1; i >= 0; i--) {
                flat += (begin[i]! + (rest % out[i]!)) * strides[i]!
                rest = Math.floor(rest / out[i]!)
              }
              want.push(data[flat]!)
            }
            expect([...r.shape]).toEqual(out)
            close(Tensor.toArray(r), dtype === "float32" ? want.map(Math.fround) : want, dtype)
          }
        ),
        { numRuns: 60 }
      )
    })
  }

  it("squeeze and expandDims reshape without copying and check the axis at run time", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [1, 2, 1, 3])
    expect(Tensor.squeeze(t).shape).toEqual([2, 3])
    expect(Tensor.squeeze(t, 2).shape).toEqual([1, 2, 3])
    expect(pipe(t, Tensor.squeeze(-4)).shape).toEqual([2, 1, 3])
    expect(Array.from(Tensor.toArray(Tensor.squeeze(t)))).toEqual([1, 2, 3, 4, 5, 6])
    expect(Tensor.squeeze(Tensor.zeros([1])).shape).toEqual([])
    const dyn = t as Tensor.Tensor<ReadonlyArray<number>>
    expect(() => Tensor.squeeze(dyn, 1)).toThrow("squeeze: cannot squeeze axis 1 of size 2 in [1, 2, 1, 3]")
    expect(() => Tensor.squeeze(dyn, 4)).toThrow(/squeeze: axis 4 out of range for rank 4/)
    const e = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], { dtype: "float64" })
    expect(Tensor.expandDims(e, 0).shape).toEqual([1, 2, 3])
    expect(Tensor.expandDims(e, 1).shape).toEqual([2, 1, 3])
    expect(pipe(e, Tensor.expandDims(-1)).shape).toEqual([2, 3, 1])
    expect(Tensor.expandDims(e, -3).dtype).toBe("float64")
    expect(Array.from(Tensor.toArray(Tensor.expandDims(e, 1)))).toEqual([1, 2, 3, 4, 5, 6])
    expect(() => Tensor.expandDims(e as Tensor.Tensor<ReadonlyArray<number>, "float64">, 3)).toThrow(
      /expandDims: axis 3 out of range for rank 3/
    )
  })

  for (const dtype of DTYPES) {
    it(`stack along any axis matches a reference (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }).chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.integer({ min: -shape.length - 1, max: shape.length }),
              fc.array(values(Ref.size(shape)), { minLength: 1, maxLength: 4 })
            )
          ),
          ([shape, axis, datas]) => {
            const ts = datas.map((d) => Tensor.fromArray(d, shape as ReadonlyArray<number>, { dtype }))
            const r = Tensor.stack(ts, axis)
            const a = axis < 0 ? axis + shape.length + 1 : axis
            const outShape = [...shape.slice(0, a), datas.length, ...shape.slice(a)]
            // Reference: out[..., k, ...] = datas[k][...], by unravelling every output index.
            const inner = Ref.size(shape.slice(a))
            const outer = Ref.size(shape.slice(0, a))
            const want: Array<number> = []
            for (let o = 0; o < outer; o++) {
              for (let k = 0; k < datas.length; k++) {
                for (let i = 0; i < inner; i++) want.push(datas[k]![o * inner + i]!)
              }
            }
            expect([...r.shape]).toEqual(outShape)
            expect(r.dtype).toBe(dtype)
            close(Tensor.toArray(r), dtype === "float32" ? want.map(Math.fround) : want, dtype)
          }
        ),
        { numRuns: 60 }
      )
    })
  }

  it("stack: data-last, and the run-time checks", () => {
    const a = Tensor.fromArray([1, 2], [2])
    const b = Tensor.fromArray([3, 4], [2])
    expect(Array.from(Tensor.toArray(pipe([a, b], Tensor.stack(1))))).toEqual([1, 3, 2, 4])
    const dyn = (s: ReadonlyArray<number>) => Tensor.zeros(s)
    expect(() => Tensor.stack([dyn([2, 3]), dyn([2, 4])])).toThrow("stack: shapes [2, 3] and [2, 4] differ at axis 1")
    expect(() => Tensor.stack([dyn([2, 3]), dyn([3])])).toThrow("stack: shapes [2, 3] and [3] have different ranks")
    expect(() => Tensor.stack([] as ReadonlyArray<Tensor.Tensor<ReadonlyArray<number>>>)).toThrow(
      "stack: expected at least one shape"
    )
    expect(() =>
      Tensor.stack([
        dyn([2]),
        Tensor.zeros([2], { dtype: "float64" }) as unknown as Tensor.Tensor<ReadonlyArray<number>>
      ])
    ).toThrow("stack: dtypes float32 and float64 differ")
  })

  it("oneHot: exact, in the indices' dtype, data-first and data-last, and checked", () => {
    for (const dtype of DTYPES) {
      const labels = Tensor.fromArray([2, 0, 1, 2], [2, 2], { dtype })
      const r = Tensor.oneHot(labels, 3)
      expect(r.shape).toEqual([2, 2, 3])
      expect(r.dtype).toBe(dtype)
      expect(Array.from(Tensor.toArray(r))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1])
      expect(Array.from(Tensor.toArray(pipe(Tensor.fromArray([1], [1], { dtype }), Tensor.oneHot(2))))).toEqual([0, 1])
    }
    const dyn = Tensor.fromArray([0, 3], [2]) as Tensor.Tensor<ReadonlyArray<number>>
    expect(() => Tensor.oneHot(dyn, 3)).toThrow("oneHot: index 3 at position 1 is not an integer in [0, 3) (depth 3)")
    expect(() => Tensor.oneHot(Tensor.fromArray([0.5], [1]), 3)).toThrow(RangeError)
    expect(() => Tensor.oneHot(dyn, 0 as number)).toThrow("oneHot: depth must be a positive integer, got 0")
  })

  for (const dtype of DTYPES) {
    it(`gather along any axis matches NumPy's take (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
            fc.integer({ min: 0, max: shape.length - 1 }).chain((axis) =>
              fc.tuple(
                fc.constant(shape),
                fc.constant(axis),
                fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }).chain((ishape) =>
                  fc.tuple(
                    fc.constant(ishape),
                    fc.array(fc.integer({ min: 0, max: shape[axis]! - 1 }), {
                      minLength: Ref.size(ishape),
                      maxLength: Ref.size(ishape)
                    })
                  )
                ),
                values(Ref.size(shape)),
                fc.boolean()
              )
            )
          ),
          ([shape, axis, [ishape, ids], data, last]) => {
            const x = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const ix = Tensor.fromArray(ids, ishape as ReadonlyArray<number>)
            const r = last ? pipe(x, Tensor.gather(ix, { axis })) : Tensor.gather(x, ix, { axis: axis - shape.length })
            const outer = Ref.size(shape.slice(0, axis))
            const inner = Ref.size(shape.slice(axis + 1))
            const want: Array<number> = []
            for (let o = 0; o < outer; o++) {
              for (const j of ids) {
                for (let i = 0; i < inner; i++) want.push(data[(o * shape[axis]! + j) * inner + i]!)
              }
            }
            expect([...r.shape]).toEqual([...shape.slice(0, axis), ...ishape, ...shape.slice(axis + 1)])
            expect(r.dtype).toBe(dtype)
            close(Tensor.toArray(r), dtype === "float32" ? want.map(Math.fround) : want, dtype)
          }
        ),
        { numRuns: 60 }
      )
    })
  }

  it("gather checks its indices and axis at run time", () => {
    const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [3, 2]) as Tensor.Tensor<ReadonlyArray<number>>
    expect(Array.from(Tensor.toArray(Tensor.gather(x, Tensor.fromArray([2, 0, 2], [3]))))).toEqual([5, 6, 1, 2, 5, 6])
    expect(() => Tensor.gather(x, Tensor.fromArray([3], [1]))).toThrow(
      "gather: index 3 at position 0 is not an integer in [0, 3) (axis 0 of shape [3, 2])"
    )
    expect(() => Tensor.gather(x, Tensor.fromArray([-1], [1]), { axis: 1 })).toThrow(RangeError)
    expect(() => Tensor.gather(x, Tensor.fromArray([0], [1]), { axis: 2 })).toThrow(
      /gather: axis 2 out of range for rank 2/
    )
  })
})
