// The gradient-table rows of the elementwise family (binary ops with broadcasting both ways, unary ops): `packages/tensor/src/ops/elementwise.ts`.
import { Tensor } from "@typegrad/tensor"
import { awayFromZero, binary, checkRows, positive, unary } from "./table.ts"

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
  { op: "square", order: 2, cases: unary(Tensor.square, { min: -2, max: 2 }) }
])
