import { Backend, Tensor } from "@typegrad/tensor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

describe("Backend", () => {
  it("a layer selects the kernels for its scope and restores the previous ones", async () => {
    const before = Backend.current()
    const a = Tensor.fromArray([1, 2, 3, 4], [2, 2])
    const program = Effect.gen(function*() {
      const backend = yield* Backend.Backend
      const product = Tensor.toArray(Tensor.matmul(a, a))
      return { name: backend.name, active: Backend.current(), product: Array.from(product) }
    })
    const js = await Effect.runPromise(Effect.provide(program, Backend.js))
    expect(js).toEqual({ name: "js", active: "js", product: [7, 10, 15, 22] })
    expect(Backend.current()).toBe(before)
    const wasm = await Effect.runPromise(Effect.provide(program, Backend.wasm))
    expect(wasm.product).toEqual([7, 10, 15, 22])
    expect(wasm.name).toBe(wasm.active)
    expect(Backend.current()).toBe(before)
  })
})
