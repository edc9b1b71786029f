import { Mnist } from "@typegrad/data"
import { Interop, Safetensors } from "@typegrad/train"
import { Effect } from "effect"
import * as E from "fp-ts/Either"
import { describe, expect, it } from "vitest"

describe("fp-ts interop", () => {
  it("a successful effect is a Right, a typed failure a Left", async () => {
    const ok = await Interop.toTaskEither(Mnist.load({ split: "test", limit: 3 }))()
    expect(E.isRight(ok) && ok.right.count).toBe(3)
    const bad = await Interop.toTaskEither(Mnist.load({ split: "test", directory: "/nonexistent" }))()
    expect(E.isLeft(bad) && bad.left._tag).toBe("DatasetFileError")
  })

  it("synchronous effects become an Either", () => {
    const decoded = Interop.toEither(Effect.fromResult(Safetensors.decode(new Uint8Array(3), "x.safetensors")))
    expect(E.isLeft(decoded) && decoded.left.message).toMatch(/x\.safetensors/)
    expect(Interop.toEither(Effect.succeed(1))).toEqual(E.right(1))
  })
})
