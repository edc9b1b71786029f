import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import { pipe } from "effect/Function"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Ref from "./reference.ts"

const DTYPES = ["float32", "float64"] as const
type DT = (typeof DTYPES)[number]

/** Values spread over [-1, 1] (raw fc.double clusters near 0). */
const value = fc.integer({ min: -1000, max: 1000 }).map((i) => i / 1000)
const values = (n: number) => fc.array(value, { minLength: n, maxLength: n })

const close = (got: ArrayLike<number>, want: ArrayLike<number>, dtype: DT, scale = 1): void => {
  expect(got.length).toBe(want.length)
  const tol = dtype === "float64" ? 1e-12 : 1e-5
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = got[i]!
    if (Math.abs(g - w) > tol * scale * Math.max(1, Math.abs(w))) {
      expect.fail(`entry ${i}: got ${g}, want ${w} (${dtype})`)
    }
  }
}

describe("creation and reading", () => {
  it("zeros, ones, full, fromArray, toArray in both dtypes", () => {
    const z = Tensor.zeros([2, 3])
    expect(z.shape).toEqual([2, 3])
    expect(z.dtype).toBe("float32")
    expect(Tensor.toArray(z)).toEqual(new Float32Array(6))
    const o = Tensor.ones([2], { dtype: "float64" })
    expect(o.dtype).toBe("float64")
    expect(Tensor.toArray(o)).toBeInstanceOf(Float64Array)
    expect(Array.from(Tensor.toArray(Tensor.full([3], 0.5)))).toEqual([0.5, 0.5, 0.5])
    const s = Tensor.scalar(3)
    expect(s.shape).toEqual([])
    expect(Tensor.toArray(s).length).toBe(1)
    expect(Tensor.item(s)).toBe(3)
    const m = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], { dtype: "float64" })
    expect([...m.shape]).toEqual([2, 3])
    expect(Array.from(Tensor.toArray(m))).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("toArray returns a fresh copy; tensors are immutable", () => {
    const t = Tensor.fromArray([1, 2], [2])
    const a = Tensor.toArray(t)
    a[0] = 99
    expect(Tensor.toArray(t)[0]).toBe(1)
    expect(Object.isFrozen(t.shape)).toBe(true)
  })

  it("fromArray rejects a wrong length with a ShapeError naming the sizes", () => {
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(ShapeError)
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(
      /fromArray: data has 3 elements but shape \[2, 2\] needs 4/
    )
  })

  it("rejects nested arrays with a hint to flatten them", () => {
    expect(() => Tensor.fromArray([[1, 2], [3, 4]] as unknown as ArrayLike<number>, [2, 2])).toThrow(
      /flatten nested arrays/
    )
  })

  it("rejects bad dims and dtypes", () => {
    expect(() => Tensor.zeros([2, -1] as ReadonlyArray<number>)).toThrow(/invalid dim -1/)
    expect(() => Tensor.zeros([1.5] as ReadonlyArray<number>)).toThrow(ShapeError)
    expect(() => Tensor.zeros([2], { dtype: "int8" as "float32" })).toThrow(/unknown dtype/)
    expect(() => Tensor.add(Tensor.ones([2]), Tensor.ones([2], { dtype: "float64" }) as never)).toThrow(/dtypes/)
  })

  it("is Pipeable and dual", () => {
    const x = Tensor.fromArray([-1, 2], [2])
    expect(Array.from(Tensor.toArray(x.pipe(Tensor.relu, Tensor.add(1))))).toEqual([1, 3])
    expect(Array.from(Tensor.toArray(pipe(x, Tensor.mul(Tensor.fromArray([3, 4], [2])))))).toEqual([-3, 8])
    expect(Tensor.item(Tensor.sum(x))).toBe(1)
    expect(Tensor.item(pipe(x, Tensor.sum({ axis: 0 })))).toBe(1)
    expect(Tensor.transpose(Tensor.zeros([2, 3])).shape).toEqual([3, 2])
    expect(pipe(Tensor.zeros([2, 3]), Tensor.transpose([1, 0])).shape).toEqual([3, 2])
    expect(Tensor.softmax(x).shape).toEqual([2])
    expect(Tensor.isTensor(x)).toBe(true)
    expect(Tensor.isTensor({ shape: [] })).toBe(false)
  })
})

describe("elementwise", () => {
  const unary: ReadonlyArray<
    readonly [
      string,
      (t: Tensor.Tensor<readonly [number], DT>) => Tensor.Tensor<readonly [number], DT>,
      (x: number) => number
    ]
  > = [
    ["neg", Tensor.neg, (x) => -x],
    ["exp", Tensor.exp, Math.exp],
    ["log", (t) => Tensor.log(Tensor.add(Tensor.abs(t), 0.5)), (x) => Math.log(Math.abs(x) + 0.5)],
    ["tanh", Tensor.tanh, Math.tanh],
    ["sigmoid", Tensor.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
    ["relu", Tensor.relu, (x) => Math.max(x, 0)]
  ]
  for (const dtype of DTYPES) {
    for (const [name, op, ref] of unary) {
      it(`${name} matches Math (${dtype})`, () => {
        fc.assert(
          fc.property(fc.array(value.map((v) => v * 8), { minLength: 1, maxLength: 40 }), (xs) => {
            const t = Tensor.fromArray(xs, [xs.length] as ReadonlyArray<number> as readonly [number], { dtype })
            const want = xs.map((x) => ref(dtype === "float32" ? Math.fround(x) : x))
            close(Tensor.toArray(op(t)), want, dtype)
          }),
          { numRuns: 30 }
        )
      })
    }
  }

  it("relu is exact around zero (relu(0) = 0)", () => {
    const t = Tensor.fromArray([-1, -1e-30, 0, 1e-30, 2], [5], { dtype: "float64" })
    expect(Array.from(Tensor.toArray(Tensor.relu(t)))).toEqual([0, 0, 0, 1e-30, 2])
  })

  it("sigmoid does not overflow", () => {
    const t = Tensor.fromArray([-1000, 1000, 0], [3], { dtype: "float64" })
    expect(Array.from(Tensor.toArray(Tensor.sigmoid(t)))).toEqual([0, 1, 0.5])
  })

  const shapePair = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 })
    .chain((out) =>
      fc.tuple(
        fc.constant(out),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.integer({ min: 0, max: out.length }),
        fc.integer({ min: 0, max: out.length })
      )
    )
    .map(([out, onesA, onesB, dropA, dropB]) => ({
      a: out.map((d, i) => (onesA[i] ? 1 : d)).slice(dropA),
      b: out.map((d, i) => (onesB[i] ? 1 : d)).slice(dropB)
    }))

  type AnyT = Tensor.Tensor<ReadonlyArray<number>, DT>
  const binaries: ReadonlyArray<readonly [string, (a: AnyT, b: AnyT) => AnyT, (x: number, y: number) => number]> = [
    ["add", (a, b) => Tensor.add(a, b), (x, y) => x + y],
    ["sub", (a, b) => Tensor.sub(a, b), (x, y) => x - y],
    ["mul", (a, b) => Tensor.mul(a, b), (x, y) => x * y],
    ["div", (a, b) => Tensor.div(a, b), (x, y) => x / y]
  ]
  for (const dtype of DTYPES) {
    for (const [name, op, f] of binaries) {
      it(`${name} broadcasts like NumPy (${dtype})`, () => {
        fc.assert(
          fc.property(
            shapePair.chain(({ a, b }) =>
              fc.tuple(fc.constant(a), fc.constant(b), values(Ref.size(a)), values(Ref.size(b)))
            ),
            ([aShape, bShape, a, b]) => {
              const bb = name === "div" ? b.map((v) => (Math.abs(v) < 0.1 ? 0.5 : v)) : b
              const ta = Tensor.fromArray(a, aShape as ReadonlyArray<number>, { dtype })
              const tb = Tensor.fromArray(bb, bShape as ReadonlyArray<number>, { dtype })
              const r = op(ta, tb)
              const round = dtype === "float32" ? Math.fround : (x: number) => x
              const want = Ref.binary(f, a.map(round), aShape, bb.map(round), bShape)
              expect([...r.shape]).toEqual(want.shape)
              close(Tensor.toArray(r), want.data, dtype)
            }
          ),
          { numRuns: 60 }
        )
      })
    }
  }

  it("rejects shapes that do not broadcast at run time", () => {
    const a = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    const b = Tensor.zeros([4] as ReadonlyArray<number>)
    expect(() => Tensor.add(a, b)).toThrow(ShapeError)
    expect(() => Tensor.add(a, b)).toThrow(/add: cannot broadcast/)
  })
})

describe("reductions", () => {
  const config = fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 })
    .chain((shape) =>
      fc.tuple(
        fc.constant(shape),
        fc.subarray(shape.map((_, i) => i)),
        fc.boolean(),
        values(Ref.size(shape)),
        fc.boolean()
      )
    )
  for (const dtype of DTYPES) {
    for (const kind of ["sum", "mean", "max"] as const) {
      it(`${kind} along any axes (${dtype})`, () => {
        fc.assert(
          fc.property(config, ([shape, axes, keepDims, data, negative]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const op = kind === "sum" ? Tensor.sum : kind === "mean" ? Tensor.mean : Tensor.max
            const axisArg = negative ? axes.map((a) => a - shape.length) : axes
            const r = axes.length === shape.length && !keepDims && axes.length > 0 && negative
              ? op(t)
              : op(t, { axis: axisArg, keepDims })
            const want = Ref.reduce(kind, dtype === "float32" ? data.map(Math.fround) : data, shape, axes, keepDims)
            expect([...r.shape]).toEqual(want.shape)
            close(Tensor.toArray(r), want.data, dtype, 4)
          }),
          { numRuns: 60 }
        )
      })
    }
  }

  it("reduces everything by default and keeps dims on request", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    expect(Tensor.sum(t).shape).toEqual([])
    expect(Tensor.item(Tensor.sum(t))).toBe(21)
    expect(Tensor.item(Tensor.mean(t))).toBe(3.5)
    expect(Tensor.item(Tensor.max(t))).toBe(6)
    expect(Tensor.sum(t, { axis: 1, keepDims: true }).shape).toEqual([2, 1])
    expect(Array.from(Tensor.toArray(Tensor.sum(t, { axis: 0 })))).toEqual([5, 7, 9])
    expect(Array.from(Tensor.toArray(Tensor.max(t, { axis: -1 })))).toEqual([3, 6])
  })

  it("max propagates NaN", () => {
    expect(Tensor.item(Tensor.max(Tensor.fromArray([1, NaN, 3], [3])))).toBeNaN()
  })

  it("rejects an axis out of range", () => {
    const t = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    expect(() => Tensor.sum(t, { axis: 2 })).toThrow(ShapeError)
    expect(() => Tensor.sum(t, { axis: 2 })).toThrow(/sum: axis 2/)
  })
})

describe("shape manipulation", () => {
  it("reshape with -1 and flatten share the data", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    expect(Tensor.reshape(t, [3, -1]).shape).toEqual([3, 2])
    expect(Tensor.flatten(Tensor.zeros([2, 3, 4])).shape).toEqual([2, 12])
    expect(Array.from(Tensor.toArray(Tensor.reshape(t, [6])))).toEqual([1, 2, 3, 4, 5, 6])
    expect(() => Tensor.reshape(t as Tensor.Tensor<ReadonlyArray<number>>, [4, -1])).toThrow(ShapeError)
  })

  for (const dtype of DTYPES) {
    it(`transpose by any permutation (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }).chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }),
              values(Ref.size(shape))
            )
          ),
          ([shape, perm, data]) => {
            const t = Tensor.fromArray(data, shape as ReadonlyArray<number>, { dtype })
            const r = Tensor.transpose(t, perm)
            const want = Ref.transpose(dtype === "float32" ? data.map(Math.fround) : data, shape, perm)
            expect([...r.shape]).toEqual(want.shape)
            close(Tensor.toArray(r), want.data, dtype)
          }
        ),
        { numRuns: 60 }
      )
    })
  }

  it("concat along any axis", () => {
    const a = Tensor.fromArray([1, 2, 3, 4], [2, 2])
    const b = Tensor.fromArray([5, 6], [2, 1])
    const c = Tensor.concat([a, b], 1)
    expect(c.shape).toEqual([2, 3])
    expect(Array.from(Tensor.toArray(c))).toEqual([1, 2, 5, 3, 4, 6])
    const d = Tensor.concat([a, Tensor.fromArray([7, 8], [1, 2])], 0)
    expect(Array.from(Tensor.toArray(d))).toEqual([1, 2, 3, 4, 7, 8])
    expect(Array.from(Tensor.toArray(Tensor.concat([a, b], -1)))).toEqual([1, 2, 5, 3, 4, 6])
    expect(() => Tensor.concat([a, Tensor.zeros([3, 3]) as Tensor.Tensor<ReadonlyArray<number>>], 1)).toThrow(
      ShapeError
    )
  })

  it("slice and pad are inverse on the padded region", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    const p = Tensor.pad(t, [[1, 0], [0, 2]])
    expect(p.shape).toEqual([3, 5])
    expect(Array.from(Tensor.toArray(p))).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0])
    expect(Array.from(Tensor.toArray(Tensor.slice(p, [1, 0], [2, 3])))).toEqual([1, 2, 3, 4, 5, 6])
    expect(Array.from(Tensor.toArray(Tensor.slice(t, [0, 1], [2, 1])))).toEqual([2, 5])
    expect(() => Tensor.slice(t, [1, 1], [2, 2])).toThrow(/does not fit/)
  })
})

describe("softmax", () => {
  for (const dtype of DTYPES) {
    it(`rows sum to one, shift invariant, logSoftmax = log(softmax) (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 0, max: 1 }),
          (r, c, axis) =>
            fc.assert(
              fc.property(values(r * c), (data) => {
                const x = Tensor.fromArray(data.map((v) => v * 20), [r, c] as ReadonlyArray<number>, { dtype })
                const s = Tensor.softmax(x, axis)
                const sums = Tensor.toArray(Tensor.sum(s, { axis }))
                close(sums, new Array(sums.length).fill(1), dtype, 10)
                close(Tensor.toArray(Tensor.softmax(Tensor.add(x, 100), axis)), Tensor.toArray(s), dtype, 100)
                close(Tensor.toArray(Tensor.logSoftmax(x, axis)), Array.from(Tensor.toArray(s), Math.log), dtype, 100)
              }),
              { numRuns: 3 }
            )
        ),
        { numRuns: 15 }
      )
    })
  }

  it("is stable for huge logits", () => {
    const x = Tensor.fromArray([1000, 0, -1000], [3], { dtype: "float64" })
    const l = Tensor.toArray(Tensor.logSoftmax(x))
    expect(l[0]).toBeCloseTo(0, 12)
    expect(l[1]).toBeCloseTo(-1000, 9)
    expect(Number.isFinite(l[2]!)).toBe(true)
  })
})

describe("matmul", () => {
  it("exact small case", () => {
    const a = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    const b = Tensor.fromArray([7, 8, 9, 10, 11, 12], [3, 2])
    const c = Tensor.matmul(a, b)
    expect(c.shape).toEqual([2, 2])
    expect(Array.from(Tensor.toArray(c))).toEqual([58, 64, 139, 154])
  })

  for (const dtype of DTYPES) {
    it(`matches the naive triple loop on random shapes (${dtype})`, () => {
      fc.assert(
        fc.property(
          fc.tuple(
            fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
            fc.integer({ min: 1, max: 70 }),
            fc.integer({ min: 1, max: 70 }),
            fc.integer({ min: 1, max: 70 })
          ).chain(([batch, m, k, n]) =>
            fc.tuple(
              fc.constant([...batch, m, k]),
              fc.constant([k, n]),
              values(Ref.size(batch) * m * k),
              values(k * n)
            )
          ),
          ([aShape, bShape, a, b]) => {
            const ta = Tensor.fromArray(a, aShape as ReadonlyArray<number>, { dtype })
            const tb = Tensor.fromArray(b, bShape as ReadonlyArray<number>, { dtype })
            const r = Tensor.matmul(ta, tb)
            const round = dtype === "float32" ? Math.fround : (x: number) => x
            expect([...r.shape]).toEqual([...aShape.slice(0, -1), bShape[1]])
            close(
              Tensor.toArray(r),
              Ref.matmul(a.map(round), aShape, b.map(round), bShape),
              dtype,
              10 * Math.sqrt(bShape[0]!)
            )
          }
        ),
        { numRuns: 40 }
      )
    })
  }

  it("batched right operand broadcasts", () => {
    const a = Tensor.fromArray([1, 0, 0, 1], [1, 2, 2])
    const b = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2])
    const c = Tensor.matmul(a, b)
    expect(c.shape).toEqual([2, 2, 2])
    expect(Array.from(Tensor.toArray(c))).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it("rejects mismatched inner dims at run time", () => {
    const a = Tensor.zeros([2, 3] as ReadonlyArray<number>)
    const b = Tensor.zeros([4, 5] as ReadonlyArray<number>)
    expect(() => Tensor.matmul(a, b)).toThrow(ShapeError)
    expect(() => Tensor.matmul(a, b)).toThrow(/matmul/)
  })
})

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

describe("pooling", () => {
  // The shared Arbitrary.pool2dConfig: sizes and strides as pairs, strides sometimes left to default,
  // valid and same padding; odd sizes, windows up to 4.
  const poolConfig = Arbitrary.pool2dConfig({
    height: { min: 1, max: 9 },
    width: { min: 1, max: 9 },
    channels: { min: 1, max: 4 },
    poolSize: { min: 1, max: 4 },
    form: "pair"
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
