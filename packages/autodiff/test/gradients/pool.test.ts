// The gradient-table rows of the pool family (max and average pooling, overlapping windows, same, valid and explicit pads): `packages/tensor/src/ops/pool.ts`.
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import { checkRows, type Dims, f64, type Input, show, type T } from "./table.ts"

/** Small pooling configurations (the shared `Arbitrary.pool2dConfig`): overlapping windows (strides < pool size), same, valid and explicit pads. */
const poolCase = (kind: "max" | "avg") =>
  Arbitrary.pool2dConfig({
    height: { min: 2, max: 6 },
    width: { min: 2, max: 6 },
    channels: { min: 1, max: 2 },
    padding: ["valid", "same", "number", "pair", "explicit"]
  })
    .map(({ input, options }) => ({ xs: input as Dims, options: options as Tensor.Pool2dOptions }))
    .chain(({ xs, options }) =>
      f64(xs, { distinct: kind === "max" }).map((x) => ({
        x,
        f: (t: Input) => (kind === "max" ? Tensor.maxPool2d(t as T, options) : Tensor.avgPool2d(t as T, options)) as T,
        label: `${show(xs)} ${JSON.stringify(options)}`
      }))
    )

checkRows("pool", [
  {
    op: "maxPool2d (distinct values, same/valid/explicit pads, overlapping)",
    order: 2,
    cases: poolCase("max"),
    runs: 30
  },
  { op: "avgPool2d (same/valid/explicit pads, overlapping)", order: 2, cases: poolCase("avg"), runs: 30 }
])
