/**
 * int32 and bool tensors in differentiated and batched programs: index inputs of `gather`/`oneHot` and the
 * condition of `where` get no cotangent, conversions to int32 or bool have no gradient, differentiating with
 * respect to an int32 or bool tensor is a clear error, and `vmap` batches int32 indices.
 */
import { grad, gradArgs, jvp, valueAndGrad, vjp, vmap } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { describe, expect, expectTypeOf, it } from "vitest"

type F64<S extends Tensor.Shape> = Tensor.Tensor<S, "float64">
const f64 = <const S extends Tensor.Shape>(data: ReadonlyArray<number>, shape: S): F64<S> =>
  Tensor.fromArray(data, shape, { dtype: "float64" })
const ints = <const S extends Tensor.Shape>(data: ReadonlyArray<number>, shape: S) =>
  Tensor.fromArray(data, shape, { dtype: "int32" })
const bools = <const S extends Tensor.Shape>(data: ReadonlyArray<number>, shape: S) =>
  Tensor.fromArray(data, shape, { dtype: "bool" })
const values = (t: Tensor.AnyDTypeTensor): Array<number> => Array.from(Tensor.toArray(t))

/** Central finite differences of a scalar function of a float64 tensor, entry by entry. */
const numericGrad = <S extends Tensor.Shape>(f: (x: F64<S>) => number, x: F64<S>): Array<number> => {
  const base = Tensor.toArray(x)
  return Array.from(base, (v, i) => {
    const h = 1e-6 * Math.max(1, Math.abs(v))
    const at = (d: number) => {
      const data = base.slice()
      data[i] = v + d
      return f(Tensor.fromArray(data, x.shape, { dtype: "float64" }) as F64<S>)
    }
    return (at(h) - at(-h)) / (2 * h)
  })
}

const expectClose = (got: ReadonlyArray<number>, want: ReadonlyArray<number>, tol = 1e-5): void => {
  expect(got.length).toBe(want.length)
  got.forEach((g, i) =>
    expect(Math.abs(g - want[i]!), `entry ${i}: ${g} vs ${want[i]}`).toBeLessThan(tol * (1 + Math.abs(want[i]!)))
  )
}

// A program with int32 indices (gather, oneHot) and a bool mask (where), differentiated in the table.
const ids = ints([2, 0, 2, 1], [4])
const keep = bools([1, 1, 0, 1], [4])
const target = ints([1, 0, 1, 1], [4])
const loss = (table: F64<readonly [3, 2]>) => {
  const rows = Tensor.gather(table, ids) // [4, 2]
  const masked = Tensor.where(Tensor.expandDims(keep, -1), rows, Tensor.zeros([1], { dtype: "float64" }))
  const logits = Tensor.mul(masked, masked)
  const picked = Tensor.sum(Tensor.mul(logits, Tensor.oneHot(target, 2, { dtype: "float64" })), { axis: 1 })
  return Tensor.sum(Tensor.sin(picked))
}
const table = f64([0.3, -0.7, 1.1, 0.4, -0.2, 0.9], [3, 2])

describe("gradients through int32 indices and bool masks", () => {
  it("match finite differences, and the known values", () => {
    const g = grad(loss)(table)
    expectTypeOf(g).toEqualTypeOf<F64<readonly [3, 2]>>()
    expectClose(values(g), numericGrad((t) => Tensor.item(loss(t)), table))
    // Row 2 is used twice, masked out the second time; row 0 picks column 0, rows 1 and 2 column 1.
    const d = (v: number) => Math.cos(v * v) * 2 * v
    expect(values(g)).toEqual([d(0.3), 0, 0, d(0.4), 0, d(0.9)])
  })

  it("vjp and jvp run through the same program; the indices' pullback is never asked for", () => {
    const [y, pullback] = vjp(loss, table)
    expect(Tensor.item(y)).toBeCloseTo(Tensor.item(loss(table)), 12)
    const dx = pullback(Tensor.ones([], { dtype: "float64" }))
    const dir = f64([1, 2, 3, 4, 5, 6], [3, 2])
    const [, dy] = jvp(loss, table, dir)
    const dot = values(dx).reduce((s, v, i) => s + v * values(dir)[i]!, 0)
    expect(Tensor.item(dy)).toBeCloseTo(dot, 10)
  })

  it("conversions to int32 and bool, argmax indices and comparisons have no gradient", () => {
    const x0 = f64([1.7, -2.4, 0.5], [3])
    // v * trunc(v): the truncated factor is a constant.
    const g = grad((v: F64<readonly [3]>) =>
      Tensor.sum(Tensor.mul(v, Tensor.cast(Tensor.cast(v, "int32"), "float64")))
    )(x0)
    expect(values(g)).toEqual([1, -2, 0])
    // The maximum picked by its int32 index: the gradient is one-hot at the argmax.
    const h = grad((v: F64<readonly [3]>) =>
      Tensor.sum(Tensor.gather(v, Tensor.argmax(v, { dtype: "int32", keepDims: true })))
    )(x0)
    expect(values(h)).toEqual([1, 0, 0])
    // A bool mask made from v itself.
    const m = grad((v: F64<readonly [3]>) =>
      Tensor.sum(
        Tensor.where(
          Tensor.cast(Tensor.greater(v, 0), "bool"),
          Tensor.square(v),
          Tensor.zeros([3], { dtype: "float64" })
        )
      )
    )(x0)
    expect(values(m).map((v) => v + 0)).toEqual([2 * 1.7, 0, 1])
    // float64 -> float32 -> float64 stays differentiable.
    const c = grad((v: F64<readonly [3]>) =>
      Tensor.sum(Tensor.cast(Tensor.mul(Tensor.cast(v, "float32"), 3), "float64"))
    )(x0)
    expect(values(c)).toEqual([3, 3, 3])
    // Second order through a gather with int32 indices: d/dx sum(gather(v, ids)^3)' = 6 v at each use.
    const second = grad((v: F64<readonly [3]>) =>
      Tensor.sum(grad((y: F64<readonly [3]>) => Tensor.sum(Tensor.pow(Tensor.gather(y, ints([0, 0, 2], [3])), 3)))(v))
    )(x0)
    expectClose(values(second), [2 * 6 * 1.7, 0, 6 * 0.5])
  })
})

describe("differentiating with respect to int32 or bool tensors", () => {
  it("is a compile-time error and a clear run-time error", () => {
    const f = (x: Tensor.Tensor<readonly [2], "int32">) => Tensor.sum(Tensor.cast(x, "float32"))
    // @ts-expect-error grad differentiates float tensors only
    expect(() => grad(f)(ints([1, 2], [2]))).toThrow(
      "grad requires float inputs, but the differentiated argument is int32: int32 and bool tensors are not differentiable; " +
        `pass them as further arguments (not differentiated), or convert them with Tensor.cast(x, "float32")`
    )
    const withMask = (p: { readonly w: F64<readonly [2]>; readonly mask: Tensor.Tensor<readonly [2], "bool"> }) =>
      Tensor.sum(Tensor.where(p.mask, p.w, Tensor.zeros([2], { dtype: "float64" })))
    // @ts-expect-error a pytree of float tensors only
    expect(() => valueAndGrad(withMask)({ w: f64([1, 2], [2]), mask: bools([1, 0], [2]) })).toThrow(
      "grad requires float inputs, but the differentiated argument at mask is bool"
    )
    const two = (w: F64<readonly [2]>, ix: Tensor.Tensor<readonly [1], "int32">) => Tensor.sum(Tensor.gather(w, ix))
    // @ts-expect-error argument 1 is int32
    expect(() => gradArgs(two, [0, 1])(f64([1, 2], [2]), ints([1], [1]))).toThrow(
      "gradArgs requires float inputs, but argument 1 is int32"
    )
    // As a further argument, an int32 tensor is just passed through.
    expect(values(gradArgs(two, [0])(f64([1, 2], [2]), ints([1], [1]))[0])).toEqual([0, 1])
    expect(values(grad(two)(f64([1, 2], [2]), ints([1], [1])))).toEqual([0, 1])
    expect(() => vjp((x: F64<readonly [1]>) => x, ints([1], [1]) as unknown as F64<readonly [1]>)).toThrow(
      "vjp requires float inputs, but the differentiated argument is int32"
    )
  })
})

describe("vmap with int32 indices", () => {
  const tableB = f64([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2])
  const idsB = ints([2, 0, 1, 1], [2, 2])

  it("batched indices into a shared table, and a batch of tables with a batch of indices", () => {
    const shared = f64([0, 1, 10, 11, 20, 21], [3, 2])
    const rows = vmap((ix: Tensor.Tensor<readonly [2], "int32">) => Tensor.gather(shared, ix))(idsB)
    expectTypeOf(rows).toEqualTypeOf<F64<readonly [2, 2, 2]>>()
    expect(values(rows)).toEqual([20, 21, 0, 1, 10, 11, 10, 11])
    const both = vmap((t: F64<readonly [3, 2]>, ix: Tensor.Tensor<readonly [2], "int32">) => Tensor.gather(t, ix))(
      tableB,
      idsB
    )
    expect(values(both)).toEqual([5, 6, 1, 2, 9, 10, 9, 10])
    const along1 = vmap(
      (t: F64<readonly [3, 2]>, ix: Tensor.Tensor<readonly [1], "int32">) => Tensor.gather(t, ix, { axis: 1 }),
      { inAxes: [0, 0] }
    )(tableB, ints([1, 0], [2, 1]))
    expect(values(along1)).toEqual([2, 4, 6, 7, 9, 11])
    expect(() =>
      vmap((ix: Tensor.Tensor<readonly [2], "int32">) => Tensor.gather(shared, ix))(ints([0, 3, 1, 1], [2, 2]))
    )
      .toThrow("gather: index 3 at position 1 is not an integer in [0, 3)")
    expect(() =>
      vmap((ix: Tensor.Tensor<readonly [2], "int32">) => Tensor.gather(shared, ix))(ints([0, 1, 1, 3], [2, 2]))
    )
      .toThrow("gather: index 3 at position 3 of the batch is not an integer in [0, 3) (vmap)")
  })

  it("per-example gradients of a table lookup (vmap of grad) equal the per-example loop", () => {
    const lookup = (t: F64<readonly [3, 2]>, ix: Tensor.Tensor<readonly [2], "int32">) =>
      Tensor.sum(Tensor.square(Tensor.gather(t, ix)))
    const shared = f64([0.5, -1, 2, 0.25, 3, -0.5], [3, 2])
    const perExample = vmap(grad(lookup), { inAxes: [null, 0] })(shared, idsB)
    expectTypeOf(perExample).toEqualTypeOf<F64<readonly [2, 3, 2]>>()
    const loop = [0, 1].flatMap((b) =>
      values(grad(lookup)(shared, Tensor.reshape(Tensor.slice(idsB, [b, 0], [1, 2]), [2])))
    )
    expect(values(perExample)).toEqual(loop)
    // and grad through a vmap over int32 indices
    const total = grad((t: F64<readonly [3, 2]>) =>
      Tensor.sum(vmap((ix: Tensor.Tensor<readonly [2], "int32">) => lookup(t, ix))(idsB))
    )(shared)
    const summed = [0, 1, 2, 3, 4, 5].map((i) => loop[i]! + loop[i + 6]!)
    expect(values(total)).toEqual(summed)
  })

  it("int32 and bool values flow through vmap: oneHot, comparisons, argmax, where and unbatched outputs", () => {
    const labels = ints([2, 0, 1], [3])
    const encoded = vmap((l: Tensor.Tensor<readonly [], "int32">) => Tensor.oneHot(l, 3))(labels)
    expect(encoded.dtype).toBe("float32")
    expect(values(encoded)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0])
    const below = vmap((l: Tensor.Tensor<readonly [], "int32">) => Tensor.less(l, 2))(labels)
    expect(below.dtype).toBe("bool")
    expect(values(below)).toEqual([0, 1, 1])
    const x = f64([1, 9, 3, 7, 2, 8], [2, 3])
    const am = vmap((r: F64<readonly [3]>) => Tensor.argmax(r, { dtype: "int32" }))(x)
    expectTypeOf(am).toEqualTypeOf<Tensor.Tensor<readonly [2], "int32">>()
    expect(am.dtype).toBe("int32")
    expect(values(am)).toEqual([1, 2])
    const masked = vmap((r: F64<readonly [3]>, m: Tensor.Tensor<readonly [3], "bool">) =>
      Tensor.where(m, r, Tensor.zeros([3], { dtype: "float64" }))
    )(x, bools([1, 0, 1, 0, 1, 0], [2, 3]))
    expect(values(masked)).toEqual([1, 0, 3, 0, 2, 0])
    const constant = vmap((_r: F64<readonly [3]>) => ints([4, 5], [2]))(x)
    expect(constant.dtype).toBe("int32")
    expect(values(constant)).toEqual([4, 5, 4, 5])
  })
})
