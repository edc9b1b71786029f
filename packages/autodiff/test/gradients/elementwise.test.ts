// The gradient-table rows of the elementwise family (binary ops with broadcasting both ways, unary ops): `packages/tensor/src/ops/elementwise.ts`.
import { grad } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  awayFromZero,
  binary,
  broadcastPair,
  type Case,
  checkRows,
  f64,
  type Input,
  positive,
  show,
  type T,
  unary
} from "./table.ts"

// `where(cond, a, b)` with a fixed 1/0 mask whose shape broadcasts against both operands (a third shape from
// the same family: a size-1 or dropped leading axis of `a`'s).
const whereCases: fc.Arbitrary<Case> = broadcastPair.chain(([sa, sb]) =>
  fc.tuple(
    f64(sa, { min: -2, max: 2 }),
    f64(sb, { min: -2, max: 2 }),
    fc.array(fc.boolean(), { minLength: sa.length, maxLength: sa.length }),
    fc.integer({ min: 0, max: sa.length })
  ).chain(([a, b, ones, drop]) => {
    const sc = sa.map((d, i) => (ones[i] ? 1 : d)).slice(drop)
    return fc.array(fc.boolean(), {
      minLength: sc.reduce((p, d) => p * d, 1),
      maxLength: sc.reduce((p, d) => p * d, 1)
    })
      .map((bits) => {
        const cond = Tensor.fromArray(bits.map((v) => (v ? 1 : 0)), sc, { dtype: "float64" })
        return {
          x: [a, b],
          f: (t: Input) => Tensor.where(cond, (t as ReadonlyArray<T>)[0]!, (t as ReadonlyArray<T>)[1]!) as T,
          label: `cond ${show(sc)}, ${show(sa)} with ${show(sb)}`
        }
      })
  })
)

checkRows("elementwise", [
  { op: "add (broadcasting both ways)", order: 2, cases: binary((a, b) => Tensor.add(a, b)) },
  { op: "sub (broadcasting both ways)", order: 2, cases: binary((a, b) => Tensor.sub(a, b)) },
  { op: "mul (broadcasting both ways)", order: 2, cases: binary((a, b) => Tensor.mul(a, b)) },
  {
    op: "div (broadcasting both ways)",
    order: 2,
    cases: binary((a, b) => Tensor.div(a, b), {}, { min: -2, max: 2, awayFrom: [0], margin: 0.3 })
  },
  { op: "maximum (ties skipped)", order: 2, cases: binary((a, b) => Tensor.maximum(a, b)) },
  { op: "minimum (ties skipped)", order: 2, cases: binary((a, b) => Tensor.minimum(a, b)) },
  {
    op: "pow (positive bases)",
    order: 2,
    cases: binary((a, b) => Tensor.pow(a, b), { min: 0.3, max: 2 }, { min: -2, max: 2 })
  },
  { op: "add/mul with a number", order: 2, cases: unary((x) => Tensor.mul(Tensor.add(x, 0.5), 3)) },
  { op: "neg", order: 2, cases: unary(Tensor.neg) },
  { op: "exp", order: 2, cases: unary(Tensor.exp, { min: -2, max: 2 }) },
  { op: "log (positive)", order: 2, cases: unary(Tensor.log, positive) },
  { op: "tanh", order: 2, cases: unary(Tensor.tanh, { min: -3, max: 3 }) },
  { op: "sigmoid", order: 2, cases: unary(Tensor.sigmoid, { min: -4, max: 4 }) },
  { op: "relu (away from 0)", order: 2, cases: unary(Tensor.relu, awayFromZero) },
  { op: "sqrt (positive)", order: 2, cases: unary(Tensor.sqrt, positive) },
  { op: "abs (away from 0)", order: 2, cases: unary(Tensor.abs, awayFromZero) },
  { op: "square", order: 2, cases: unary(Tensor.square, { min: -2, max: 2 }) },
  { op: "sin", order: 2, cases: unary(Tensor.sin, { min: -3, max: 3 }) },
  { op: "cos", order: 2, cases: unary(Tensor.cos, { min: -3, max: 3 }) },
  { op: "log1p (above -1)", order: 2, cases: unary(Tensor.log1p, { min: -0.7, max: 3 }) },
  { op: "expm1", order: 2, cases: unary(Tensor.expm1, { min: -2, max: 2 }) },
  { op: "erf", order: 2, cases: unary(Tensor.erf, { min: -3, max: 3 }) },
  {
    op: "clip (away from the bounds)",
    order: 2,
    cases: unary((x) => Tensor.clip(x, -1, 1), { min: -2, max: 2, awayFrom: [-1, 1], margin: 0.05 })
  },
  { op: "where (cond, a and b broadcasting)", order: 2, cases: whereCases }
])

describe("gradient conventions of the elementwise ops", () => {
  const f64v = (xs: ReadonlyArray<number>) => Tensor.fromArray(xs, [xs.length], { dtype: "float64" })

  it("clip passes the gradient inside [min, max], bounds included, and 0 outside", () => {
    const g = grad((x: Tensor.Tensor<readonly [number], "float64">) => Tensor.sum(Tensor.clip(x, -1, 1)))
    expect(Array.from(Tensor.toArray(g(f64v([-2, -1, -0.5, 0, 1, 1.5]))))).toEqual([0, 1, 1, 1, 1, 0])
  })

  it("where sends the gradient to a where cond holds, to b elsewhere, and a non-finite branch not taken does not leak", () => {
    const cond = f64v([1, 0, 1, 0])
    const b = f64v([10, 20, 30, 40])
    const ga = grad((a: Tensor.Tensor<readonly [number], "float64">) =>
      Tensor.sum(Tensor.mul(Tensor.where(cond, a, b), 3))
    )
    expect(Array.from(Tensor.toArray(ga(f64v([1, 2, 3, 4]))))).toEqual([3, 0, 3, 0])
    const gb = grad((bb: Tensor.Tensor<readonly [number], "float64">) =>
      Tensor.sum(Tensor.where(cond, Tensor.log(f64v([-1, 0, -1, 0])), bb))
    )
    expect(Array.from(Tensor.toArray(gb(b)))).toEqual([0, 1, 0, 1])
    // The safe-log idiom: log of a clamped input where x > 0; the gradient is finite everywhere.
    const safe = grad((x: Tensor.Tensor<readonly [number], "float64">) => {
      const pos = Tensor.greater(x, 0)
      return Tensor.sum(Tensor.where(pos, Tensor.log(Tensor.where(pos, x, f64v([1, 1, 1]))), f64v([0, 0, 0])))
    })
    expect(Array.from(Tensor.toArray(safe(f64v([2, 0, -1]))))).toEqual([0.5, 0, 0])
  })
})
