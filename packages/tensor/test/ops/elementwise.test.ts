import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { pipe } from "effect/Function"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "../reference.ts"
import { close, type DT, DTYPES, value, values } from "./support.ts"

describe("elementwise", () => {
  const unary: ReadonlyArray<
    readonly [
      string,
      (t: Tensor.Tensor<readonly [number], DT>) => Tensor.Tensor<readonly [number], DT>,
      (x: number) => number
    ]
  > = [
    ["neg", Tensor.neg, (x) => -x],
    ["exp", Tensor.exp, Math.exp],
    ["log", (t) => Tensor.log(Tensor.add(Tensor.abs(t), 0.5)), (x) => Math.log(Math.abs(x) + 0.5)],
    ["tanh", Tensor.tanh, Math.tanh],
    ["sigmoid", Tensor.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
    ["relu", Tensor.relu, (x) => Math.max(x, 0)],
    ["sin", Tensor.sin, Math.sin],
    ["cos", Tensor.cos, Math.cos],
    ["log1p", (t) => Tensor.log1p(Tensor.abs(t)), (x) => Math.log1p(Math.abs(x))],
    ["expm1", Tensor.expm1, Math.expm1],
    ["erf", Tensor.erf, Ref.erf],
    ["clip", (t) => Tensor.clip(t, -2, 3), (x) => Math.min(Math.max(x, -2), 3)],
    ["clip (data-last)", (t) => t.pipe(Tensor.clip(-1, 0.5)), (x) => Math.min(Math.max(x, -1), 0.5)]
  ]
  for (const dtype of DTYPES) {
    for (const [name, op, ref] of unary) {
      it(`${name} matches Math (${dtype})`, () => {
        fc.assert(
          fc.property(fc.array(value.map((v) => v * 8), { minLength: 1, maxLength: 40 }), (xs) => {
            const t = Tensor.fromArray(xs, [xs.length] as ReadonlyArray<number> as readonly [number], { dtype })
            const want = xs.map((x) => ref(dtype === "float32" ? Math.fround(x) : x))
            close(Tensor.toArray(op(t)), want, dtype)
          }),
          { numRuns: 30 }
        )
      })
    }
  }

  it("relu is exact around zero (relu(0) = 0)", () => {
    const t = Tensor.fromArray([-1, -1e-30, 0, 1e-30, 2], [5], { dtype: "float64" })
    expect(Array.from(Tensor.toArray(Tensor.relu(t)))).toEqual([0, 0, 0, 1e-30, 2])
  })

  it("sigmoid does not overflow", () => {
    const t = Tensor.fromArray([-1000, 1000, 0], [3], { dtype: "float64" })
    expect(Array.from(Tensor.toArray(Tensor.sigmoid(t)))).toEqual([0, 1, 0.5])
  })

  const shapePair = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 })
    .chain((out) =>
      fc.tuple(
        fc.constant(out),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.integer({ min: 0, max: out.length }),
        fc.integer({ min: 0, max: out.length })
      )
    )
    .map(([out, onesA, onesB, dropA, dropB]) => ({
      a: out.map((d, i) => (onesA[i] ? 1 : d)).slice(dropA),
      b: out.map((d, i) => (onesB[i] ? 1 : d)).slice(dropB)
    }))

  type AnyT = Tensor.Tensor<ReadonlyArray<number>, DT>
  const binaries: ReadonlyArray<readonly [string, (a: AnyT, b: AnyT) => AnyT, (x: number, y: number) => number]> = [
    ["add", (a, b) => Tensor.add(a, b), (x, y) => x + y],
    ["sub", (a, b) => Tensor.sub(a, b), (x, y) => x - y],
    ["mul", (a, b) => Tensor.mul(a, b), (x, y) => x * y],
    ["div", (a, b) => Tensor.div(a, b), (x, y) => x / y],
    ["less", (a, b) => Tensor.less(a, b), (x, y) => (x < y ? 1 : 0)],
    ["lessEqual", (a, b) => Tensor.lessEqual(a, b), (x, y) => (x <= y ? 1 : 0)],
    ["greater", (a, b) => Tensor.greater(a, b), (x, y) => (x > y ? 1 : 0)],
    ["equal", (a, b) => Tensor.equal(a, b), (x, y) => (x === y ? 1 : 0)],
    // `where` with a mask made from the operands' signs: broadcasting of all three.
    [
      "where",
      (a, b) => Tensor.where(Tensor.greater(a, 0), a, b),
      (x, y) => (x > 0 ? x : y)
    ]
  ]
  for (const dtype of DTYPES) {
    for (const [name, op, f] of binaries) {
      it(`${name} broadcasts like NumPy (${dtype})`, () => {
        fc.assert(
          fc.property(
            shapePair.chain(({ a, b }) =>
              fc.tuple(fc.constant(a), fc.constant(b), values(Ref.size(a)), values(Ref.size(b)))
            ),
            ([aShape, bShape, a, b]) => {
              const bb = name === "div" ? b.map((v) => (Math.abs(v) < 0.1 ? 0.5 : v)) : b
              const ta = Tensor.fromArray(a, aShape as ReadonlyArray<number>, { dtype })
              const tb = Tensor.fromArray(bb, bShape as ReadonlyArray<number>, { dtype })
              const r = op(ta, tb)
              const round = dtype === "float32" ? Math.fround : (x: number) => x
              const want = Ref.binary(f, a.map(round), aShape, bb.map(round), bShape)
              expect([...r.shape]).toEqual(want.shape)
              close(Tensor.toArray(r), want.data, dtype)
            }
          ),
          { numRuns: 60 }
        )
      })
    }
  }

  it("comparisons are exact 1/0 masks of the operands' dtype, ties included", () => {
    for (const dtype of DTYPES) {
      const a = Tensor.fromArray([-1, 0, 0.5, 2], [4], { dtype })
      const lt = Tensor.less(a, 0.5)
      const le = pipe(a, Tensor.lessEqual(0.5))
      expect(lt.dtype).toBe(dtype)
      expect(Array.from(Tensor.toArray(lt))).toEqual([1, 1, 0, 0])
      expect(Array.from(Tensor.toArray(le))).toEqual([1, 1, 1, 0])
    }
  })

  it("clip is exact at and beyond the bounds and rejects min > max", () => {
    const t = Tensor.fromArray([-3, -1, 0.25, 1, 4], [5], { dtype: "float64" })
    expect(Array.from(Tensor.toArray(Tensor.clip(t, -1, 1)))).toEqual([-1, -1, 0.25, 1, 1])
    expect(() => Tensor.clip(t, 1, -1)).toThrow("clip: min 1 must not exceed max -1")
  })

  it("where broadcasts all three operands, data-first and data-last, in both dtypes", () => {
    for (const dtype of DTYPES) {
      const cond = Tensor.fromArray([1, 0, 1], [3], { dtype: "float64" })
      const a = Tensor.fromArray([1, 2], [2, 1], { dtype })
      const b = Tensor.fromArray([-1], [1], { dtype })
      const r = Tensor.where(cond, a, b)
      expect([...r.shape]).toEqual([2, 3])
      expect(r.dtype).toBe(dtype)
      expect(Array.from(Tensor.toArray(r))).toEqual([1, -1, 1, 2, -1, 2])
      expect(Array.from(Tensor.toArray(pipe(cond, Tensor.where(a, b))))).toEqual([1, -1, 1, 2, -1, 2])
    }
  })

  it("where rejects operands that do not broadcast and mixed dtypes at run time", () => {
    const cond = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    expect(() =>
      Tensor.where(cond, Tensor.zeros([4] as ReadonlyArray<number>), Tensor.zeros([3] as ReadonlyArray<number>))
    )
      .toThrow("where: cannot broadcast")
    expect(() =>
      Tensor.where(cond, Tensor.zeros([3] as ReadonlyArray<number>), Tensor.zeros([2, 4] as ReadonlyArray<number>))
    )
      .toThrow(ShapeError)
    expect(() =>
      Tensor.where(
        cond,
        Tensor.zeros([3] as ReadonlyArray<number>),
        Tensor.zeros([3] as ReadonlyArray<number>, { dtype: "float64" }) as unknown as Tensor.Tensor<
          ReadonlyArray<number>
        >
      )
    ).toThrow("where: dtypes float32 and float64 differ")
  })

  it("rejects shapes that do not broadcast at run time", () => {
    const a = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    const b = Tensor.zeros([4] as ReadonlyArray<number>)
    expect(() => Tensor.add(a, b)).toThrow(ShapeError)
    expect(() => Tensor.add(a, b)).toThrow(/add: cannot broadcast/)
  })
})
