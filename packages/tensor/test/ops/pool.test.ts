import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "../reference.ts"
import { close, DTYPES, values } from "./support.ts"

describe("pooling", () => {
  // The shared Arbitrary.pool2dConfig: sizes and strides as pairs, strides sometimes left to default,
  // valid, same and explicit padding; odd sizes, windows up to 4.
  const poolConfig = Arbitrary.pool2dConfig({
    height: { min: 1, max: 9 },
    width: { min: 1, max: 9 },
    channels: { min: 1, max: 4 },
    poolSize: { min: 1, max: 4 },
    form: "pair",
    padding: ["valid", "same", "number", "pair", "explicit"]
  })
    .map(({ input: [n, h, w, c], options }) => ({
      n,
      h,
      w,
      c,
      size: options.poolSize as readonly [number, number],
      strides: options.strides as readonly [number, number] | undefined,
      padding: options.padding
    }))
    .chain((cfg) => fc.tuple(fc.constant(cfg), values(cfg.n * cfg.h * cfg.w * cfg.c)))

  for (const dtype of DTYPES) {
    for (const kind of ["max", "avg"] as const) {
      it(`${kind}Pool2d matches the naive loop, overlapping and padded windows included (${dtype})`, () => {
        fc.assert(
          fc.property(poolConfig, ([cfg, x]) => {
            const xShape = [cfg.n, cfg.h, cfg.w, cfg.c] as const
            const strides = cfg.strides ?? cfg.size
            const round = dtype === "float32" ? Math.fround : (v: number) => v
            const want = Ref.pool(kind, x.map(round), xShape, cfg.size, strides, cfg.padding)
            const t = Tensor.fromArray(x, xShape as ReadonlyArray<number>, { dtype })
            const options = cfg.strides === undefined
              ? { poolSize: cfg.size, padding: cfg.padding }
              : { poolSize: cfg.size, strides: cfg.strides, padding: cfg.padding }
            const y = kind === "max" ? Tensor.maxPool2d(t, options) : Tensor.avgPool2d(t, options)
            expect([...y.shape]).toEqual(want.shape)
            close(Tensor.toArray(y), want.data, dtype)
          }),
          { numRuns: 100 }
        )
      })
    }
  }

  it("explicit pads: padded cells never win a max and are not counted in an average", () => {
    const x = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1])
    // 3x3 windows, stride 2, pad 1 on every side (the ResNet stem's pool): windows start at -1 and 1.
    const max = Tensor.maxPool2d(x, { poolSize: 3, strides: 2, padding: 1 })
    expect(max.shape).toEqual([1, 2, 2, 1])
    expect(Array.from(Tensor.toArray(max))).toEqual([6, 8, 14, 16])
    const avg = Tensor.avgPool2d(x, { poolSize: 3, strides: 2, padding: 1 })
    expect(Array.from(Tensor.toArray(avg))).toEqual([3.5, 5, 9.5, 11])
    // [[top, bottom], [left, right]]: one row on top, one column on the right.
    const y = Tensor.maxPool2d(x, { poolSize: 2, padding: [[1, 0], [0, 1]] })
    expect(y.shape).toEqual([1, 2, 2, 1])
    expect(Array.from(Tensor.toArray(y))).toEqual([2, 4, 10, 12])
  })

  it("rejects pads that are negative or not smaller than the pool size, with the sizes", () => {
    const x = Tensor.zeros([1, 4, 4, 1]) as Tensor.Tensor<ReadonlyArray<number>>
    const options = (padding: unknown) => ({ poolSize: 2, padding }) as Tensor.Pool2dOptions
    expect(() => Tensor.maxPool2d(x, options(2))).toThrow("maxPool2d: padding 2 must be smaller than pool size 2")
    expect(() => Tensor.avgPool2d(x, options([[0, 0], [1, 3]]))).toThrow(
      "avgPool2d: padding 3 must be smaller than pool size 2"
    )
    expect(() => Tensor.maxPool2d(x, options(-1))).toThrow("maxPool2d: padding must be non-negative integers, got -1")
    expect(() => Tensor.maxPool2d(x, options("full"))).toThrow(
      "maxPool2d: padding must be non-negative integers, got \"full\""
    )
  })

  it("maxPool2d exact case", () => {
    const x = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1])
    expect(Array.from(Tensor.toArray(Tensor.maxPool2d(x, { poolSize: 2 })))).toEqual([6, 8, 14, 16])
    expect(Array.from(Tensor.toArray(Tensor.avgPool2d(x, { poolSize: 2 })))).toEqual([3.5, 5.5, 11.5, 13.5])
    // "same" with a 3x3 window at stride 2: corner windows average only real cells.
    const y = Tensor.avgPool2d(x, { poolSize: 3, strides: 2, padding: "same" })
    expect(y.shape).toEqual([1, 2, 2, 1])
    expect(Array.from(Tensor.toArray(y))).toEqual([6, 7.5, 12, 13.5])
  })
})
