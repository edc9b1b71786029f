// The gradient-table rows of the reduce family (sum, mean and max over any axes, with keepDims): `packages/tensor/src/ops/reduce.ts`.
import { grad } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Case, checkRows, f64, type Input, show, smallShape, type T } from "./table.ts"

type Axis = number | ReadonlyArray<number> | undefined

const reduction = (
  f: (x: T, options: Tensor.ReduceOptions | undefined) => T,
  values: Arbitrary.ValueOptions = {}
): fc.Arbitrary<Case> =>
  smallShape(1, 3, 4).chain((s) =>
    fc
      .tuple(
        f64(s, values),
        fc.oneof(
          fc.constant<Axis>(undefined),
          fc.integer({ min: -s.length, max: s.length - 1 }),
          fc.subarray(s.map((_, i) => i), { minLength: 1 })
        ),
        fc.option(fc.boolean(), { nil: undefined })
      )
      .map(([x, axis, keepDims]) => {
        const options: Tensor.ReduceOptions | undefined = axis === undefined && keepDims === undefined
          ? undefined
          : { ...(axis === undefined ? {} : { axis }), ...(keepDims === undefined ? {} : { keepDims }) }
        return { x, f: (t: Input) => f(t as T, options), label: `${show(s)} ${JSON.stringify(options)}` }
      })
  )

checkRows("reduce", [
  {
    op: "sum (axis, keepDims)",
    order: 2,
    cases: reduction((x, o) => (o === undefined ? Tensor.sum(x) : Tensor.sum(x, o)) as T)
  },
  {
    op: "mean (axis, keepDims)",
    order: 2,
    cases: reduction((x, o) => (o === undefined ? Tensor.mean(x) : Tensor.mean(x, o)) as T)
  },
  {
    op: "max (axis, keepDims; distinct values)",
    order: 2,
    cases: reduction((x, o) => (o === undefined ? Tensor.max(x) : Tensor.max(x, o)) as T, { distinct: true })
  },
  {
    op: "min (axis, keepDims; distinct values)",
    order: 2,
    cases: reduction((x, o) => (o === undefined ? Tensor.min(x) : Tensor.min(x, o)) as T, { distinct: true })
  },
  {
    op: "logsumexp (axis, keepDims)",
    order: 2,
    cases: reduction((x, o) => (o === undefined ? Tensor.logsumexp(x) : Tensor.logsumexp(x, o)) as T, {
      min: -3,
      max: 3
    })
  }
])

describe("gradient conventions of the reductions", () => {
  type V = Tensor.Tensor<readonly [number], "float64">
  const v = (xs: ReadonlyArray<number>): V =>
    Tensor.fromArray(xs, [xs.length] as unknown as readonly [number], { dtype: "float64" })
  const arr = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

  it("min sends the gradient to the first minimum only", () => {
    expect(arr(grad((x: V) => Tensor.min(x))(v([2, -1, 3, -1])))).toEqual([0, 1, 0, 0])
  })

  it("logsumexp's gradient is the softmax, also where exp would overflow", () => {
    expect(arr(grad((x: V) => Tensor.logsumexp(x))(v([1000, 1000])))).toEqual([0.5, 0.5])
    const g = arr(grad((x: V) => Tensor.logsumexp(x))(v([0, Math.log(3)])))
    expect(g[0]).toBeCloseTo(0.25, 14)
    expect(g[1]).toBeCloseTo(0.75, 14)
  })

  it("argmax and argmin are not differentiable: no gradient flows through them", () => {
    const x = v([1, 5, 2])
    const g1 = grad((t: V) => Tensor.sum(Tensor.mul(Tensor.argmax(t, { axis: 0 }), t)))
    expect(arr(g1(x))).toEqual([1, 1, 1])
    const g2 = grad((t: V) => Tensor.sum(Tensor.argmin(Tensor.mul(t, t))))
    expect(arr(g2(x))).toEqual([0, 0, 0])
  })
})
