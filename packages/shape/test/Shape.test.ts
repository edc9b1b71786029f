import { Shape, ShapeError } from "@typegrad/shape"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"

// Wide types so that known-bad inputs still compile (they are checked at run time).
const S = (...dims: Array<number>): Shape.Shape => dims
const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}
const expectShapeError = (f: () => unknown, op: string, start: string): ShapeError => {
  const e = caught(f)
  expect(e).toBeInstanceOf(ShapeError)
  const err = e as ShapeError
  expect(err.name).toBe("ShapeError")
  expect(err.op).toBe(op)
  expect(err.summary).toBe(start)
  expect(err.message.startsWith(start)).toBe(true)
  return err
}

describe("conv2d", () => {
  it("valid, strides, dilation", () => {
    expect(Shape.conv2d([1, 28, 28, 1], [5, 5, 1, 8])).toEqual([1, 24, 24, 8])
    expect(Shape.conv2d([1, 28, 28, 1], [5, 5, 1, 8], { strides: 2 })).toEqual([1, 12, 12, 8])
    expect(Shape.conv2d([1, 28, 28, 1], [3, 3, 1, 8], { dilation: 2, strides: [2, 1] })).toEqual([1, 12, 24, 8])
    expect(Shape.conv2d([2, 10, 9, 3], [3, 2, 3, 4], { dilation: [2, 3], strides: 3 })).toEqual([2, 2, 2, 4])
  })
  it("TensorFlow same padding, also for even kernels and strides", () => {
    const g = Shape.conv2dGeometry([1, 5, 5, 1], [2, 2, 1, 1], { strides: 2, padding: "same" })
    expect([g.outH, g.outW, g.padTop, g.padBottom, g.padLeft, g.padRight]).toEqual([3, 3, 0, 1, 0, 1])
    const h = Shape.conv2dGeometry([1, 28, 28, 1], [2, 2, 1, 24], { padding: "same" })
    expect([h.outH, h.padTop, h.padBottom, h.outShape]).toEqual([28, 0, 1, [1, 28, 28, 24]])
    const k = Shape.conv2dGeometry([1, 7, 7, 1], [3, 3, 1, 1], { padding: "same" })
    expect([k.outH, k.padTop, k.padBottom]).toEqual([7, 1, 1])
    const l = Shape.conv2dGeometry([1, 6, 6, 1], [4, 4, 1, 1], { padding: "same", strides: 2 })
    expect([l.outH, l.padTop, l.padBottom]).toEqual([3, 1, 1]) // total (3-1)*2+4-6 = 2
    const m = Shape.conv2dGeometry([1, 4, 4, 1], [5, 5, 1, 1], { padding: "same", dilation: 2 })
    expect([m.outH, m.padTop, m.padBottom]).toEqual([4, 4, 4]) // effK 9, total (4 - 1) * 1 + 9 - 4 = 8
  })
  it("explicit paddings", () => {
    expect(Shape.conv2d([1, 4, 4, 1], [3, 3, 1, 1], { padding: 1 })).toEqual([1, 4, 4, 1])
    expect(Shape.conv2d([1, 4, 4, 1], [3, 3, 1, 1], { padding: [1, 0] })).toEqual([1, 4, 2, 1])
    const g = Shape.conv2dGeometry([1, 4, 4, 1], [3, 3, 1, 1], { padding: [[0, 1], [2, 2]] })
    expect([g.outH, g.outW, g.padTop, g.padBottom, g.padLeft, g.padRight]).toEqual([3, 6, 0, 1, 2, 2])
    expect(Shape.conv2d([1, 4, 4, 1], [3, 3, 1, 1], { padding: "valid" })).toEqual([1, 2, 2, 1])
  })
  it("errors", () => {
    const e = expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(5, 5, 1, 1)),
      "conv2d",
      "conv2d: kernel 5 larger than padded input 4"
    )
    expect(e.message).toBe(
      "conv2d: kernel 5 larger than padded input 4 (input [1, 4, 4, 1], kernel [5, 5, 1, 1]); use padding \"same\" or a smaller kernel"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 3, 1, 1), { dilation: 2 }),
      "conv2d",
      "conv2d: kernel 5 larger than padded input 4"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 3), S(3, 3, 1, 1)),
      "conv2d",
      "conv2d: input channels 3 do not match kernel input channels 1"
    )
    expectShapeError(
      () => Shape.conv2d(S(4, 4, 1), S(3, 3, 1, 1)),
      "conv2d",
      "conv2d: input must have rank 4 [N, H, W, C], got [4, 4, 1]"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 1, 1)),
      "conv2d",
      "conv2d: kernel must have rank 4 [KH, KW, C, F], got [3, 1, 1]"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(0, 3, 1, 1)),
      "conv2d",
      "conv2d: kernel size must be positive integers, got [0, 3]"
    )
    const o = (v: Shape.Conv2dOptions) => v
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 3, 1, 1), o({ strides: 0 })),
      "conv2d",
      "conv2d: strides must be positive integers, got 0"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 3, 1, 1), o({ strides: 1.5 })),
      "conv2d",
      "conv2d: strides must be positive integers, got 1.5"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 3, 1, 1), o({ dilation: [1, 0] })),
      "conv2d",
      "conv2d: dilation must be positive integers, got [1, 0]"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 3, 1, 1), o({ padding: -1 })),
      "conv2d",
      "conv2d: padding must be non-negative integers, got -1"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(3, 3, 1, 1), o({ padding: [[0, -1], [0, 0]] })),
      "conv2d",
      "conv2d: padding must be non-negative integers, got [[0, -1], [0, 0]]"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4.5, 4, 1), S(3, 3, 1, 1)),
      "conv2d",
      "conv2d: invalid input shape [1, 4.5, 4, 1]"
    )
    expectShapeError(
      () => Shape.conv2d(S(1, 4, 4, 1), S(5, 5, 1, 1), {}, "conv"),
      "conv",
      "conv: kernel 5 larger than padded input 4"
    )
  })
  it("same: output = ceil(H / s) and the pads fill the window exactly", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (h, k, s, d) => {
          const g = Shape.conv2dGeometry([1, h, h, 1], [k, k, 1, 1], { padding: "same", strides: s, dilation: d })
          const eff = (k - 1) * d + 1
          expect(g.outH).toBe(Math.ceil(h / s))
          expect(g.padBottom - g.padTop === 0 || g.padBottom - g.padTop === 1).toBe(true)
          expect((g.outH - 1) * s + eff <= h + g.padTop + g.padBottom).toBe(true)
          // the same geometry given explicitly gives the same output
          const e = Shape.conv2dGeometry([1, h, h, 1], [k, k, 1, 1], {
            padding: [[g.padTop, g.padBottom], [g.padLeft, g.padRight]],
            strides: s,
            dilation: d
          })
          expect(e.outH).toBe(g.outH)
        }
      )
    )
  })
})

describe("pool2d", () => {
  it("cases", () => {
    expect(Shape.pool2d([7, 28, 28, 24], { poolSize: 2 })).toEqual([7, 14, 14, 24])
    expect(Shape.pool2d([1, 5, 5, 3], { poolSize: 2, padding: "same" })).toEqual([1, 3, 3, 3])
    expect(Shape.pool2d([1, 5, 5, 3], { poolSize: 3, strides: 1 })).toEqual([1, 3, 3, 3])
    expect(Shape.pool2d([1, 5, 5, 3], { poolSize: [2, 1] })).toEqual([1, 2, 5, 3])
    const g = Shape.pool2dGeometry([1, 5, 5, 3], { poolSize: 2, padding: "same" })
    expect([g.outH, g.padTop, g.padBottom, g.strideH]).toEqual([3, 0, 1, 2])
  })
  it("errors", () => {
    const p = (o: Shape.Pool2dOptions) => o
    const e = expectShapeError(
      () => Shape.pool2d(S(1, 2, 2, 3), p({ poolSize: 3 }), "avgPool2d"),
      "avgPool2d",
      "avgPool2d: pool size 3 larger than input 2"
    )
    expect(e.message).toBe(
      "avgPool2d: pool size 3 larger than input 2 (input [1, 2, 2, 3], pool size [3, 3]); use padding \"same\" or a smaller pool size"
    )
    expectShapeError(
      () => Shape.pool2d(S(1, 2, 2, 3), p({ poolSize: 0 })),
      "maxPool2d",
      "maxPool2d: pool size must be positive integers, got 0"
    )
    expectShapeError(
      () => Shape.pool2d(S(1, 2, 2, 3), p({ poolSize: 1, strides: [1, 0] })),
      "maxPool2d",
      "maxPool2d: strides must be positive integers, got [1, 0]"
    )
    expectShapeError(
      () => Shape.pool2d(S(2, 2, 3), p({ poolSize: 1 })),
      "maxPool2d",
      "maxPool2d: input must have rank 4 [N, H, W, C], got [2, 2, 3]"
    )
  })
})

describe("broadcast, matmul", () => {
  it("broadcast", () => {
    expect(Shape.broadcast([8, 1, 3], [5, 1])).toEqual([8, 5, 3])
    expect(Shape.broadcast([], [2, 3])).toEqual([2, 3])
    expect(Shape.broadcast([2, 3], [])).toEqual([2, 3])
    const e = expectShapeError(
      () => Shape.broadcast(S(2, 3), S(4), "add"),
      "add",
      "add: cannot broadcast [2, 3] with [4]"
    )
    expect(e.message).toContain("(axis -1: 3 vs 4)")
  })
  it("matmul", () => {
    expect(Shape.matmul([2, 3], [3, 4])).toEqual([2, 4])
    expect(Shape.matmul([5, 1, 2, 3], [7, 3, 4])).toEqual([5, 7, 2, 4])
    expectShapeError(
      () => Shape.matmul(S(2, 3), S(4, 5)),
      "matmul",
      "matmul: inner dimensions 3 and 4 do not match ([2, 3] x [4, 5])"
    )
    expectShapeError(() => Shape.matmul(S(3), S(3, 5)), "matmul", "matmul: first operand must have rank >= 2, got [3]")
    expectShapeError(() => Shape.matmul(S(2, 3), S(3)), "matmul", "matmul: second operand must have rank >= 2, got [3]")
    expectShapeError(
      () => Shape.matmul(S(2, 2, 3), S(3, 3, 5)),
      "matmul",
      "matmul: cannot broadcast batch dimensions [2] with [3]"
    )
  })
  it("broadcast is symmetric and idempotent", () => {
    const dims = fc.array(fc.constantFrom(1, 2, 3), { maxLength: 4 })
    fc.assert(
      fc.property(dims, dims, (a, b) => {
        const outcome = (x: Shape.Shape, y: Shape.Shape) =>
          caught(() => Shape.broadcast(x, y)) instanceof ShapeError ? "error" : Shape.broadcast(x, y)
        const ab = outcome(a, b)
        expect(outcome(b, a)).toEqual(ab)
        expect(ab === "error" ? ab : outcome(ab, a)).toEqual(ab)
      })
    )
  })
})

describe("reshape, flatten, concat, reduce, transpose, pad", () => {
  it("reshape", () => {
    expect(Shape.reshape([4096, 4096], [16384, -1])).toEqual([16384, 1024])
    expect(Shape.reshape([60000, 28, 28, 1], [-1, 784])).toEqual([60000, 784])
    expect(Shape.reshape([1], [])).toEqual([])
    expectShapeError(
      () => Shape.reshape(S(2, 3), S(4, -1)),
      "reshape",
      "reshape: cannot reshape [2, 3] (6 elements) into [4, -1]"
    )
    expectShapeError(
      () => Shape.reshape(S(2, 3), S(7)),
      "reshape",
      "reshape: cannot reshape [2, 3] (6 elements) into [7]"
    )
    expectShapeError(
      () => Shape.reshape(S(2, 0), S(0, -1)),
      "reshape",
      "reshape: cannot reshape [2, 0] (0 elements) into [0, -1]"
    )
    expectShapeError(
      () => Shape.reshape(S(2, 3), S(-1, -1)),
      "reshape",
      "reshape: at most one -1 allowed, got [-1, -1]"
    )
    expectShapeError(
      () => Shape.reshape(S(2, 3), S(-2, 3)),
      "reshape",
      "reshape: invalid target dimension -2 in [-2, 3]"
    )
  })
  it("reshape round trips", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 5 }), fc.nat(), (dims, i) => {
        const flat = Shape.reshape(dims, [-1])
        expect(flat).toEqual([Shape.size(dims)])
        expect(Shape.reshape(flat, dims)).toEqual(dims)
        const t = dims.map((d, j) => (j === i % dims.length ? -1 : d))
        expect(Shape.reshape(dims, t)).toEqual(dims)
      })
    )
  })
  it("flatten", () => {
    expect(Shape.flatten([32, 7, 7, 48])).toEqual([32, 2352])
    expect(Shape.flatten([5])).toEqual([5, 1])
    expectShapeError(() => Shape.flatten(S()), "flatten", "flatten: expected rank >= 1, got []")
  })
  it("concat", () => {
    expect(Shape.concat([[2, 3], [4, 3]], 0)).toEqual([6, 3])
    expect(Shape.concat([[2, 3], [2, 5], [2, 1]], -1)).toEqual([2, 9])
    expectShapeError(() => Shape.concat([], 0), "concat", "concat: expected at least one shape")
    expectShapeError(() => Shape.concat([S(2, 3), S(2, 3)], 2), "concat", "concat: axis 2 out of range for rank 2")
    expectShapeError(
      () => Shape.concat([S(2, 3), S(2)], 0),
      "concat",
      "concat: shapes [2, 3] and [2] have different ranks"
    )
    expectShapeError(
      () => Shape.concat([S(2, 3), S(4, 4)], 0),
      "concat",
      "concat: shapes [2, 3] and [4, 4] differ at axis 1"
    )
  })
  it("reduce", () => {
    expect(Shape.reduce([2, 3, 4])).toEqual([])
    expect(Shape.reduce([2, 3, 4], undefined, true)).toEqual([1, 1, 1])
    expect(Shape.reduce([2, 3, 4], 1)).toEqual([2, 4])
    expect(Shape.reduce([2, 3, 4], -1, true)).toEqual([2, 3, 1])
    expect(Shape.reduce([2, 3, 4], [0, -1], false, "sum")).toEqual([3])
    const r = (s: Shape.Shape, a: Shape.Axes) => Shape.reduce(s, a, false, "sum")
    expectShapeError(() => r([2, 3], 2), "sum", "sum: axis 2 out of range for rank 2")
    expectShapeError(() => r([2, 3], [1, -1]), "sum", "sum: duplicate axis -1 in [1, -1]")
    expectShapeError(() => r([2, 3], 0.5), "sum", "sum: axis 0.5 is not an integer")
  })
  it("transpose, normalizeAxis, pad, size, show", () => {
    expect(Shape.transpose([2, 3, 4])).toEqual([4, 3, 2])
    expect(Shape.transpose([2, 3, 4], [0, 2, 1])).toEqual([2, 4, 3])
    expectShapeError(
      () => Shape.transpose(S(2, 3), S(0, 0)),
      "transpose",
      "transpose: [0, 0] is not a permutation of the axes of rank 2"
    )
    expectShapeError(
      () => Shape.transpose(S(2, 3), S(1, 0, 2)),
      "transpose",
      "transpose: permutation [1, 0, 2] has length 3, expected rank 2"
    )
    expect(Shape.normalizeAxis(3, -1)).toBe(2)
    expectShapeError(
      () => Shape.normalizeAxis(3 as number, 3 as number, "softmax"),
      "softmax",
      "softmax: axis 3 out of range for rank 3"
    )
    expect(Shape.pad([2, 3], [[1, 1], [0, 2]])).toEqual([4, 5])
    const pads = (...p: Array<Shape.Pair>): ReadonlyArray<Shape.Pair> => p
    expectShapeError(
      () => Shape.pad(S(2, 3), pads([1, 1])),
      "pad",
      "pad: expected 2 [before, after] pairs for rank 2, got 1"
    )
    expectShapeError(
      () => Shape.pad(S(2), pads([1, -1])),
      "pad",
      "pad: paddings must be non-negative integers, got [[1, -1]]"
    )
    expect(Shape.size([60000, 28, 28, 1])).toBe(47040000)
    expect(Shape.show([2, 3])).toBe("[2, 3]")
  })
  it("runtime results carry the static types", () => {
    const s: readonly [1, 28, 28, 24] = Shape.conv2d([1, 28, 28, 1], [2, 2, 1, 24], { padding: "same" })
    const t: readonly [16384, 1024] = Shape.reshape([4096, 4096], [16384, -1])
    expect([s, t]).toEqual([[1, 28, 28, 24], [16384, 1024]])
  })
})
