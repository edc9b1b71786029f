import { Cifar10 } from "@typegrad/data"
import { Tensor } from "@typegrad/tensor"
import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { failureOf, tempDir } from "./helpers.ts"

const write = tempDir()

/** A record whose pixel (y, x) of channel c holds byte `(seed + 3 * (32 * y + x) + c) % 256`. */
const record = (label: number, seed: number): Uint8Array => {
  const r = new Uint8Array(Cifar10.recordBytes)
  r[0] = label
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 1024; p++) r[1 + c * 1024 + p] = (seed + 3 * p + c) % 256
  }
  return r
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

describe("Cifar10", () => {
  it("puts labels and pixels in NHWC places, scaled to [0, 1]", () => {
    const ds = Result.getOrThrow(Cifar10.parse(concat([record(3, 0), record(9, 100)]), "two.bin"))
    expect(ds.count).toBe(2)
    expect(ds.images.shape).toEqual([2, 32, 32, 3])
    expect(Array.from(Tensor.toArray(ds.labels))).toEqual([3, 9])
    const px = Tensor.toArray(ds.images)
    for (const [n, y, x, c] of [[0, 0, 0, 0], [0, 0, 1, 2], [0, 5, 7, 1], [1, 31, 31, 2], [1, 10, 3, 0]] as const) {
      const seed = n === 0 ? 0 : 100
      const want = ((seed + 3 * (32 * y + x) + c) % 256) / 255
      expect(px[((n * 32 + y) * 32 + x) * 3 + c]).toBeCloseTo(want, 6)
    }
  })

  it("loads and concatenates a list of batch files in order", async () => {
    const a = write("data_batch_1.bin", concat([record(1, 7), record(2, 8)]))
    const b = write("data_batch_2.bin", record(0, 9))
    const ds = await Effect.runPromise(Cifar10.loadFiles([a, b]))
    expect(ds.count).toBe(3)
    expect(ds.images.shape).toEqual([3, 32, 32, 3])
    expect(Array.from(Tensor.toArray(ds.labels))).toEqual([1, 2, 0])
    expect(Tensor.toArray(ds.images)[2 * 3072 + 1]).toBeCloseTo(((9 + 1) % 256) / 255, 6)
  })

  it("loads the test split of a cifar-10-batches-bin folder", async () => {
    const path = write("test_batch.bin", record(5, 1))
    const dir = path.slice(0, path.length - "test_batch.bin".length)
    const ds = await Effect.runPromise(Cifar10.load({ directory: dir, split: "test" }))
    expect(Array.from(Tensor.toArray(ds.labels))).toEqual([5])
  })

  it("rejects a file whose size is not a multiple of 3073", async () => {
    const good = write("good.bin", record(1, 0))
    const bad = write("short.bin", record(1, 0).subarray(0, 3000))
    const e = await failureOf(Cifar10.loadFiles([good, bad]))
    expect(e.path).toBe(bad)
    expect(e.message).toContain("short.bin")
    expect(e.message).toMatch(/3000 bytes is not a multiple of the 3073-byte/)
    expect(Result.isFailure(Cifar10.parse(new Uint8Array(3074)))).toBe(true)
  })

  it("rejects labels above 9", async () => {
    const bad = write("labels.bin", concat([record(1, 0), record(10, 0)]))
    const e = await failureOf(Cifar10.loadFiles([bad]))
    expect(e.path).toBe(bad)
    expect(e.message).toMatch(/record 1 .* has label 10/)
  })

  it("reports a missing folder, and the first missing file by name, with the expected layout", async () => {
    const e = await failureOf(Cifar10.load({ directory: "/nonexistent/cifar", split: "train" }))
    expect(e.path).toBe("/nonexistent/cifar")
    expect(e.message).toMatch(/no such directory; put the CIFAR-10 binary version files data_batch_1\.bin/)
    expect(e.message).toContain("never downloaded")
    const one = write("data_batch_1.bin", record(1, 7))
    write("data_batch_2.bin", record(1, 7))
    const dir = one.slice(0, one.length - "data_batch_1.bin".length - 1)
    const missing = await failureOf(Cifar10.load({ directory: dir, split: "train" }))
    expect(missing.path).toBe(`${dir}/data_batch_3.bin`)
    expect(missing.message).toContain(`(data_batch_3.bin is missing); put the CIFAR-10 binary version files`)
    expect(missing.message).toContain(`test_batch.bin (the folder cifar-10-batches-bin`)
  })

  it("with a limit reads only the files that hold the first records", async () => {
    const one = write("data_batch_1.bin", concat([record(1, 7), record(2, 8)]))
    const dir = one.slice(0, one.length - "data_batch_1.bin".length - 1)
    write("data_batch_2.bin", record(3, 9))
    write("data_batch_3.bin", record(4, 9))
    write("data_batch_4.bin", record(5, 9))
    write("data_batch_5.bin", new Uint8Array(10)) // truncated, but never read for a limit of 3
    const ds = await Effect.runPromise(Cifar10.load({ directory: dir, split: "train", limit: 3 }))
    expect(Array.from(Tensor.toArray(ds.labels))).toEqual([1, 2, 3])
    const two = await Effect.runPromise(Cifar10.load({ directory: dir, split: "train", limit: 2 }))
    expect(two.count).toBe(2)
    const e = await failureOf(Cifar10.load({ directory: dir, split: "train" }))
    expect(e.path).toBe(`${dir}/data_batch_5.bin`)
  })
})
