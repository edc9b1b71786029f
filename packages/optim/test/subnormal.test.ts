// Optimizer state never turns subnormal: the moments of entries whose gradient stays zero decay into the
// subnormal range and would stick there (0.9 times a few units of the last place rounds back to itself),
// where x86 arithmetic is dozens of times slower. Every optimizer with decaying state flushes them to zero.
import { Optimizer } from "@typegrad/optim"
import { Pytree, Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const SMALLEST_NORMAL = { float32: 2 ** -126, float64: 2 ** -1022 } as const

describe("optimizer state below the smallest normal number", () => {
  const optimizers = [
    Optimizer.adam({ learningRate: 1e-3 }),
    Optimizer.sgd({ learningRate: 1e-3, momentum: 0.9 }),
    Optimizer.sgd({ learningRate: 1e-3, momentum: 0.9, nesterov: true }),
    Optimizer.rmsprop({ learningRate: 1e-3, rho: 0.5 }),
    Optimizer.chain(Optimizer.scaleByAdam({ beta2: 0.5 }), Optimizer.scaleByLearningRate(1e-3))
  ]
  for (const opt of optimizers) {
    it(`${opt.name}: flushed to zero after the gradient stops (float32, large enough for the kernels)`, () => {
      // 1000 entries: past the Adam kernel's JavaScript cut-off, so the WebAssembly path is the one tested.
      const n = 1000
      const params = { w: Tensor.fromArray(new Float32Array(n).fill(1), [n]) }
      let state = opt.init(params)
      const zero = { w: Tensor.zeros([n]) }
      // One real gradient, from 1e-30 to 1e-18 (so that first moments, and squared-gradient averages, start
      // near the bottom of the normal range and reach the subnormal one within the steps), then zeros.
      const first = { w: Tensor.fromArray(Float32Array.from({ length: n }, (_, i) => 10 ** (-30 + (12 * i) / n)), [n]) }
      let seen = false
      for (let step = 0; step < 400; step++) {
        const [, next] = opt.update(step === 0 ? first : zero, state, params)
        state = next
        for (const slot of state.slots) {
          for (const leaf of Pytree.leaves(slot)) {
            for (const x of Tensor.toArray(leaf)) {
              if (x !== 0 && Math.abs(x) < SMALLEST_NORMAL.float32) {
                expect.fail(`${opt.name} step ${step}: subnormal state value ${x}`)
              }
              if (x !== 0) seen = true
            }
          }
        }
      }
      // The state was not zero all along (the test would pass vacuously).
      expect(seen).toBe(true)
    })
  }
})
