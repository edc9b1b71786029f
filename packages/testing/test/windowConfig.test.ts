/**
 * The shared conv/pool configuration arbitraries: every configuration is valid (the op runs and gives the
 * geometry's shape), the bounds are kept, and every form the docs promise is generated.
 */
import { Shape } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

const FC = { seed: 0xc0de, numRuns: 300 } as const

const paddingForm = (p: Shape.Padding2d): Arbitrary.PaddingForm =>
  typeof p === "string" ? p : typeof p === "number" ? "number" : typeof p[0] === "number" ? "pair" : "explicit"

describe("Arbitrary.conv2dConfig", () => {
  it("gives valid configurations: conv2d runs, and its geometry is the one computed from the definitions", () => {
    fc.assert(
      fc.property(Arbitrary.conv2dConfig(), (c) => {
        expect(c.kernel[2]).toBe(c.input[3])
        const y = Tensor.conv2d(Tensor.zeros(c.input), Tensor.zeros(c.kernel), c.options)
        expect([...y.shape]).toEqual([...c.geometry.outShape])
        expect(Shape.conv2dGeometry(c.input, c.kernel, c.options)).toEqual(c.geometry)
      }),
      FC
    )
  })

  it("covers every padding form, both ways of writing strides and dilation, odd sizes, stride > 1, dilation > 1", () => {
    const samples = fc.sample(Arbitrary.conv2dConfig(), { seed: 1, numRuns: 400 })
    expect(new Set(samples.map((c) => paddingForm(c.options.padding)))).toEqual(
      new Set(["valid", "same", "number", "pair", "explicit"])
    )
    expect(samples.some((c) => typeof c.options.strides === "number")).toBe(true)
    expect(samples.some((c) => Array.isArray(c.options.strides))).toBe(true)
    expect(samples.some((c) => c.geometry.strideH > 1 && c.geometry.dilationW > 1)).toBe(true)
    expect(samples.some((c) => c.input[1] % 2 === 1 && c.kernel[0] % 2 === 0)).toBe(true)
    expect(samples.some((c) => c.geometry.padTop !== c.geometry.padBottom)).toBe(true)
  })

  it("keeps its bounds and forms", () => {
    fc.assert(
      fc.property(
        Arbitrary.conv2dConfig({
          batch: 3,
          height: { min: 5, max: 9 },
          width: fc.constantFrom(6, 8),
          channels: { min: 2, max: 4 },
          filters: 5,
          kernelSize: { min: 2, max: 3 },
          strides: { min: 1, max: 2 },
          dilation: 2,
          form: "pair",
          padding: ["same", "explicit"],
          pad: { min: 1, max: 1 }
        }),
        (c) => {
          const [n, h, w, ch] = c.input
          expect(n).toBe(3)
          expect(h >= 5 && h <= 9 && (w === 6 || w === 8) && ch >= 2 && ch <= 4).toBe(true)
          expect(c.kernel[3]).toBe(5)
          expect(c.kernel[0] >= 2 && c.kernel[0] <= 3 && c.kernel[1] >= 2 && c.kernel[1] <= 3).toBe(true)
          expect(c.options.dilation).toEqual([2, 2])
          expect(Array.isArray(c.options.strides)).toBe(true)
          expect(["same", "explicit"]).toContain(paddingForm(c.options.padding))
          if (paddingForm(c.options.padding) === "explicit") expect(c.options.padding).toEqual([[1, 1], [1, 1]])
        }
      ),
      { ...FC, numRuns: 100 }
    )
    expect(() => Arbitrary.conv2dConfig({ kernelSize: { min: 3, max: 2 } })).toThrow(RangeError)
    expect(() => Arbitrary.conv2dConfig({ padding: [] })).toThrow(RangeError)
  })
})

describe("Arbitrary.pool2dConfig", () => {
  it("gives valid configurations: both poolings run, and their geometry is the one computed from the definitions", () => {
    fc.assert(
      fc.property(Arbitrary.pool2dConfig(), (p) => {
        const x = Tensor.zeros(p.input)
        expect([...Tensor.maxPool2d(x, p.options).shape]).toEqual([...p.geometry.outShape])
        expect([...Tensor.avgPool2d(x, p.options).shape]).toEqual([...p.geometry.outShape])
        expect(Shape.pool2dGeometry(p.input, p.options)).toEqual(p.geometry)
      }),
      FC
    )
  })

  it("covers overlapping windows, default strides, both paddings and both ways of writing sizes", () => {
    const samples = fc.sample(Arbitrary.pool2dConfig(), { seed: 2, numRuns: 400 })
    expect(samples.some((p) => p.geometry.strideH < p.geometry.kh)).toBe(true)
    expect(samples.some((p) => p.options.strides === undefined)).toBe(true)
    expect(new Set(samples.map((p) => p.options.padding))).toEqual(new Set(["valid", "same"]))
    expect(samples.some((p) => typeof p.options.poolSize === "number")).toBe(true)
    expect(samples.some((p) => Array.isArray(p.options.poolSize))).toBe(true)
  })

  it("keeps its bounds: fixed window, always-written strides, one form", () => {
    fc.assert(
      fc.property(
        Arbitrary.pool2dConfig({
          poolSize: 2,
          strides: fc.constantFrom(1, 2),
          form: "number",
          padding: ["valid"],
          defaultStrides: false
        }),
        (p) => {
          expect(p.options).toEqual({ poolSize: 2, strides: p.options.strides, padding: "valid" })
          expect([1, 2]).toContain(p.options.strides)
        }
      ),
      { ...FC, numRuns: 100 }
    )
  })
})
