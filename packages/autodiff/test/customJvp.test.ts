/**
 * `customJvp`: the user's rule, not the derivative of `primal`, is what every transformation sees. Checked
 * with rules that differ on purpose from the true derivative (forward and reverse mode both give the
 * custom one), with a correct rule against closed forms to second order, and through nesting, where the
 * rule must apply at the outer level too.
 */
import { customJvp, grad, gradArgs, hessian, jacfwd, jacrev, jvp, vjp } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

type T = Tensor.AnyTensor
type S0 = Tensor.Tensor<readonly [], Tensor.DType>
const total = (t: T): S0 => Tensor.sum(t) as S0
const arr = (t: T): Array<number> => Array.from(Tensor.toArray(t))
const f64 = (data: ReadonlyArray<number>, shape: ReadonlyArray<number>): T =>
  Tensor.fromArray(data, shape, { dtype: "float64" })
const close = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, tol = 1e-12): void => {
  expect(a.length).toBe(b.length)
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!))))
}

/** exp, with the (wrong on purpose) derivative x^2: d/dx f = x^2, d2/dx2 f = 2x. */
const fakeExp = customJvp({
  primal: (x: T) => Tensor.exp(x),
  jvp: ([x], [dx]) => Tensor.mul(dx, Tensor.square(x))
})

const xs = [0.5, -1.5, 2]
const x = f64(xs, [3])

describe("customJvp", () => {
  it("computes the primal", () => {
    close(arr(fakeExp(x)), xs.map(Math.exp))
  })

  it("jvp and jacfwd use the custom rule, not the derivative of primal", () => {
    const t = f64([1, 2, -1], [3])
    const [y, dy] = jvp(fakeExp, x, t)
    close(arr(y), xs.map(Math.exp))
    close(arr(dy), xs.map((v, i) => arr(t)[i]! * v * v))
    close(arr(jacfwd(fakeExp)(x)), [0.25, 0, 0, 0, 2.25, 0, 0, 0, 4])
  })

  it("grad, vjp and jacrev use the transpose of the custom rule", () => {
    close(arr(grad((v: T) => total(fakeExp(v)))(x)), xs.map((v) => v * v))
    const [, pullback] = vjp(fakeExp, x)
    close(arr(pullback(f64([3, 1, 2], [3]))), [3 * 0.25, 2.25, 2 * 4])
    close(arr(jacrev(fakeExp)(x)), [0.25, 0, 0, 0, 2.25, 0, 0, 0, 4])
  })

  it("higher orders differentiate the rule: grad(grad) is 2x, hessian of sum is diag(2x)", () => {
    const s = f64([1.5], [])
    const d2 = grad(grad((v: T) => total(fakeExp(v))) as (v: T) => S0)
    close(arr(d2(s)), [3])
    close(arr(hessian((v: T) => total(fakeExp(v)))(x)), [1, 0, 0, 0, -3, 0, 0, 0, 4])
    // forward over reverse and reverse over forward agree
    const [, dd] = jvp(grad((v: T) => total(fakeExp(v))), x, f64([1, 1, 1], [3]))
    close(arr(dd), xs.map((v) => 2 * v))
  })

  it("a rule that mixes several arguments: d/da = 2, d/db = 5 whatever the primal", () => {
    const h = customJvp({
      primal: (a: T, b: T) => Tensor.mul(a, b),
      jvp: (_p, [da, db]) => Tensor.add(Tensor.mul(da, 2), Tensor.mul(db, 5))
    })
    const a = f64([1, 2], [2])
    const b = f64([3, 4], [2])
    const [ga, gb] = gradArgs((u: T, v: T) => total(h(u, v)), [0, 1])(a, b)
    expect(arr(ga)).toEqual([2, 2])
    expect(arr(gb)).toEqual([5, 5])
    const [, dy] = jvp(
      (p: readonly [T, T]) => h(p[0], p[1]),
      [a, b] as const,
      [f64([1, 0], [2]), f64([0, 1], [2])] as const
    )
    expect(arr(dy)).toEqual([2, 5])
  })

  it("a correct rule (softplus' = sigmoid) matches closed forms to second order", () => {
    const softplus = customJvp({
      primal: (v: T) => Tensor.log(Tensor.add(Tensor.exp(v), 1)),
      jvp: ([v], [dv]) => Tensor.mul(dv, Tensor.sigmoid(v))
    })
    const sig = (v: number) => 1 / (1 + Math.exp(-v))
    close(arr(grad((v: T) => total(softplus(v)))(x)), xs.map(sig))
    close(arr(hessian((v: T) => total(softplus(v)))(x)), [
      sig(0.5) * (1 - sig(0.5)),
      0,
      0,
      0,
      sig(-1.5) * (1 - sig(-1.5)),
      0,
      0,
      0,
      sig(2) * (1 - sig(2))
    ])
  })

  it("applies the rule at every level: an outer grad through an inner trace still sees x^2, not exp", () => {
    // inner: d/dy [fakeExp(x + 0 y) * y] at y = 1 is fakeExp(x) (value exp(x));
    // outer: d/dx of that, by the custom rule, is x^2 (it would be exp(x) if primal were differentiated).
    const inner = (v: T) =>
      total(grad((y: T) => total(Tensor.mul(fakeExp(Tensor.add(v, Tensor.mul(y, 0))), y)))(f64([1], [1])))
    close(arr(inner(f64([2], [1]))), [Math.exp(2)])
    close(arr(grad(inner)(f64([2], [1]))), [4])
    // no perturbation confusion: d/dx of grad(y => fakeExp(x y))(1) = d/dx (x (x y)^2 at y = 1) = 3 x^2
    const g = grad((v: T) => total(grad((y: T) => total(fakeExp(Tensor.mul(v, y))))(f64([1], [1]))))
    close(arr(g(f64([2], [1]))), [12])
  })

  it("says so when the rule returns the wrong shape", () => {
    const bad = customJvp({ primal: (v: T) => Tensor.exp(v), jvp: (_p, [dv]) => total(dv) as T })
    expect(() => grad((v: T) => total(bad(v)))(x)).toThrow(
      /customJvp: jvp must return a tensor of the output's shape \[3\], got shape \[\]/
    )
  })
})
