/**
 * The int32 and bool dtypes: creation and reading, `cast`, comparisons of int32 operands, `where` with a bool
 * condition, `gather`/`oneHot` with int32 indices, `argmax`/`argmin` with `{ dtype: "int32" }`, the data
 * movement ops on int32 and bool tensors, and the clear errors of the float ops.
 */
import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { pipe } from "effect/Function"
import { describe, expect, expectTypeOf, it } from "vitest"

const ints = <const S extends Tensor.Shape>(data: ReadonlyArray<number>, shape: S) =>
  Tensor.fromArray(data, shape, { dtype: "int32" })
const bools = <const S extends Tensor.Shape>(data: ReadonlyArray<number>, shape: S) =>
  Tensor.fromArray(data, shape, { dtype: "bool" })
const values = (t: Tensor.AnyDTypeTensor): Array<number> => Array.from(Tensor.toArray(t))

describe("creation and reading", () => {
  it("fromArray, zeros, ones, full and scalar make int32 and bool tensors backed by Int32Array and Uint8Array", () => {
    const i = ints([3, -1, 0, 2147483647], [2, 2])
    expect(i.dtype).toBe("int32")
    expectTypeOf(i).toEqualTypeOf<Tensor.Tensor<readonly [2, 2], "int32">>()
    expect(Tensor.toArray(i)).toBeInstanceOf(Int32Array)
    expectTypeOf(Tensor.toArray(i)).toEqualTypeOf<Int32Array>()
    expect(values(i)).toEqual([3, -1, 0, 2147483647])
    const b = bools([1, 0, 5, Number.NaN], [4])
    expect(b.dtype).toBe("bool")
    expectTypeOf(Tensor.toArray(b)).toEqualTypeOf<Uint8Array>()
    expect(Tensor.toArray(b)).toBeInstanceOf(Uint8Array)
    expect(values(b)).toEqual([1, 0, 1, 1])
    expect(values(Tensor.zeros([3], { dtype: "int32" }))).toEqual([0, 0, 0])
    expect(values(Tensor.ones([2], { dtype: "bool" }))).toEqual([1, 1])
    expect(values(Tensor.full([2], -7, { dtype: "int32" }))).toEqual([-7, -7])
    expect(values(Tensor.full([2], 0.5, { dtype: "bool" }))).toEqual([1, 1])
    expect(Tensor.item(Tensor.scalar(9, { dtype: "int32" }))).toBe(9)
    expect(String(i)).toBe("Tensor<int32>[2, 2]")
  })

  it("int32 data must be integers in range; an unknown dtype is named", () => {
    expect(() => ints([1.5], [1])).toThrow(
      "fromArray: value 1.5 at position 0 is not an int32 (an integer in [-2^31, 2^31)); round it first"
    )
    expect(() => ints([2 ** 31], [1])).toThrow(RangeError)
    expect(() => Tensor.full([2], 0.5, { dtype: "int32" })).toThrow("full: value 0.5 at position 0 is not an int32")
    expect(() => Tensor.zeros([2], { dtype: "int8" as "int32" })).toThrow(
      `unknown dtype int8; use "float32", "float64", "int32" or "bool"`
    )
  })
})

describe("cast", () => {
  it("float to int32 truncates toward zero, saturates and maps NaN to 0 (as JAX's astype)", () => {
    const x = Tensor.fromArray([2.7, -2.7, 0.5, -0.5, 3e10, -3e10, Number.NaN], [7], { dtype: "float64" })
    const i = Tensor.cast(x, "int32")
    expectTypeOf(i).toEqualTypeOf<Tensor.Tensor<readonly [7], "int32">>()
    expect(values(i)).toEqual([2, -2, 0, 0, 2147483647, -2147483648, 0])
  })

  it("to bool is x != 0 (NaN is true); from bool and int32 gives the numbers", () => {
    const x = Tensor.fromArray([0, -0, 2, -0.1, Number.NaN], [5])
    const b = pipe(x, Tensor.cast("bool"))
    expectTypeOf(b).toEqualTypeOf<Tensor.Tensor<readonly [5], "bool">>()
    expect(values(b)).toEqual([0, 0, 1, 1, 1])
    expect(values(Tensor.cast(b, "float32"))).toEqual([0, 0, 1, 1, 1])
    expect(values(Tensor.cast(ints([0, 3, -4], [3]), "bool"))).toEqual([0, 1, 1])
    const f = Tensor.cast(ints([5, -6], [2]), "float64")
    expect(f.dtype).toBe("float64")
    expect(Tensor.toArray(f)).toEqual(new Float64Array([5, -6]))
    expect(values(Tensor.cast(ints([16777217], [1]), "float32"))).toEqual([16777216])
  })
})

describe("comparisons", () => {
  it("on int32 operands give a bool tensor, with broadcasting and numbers", () => {
    const a = ints([1, 5, 3, 7], [2, 2])
    const lt = Tensor.less(a, ints([4, 5], [2]))
    expectTypeOf(lt).toEqualTypeOf<Tensor.Tensor<readonly [2, 2], "bool">>()
    expect(lt.dtype).toBe("bool")
    expect(values(lt)).toEqual([1, 0, 1, 0])
    expect(values(Tensor.equal(a, 3))).toEqual([0, 0, 1, 0])
    expect(values(Tensor.greaterEqual(a, 5))).toEqual([0, 1, 0, 1])
    expect(values(pipe(a, Tensor.greater(ints([3], [1]))))).toEqual([0, 1, 0, 1])
    expect(values(Tensor.lessEqual(a, 3.5))).toEqual([1, 0, 1, 0])
    expect(values(Tensor.less(a, 2 ** 40))).toEqual([1, 1, 1, 1])
    expect(values(Tensor.equal(bools([1, 0], [2]), bools([1, 1], [2])))).toEqual([1, 0])
  })

  it("on float operands still give a 1/0 mask of their dtype", () => {
    const m = Tensor.less(Tensor.fromArray([1, 5], [2], { dtype: "float64" }), 3)
    expectTypeOf(m).toEqualTypeOf<Tensor.Tensor<readonly [2], "float64">>()
    expect(m.dtype).toBe("float64")
    expect(values(m)).toEqual([1, 0])
  })

  it("mixed dtypes are an error", () => {
    // @ts-expect-error dtypes must agree
    expect(() => Tensor.less(ints([1], [1]), Tensor.zeros([1]))).toThrow(
      "less: dtypes int32 and float32 differ; convert one with Tensor.cast"
    )
  })
})

describe("where", () => {
  it("takes a bool condition (and a float or int32 one), and int32 or bool branches", () => {
    const x = Tensor.fromArray([1, -2, 3, -4], [2, 2])
    const keep = Tensor.cast(Tensor.greater(x, 0), "bool")
    const y = Tensor.where(keep, x, Tensor.zeros([2]))
    expectTypeOf(y).toEqualTypeOf<Tensor.Tensor<readonly [2, 2], "float32">>()
    expect(values(y)).toEqual([1, 0, 3, 0])
    expect(values(Tensor.where(bools([0, 1], [2]), x, Tensor.scalar(9)))).toEqual([9, -2, 9, -4])
    expect(values(Tensor.where(ints([0, 2], [2]), x, Tensor.scalar(9)))).toEqual([9, -2, 9, -4])
    const picked = Tensor.where(keep, ints([1, 2, 3, 4], [2, 2]), ints([-1], [1]))
    expectTypeOf(picked).toEqualTypeOf<Tensor.Tensor<readonly [2, 2], "int32">>()
    expect(picked.dtype).toBe("int32")
    expect(values(picked)).toEqual([1, -1, 3, -1])
    expect(values(pipe(keep, Tensor.where(bools([1], [1]), bools([0], [1]))))).toEqual([1, 0, 1, 0])
  })
})

describe("gather and oneHot with int32 indices", () => {
  it("gather takes int32 indices along any axis, and int32 tables", () => {
    const table = Tensor.fromArray([0, 1, 10, 11, 20, 21], [3, 2])
    const g = Tensor.gather(table, ints([2, 0, 2], [3]))
    expectTypeOf(g).toEqualTypeOf<Tensor.Tensor<readonly [3, 2], "float32">>()
    expect(values(g)).toEqual([20, 21, 0, 1, 20, 21])
    expect(values(pipe(table, Tensor.gather(ints([1, 1], [2]), { axis: 1 })))).toEqual([1, 1, 11, 11, 21, 21])
    const it32 = Tensor.gather(ints([5, 6, 7], [3]), ints([2, 1], [2]))
    expectTypeOf(it32).toEqualTypeOf<Tensor.Tensor<readonly [2], "int32">>()
    expect(values(it32)).toEqual([7, 6])
    expect(() => Tensor.gather(table, ints([3], [1]))).toThrow(
      "gather: index 3 at position 0 is not an integer in [0, 3) (axis 0 of shape [3, 2])"
    )
    // @ts-expect-error bool indices are not indices
    expect(() => Tensor.gather(table, bools([1], [1]))).toThrow(
      `gather: the indices must be an int32 or float tensor, got bool; convert with Tensor.cast(x, "int32")`
    )
  })

  it("oneHot of int32 indices is float32 by default, or the dtype asked for; float indices keep theirs", () => {
    const labels = ints([2, 0], [2])
    const o = Tensor.oneHot(labels, 3)
    expectTypeOf(o).toEqualTypeOf<Tensor.Tensor<readonly [2, 3], "float32">>()
    expect(o.dtype).toBe("float32")
    expect(values(o)).toEqual([0, 0, 1, 1, 0, 0])
    const o64 = Tensor.oneHot(labels, 3, { dtype: "float64" })
    expectTypeOf(o64).toEqualTypeOf<Tensor.Tensor<readonly [2, 3], "float64">>()
    expect(Tensor.toArray(o64)).toEqual(new Float64Array([0, 0, 1, 1, 0, 0]))
    const piped = pipe(labels, Tensor.oneHot(3, { dtype: "float32" }))
    expectTypeOf(piped).toEqualTypeOf<Tensor.Tensor<readonly [2, 3], "float32">>()
    const f = Tensor.oneHot(Tensor.fromArray([1], [1], { dtype: "float64" }), 2)
    expectTypeOf(f).toEqualTypeOf<Tensor.Tensor<readonly [1, 2], "float64">>()
    expect(f.dtype).toBe("float64")
    expect(() => Tensor.oneHot(ints([-1], [1]), 3)).toThrow(
      "oneHot: index -1 at position 0 is not an integer in [0, 3)"
    )
  })
})

describe("argmax and argmin", () => {
  it("give int32 indices with { dtype: 'int32' }, the input's dtype otherwise", () => {
    const x = Tensor.fromArray([1, 9, 3, 7, 2, 8], [2, 3])
    const a = Tensor.argmax(x, { axis: 1, dtype: "int32" })
    expectTypeOf(a).toEqualTypeOf<Tensor.Tensor<readonly [2], "int32">>()
    expect(a.dtype).toBe("int32")
    expect(values(a)).toEqual([1, 2])
    const m = pipe(x, Tensor.argmin({ axis: 0, keepDims: true, dtype: "int32" }))
    expectTypeOf(m).toEqualTypeOf<Tensor.Tensor<readonly [1, 3], "int32">>()
    expect(values(m)).toEqual([0, 1, 0])
    expect(values(Tensor.argmax(x, { dtype: "int32" }))).toEqual([1])
    const f = Tensor.argmax(x, { axis: 1 })
    expectTypeOf(f).toEqualTypeOf<Tensor.Tensor<readonly [2], "float32">>()
    expect(f.dtype).toBe("float32")
    // accuracy with int32 labels
    const labels = ints([1, 0], [2])
    expect(Tensor.item(Tensor.mean(Tensor.cast(Tensor.equal(a, labels), "float32")))).toBe(0.5)
    // @ts-expect-error indices are int32 or float
    expect(() => Tensor.argmax(x, { dtype: "bool" })).toThrow(
      `argmax: the indices' dtype must be "int32", "float32" or "float64", got bool`
    )
  })
})

describe("data movement on int32 and bool tensors", () => {
  it("reshape, flatten, transpose, slice, pad, concat, stack, squeeze, expandDims and broadcastTo keep the dtype", () => {
    const a = ints([1, 2, 3, 4, 5, 6], [2, 3])
    const r = Tensor.reshape(a, [3, 2])
    expectTypeOf(r).toEqualTypeOf<Tensor.Tensor<readonly [3, 2], "int32">>()
    expect(r.dtype).toBe("int32")
    expect(values(Tensor.transpose(a))).toEqual([1, 4, 2, 5, 3, 6])
    expect(values(Tensor.slice(a, [0, 1], [2, 2]))).toEqual([2, 3, 5, 6])
    expect(values(Tensor.pad(a, [[0, 0], [1, 0]]))).toEqual([0, 1, 2, 3, 0, 4, 5, 6])
    const c = Tensor.concat([a, ints([7, 8, 9], [1, 3])])
    expectTypeOf(c).toEqualTypeOf<Tensor.Tensor<readonly [3, 3], "int32">>()
    expect(values(c)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    const s = Tensor.stack([bools([1, 0], [2]), bools([0, 1], [2])], 1)
    expectTypeOf(s).toEqualTypeOf<Tensor.Tensor<readonly [2, 2], "bool">>()
    expect(s.dtype).toBe("bool")
    expect(values(s)).toEqual([1, 0, 0, 1])
    expect(Tensor.squeeze(ints([4], [1, 1])).dtype).toBe("int32")
    expect(Tensor.expandDims(bools([1], [1]), 0).shape).toEqual([1, 1])
    expect(values(Tensor.flatten(a))).toEqual([1, 2, 3, 4, 5, 6])
    const b = Tensor.broadcastTo(ints([7, -8], [2]), [2, 2])
    expect(b.dtype).toBe("int32")
    expect(values(b)).toEqual([7, -8, 7, -8])
    expect(() => Tensor.concat([a, Tensor.zeros([1, 3])] as ReadonlyArray<Tensor.AnyDTypeTensor>)).toThrow(
      "concat: dtypes int32 and float32 differ; convert one with Tensor.cast"
    )
  })
})

describe("float ops reject int32 and bool tensors", () => {
  it("at compile time and at run time, with a message that says what to do", () => {
    const i = ints([1, 2], [2])
    const b = bools([1, 0], [2])
    // @ts-expect-error add takes float tensors
    expect(() => Tensor.add(i, i)).toThrow(
      `add: expected a float tensor, got int32; convert with Tensor.cast(x, "float32")`
    )
    // @ts-expect-error add takes float tensors
    expect(() => Tensor.add(i, 1)).toThrow("add: expected a float tensor, got int32")
    // @ts-expect-error exp takes float tensors
    expect(() => Tensor.exp(b)).toThrow("exp: expected a float tensor, got bool")
    // @ts-expect-error sum takes float tensors
    expect(() => Tensor.sum(i)).toThrow("sum: expected a float tensor, got int32")
    // @ts-expect-error matmul takes float tensors
    expect(() => Tensor.matmul(ints([1, 2], [1, 2]), ints([1, 2], [2, 1]))).toThrow(
      "matmul: expected a float tensor, got int32"
    )
    // @ts-expect-error conv2d takes float tensors
    expect(() => Tensor.conv2d(Tensor.zeros([1, 3, 3, 1], { dtype: "int32" }), Tensor.zeros([2, 2, 1, 1]))).toThrow(
      "conv2d: expected a float tensor, got int32"
    )
    expect(() => Tensor.reshape(ints([1, 2, 3], [3]) as Tensor.Tensor<ReadonlyArray<number>, "int32">, [2, -1]))
      .toThrow(ShapeError)
  })
})
