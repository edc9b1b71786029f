// The gradient-table rows of the linalg family (matmul, 2-D and batched): `packages/tensor/src/ops/linalg.ts`.
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { checkRows, type Dims, f64, type Input, show, type T } from "./table.ts"

const dim = fc.integer({ min: 1, max: 4 })

const matmulCase = (batch: "none" | "both" | "left" | "left4" | "broadcastRight") =>
  fc.tuple(dim, dim, dim, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 })).chain(([m, k, n, b, b2]) => {
    const [sa, sb]: readonly [Dims, Dims] = batch === "none"
      ? [[m, k], [k, n]]
      : batch === "both"
      ? [[b, m, k], [b, k, n]]
      : batch === "left"
      ? [[b, m, k], [k, n]]
      : batch === "left4"
      ? [[b2, b, m, k], [k, n]]
      : [[b, m, k], [1, k, n]]
    return fc.tuple(f64(sa), f64(sb)).map(([a, bb]) => ({
      x: [a, bb],
      f: (t: Input) => Tensor.matmul((t as ReadonlyArray<T>)[0]!, (t as ReadonlyArray<T>)[1]!) as T,
      label: `${show(sa)} x ${show(sb)}`
    }))
  })

checkRows("linalg", [
  { op: "matmul 2-D", order: 2, cases: matmulCase("none") },
  { op: "matmul batched (rank 3 x rank 3)", order: 2, cases: matmulCase("both") },
  { op: "matmul rank 3 x rank 2", order: 2, cases: matmulCase("left") },
  { op: "matmul rank 4 x rank 2", order: 2, cases: matmulCase("left4") },
  { op: "matmul batched, right batch broadcast ([B,M,K] x [1,K,N])", order: 2, cases: matmulCase("broadcastRight") }
])
