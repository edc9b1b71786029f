// Augment.randomCropFlip / cropFlip: shape and dtype kept, flip twice = identity, the centre crop of the
// padded image = identity, shifts fill with zeros (or the given fill), reproducible for a seed.
import { Augment } from "@typegrad/data"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const batch = (n: number, h = 6, w = 5, c = 3) =>
  Tensor.fromArray(Array.from({ length: n * h * w * c }, (_, i) => (i % 97) + 1), [n, h, w, c])
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))

describe("Augment.cropFlip", () => {
  it("crop of the padded image at offset (4, 4) without flip is the identity", () => {
    const x = batch(2)
    const y = Augment.cropFlip(x, [{ dy: 4, dx: 4, flip: false }, { dy: 4, dx: 4, flip: false }])
    expect(y.shape).toEqual([2, 6, 5, 3])
    expect(values(y)).toEqual(values(x))
  })

  it("flipping twice with the same decision is the identity; once mirrors each row", () => {
    const x = batch(1, 2, 3, 1)
    const d = [{ dy: 4, dx: 4, flip: true }]
    expect(values(Augment.cropFlip(x, d))).toEqual([3, 2, 1, 6, 5, 4])
    expect(values(Augment.cropFlip(Augment.cropFlip(x, d), d))).toEqual(values(x))
  })

  it("shifts fill with zeros, or the given per-channel fill", () => {
    const x = batch(1, 2, 2, 1) // [[1, 2], [3, 4]]
    expect(values(Augment.cropFlip(x, [{ dy: 0, dx: 0, flip: false }], { padding: 1 }))).toEqual([0, 0, 0, 1])
    expect(values(Augment.cropFlip(x, [{ dy: 2, dx: 1, flip: false }], { padding: 1 }))).toEqual([3, 4, 0, 0])
    const rgb = Tensor.ones([1, 1, 1, 2])
    expect(values(Augment.cropFlip(rgb, [{ dy: 0, dx: 1, flip: false }], { padding: 1, fill: [-1, -2] })))
      .toEqual([-1, -2])
  })

  it("keeps float64 and rejects bad decisions", () => {
    const x = Tensor.zeros([1, 4, 4, 1], { dtype: "float64" })
    expect(Augment.cropFlip(x, [{ dy: 0, dx: 8, flip: true }]).dtype).toBe("float64")
    expect(() => Augment.cropFlip(x, [])).toThrow(/0 decisions for a batch of 1/)
    expect(() => Augment.cropFlip(x, [{ dy: 9, dx: 0, flip: false }])).toThrow(/outside 0 .. 8/)
  })
})

describe("Augment.randomCropFlip", () => {
  it("keeps the shape and is reproducible for a seed", () => {
    const x = batch(16, 32, 32, 3)
    const a = Augment.randomCropFlip(x, 7)
    expect(a.shape).toEqual([16, 32, 32, 3])
    expect(values(Augment.randomCropFlip(x, 7))).toEqual(values(a))
    expect(values(Augment.randomCropFlip(x, 8))).not.toEqual(values(a))
    expect(values(x)).toEqual(values(batch(16, 32, 32, 3))) // the input is untouched
  })

  it("draws offsets in 0 .. 2 * padding and flips about half", async () => {
    const { Effect, Random } = await import("effect")
    const d = Effect.runSync(Augment.drawCropFlip(2000).pipe(Random.withSeed(3)))
    expect(Math.min(...d.map((e) => e.dy))).toBe(0)
    expect(Math.max(...d.map((e) => e.dx))).toBe(8)
    const flips = d.filter((e) => e.flip).length
    expect(flips).toBeGreaterThan(900)
    expect(flips).toBeLessThan(1100)
    expect(Effect.runSync(Augment.drawCropFlip(50, { flip: false }).pipe(Random.withSeed(3))).some((e) => e.flip))
      .toBe(false)
  })
})
