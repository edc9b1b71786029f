// The tensor API with no transformation: what the tensor package costs to type-check, subtracted from
// vmap.ts's cost by test/typeperf.test.ts.
import { Tensor } from "@typegrad/tensor"

export const x = Tensor.sum(Tensor.zeros([8, 3]))
