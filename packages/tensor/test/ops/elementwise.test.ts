import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
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
    ["relu", Tensor.relu, (x) => Math.max(x, 0)]
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
    ["div", (a, b) => Tensor.div(a, b), (x, y) => x / y]
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

  it("rejects shapes that do not broadcast at run time", () => {
    const a = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    const b = Tensor.zeros([4] as ReadonlyArray<number>)
    expect(() => Tensor.add(a, b)).toThrow(ShapeError)
    expect(() => Tensor.add(a, b)).toThrow(/add: cannot broadcast/)
  })
})
