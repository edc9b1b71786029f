import { customVjp, stopGradient } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { bind, fromImpl, primitive, toImpl } from "@typegrad/tensor/internal"
import { Arbitrary, assertGrads, CheckGrads, checkGrads, GradientCheckError, jvpVjpAgreement } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

// fast-check runs here use a fixed seed so that the suite is deterministic.
const FC = { seed: 20240601, numRuns: 15 } as const

type T = Tensor.AnyTensor
const f64 = (data: ReadonlyArray<number>, shape: ReadonlyArray<number>): T =>
  Tensor.fromArray(data, shape, { dtype: "float64" })
const x23 = f64([0.3, -0.7, 1.2, 2.5, -1.1, 0.4], [2, 3])

/** A square primitive whose rule is `ct * 2 * through(x)` (`through` may hide x from enclosing traces). */
const squarePrimitive = (through: (a: T) => T) => {
  const p = primitive<null>(
    "testSquare",
    ([a]) => toImpl(Tensor.square(fromImpl(a!))),
    (ct, [a]) => [toImpl(Tensor.mul(fromImpl(ct), Tensor.mul(through(fromImpl(a!)), 2)))]
  )
  return (x: T): T => fromImpl(bind(p, [toImpl(x)], null))
}

const squareWith = (k: number) =>
  customVjp({
    forward: (a: T) => [Tensor.square(a), a] as const,
    backward: (a, ct) => [Tensor.mul(ct, Tensor.mul(a, k))] as const
  })

describe("the checker can fail", () => {
  it("rejects a customVjp whose backward is wrong, and accepts the right one", () => {
    expect(checkGrads(squareWith(2), x23).ok).toBe(true)
    expect(checkGrads(squareWith(2.01), x23).ok).toBe(false)
    expect(checkGrads(squareWith(-2), x23).ok).toBe(false)
    expect(() => assertGrads(squareWith(3), x23)).toThrow(GradientCheckError)
  })

  it("rejects a wrong gradient on every generated input (property)", () => {
    fc.assert(
      fc.property(
        Arbitrary.tensorOf(Arbitrary.shape({ minRank: 1, maxRank: 3 }), {
          dtype: "float64",
          min: -2,
          max: 2,
          awayFrom: [0],
          margin: 0.1
        }),
        (x) => {
          expect(checkGrads(squareWith(2), x).ok).toBe(true)
          expect(checkGrads(squareWith(1.9), x).ok).toBe(false)
        }
      ),
      FC
    )
  })

  it("order 2 catches a VJP rule that is right at first order but not differentiable", () => {
    // A primitive whose rule reads x's numbers into a fresh tensor: the first derivative is right, but
    // the rule is invisible to an enclosing differentiation, so the second derivative (2) is lost.
    const frozen = squarePrimitive((a) => Tensor.fromArray(Tensor.toArray(a), a.shape, { dtype: a.dtype }))
    expect(checkGrads(frozen, x23).ok).toBe(true)
    const r = checkGrads(frozen, x23, { order: 2 })
    expect(r.ok).toBe(false)
    expect(r.worst?.order).toBe(2)
    expect(checkGrads(squarePrimitive((a) => a), x23, { order: 2 }).ok).toBe(true)
  })

  // A backward that cuts its residual off with stopGradient is right at first order and wrong at second.
  it("order 2 on a customVjp whose backward drops the dependence on x fails the check", () => {
    const frozen = customVjp({
      forward: (a: T) => [Tensor.square(a), a] as const,
      backward: (a, ct) => [Tensor.mul(ct, Tensor.mul(stopGradient(a), 2))] as const
    })
    expect(checkGrads(frozen, x23).ok).toBe(true)
    expect(checkGrads(frozen, x23, { order: 2 }).ok).toBe(false)
    expect(checkGrads(squareWith(2), x23, { order: 2 }).ok).toBe(true)
  })

  it("names the wrong leaf of a pytree, with expected, got and errors in the message", () => {
    const bad = squareWith(2.5)
    const good = squareWith(2)
    const f = (p: { readonly layers: ReadonlyArray<{ readonly w: T; readonly b: T }> }) =>
      Tensor.add(good(p.layers[0]!.w), Tensor.add(bad(p.layers[1]!.b), p.layers[1]!.w))
    const params = { layers: [{ w: x23, b: x23 }, { w: x23, b: Tensor.mul(x23, 0.5) }] }
    const r = checkGrads(f, params)
    expect(r.ok).toBe(false)
    const failing = new Set(r.entries.filter((e) => !e.ok).map((e) => e.leaf))
    expect([...failing]).toEqual(["x.layers[1].b"])
    let caught: unknown
    try {
      assertGrads(f, params)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(GradientCheckError)
    expect((caught as GradientCheckError).result.ok).toBe(false)
    const message = (caught as Error).message
    expect(message).toMatch(/gradient check FAILED/)
    expect(message).toMatch(/leaf x\.layers\[1\]\.b/)
    expect(message).toMatch(/expected <u, J v> = -?\d/)
    expect(message).toMatch(/got {6}<J\^T u, v> = -?\d/)
    expect(message).toMatch(/abs error \d\.\d+e[-+]\d+, rel error \d\.\d+e[-+]\d+/)
    expect(message).toMatch(/worst element \[\d, \d\] of that leaf \(shape \[2, 3\]\)/)
    expect(message).toMatch(/seed 42/)
  })

  it("a gradient that is wrong only on one leaf of an unperturbed-together check still fails", () => {
    const f = (p: ReadonlyArray<T>) => Tensor.mul(squareWith(2.2)(p[0]!), p[1]!)
    expect(checkGrads(f, [x23, x23], { perLeaf: false }).ok).toBe(false)
    expect(checkGrads(f, [x23, x23], { perLeaf: false }).entries[0]!.leaf).toBe("x(all leaves)")
  })
})

describe("checkGrads passes on right gradients", () => {
  it("float32 inputs are cast to float64 and checked", () => {
    const r = assertGrads((t: T) => Tensor.tanh(Tensor.mul(t, t)), Tensor.cast(x23, "float32"), { order: 2 })
    expect(r.ok).toBe(true)
    expect(r.entries.length).toBe(6)
  })

  it("pytree outputs and inputs", () => {
    const f = (p: { readonly a: T; readonly b: ReadonlyArray<T> }) => ({
      s: Tensor.sum(Tensor.mul(p.a, p.b[0]!)),
      t: [Tensor.exp(p.b[1]!)]
    })
    const r = assertGrads(f, { a: x23, b: [x23, f64([0.1, 0.2], [2])] }, { order: 2, directions: 2 })
    expect(r.entries.map((e) => e.leaf)).toContain("x.b[1]")
  })

  it("rejects a function that computes in float32", () => {
    expect(() => checkGrads((t: T) => Tensor.cast(t, "float32"), x23)).toThrow(/float32.*float64/)
  })

  it("is reproducible with a seed, and different seeds draw different directions", () => {
    const f = (t: T) => Tensor.softmax(t)
    const a = checkGrads(f, x23, { seed: 7 })
    const b = checkGrads(f, x23, { seed: 7 })
    const c = checkGrads(f, x23, { seed: 8 })
    expect(a.entries.map((e) => e.got)).toEqual(b.entries.map((e) => e.got))
    expect(a.entries.map((e) => e.got)).not.toEqual(c.entries.map((e) => e.got))
    expect(checkGrads(f, x23, { directions: 5 }).entries.length).toBe(5)
  })
})

describe("kinks", () => {
  it("skips and flags samples on a kink, and judges them with kinks: 'fail'", () => {
    const x = f64([0, 1, -2], [3])
    const r = checkGrads((t: T) => Tensor.abs(t), x)
    expect(r.kinked).toBe(true)
    expect(r.ok).toBe(true)
    expect(r.entries.every((e) => e.kink && e.skipped)).toBe(true)
    // Central differences of abs at 0 are 0 = sign(0), so judge the kink of relu (0.5 vs relu'(0) = 0).
    expect(checkGrads((t: T) => Tensor.relu(t), x, { kinks: "fail" }).ok).toBe(false)
    expect(() => assertGrads((t: T) => Tensor.abs(t), x)).toThrow(/every sample sat on a kink/)
  })

  it("away from the kink nothing is flagged", () => {
    const r = checkGrads((t: T) => Tensor.relu(t), f64([0.5, -1, 2], [3]), { order: 2 })
    expect(r.kinked).toBe(false)
    expect(r.ok).toBe(true)
  })
})

describe("jvpVjpAgreement", () => {
  it("holds for a composite function, with tight default tolerances", () => {
    const r = jvpVjpAgreement(
      (p: { readonly w: T; readonly b: T }) => Tensor.logSoftmax(Tensor.add(Tensor.matmul(x23, p.w), p.b)),
      {
        w: f64([1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => v / 10), [3, 3]),
        b: f64([0.1, -0.2, 0.3], [3])
      }
    )
    expect(r.atol).toBe(1e-9)
    expect(CheckGrads.assertOk(r).ok).toBe(true)
  })

  it("fails for a broken backward (its jvp is built from the same wrong rule, but is then transposed)", () => {
    // jvp is the transpose of the pullback, so <u, Jv> and <J^T u, v> agree even when the rule is wrong:
    // this identity tests the engine's transposition, not the rule. Finite differences catch the rule.
    const r = jvpVjpAgreement(squareWith(3), x23)
    expect(r.ok).toBe(true)
    expect(checkGrads(squareWith(3), x23).ok).toBe(false)
    expect(() => CheckGrads.assertOk({ ...r, ok: false })).toThrow(GradientCheckError)
  })
})

describe("Arbitrary", () => {
  it("shapes stay within their bounds", () => {
    fc.assert(
      fc.property(Arbitrary.shape({ minRank: 1, maxRank: 4, minDim: 2, maxDim: 5 }), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(1)
        expect(s.length).toBeLessThanOrEqual(4)
        for (const d of s) expect(d >= 2 && d <= 5).toBe(true)
      }),
      { ...FC, numRuns: 100 }
    )
    expect(() => Arbitrary.shape({ minRank: 3, maxRank: 2 })).toThrow(RangeError)
  })

  it("tensor values stay in range, away from kinks, distinct when asked, with the dtype asked", () => {
    fc.assert(
      fc.property(
        Arbitrary.tensorOf(Arbitrary.shape({ minRank: 1, maxRank: 3, maxDim: 6 }), {
          dtype: "float64",
          min: -3,
          max: 2,
          awayFrom: [0, 1],
          margin: 0.25,
          distinct: true
        }),
        (t) => {
          expect(t.dtype).toBe("float64")
          const v = Array.from(Tensor.toArray(t))
          for (const a of v) {
            expect(a >= -3 && a <= 2).toBe(true)
            expect(Math.abs(a) >= 0.25 - 1e-12 && Math.abs(a - 1) >= 0.25 - 1e-12).toBe(true)
          }
          expect(new Set(v).size).toBe(v.length)
        }
      ),
      { ...FC, numRuns: 100 }
    )
  })

  it("values are spread over the range, not clustered near 0", () => {
    const samples = fc.sample(Arbitrary.values(50, { min: -1, max: 1 }), { seed: 1, numRuns: 20 }).flat()
    const small = samples.filter((v) => Math.abs(v) < 0.01).length
    const large = samples.filter((v) => Math.abs(v) > 0.5).length
    expect(small / samples.length).toBeLessThan(0.05)
    expect(large / samples.length).toBeGreaterThan(0.35)
  })

  it("a fixed shape keeps its static type", () => {
    const arb: fc.Arbitrary<Tensor.Tensor<readonly [2, 3], "float64">> = Arbitrary.tensor([2, 3], { dtype: "float64" })
    const [t] = fc.sample(arb, { seed: 3, numRuns: 1 })
    expect(t!.shape).toEqual([2, 3])
    expect(() => Arbitrary.values(3, { min: 0, max: 1, awayFrom: [0.5], margin: 1 })).toThrow(RangeError)
  })
})
