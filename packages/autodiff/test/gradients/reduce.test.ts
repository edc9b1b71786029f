// The gradient-table rows of the reduce family (sum, mean and max over any axes, with keepDims): `packages/tensor/src/ops/reduce.ts`.
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
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
  }
])
