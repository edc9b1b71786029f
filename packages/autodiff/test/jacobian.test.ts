/**
 * `jacrev`, `jacfwd` and `hessian`: closed forms (a linear map's Jacobian is its matrix, an elementwise
 * function's is diagonal, softmax's is diag(p) - p p^T, a quadratic form's Hessian is A + A^T, logsumexp's
 * is diag(p) - p p^T), agreement of the two modes with each other and with central finite differences in
 * float64, symmetry of Hessians, pytrees in and out laid out as JAX does, and nesting without perturbation
 * confusion.
 */
import { grad, hessian, jacfwd, jacrev } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

type T = Tensor.AnyTensor
type S0 = Tensor.Tensor<readonly [], Tensor.DType>
/** A sum of a tensor of unknown rank, typed as the scalar it is. */
const total = (t: T): S0 => Tensor.sum(t) as S0
const FC = { seed: 0x7ac0, numRuns: 20 } as const

const arr = (t: T): Array<number> => Array.from(Tensor.toArray(t))
const f64 = (data: ReadonlyArray<number>, shape: ReadonlyArray<number>): T =>
  Tensor.fromArray(data, shape, { dtype: "float64" })

const expectClose = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, tol: number, what = ""): void => {
  expect(a.length).toBe(b.length)
  a.forEach((v, i) => {
    if (!(Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)))) expect.fail(`${what} entry ${i}: ${v} vs ${b[i]}`)
  })
}

/** The Jacobian by central finite differences, row-major `[...out, ...in]`. */
const fdJacobian = (f: (x: T) => T, x: T): Array<number> => {
  const xs = arr(x)
  const cols: Array<Array<number>> = []
  for (let j = 0; j < xs.length; j++) {
    const h = 1e-6 * Math.max(1, Math.abs(xs[j]!))
    const plus = xs.slice()
    const minus = xs.slice()
    plus[j] = plus[j]! + h
    minus[j] = minus[j]! - h
    const yp = arr(f(f64(plus, x.shape)))
    const ym = arr(f(f64(minus, x.shape)))
    cols.push(yp.map((v, i) => (v - ym[i]!) / (2 * h)))
  }
  const m = cols[0]?.length ?? 0
  const out: Array<number> = []
  for (let i = 0; i < m; i++) for (let j = 0; j < xs.length; j++) out.push(cols[j]![i]!)
  return out
}

const softmaxJacobian = (p: ReadonlyArray<number>): Array<number> =>
  p.flatMap((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj))

const vec = (n: number): fc.Arbitrary<T> => Arbitrary.tensor([n], { dtype: "float64" })

describe("jacrev and jacfwd", () => {
  it("a linear map's Jacobian is its matrix, shaped [...out, ...in]", () => {
    const A = f64([1, 2, 3, 4, 5, 6], [2, 3])
    const f = (x: Tensor.Tensor<readonly [3], "float64">) =>
      Tensor.reshape(Tensor.matmul(A, Tensor.reshape(x, [3, 1])), [2])
    const x = f64([0.3, -0.2, 0.9], [3]) as Tensor.Tensor<readonly [3], "float64">
    for (const jac of [jacrev, jacfwd]) {
      const J = jac(f)(x)
      expect(J.shape).toEqual([2, 3])
      expect(J.dtype).toBe("float64")
      expect(arr(J)).toEqual([1, 2, 3, 4, 5, 6])
    }
  })

  it("an elementwise function's Jacobian is diagonal, with matrix-shaped inputs", () => {
    const x = f64([0.1, -0.5, 1.2, 2, -1, 0.4], [2, 3])
    const xs = arr(x)
    const expected: Array<number> = []
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) expected.push(i === j ? Math.cosh(xs[i]!) ** -2 : 0)
    for (const jac of [jacrev, jacfwd]) {
      const J = jac((t: T) => Tensor.tanh(t))(x)
      expect(J.shape).toEqual([2, 3, 2, 3])
      expectClose(arr(J), expected, 1e-12)
    }
  })

  it("softmax's Jacobian is diag(p) - p p^T", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }).chain(vec), (x) => {
        const p = arr(Tensor.softmax(x))
        expectClose(arr(jacrev((t: T) => Tensor.softmax(t))(x)), softmaxJacobian(p), 1e-12, "jacrev")
        expectClose(arr(jacfwd((t: T) => Tensor.softmax(t))(x)), softmaxJacobian(p), 1e-12, "jacfwd")
      }),
      FC
    )
  })

  it("the two modes agree with each other and with finite differences on a composite function", () => {
    const f = (x: T): T =>
      Tensor.mul(Tensor.logSoftmax(Tensor.tanh(Tensor.reshape(x, [2, x.size / 2]))), Tensor.sigmoid(Tensor.sum(x)))
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }).chain((n) => vec(2 * n)), (x) => {
        const r = arr(jacrev(f)(x))
        const fw = arr(jacfwd(f)(x))
        expectClose(fw, r, 1e-12, "jacfwd vs jacrev")
        expectClose(r, fdJacobian(f, x), 1e-6, "jacrev vs finite differences")
      }),
      FC
    )
  })

  it("scalar inputs and outputs give the shapes of JAX: [] -> [n] is [n], [n] -> [] is [n]", () => {
    const x = f64([0.7], [])
    const J1 = jacfwd((s: T) => Tensor.mul(f64([1, 2, 3], [3]), Tensor.exp(s)))(x)
    expect(J1.shape).toEqual([3])
    expectClose(arr(J1), [1, 2, 3].map((k) => k * Math.exp(0.7)), 1e-12)
    const v = f64([1, 2, 3], [3])
    const J2 = jacrev((t: T) => Tensor.sum(Tensor.square(t)))(v)
    expect(J2.shape).toEqual([3])
    expect(arr(J2)).toEqual([2, 4, 6])
  })

  it("passes further arguments through", () => {
    const J = jacrev((x: T, k: number) => Tensor.mul(x, k))(f64([1, 2], [2]), 3)
    expect(arr(J)).toEqual([3, 0, 0, 3])
  })

  it("pytrees in and out are laid out as JAX does, each block the Jacobian of one leaf by another", () => {
    type P = { readonly w: T; readonly b: T }
    const f = (p: P) => [Tensor.tanh(Tensor.matmul(p.w, Tensor.reshape(p.b, [3, 1]))), total(Tensor.exp(p.b))] as const
    const p: P = { w: f64([0.1, -0.2, 0.3, 0.5, 0.4, -0.6], [2, 3]), b: f64([0.7, -0.1, 0.2], [3]) }
    for (const jac of [jacrev, jacfwd]) {
      const [jy, js] = jac(f)(p)
      expect(jy.w.shape).toEqual([2, 1, 2, 3])
      expect(jy.b.shape).toEqual([2, 1, 3])
      expect(js.w.shape).toEqual([2, 3])
      expect(js.b.shape).toEqual([3])
      // each block against finite differences of the one leaf, the others held fixed
      expectClose(arr(jy.w), fdJacobian((w) => f({ w, b: p.b })[0], p.w), 1e-6, "dy/dw")
      expectClose(arr(jy.b), fdJacobian((b) => f({ w: p.w, b })[0], p.b), 1e-6, "dy/db")
      expect(arr(js.w)).toEqual([0, 0, 0, 0, 0, 0])
      expectClose(arr(js.b), arr(p.b).map(Math.exp), 1e-12, "ds/db")
    }
  })

  it("a pytree's Hessian has blocks [...In_i, ...In_j] and is symmetric across them", () => {
    type P = { readonly a: T; readonly c: T }
    const g = (q: P) => total(Tensor.mul(Tensor.square(q.a), q.c))
    const q: P = { a: f64([1, 2], [2]), c: f64([3, 4], [2]) }
    const H = hessian(g)(q)
    // d2/da2 = diag(2c), d2/dadc = diag(2a), d2/dc2 = 0
    expect(arr(H.a.a)).toEqual([6, 0, 0, 8])
    expect(arr(H.a.c)).toEqual([2, 0, 0, 4])
    expect(arr(H.c.a)).toEqual([2, 0, 0, 4])
    expect(arr(H.c.c)).toEqual([0, 0, 0, 0])
  })

  it("nests without perturbation confusion: d/dx of jacrev(y => x * y)(1) is 1", () => {
    const g = grad((x: T) => total(jacrev((y: T) => Tensor.mul(x, y))(f64([1], [1]))))
    expect(arr(g(f64([2], [1])))).toEqual([1])
    const h = grad((x: T) => total(jacfwd((y: T) => Tensor.mul(Tensor.mul(x, y), y))(f64([3], [1]))))
    // d/dy (x y^2) = 2 x y = 6 x; d/dx of that is 6
    expect(arr(h(f64([2], [1])))).toEqual([6])
  })
})

describe("hessian", () => {
  it("of the quadratic form x^T A x is A + A^T", () => {
    const A = f64([1, 2, 0, -1, 3, 4, 0.5, 0, 2], [3, 3])
    const x = f64([0.2, -1, 0.7], [3])
    const q = (v: T) => total(Tensor.mul(v, Tensor.reshape(Tensor.matmul(A, Tensor.reshape(v, [3, 1])), [3])))
    const H = hessian(q)(x)
    expect(H.shape).toEqual([3, 3])
    const a = arr(A)
    expectClose(arr(H), a.map((v, k) => v + a[(k % 3) * 3 + Math.floor(k / 3)]!), 1e-12)
  })

  it("of logsumexp is diag(p) - p p^T with p = softmax(x), symmetric, and equals jacrev(grad)", () => {
    const lse = (x: T) => Tensor.log(total(Tensor.exp(x)))
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }).chain(vec), (x) => {
        const H = arr(hessian(lse)(x))
        const n = x.size
        expectClose(H, softmaxJacobian(arr(Tensor.softmax(x))), 1e-12, "closed form")
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(H[i * n + j]).toBeCloseTo(H[j * n + i]!, 14)
        expectClose(arr(jacrev(grad(lse))(x)), H, 1e-12, "jacrev(grad)")
      }),
      FC
    )
  })

  it("keeps matrix-shaped inputs: [2, 2] gives [2, 2, 2, 2], against finite differences of the gradient", () => {
    const f = (x: T) => total(Tensor.tanh(Tensor.matmul(x, x)))
    const x = f64([0.3, -0.4, 0.8, 0.1], [2, 2])
    const H = hessian(f)(x)
    expect(H.shape).toEqual([2, 2, 2, 2])
    expectClose(arr(H), fdJacobian(grad(f), x), 1e-6)
  })
})
