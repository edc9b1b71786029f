/**
 * `vmap` of convolutions whose two operands are both batched (images and filters, output gradients and
 * filters, images and output gradients: among them the per-example filter gradients of `vmap(grad(loss))`):
 * the batched-matrix-product rules against the per-example loop, on generated geometries (odd sizes, every
 * padding form, pads past the kernel's extent, strides up to 3, dilation), float32 and float64, with their
 * gradients, under nested vmap, and on per-example gradients of a small CNN. The batched path is forced
 * (`convBatching`) so that every case takes it; the tests around the threshold check that larger
 * convolutions fall back. The comparisons allow rounding (relative 1e-12 in float64, 1e-5 in float32): the
 * rules compute each entry as the kernels do, but from column matrices on the GEMM, a different computation;
 * that they agree bit for bit on the WebAssembly kernels is checked once, on its own.
 */
import { grad, gradArgs, jvp, Pytree, vjp, vmap } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { getKernels, toImpl } from "@typegrad/tensor/internal"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { convBatching, rules } from "../src/internal/batching.ts"

type T = Tensor.AnyTensor
type DType = Tensor.DType
type Dims = ReadonlyArray<number>

const SEED = 0xc0a7
const RUNS = 16

const defaults = { ...convBatching }
const limit = (macs: number): void => {
  convBatching.maxMacs = macs
  convBatching.maxMacsInput = macs
}
beforeEach(() => limit(Infinity))
afterEach(() => Object.assign(convBatching, defaults))

const arr = (t: T): Array<number> => Array.from(Tensor.toArray(t))
const tolOf = (dtype: DType): number => (dtype === "float64" ? 1e-12 : 1e-5)

/** Example `i` of `t` along axis 0. */
const take = (t: T, i: number): T => {
  const rest = t.shape.slice(1)
  return Tensor.reshape(Tensor.slice(t, [i, ...rest.map(() => 0)], [1, ...rest]) as T, rest) as T
}

/** The per-example loop that `vmap(f, { inAxes })` replaces (mapped axes 0 or null), stacked on axis 0. */
const loop = (
  f: (...xs: ReadonlyArray<never>) => Pytree.Pytree,
  inAxes: ReadonlyArray<0 | null>,
  args: ReadonlyArray<Pytree.Pytree>,
  size: number
): Pytree.Pytree => {
  const outs: Array<Pytree.Pytree> = []
  for (let i = 0; i < size; i++) {
    outs.push((f as (...xs: ReadonlyArray<Pytree.Pytree>) => Pytree.Pytree)(
      ...args.map((a, k) => (inAxes[k] === null ? a : Pytree.map(a, (t) => take(t, i))))
    ))
  }
  const per = outs.map((o) => Pytree.leaves(o))
  return Pytree.map(outs[0]!, (_, j) => Tensor.stack(per.map((ls) => ls[j]!)) as T)
}

/** Leaf by leaf: same shapes and dtypes, entries within `tol` relative to max(1, |b|). */
const expectClose = (a: Pytree.Pytree, b: Pytree.Pytree, tol: number, what: string): void => {
  const la = Pytree.leaves(a)
  const lb = Pytree.leaves(b)
  if (la.length !== lb.length) expect.fail(`${what}: ${la.length} leaves, the loop ${lb.length}`)
  la.forEach((x, j) => {
    const y = lb[j]!
    expect(x.shape, `${what} leaf ${j} shape`).toEqual(y.shape)
    expect(x.dtype, `${what} leaf ${j} dtype`).toBe(y.dtype)
    const xs = arr(x)
    const ys = arr(y)
    xs.forEach((v, i) => {
      const w = ys[i]!
      if (!(Math.abs(v - w) <= tol * Math.max(1, Math.abs(w)))) {
        expect.fail(`${what} leaf ${j} entry ${i}: vmap ${v}, loop ${w}`)
      }
    })
  })
}

/** A generated convolution with a batch of images, filters, biases and output gradients. */
interface Case {
  readonly size: number
  readonly dtype: DType
  readonly config: Arbitrary.Conv2dConfig
  readonly xs: T
  readonly ws: T
  readonly bs: T
  readonly dys: T
}

const batchOf = (size: number, dims: Dims, dtype: DType): fc.Arbitrary<T> =>
  Arbitrary.tensor([size, ...dims], { dtype }) as fc.Arbitrary<T>

const cases = (dtype: DType): fc.Arbitrary<Case> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 3 }),
      Arbitrary.conv2dConfig({ height: { min: 1, max: 7 }, width: { min: 1, max: 6 }, pad: { min: 0, max: 3 } })
    )
    .chain(([size, config]) =>
      fc.record({
        size: fc.constant(size),
        dtype: fc.constant(dtype),
        config: fc.constant(config),
        xs: batchOf(size, config.input, dtype),
        ws: batchOf(size, config.kernel, dtype),
        bs: batchOf(size, [config.kernel[3]], dtype),
        dys: batchOf(size, config.geometry.outShape, dtype)
      })
    )

const conv = (c: Case) => (x: T, w: T): T => Tensor.conv2d(x, w, c.config.options) as T
/** `conv2dBackpropInput(dy, w)`: the pullback of the convolution with respect to its images. */
const inputGrad = (c: Case) => (dy: T, w: T): T =>
  vjp((x: T) => conv(c)(x, w), Tensor.zeros(c.config.input, { dtype: c.dtype }) as T)[1](dy)
/** `conv2dBackpropFilter(x, dy)`: the pullback of the convolution with respect to its filters. */
const filterGrad = (c: Case) => (x: T, dy: T): T =>
  vjp((w: T) => conv(c)(x, w), Tensor.zeros(c.config.kernel, { dtype: c.dtype }) as T)[1](dy)

const label = (c: Case): string =>
  `${c.dtype} B ${c.size} input ${JSON.stringify(c.config.input)} kernel ${JSON.stringify(c.config.kernel)} ${
    JSON.stringify(c.config.options)
  }`

describe.each(["float64", "float32"] as const)(
  "both operands batched agree with the per-example loop (%s)",
  (dtype) => {
    const tol = tolOf(dtype)

    it("conv2d, conv2dBias (with and without relu, a batch of biases or one), and their gradients", () => {
      fc.assert(
        fc.property(cases(dtype), (c) => {
          const f = conv(c)
          expectClose(vmap(f)(c.xs, c.ws), loop(f, [0, 0], [c.xs, c.ws], c.size), tol, `conv2d ${label(c)}`)
          for (const relu of [false, true]) {
            const fb = (x: T, w: T, b: T) => Tensor.conv2dBias(x, w, b as never, { ...c.config.options, relu }) as T
            for (const axes of [[0, 0, 0], [0, 0, null]] as const) {
              const b = axes[2] === null ? take(c.bs, 0) : c.bs
              expectClose(
                vmap(fb, { inAxes: axes })(c.xs, c.ws, b),
                loop(fb, axes, [c.xs, c.ws, b], c.size),
                tol,
                `conv2dBias relu ${relu} inAxes ${JSON.stringify(axes)} ${label(c)}`
              )
            }
          }
          // the gradients run conv2dBackpropInput(dy, w) and conv2dBackpropFilter(x, dy), all batched
          const g = gradArgs((x: T, w: T) => Tensor.sum(Tensor.sin(f(x, w))) as never, [0, 1]) as (
            x: T,
            w: T
          ) => Pytree.Pytree
          expectClose(vmap(g)(c.xs, c.ws), loop(g, [0, 0], [c.xs, c.ws], c.size), tol, `grad ${label(c)}`)
        }),
        { seed: SEED, numRuns: RUNS }
      )
    })

    it("conv2dBackpropInput of batched gradients and filters; conv2dBackpropFilter of batched images and gradients", () => {
      fc.assert(
        fc.property(cases(dtype), (c) => {
          expectClose(
            vmap(inputGrad(c))(c.dys, c.ws),
            loop(inputGrad(c), [0, 0], [c.dys, c.ws], c.size),
            tol,
            `conv2dBackpropInput ${label(c)}`
          )
          expectClose(
            vmap(filterGrad(c))(c.xs, c.dys),
            loop(filterGrad(c), [0, 0], [c.xs, c.dys], c.size),
            tol,
            `conv2dBackpropFilter ${label(c)}`
          )
        }),
        { seed: SEED, numRuns: RUNS }
      )
    })
  }
)

describe("bit for bit", () => {
  // The rules compute each entry as the kernels do (the same dot products in the same order; the stride-1
  // input gradient as the convolution with the rotated filters), so on the WebAssembly kernels the results
  // equal the loop's exactly.
  it.skipIf(getKernels().name !== "wasm-simd")(
    "equal to the per-example loop on the WebAssembly kernels (float64)",
    () => {
      fc.assert(
        fc.property(cases("float64"), (c) => {
          const f = conv(c)
          expectClose(vmap(f)(c.xs, c.ws), loop(f, [0, 0], [c.xs, c.ws], c.size), 0, `conv2d ${label(c)}`)
          for (
            const [name, g, a, b] of [
              ["conv2dBackpropInput", inputGrad(c), c.dys, c.ws],
              ["conv2dBackpropFilter", filterGrad(c), c.xs, c.dys]
            ] as const
          ) {
            expectClose(vmap(g)(a, b), loop(g, [0, 0], [a, b], c.size), 0, `${name} ${label(c)}`)
          }
        }),
        { seed: SEED, numRuns: RUNS * 2 }
      )
    }
  )
})

describe("composition", () => {
  it("grad through the rules (grad of vmap) equals grad of the loop, to second order", () => {
    fc.assert(
      fc.property(cases("float64"), (c) => {
        const f = conv(c)
        const batchLoss = (run: (x: T, w: T) => T) => (x: T, w: T) => Tensor.sum(Tensor.square(run(x, w))) as never
        const vmapped = (x: T, w: T) => vmap(f)(x, w)
        const looped = (x: T, w: T) => loop(f, [0, 0], [x, w], c.size) as T
        const first = gradArgs(batchLoss(vmapped), [0, 1])
        expectClose(first(c.xs, c.ws), gradArgs(batchLoss(looped), [0, 1])(c.xs, c.ws), 1e-12, `grad ${label(c)}`)
        // second order: the gradient of a penalty on the first-order gradient
        const penalty = (g: typeof first) => (x: T, w: T) =>
          Tensor.sum(Tensor.square((g(x, w) as ReadonlyArray<T>)[1]!)) as never
        expectClose(
          gradArgs(penalty(first), [0, 1])(c.xs, c.ws),
          gradArgs(penalty(gradArgs(batchLoss(looped), [0, 1])), [0, 1])(c.xs, c.ws),
          1e-11,
          `second order ${label(c)}`
        )
      }),
      { seed: SEED, numRuns: 8 }
    )
  })

  it("forward mode: jvp through the rules and vmap of jvp equal the loop's", () => {
    fc.assert(
      fc.property(
        cases("float64").chain((c) =>
          fc.record({
            c: fc.constant(c),
            tx: batchOf(c.size, c.config.input, "float64"),
            tw: batchOf(c.size, c.config.kernel, "float64")
          })
        ),
        ({ c, tx, tw }) => {
          const f = conv(c)
          const pair = (xw: readonly [T, T]) => vmap(f)(xw[0], xw[1])
          const looped = (xw: readonly [T, T]) => loop(f, [0, 0], [xw[0], xw[1]], c.size) as T
          expectClose(
            jvp(pair, [c.xs, c.ws] as const, [tx, tw] as const),
            jvp(looped, [c.xs, c.ws] as const, [tx, tw] as const),
            1e-12,
            `jvp of vmap ${label(c)}`
          )
          const perExample = (x: T, w: T, dx: T, dw: T) =>
            jvp(
              (xw: readonly [T, T]) => f(xw[0], xw[1]),
              [x, w] as const,
              [dx, dw] as const
            ) as unknown as Pytree.Pytree
          expectClose(
            vmap(perExample)(c.xs, c.ws, tx, tw),
            loop(perExample, [0, 0, 0, 0], [c.xs, c.ws, tx, tw], c.size),
            1e-12,
            `vmap of jvp ${label(c)}`
          )
        }
      ),
      { seed: SEED, numRuns: 8 }
    )
  })

  it("nested vmap: both operands batched at both levels, and filters batched only by the outer map", () => {
    const data = fc
      .tuple(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        Arbitrary.conv2dConfig({ height: { min: 2, max: 6 }, width: { min: 2, max: 6 } })
      )
      .chain(([outer, inner, config]) =>
        fc.record({
          outer: fc.constant(outer),
          inner: fc.constant(inner),
          config: fc.constant(config),
          xs: Arbitrary.tensor([outer, inner, ...config.input], { dtype: "float64" }),
          ws: Arbitrary.tensor([outer, inner, ...config.kernel], { dtype: "float64" })
        })
      )
    fc.assert(
      fc.property(data, ({ outer, inner, config, xs, ws }) => {
        const f = (x: T, w: T) => Tensor.conv2d(x, w, config.options) as T
        const what = `outer ${outer} inner ${inner} ${JSON.stringify(config)}`
        const expected = loop((x: T, w: T) => loop(f, [0, 0], [x, w], inner), [0, 0], [xs, ws], outer)
        expectClose(vmap(vmap(f))(xs as T, ws as T), expected, 1e-12, `vmap(vmap) ${what}`)
        // per-example filter gradients in both levels
        const g = grad((w: T, x: T) => Tensor.sum(Tensor.sin(f(x, w))) as never)
        const expectedGrads = loop((w: T, x: T) => loop(g, [0, 0], [w, x], inner), [0, 0], [ws, xs], outer)
        expectClose(vmap(vmap(g))(ws as T, xs as T), expectedGrads, 1e-12, `vmap(vmap(grad)) ${what}`)
        // the inner map shares the filter: its rule folds the images into N, and the outer map sees a
        // convolution of its batch of images with its batch of filters
        const wOuter = Tensor.reshape(
          Tensor.slice(ws as T, [0, 0, 0, 0, 0, 0], [outer, 1, ...config.kernel]) as T,
          [outer, ...config.kernel]
        ) as T
        const shared = (x: T, w: T) => vmap((xi: T) => f(xi, w))(x)
        expectClose(
          vmap(shared)(xs as T, wOuter),
          loop((x: T, w: T) => loop((xi: T) => f(xi, w), [0], [x], inner), [0, 0], [xs, wOuter], outer),
          1e-12,
          `vmap over a shared filter ${what}`
        )
      }),
      { seed: SEED, numRuns: 12 }
    )
  })
})

describe("per-example gradients of a small CNN", () => {
  type Params = { readonly k1: T; readonly b1: T; readonly k2: T; readonly b2: T; readonly w: T; readonly b: T }
  const loss = (p: Params, image: T, y: T): never => {
    const h1 = Tensor.conv2dBias(Tensor.reshape(image, [1, 7, 7, 1]) as T, p.k1, p.b1 as never, {
      relu: true,
      padding: "same"
    }) as T
    const h2 = Tensor.conv2dBias(h1, p.k2, p.b2 as never, { relu: true, strides: 2, dilation: 1 }) as T
    const logits = Tensor.add(Tensor.matmul(Tensor.flatten(h2) as T, p.w), p.b) as T
    return Tensor.neg(Tensor.sum(Tensor.mul(Tensor.logSoftmax(logits), Tensor.oneHot(y, 3)))) as never
  }
  const data = (dtype: DType) =>
    fc.record({
      p: fc.record({
        k1: Arbitrary.tensor([3, 3, 1, 3], { dtype }),
        b1: Arbitrary.tensor([3], { dtype }),
        k2: Arbitrary.tensor([3, 3, 3, 4], { dtype }),
        b2: Arbitrary.tensor([4], { dtype }),
        w: Arbitrary.tensor([3 * 3 * 4, 3], { dtype }),
        b: Arbitrary.tensor([3], { dtype })
      }),
      images: Arbitrary.tensor([5, 7, 7], { dtype, awayFrom: [0] }),
      labels: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 5, maxLength: 5 })
    })

  it.each(["float64", "float32"] as const)(
    "vmap(grad(loss)) equals each example's gradient computed on its own (%s); so do a batch of parameters'",
    (dtype) => {
      fc.assert(
        fc.property(data(dtype), ({ p, images, labels }) => {
          const params = p as Params
          const ys = Tensor.fromArray(labels, [5], { dtype }) as T
          const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, images as T, ys)
          const separately = loop(grad(loss), [null, 0, 0], [params, images, ys], 5)
          expectClose(perExample, separately, tolOf(dtype), `per-example gradients ${dtype}`)
          // the batch gradient is their sum
          const batch = grad((q: Params) =>
            Tensor.sum(vmap((x: T, y: T) => loss(q, x, y) as T)(images as T, ys)) as never
          )(params)
          expectClose(
            batch,
            Pytree.map(perExample, (g) => Tensor.sum(g, { axis: 0 }) as T),
            dtype === "float64" ? 1e-12 : 1e-4,
            `batch gradient ${dtype}`
          )
          // a batch of parameters (an ensemble), each with its own example: every convolution has both
          // operands batched, forward and backward
          const ensemble = Pytree.map(
            params,
            (t) => Tensor.stack([t, Tensor.neg(t) as T, Tensor.mul(t, 0.5) as T] as const) as T
          )
          const three = Tensor.slice(images, [0, 0, 0], [3, 7, 7]) as T
          const threeLabels = Tensor.slice(ys, [0], [3]) as T
          expectClose(
            vmap(grad(loss))(ensemble as Params, three, threeLabels),
            loop(grad(loss), [0, 0, 0], [ensemble, three, threeLabels], 3),
            tolOf(dtype),
            `ensemble gradients ${dtype}`
          )
        }),
        { seed: SEED, numRuns: 6 }
      )
    }
  )
})

describe("which path a convolution takes", () => {
  const fakePrimitive = (name: string) => ({
    name,
    impl: () => {
      throw new Error(`${name} applied one example at a time`)
    },
    vjp: undefined
  })
  /** The params of `conv2d` of `[n, h, h, c]` images with `[3, 3, c, f]` filters, as its primitive receives them. */
  const paramsOf = (n: number, h: number, c: number, f: number) => ({
    geometry: {
      n,
      h,
      w: h,
      c,
      kh: 3,
      kw: 3,
      f,
      outH: h - 2,
      outW: h - 2,
      strideH: 1,
      strideW: 1,
      dilationH: 1,
      dilationW: 1,
      padTop: 0,
      padLeft: 0
    },
    shape: [n, h - 2, h - 2, f],
    relu: false
  })

  it("up to convBatching's multiply-adds per example, one batched product; above, one example at a time", () => {
    const size = 2
    // 1 * 4 * 4 * 3 * 3 * 2 * 3 = 864 multiply-adds per example
    const small = paramsOf(1, 6, 2, 3)
    const batch = (dims: Dims) => ({ value: toImpl(Tensor.ones([size, ...dims], { dtype: "float64" })), batched: true })
    const x = batch([1, 6, 6, 2])
    const w = batch([3, 3, 2, 3])
    const dy = batch([1, 4, 4, 3])
    const b = batch([3])
    const calls = [
      ["conv2d", [x, w]],
      ["conv2dBias", [x, w, b]],
      ["conv2dBackpropInput", [dy, w]],
      ["conv2dBackpropFilter", [x, dy]]
    ] as const
    for (const [maxMacs, fallsBack] of [[864, false], [863, true], [undefined, false]] as const) {
      if (maxMacs === undefined) Object.assign(convBatching, defaults)
      else limit(maxMacs)
      for (const [name, inputs] of calls) {
        const apply = () => rules[name]!(fakePrimitive(name), inputs, small, size)
        if (fallsBack) expect(apply, `${name} at maxMacs ${maxMacs}`).toThrow(/one example at a time/)
        else expect(apply().value.shape[0], `${name} at maxMacs ${maxMacs}`).toBe(size)
      }
    }
  })

  it("larger convolutions fall back by default, and give the same values either way", () => {
    Object.assign(convBatching, defaults)
    // 1 * 10 * 10 * 3 * 3 * 4 * 8 = 28,800 multiply-adds per example
    const large = paramsOf(1, 12, 4, 8)
    const ones = (dims: Dims) => ({ value: toImpl(Tensor.ones([2, ...dims], { dtype: "float64" })), batched: true })
    for (
      const [name, inputs] of [
        ["conv2d", [ones([1, 12, 12, 4]), ones([3, 3, 4, 8])]],
        ["conv2dBackpropInput", [ones([1, 10, 10, 8]), ones([3, 3, 4, 8])]],
        ["conv2dBackpropFilter", [ones([1, 12, 12, 4]), ones([1, 10, 10, 8])]]
      ] as const
    ) {
      expect(() => rules[name]!(fakePrimitive(name), inputs, large, 2)).toThrow(/one example at a time/)
    }
    const xs = Tensor.reshape(
      Tensor.sin(
        Tensor.cast(Tensor.fromArray(Array.from({ length: 2 * 12 * 12 * 4 }, (_, i) => i), [1152]), "float64")
      ),
      [2, 1, 12, 12, 4]
    ) as T
    const ws = Tensor.reshape(
      Tensor.cos(
        Tensor.cast(Tensor.fromArray(Array.from({ length: 2 * 3 * 3 * 4 * 8 }, (_, i) => i), [576]), "float64")
      ),
      [2, 3, 3, 4, 8]
    ) as T
    const f = (x: T, w: T) => Tensor.conv2d(x, w) as T
    const byDefault = vmap(f)(xs, ws)
    limit(Infinity)
    expectClose(vmap(f)(xs, ws), byDefault, 1e-12, "batched against the fallback")
    expectClose(byDefault, loop(f, [0, 0], [xs, ws], 2), 0, "the fallback is the loop")
  })
})
