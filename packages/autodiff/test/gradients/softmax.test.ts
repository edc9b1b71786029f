// The gradient-table rows of the softmax family (softmax and logSoftmax along any axis): `packages/tensor/src/ops/softmax.ts`.
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { checkRows, f64, type Input, show, smallShape, type T } from "./table.ts"

const softmaxCase = (f: (x: T, axis: number) => T) =>
  smallShape(1, 3, 4).chain((s) =>
    fc.tuple(f64(s, { min: -3, max: 3 }), fc.integer({ min: -s.length, max: s.length - 1 })).map(([x, axis]) => ({
      x,
      f: (t: Input) => f(t as T, axis),
      label: `${show(s)} axis ${axis}`
    }))
  )

checkRows("softmax", [
  { op: "softmax (any axis)", order: 2, cases: softmaxCase((x, axis) => Tensor.softmax(x, axis)) },
  { op: "logSoftmax (any axis)", order: 2, cases: softmaxCase((x, axis) => Tensor.logSoftmax(x, axis)) }
])
