import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import { pipe } from "effect/Function"
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

/** Transposed convolution by its definition: each input cell scatters `y * w` into the output. */
const transposeRef = (
  y: ReadonlyArray<number>,
  [n, h, w, f]: readonly [number, number, number, number],
  k: ReadonlyArray<number>,
  [kh, kw, c]: readonly [number, number, number],
  [sh, sw]: readonly [number, number],
  [dh, dw]: readonly [number, number],
  padding: "valid" | "same"
) => {
  const size = (
    i: number,
    kk: number,
    s: number,
    d: number
  ) => (padding === "same" ? i * s : (i - 1) * s + (kk - 1) * d + 1)
  const oh = size(h, kh, sh, dh)
  const ow = size(w, kw, sw, dw)
  // The forward convolution's pads (TensorFlow "same": the smaller half first).
  const before = (o: number, i: number, kk: number, s: number, d: number) =>
    padding === "same" ? Math.floor(Math.max((i - 1) * s + (kk - 1) * d + 1 - o, 0) / 2) : 0
  const pt = before(oh, h, kh, sh, dh)
  const pl = before(ow, w, kw, sw, dw)
  const out = new Array<number>(n * oh * ow * c).fill(0)
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let a = 0; a < kh; a++) {
          for (let e = 0; e < kw; e++) {
            const r = i * sh + a * dh - pt
            const q = j * sw + e * dw - pl
            if (r < 0 || r >= oh || q < 0 || q >= ow) continue
            for (let cc = 0; cc < c; cc++) {
              for (let ff = 0; ff < f; ff++) {
                out[((b * oh + r) * ow + q) * c + cc]! += y[((b * h + i) * w + j) * f + ff]! *
                  k[((a * kw + e) * c + cc) * f + ff]!
              }
            }
          }
        }
      }
    }
  }
  return { out, shape: [n, oh, ow, c] }
}

describe("conv2dTranspose", () => {
  const config = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 5 }),
    w: fc.integer({ min: 1, max: 5 }),
    f: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.constantFrom("valid" as const, "same" as const)
  }).chain((cfg) =>
    fc.tuple(fc.constant(cfg), values(cfg.n * cfg.h * cfg.w * cfg.f), values(cfg.kh * cfg.kw * cfg.c * cfg.f))
  )
  for (const dtype of DTYPES) {
    it(`matches the scatter definition, and conv2d of its result has the input's shape (${dtype})`, () => {
      fc.assert(
        fc.property(config, ([cfg, y, k]) => {
          const { n, h, w, f, c, kh, kw, strides, dilation, padding } = cfg
          const round = dtype === "float32" ? Math.fround : (v: number) => v
          const want = transposeRef(y.map(round), [n, h, w, f], k.map(round), [kh, kw, c], strides, dilation, padding)
          const yt = Tensor.fromArray(y, [n, h, w, f] as ReadonlyArray<number>, { dtype })
          const kt = Tensor.fromArray(k, [kh, kw, c, f] as ReadonlyArray<number>, { dtype })
          const out = Tensor.conv2dTranspose(yt, kt, { strides, dilation, padding })
          expect([...out.shape]).toEqual(want.shape)
          close(Tensor.toArray(out), want.out, dtype, 4)
          expect([...Tensor.conv2d(out, kt, { strides, dilation, padding }).shape]).toEqual([n, h, w, f])
        }),
        { numRuns: 60 }
      )
    })
  }

  it("is the adjoint of conv2d: <conv2d(x, w), y> = <x, conv2dTranspose(y, w)>", () => {
    const x = Tensor.fromArray(Array.from({ length: 2 * 8 * 6 * 2 }, (_, i) => Math.sin(i)), [2, 8, 6, 2], {
      dtype: "float64"
    })
    const w = Tensor.fromArray(Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => Math.cos(i)), [3, 2, 2, 3], {
      dtype: "float64"
    })
    const options = { strides: 2, padding: "same", dilation: [1, 2] } as const
    const y = Tensor.fromArray(Array.from({ length: 2 * 4 * 3 * 3 }, (_, i) => Math.sin(3 * i + 1)), [2, 4, 3, 3], {
      dtype: "float64"
    })
    const lhs = Tensor.item(Tensor.sum(Tensor.mul(Tensor.conv2d(x, w, options), y)))
    const rhs = Tensor.item(Tensor.sum(Tensor.mul(x, Tensor.conv2dTranspose(y, w, options))))
    expect(lhs).toBeCloseTo(rhs, 12)
  })

  it("data-last, typed, and its errors name the sizes", () => {
    const y = Tensor.zeros([2, 7, 7, 4])
    const w = Tensor.zeros([3, 3, 2, 4])
    const up = pipe(y, Tensor.conv2dTranspose(w, { strides: 2, padding: "same" }))
    const typed: Tensor.Tensor<readonly [2, 14, 14, 2]> = up
    expect(typed.shape).toEqual([2, 14, 14, 2])
    const dyn = Tensor.zeros([1, 4, 4, 3]) as Tensor.Tensor<ReadonlyArray<number>>
    expect(() => Tensor.conv2dTranspose(dyn, Tensor.zeros([2, 2, 1, 4]))).toThrow(
      "conv2dTranspose: input channels 3 do not match the kernel's last axis 4"
    )
    expect(() =>
      Tensor.conv2dTranspose(
        dyn,
        Tensor.zeros([2, 2, 1, 3]),
        { padding: 1 } as unknown as Tensor.Conv2dTransposeOptions
      )
    ).toThrow("conv2dTranspose: padding must be \"valid\" or \"same\", got 1")
    // @ts-expect-error conv2dTranspose: input channels 4 do not match the kernel's last axis 3
    expect(() => Tensor.conv2dTranspose(y, Tensor.zeros([2, 2, 1, 3]))).toThrow(
      "conv2dTranspose: input channels 4 do not match the kernel's last axis 3"
    )
  })
})
