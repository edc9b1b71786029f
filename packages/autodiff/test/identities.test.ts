/**
 * Exact identities of derivatives: no finite differences, tolerances at float64 round-off (1e-10 and
 * tighter). fast-check runs use a fixed seed (`SEED`) so the suite is deterministic.
 */
import { grad, jvp, Pytree, vjp } from "@typegrad/autodiff"
import { Shape } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary, CheckGrads, jvpVjpAgreement } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

type T = Tensor.AnyTensor
type Dims = ReadonlyArray<number>

const SEED = 0x1de7
const FC = { seed: SEED, numRuns: 25 } as const

const f64 = (dims: Dims, options: Arbitrary.ValueOptions = {}): fc.Arbitrary<T> =>
  Arbitrary.tensor(dims, { ...options, dtype: "float64" })
const arr = (t: T): Array<number> => Array.from(Tensor.toArray(t))
const inner = (a: T, b: T): number => arr(a).reduce((s, v, i) => s + v * arr(b)[i]!, 0)

/** Elementwise |a - b| <= tol * max(1, |b|). */
const expectClose = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, tol = 1e-10, what = ""): void => {
  expect(a.length).toBe(b.length)
  a.forEach((v, i) => {
    if (!(Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)))) expect.fail(`${what} entry ${i}: ${v} vs ${b[i]}`)
  })
}

/** A composite function of a pytree, to exercise many rules at once. */
const net = (p: { readonly w: T; readonly b: T; readonly x: T }): T =>
  Tensor.logSoftmax(
    Tensor.add(Tensor.tanh(Tensor.matmul(p.x, p.w)), Tensor.mul(Tensor.sigmoid(p.b), Tensor.exp(Tensor.mean(p.x))))
  )

const netInputs = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }))
  .chain(([n, k, m]) => fc.record({ x: f64([n, k]), w: f64([k, m]), b: f64([m]) }))

interface ConvConfig {
  readonly xs: Dims
  readonly ws: Dims
  readonly options: Tensor.Conv2dOptions
}

/**
 * Small conv2d configurations (the shared `Arbitrary.conv2dConfig`): strides and dilation as pairs, padding
 * valid or same (1/4 each) or explicit asymmetric pads (1/2).
 */
const convConfig: fc.Arbitrary<ConvConfig> = Arbitrary.conv2dConfig({
  height: { min: 3, max: 7 },
  width: { min: 3, max: 7 },
  form: "pair",
  padding: ["valid", "same", "explicit", "explicit"]
}).map(({ input, kernel, options }) => ({ xs: input, ws: kernel, options }))

describe("exact identities", () => {
  it("the VJP is linear in the cotangent: vjp(a u + b w) = a vjp(u) + b vjp(w)", () => {
    fc.assert(
      fc.property(
        netInputs,
        fc.integer({ min: -5, max: 5 }),
        fc.integer({ min: -5, max: 5 }),
        fc.nat(),
        (p, a, b, seed) => {
          const [y, pullback] = vjp(net, p)
          const rand = fc.sample(Arbitrary.values(y.size * 2), { seed, numRuns: 1 })[0]!
          const u = Tensor.fromArray(rand.slice(0, y.size), y.shape, { dtype: "float64" })
          const w = Tensor.fromArray(rand.slice(y.size), y.shape, { dtype: "float64" })
          const lhs = Pytree.leaves(pullback(Tensor.add(Tensor.mul(u, a), Tensor.mul(w, b))))
          const gu = Pytree.leaves(pullback(u))
          const gw = Pytree.leaves(pullback(w))
          lhs.forEach((l, i) =>
            expectClose(arr(l), arr(gu[i]!).map((v, k) => a * v + b * arr(gw[i]!)[k]!), 1e-12, `leaf ${i}`)
          )
        }
      ),
      FC
    )
  })

  it("jvp and vjp agree: <u, J v> = <J^T u, v> (pytree input)", () => {
    fc.assert(
      fc.property(netInputs, fc.nat(), (p, seed) => {
        const r = jvpVjpAgreement(net, p, { seed, atol: 1e-12, rtol: 1e-10 })
        expect(r.ok ? "ok" : CheckGrads.format(r)).toBe("ok")
      }),
      FC
    )
  })

  it("jvp and vjp agree for conv2d and pooling", () => {
    fc.assert(
      fc.property(convConfig.chain((c) => fc.tuple(fc.constant(c), f64(c.xs), f64(c.ws))), ([{ options }, x, w]) => {
        const f = (p: readonly [T, T]): T =>
          Tensor.avgPool2d(Tensor.conv2d(p[0], p[1], options) as T, { poolSize: 1 }) as T
        const r = jvpVjpAgreement(f, [x, w] as const, { atol: 1e-12, rtol: 1e-10 })
        expect(r.ok ? "ok" : CheckGrads.format(r)).toBe("ok")
      }),
      FC
    )
  })

  it("convolution is adjoint to its pullback: <conv(x, w), y> = <x, conv^T_x(y)> = <w, conv^T_w(y)>", () => {
    fc.assert(
      fc.property(
        convConfig.chain((c) => {
          const ys = Shape.conv2d(c.xs, c.ws, c.options) as Dims
          return fc.tuple(fc.constant(c), f64(c.xs), f64(c.ws), f64(ys))
        }),
        ([{ options }, x, w, y]) => {
          const conv = (a: T, b: T): T => Tensor.conv2d(a, b, options) as T
          const lhs = inner(conv(x, w), y)
          const [, pullX] = vjp((a: T) => conv(a, w), x)
          const [, pullW] = vjp((b: T) => conv(x, b), w)
          const scale = Math.max(1, Math.abs(lhs))
          expect(Math.abs(lhs - inner(x, pullX(y)))).toBeLessThanOrEqual(1e-11 * scale * x.size)
          expect(Math.abs(lhs - inner(w, pullW(y)))).toBeLessThanOrEqual(1e-11 * scale * x.size)
        }
      ),
      FC
    )
  })

  it("cross-entropy: the gradient is softmax(z) - onehot, and sums to zero over the classes", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 6 })).chain(([b, k]) =>
          fc.tuple(f64([b, k], { min: -4, max: 4 }), fc.array(fc.nat(k - 1), { minLength: b, maxLength: b }))
        ),
        ([z, labels]) => {
          const [b, k] = z.shape as unknown as readonly [number, number]
          const onehot: T = Tensor.fromArray(
            Array.from({ length: b * k }, (_, i) => (labels[Math.floor(i / k)] === i % k ? 1 : 0)),
            [b, k],
            { dtype: "float64" }
          )
          const loss = (l: T): Tensor.Tensor<readonly [], Tensor.DType> => {
            const ls: T = Tensor.logSoftmax(l)
            return Tensor.neg(Tensor.sum(Tensor.mul(onehot, ls))) as Tensor.Tensor<readonly [], Tensor.DType>
          }
          const g = grad(loss)(z)
          expectClose(arr(g), arr(Tensor.sub(Tensor.softmax(z), onehot)), 1e-14)
          expectClose(arr(Tensor.sum(g, { axis: 1 })), new Array<number>(b).fill(0), 1e-14)
        }
      ),
      FC
    )
  })

  it("softmax is shift invariant: softmax(z + c) = softmax(z), J·1 = 0 and J^T u sums to zero along the axis", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 })).chain(([b, k]) =>
          fc.tuple(f64([b, k], { min: -3, max: 3 }), f64([b, k]))
        ),
        fc.integer({ min: -50, max: 50 }),
        ([z, u], c) => {
          expectClose(arr(Tensor.softmax(Tensor.add(z, c / 10))), arr(Tensor.softmax(z)), 1e-14)
          const [, along] = jvp((t: T) => Tensor.softmax(t), z, Tensor.ones(z.shape, { dtype: "float64" }))
          expectClose(arr(along), new Array<number>(z.size).fill(0), 1e-15)
          const [, pullback] = vjp((t: T) => Tensor.softmax(t), z)
          expectClose(arr(Tensor.sum(pullback(u), { axis: -1 })), new Array<number>(z.shape[0]!).fill(0), 1e-15)
          const [, lsPullback] = vjp((t: T) => Tensor.logSoftmax(t), z)
          const [, lsAlong] = jvp((t: T) => Tensor.logSoftmax(t), z, Tensor.ones(z.shape, { dtype: "float64" }))
          expectClose(arr(lsAlong), new Array<number>(z.size).fill(0), 1e-14)
          expect(arr(lsPullback(u)).every(Number.isFinite)).toBe(true)
        }
      ),
      FC
    )
  })

  it("a batch gradient of a small CNN loss equals the sum of per-example gradients", () => {
    type Params = { readonly conv: T; readonly dense: T; readonly bias: T }
    const loss = (p: Params, x: T, onehot: T): Tensor.Tensor<readonly [], Tensor.DType> => {
      const h = Tensor.maxPool2d(Tensor.relu(Tensor.conv2d(x, p.conv, { padding: "same" }) as T), { poolSize: 2 }) as T
      const logits = Tensor.add(Tensor.matmul(Tensor.flatten(h) as T, p.dense) as T, p.bias)
      return Tensor.neg(Tensor.sum(Tensor.mul(onehot, Tensor.logSoftmax(logits)))) as Tensor.Tensor<
        readonly [],
        Tensor.DType
      >
    }
    fc.assert(
      fc.property(
        fc.record({
          conv: f64([2, 2, 1, 3]),
          dense: f64([2 * 2 * 3, 4]),
          bias: f64([4]),
          x: f64([3, 5, 4, 1], { min: -2, max: 2 }),
          labels: fc.array(fc.nat(3), { minLength: 3, maxLength: 3 })
        }),
        ({ conv, dense, bias, x, labels }) => {
          const params: Params = { conv, dense, bias }
          const onehot: T = Tensor.fromArray(
            Array.from({ length: 12 }, (_, i) => (labels[Math.floor(i / 4)] === i % 4 ? 1 : 0)),
            [3, 4],
            { dtype: "float64" }
          )
          const batch = Pytree.leaves(grad(loss)(params, x, onehot))
          const perExample = [0, 1, 2].map((i) =>
            Pytree.leaves(
              grad(loss)(
                params,
                Tensor.slice(x, [i, 0, 0, 0], [1, 5, 4, 1]) as T,
                Tensor.slice(onehot, [i, 0], [1, 4]) as T
              )
            )
          )
          batch.forEach((g, leaf) => {
            const summed = arr(g).map((_, k) => perExample.reduce((s, ex) => s + arr(ex[leaf]!)[k]!, 0))
            expectClose(arr(g), summed, 1e-12, `leaf ${leaf}`)
          })
        }
      ),
      { ...FC, numRuns: 15 }
    )
  })

  it("cast: the cotangent comes back in the input's dtype, with the same values", () => {
    const c64 = Tensor.fromArray([0.5, -2, 3.25], [3], { dtype: "float64" })
    const c32 = Tensor.fromArray([0.5, -2, 3.25], [3])
    const g32 = grad((x: T) =>
      Tensor.sum(Tensor.mul(Tensor.cast(x, "float64"), c64)) as Tensor.Tensor<readonly [], Tensor.DType>
    )(Tensor.ones([3]))
    expect(g32.dtype).toBe("float32")
    expect(arr(g32)).toEqual([0.5, -2, 3.25])
    const g64 = grad((x: T) =>
      Tensor.sum(Tensor.mul(Tensor.cast(x, "float32"), c32)) as Tensor.Tensor<readonly [], Tensor.DType>
    )(Tensor.ones([3], { dtype: "float64" }))
    expect(g64.dtype).toBe("float64")
    expect(arr(g64)).toEqual([0.5, -2, 3.25])
    // Second order through cast: d/dx sum(cast(x)^2 * c) = 2 x c, whose derivative along x is 2 c.
    const h = grad((x: T) =>
      Tensor.sum(
        Tensor.mul(
          grad((y: T) =>
            Tensor.sum(Tensor.mul(Tensor.square(Tensor.cast(y, "float32")), c32)) as Tensor.Tensor<
              readonly [],
              Tensor.DType
            >
          )(x),
          Tensor.ones([3], { dtype: "float64" })
        )
      ) as Tensor.Tensor<readonly [], Tensor.DType>
    )(Tensor.ones([3], { dtype: "float64" }))
    expect(arr(h)).toEqual([1, -4, 6.5])
  })
})
