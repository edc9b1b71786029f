/**
 * `gradArgs` and `valueAndGradArgs`: gradients with respect to several arguments (JAX's `argnums`), in the
 * order asked, against closed forms, `grad` of each argument alone, and nesting.
 */
import { grad, gradArgs, valueAndGradArgs } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

type T = Tensor.AnyTensor
type S0 = Tensor.Tensor<readonly [], Tensor.DType>
const total = (t: T): S0 => Tensor.sum(t) as S0
const arr = (t: T): Array<number> => Array.from(Tensor.toArray(t))
const f64 = (data: ReadonlyArray<number>, shape: ReadonlyArray<number>): T =>
  Tensor.fromArray(data, shape, { dtype: "float64" })

const x = f64([1, 2, 3], [3])
const y = f64([-1, 0.5, 4], [3])
const f = (a: T, b: T, k: number): S0 => total(Tensor.mul(Tensor.mul(Tensor.square(a), b), k))

describe("gradArgs", () => {
  it("differentiates several arguments, in the order of argnums", () => {
    const [da, db] = gradArgs(f, [0, 1])(x, y, 2)
    expect(arr(da)).toEqual([-4, 4, 48]) // 2 k a b
    expect(arr(db)).toEqual([2, 8, 18]) // k a^2
    const [db2, da2] = gradArgs(f, [1, 0])(x, y, 2)
    expect(arr(db2)).toEqual(arr(db))
    expect(arr(da2)).toEqual(arr(da))
  })

  it("agrees with grad of each argument alone", () => {
    const [, db] = gradArgs(f, [0, 1])(x, y, 2)
    const gb = grad((b: T, a: T) => f(a, b, 2))(y, x)
    expect(arr(db)).toEqual(arr(gb))
    const [da] = gradArgs(f, [0])(x, y, 2)
    expect(arr(da)).toEqual(arr(grad((a: T) => f(a, y, 2))(x)))
  })

  it("valueAndGradArgs returns the value too; pytree arguments keep their structure", () => {
    const loss = (p: { readonly w: T; readonly b: T }, c: T) => total(Tensor.mul(Tensor.add(p.w, p.b), c))
    const p = { w: f64([1, 2], [2]), b: f64([3], [1]) }
    const [value, [dp, dc]] = valueAndGradArgs(loss, [0, 1])(p, f64([5, 7], [2]))
    expect(arr(value)).toEqual([5 * 4 + 7 * 5])
    expect(arr(dp.w)).toEqual([5, 7])
    expect(arr(dp.b)).toEqual([12])
    expect(arr(dc)).toEqual([4, 5])
  })

  it("an argument the value does not depend on gets a zero gradient", () => {
    const [, dz] = gradArgs((a: T, _z: T) => total(a), [0, 1])(x, y)
    expect(arr(dz)).toEqual([0, 0, 0])
  })

  it("nests: the mixed second derivative of sum(a^2 b) is 2a along the diagonal", () => {
    // d/db of (d/da sum(a^2 b)) . 1 = d/db sum(2 a b) = 2a
    const mixed = grad((b: T, a: T) =>
      total(gradArgs((a2: T, b2: T) => total(Tensor.mul(Tensor.square(a2), b2)), [0])(a, b)[0])
    )
    expect(arr(mixed(y, x))).toEqual([2, 4, 6])
  })

  it("refuses argnums out of range or repeated", () => {
    const g = (a: T, b: T) => total(Tensor.mul(a, b))
    expect(() => gradArgs(g, [0, 0])(x, y)).toThrow(/argument 0 is listed twice/)
    expect(() => gradArgs(g, [2] as unknown as readonly [0])(x, y)).toThrow(/argnums\[0\] is 2/)
  })
})
