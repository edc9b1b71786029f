import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "../reference.ts"
import { close, DTYPES, values } from "./support.ts"

describe("conv2d", () => {
  it("the textbook example", () => {
    const image = [
      [1, 1, 1, 0, 0],
      [0, 1, 1, 1, 0],
      [0, 0, 1, 1, 1],
      [0, 0, 1, 1, 0],
      [0, 1, 1, 0, 0]
    ].flat()
    const kernel = [
      [1, 0, 1],
      [0, 1, 0],
      [1, 0, 1]
    ].flat()
    for (const dtype of DTYPES) {
      const y = Tensor.conv2d(
        Tensor.fromArray(image, [1, 5, 5, 1], { dtype }),
        Tensor.fromArray(kernel, [3, 3, 1, 1], { dtype })
      )
      expect(y.shape).toEqual([1, 3, 3, 1])
      expect(Array.from(Tensor.toArray(y))).toEqual([4, 3, 4, 2, 4, 3, 2, 3, 4])
    }
  })

  // The shared Arbitrary.conv2dConfig: strides and dilation as pairs, padding valid, same or explicit
  // asymmetric pads (1/3 each); odd sizes, kernels up to 4.
  const convConfig = Arbitrary.conv2dConfig({
    height: { min: 1, max: 9 },
    width: { min: 1, max: 9 },
    channels: { min: 1, max: 5 },
    filters: { min: 1, max: 6 },
    kernelSize: { min: 1, max: 4 },
    form: "pair",
    padding: ["valid", "same", "explicit"]
  })
    .map(({ input: [n, h, w, c], kernel: [kh, kw, , f], options }) => ({
      n,
      h,
      w,
      c,
      f,
      k: [kh, kw] as const,
      strides: options.strides as readonly [number, number],
      dilation: options.dilation as readonly [number, number],
      padding: options.padding as Ref.RefPadding
    }))
    .chain((cfg) =>
      fc.tuple(fc.constant(cfg), values(cfg.n * cfg.h * cfg.w * cfg.c), values(cfg.k[0] * cfg.k[1] * cfg.c * cfg.f))
    )

  for (const dtype of DTYPES) {
    it(`matches the direct 7-loop convolution (${dtype})`, () => {
      fc.assert(
        fc.property(convConfig, ([cfg, x, w]) => {
          const xShape = [cfg.n, cfg.h, cfg.w, cfg.c] as const
          const wShape = [cfg.k[0], cfg.k[1], cfg.c, cfg.f] as const
          const round = dtype === "float32" ? Math.fround : (v: number) => v
          const want = Ref.conv2d(x.map(round), xShape, w.map(round), wShape, cfg.strides, cfg.dilation, cfg.padding)
          const y = Tensor.conv2d(
            Tensor.fromArray(x, xShape as ReadonlyArray<number>, { dtype }),
            Tensor.fromArray(w, wShape as ReadonlyArray<number>, { dtype }),
            { strides: cfg.strides, dilation: cfg.dilation, padding: cfg.padding }
          )
          expect([...y.shape]).toEqual(want.shape)
          close(Tensor.toArray(y), want.data, dtype, 10)
        }),
        { numRuns: 150 }
      )
    })
  }

  it("rejects a kernel larger than the padded input at run time", () => {
    const x = Tensor.zeros([1, 4, 4, 1] as ReadonlyArray<number>)
    const w = Tensor.zeros([5, 5, 1, 1] as ReadonlyArray<number>)
    expect(() => Tensor.conv2d(x, w)).toThrow(ShapeError)
    expect(() => Tensor.conv2d(x, w)).toThrow(/conv2d: kernel 5 larger than padded input 4/)
  })
})

describe("conv2dBias", () => {
  for (const dtype of DTYPES) {
    it(`equals relu(conv2d(x, w) + b) and conv2d(x, w) + b (${dtype})`, () => {
      const x = Tensor.fromArray(Array.from({ length: 2 * 7 * 6 * 3 }, (_, i) => Math.sin(i * 0.7)), [2, 7, 6, 3], {
        dtype
      })
      const w = Tensor.fromArray(Array.from({ length: 3 * 2 * 3 * 5 }, (_, i) => Math.cos(i * 1.3)), [3, 2, 3, 5], {
        dtype
      })
      const b = Tensor.fromArray([0.5, -0.25, 0, 1, -2], [5], { dtype })
      for (const options of [{ padding: "same" as const }, { strides: 2, dilation: [1, 2] as const, padding: 1 }]) {
        const plain = Tensor.add(Tensor.conv2d(x, w, options), b)
        close(Tensor.toArray(Tensor.conv2dBias(x, w, b, options)), Tensor.toArray(plain), dtype)
        close(
          Tensor.toArray(Tensor.conv2dBias(x, w, b, { ...options, relu: true })),
          Tensor.toArray(Tensor.relu(plain)),
          dtype
        )
      }
      expect(() => Tensor.conv2dBias(x, w, Tensor.zeros([4], { dtype }) as never)).toThrow(/bias of shape \[4\]/)
    })
  }
})
