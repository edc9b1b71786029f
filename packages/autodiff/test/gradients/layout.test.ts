// The gradient-table rows of the layout family (reshape, flatten, squeeze, expandDims, transpose, concat, stack, slice, pad, broadcastTo, gather): `packages/tensor/src/ops/layout.ts`.
import { grad } from "@typegrad/autodiff"
import { Shape } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { broadcastPair, checkRows, type Dims, f64, type Input, show, smallShape, type T } from "./table.ts"

const reshapeCase = smallShape(1, 3, 4).chain((s) => {
  const size = s.reduce((a, b) => a * b, 1)
  const targets: ReadonlyArray<Dims> = [[-1], [size], s.toReversed(), [1, ...s, 1], [size, -1]]
  return fc.tuple(f64(s), fc.constantFrom(...targets)).map(([x, target]) => ({
    x,
    f: (t: Input) => Tensor.reshape(t as T, target) as T,
    label: `${show(s)} -> ${show(target)}`
  }))
})

const flattenCase = smallShape(2, 4, 3).chain((s) =>
  f64(s).map((x) => ({ x, f: (t: Input) => Tensor.flatten(t as T) as T, label: show(s) }))
)

const transposeCase = smallShape(1, 4, 3).chain((s) =>
  fc
    .tuple(
      f64(s),
      fc.option(fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }), {
        nil: undefined
      })
    )
    .map(([x, perm]) => ({
      x,
      f: (t: Input) => (perm === undefined ? Tensor.transpose(t as T) : Tensor.transpose(t as T, perm)) as T,
      label: `${show(s)} perm ${perm === undefined ? "default" : show(perm)}`
    }))
)

const concatCase = smallShape(1, 3, 3).chain((s) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: s.length - 1 }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
    )
    .chain(([axis, sizes]) => {
      const shapes = sizes.map((n) => s.map((d, i) => (i === axis ? n : d)))
      return fc.tuple(...shapes.map((sh) => f64(sh))).map((xs) => ({
        x: xs,
        f: (t: Input) => Tensor.concat(t as ReadonlyArray<T>, axis) as T,
        label: `${shapes.map(show).join(" ++ ")} axis ${axis}`
      }))
    })
)

const sliceCase = smallShape(1, 3, 5).chain((s) =>
  fc
    .tuple(...s.map((d) =>
      fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: -1, max: d - b })))
    ))
    .chain((boxes) => {
      const begin = boxes.map(([b]) =>
        b
      )
      const size = boxes.map(([, n]) => n)
      return f64(s).map((x) => ({
        x,
        f: (t: Input) => Tensor.slice(t as T, begin, size) as T,
        label: `${show(s)} at ${show(begin)} size ${show(size)}`
      }))
    })
)

const padCase = smallShape(1, 3, 3).chain((s) =>
  fc
    .tuple(...s.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))))
    .chain((paddings) =>
      f64(s).map((x) => ({
        x,
        f: (t: Input) => Tensor.pad(t as T, paddings) as T,
        label: `${show(s)} pad ${JSON.stringify(paddings)}`
      }))
    )
)

const broadcastToCase = broadcastPair.chain(([a, b]) => {
  // Broadcast `a` to the common shape of a and b.
  const target = Shape.broadcast(a, b) as Dims
  return f64(a).map((x) => ({
    x,
    f: (t: Input) => Tensor.broadcastTo(t as T, target) as T,
    label: `${show(a)} -> ${show(target)}`
  }))
})

// A shape with a size-1 axis inserted at a random place; squeeze takes it out (by axis, or all size-1 axes).
const squeezeCase = smallShape(0, 3, 4).chain((s) =>
  fc.tuple(fc.integer({ min: 0, max: s.length }), fc.boolean()).chain(([at, all]) => {
    const withOne = [...s.slice(0, at), 1, ...s.slice(at)]
    return f64(withOne).map((x) => ({
      x,
      f: (t: Input) => (all ? Tensor.squeeze(t as T) : Tensor.squeeze(t as T, at)) as T,
      label: `${show(withOne)} squeeze ${all ? "all" : at}`
    }))
  })
)

const expandDimsCase = smallShape(0, 3, 4).chain((s) =>
  fc.tuple(f64(s), fc.integer({ min: -s.length - 1, max: s.length })).map(([x, axis]) => ({
    x,
    f: (t: Input) => Tensor.expandDims(t as T, axis) as T,
    label: `${show(s)} expandDims ${axis}`
  }))
)

const stackCase = smallShape(0, 3, 3).chain((s) =>
  fc
    .tuple(fc.integer({ min: -s.length - 1, max: s.length }), fc.integer({ min: 1, max: 3 }))
    .chain(([axis, n]) =>
      fc.tuple(...Array.from({ length: n }, () => f64(s))).map((xs) => ({
        x: xs,
        f: (t: Input) => Tensor.stack(t as ReadonlyArray<T>, axis) as T,
        label: `${n} x ${show(s)} stacked at ${axis}`
      }))
    )
)

// gather with fixed indices (repeats included, so the scatter-add of the rule accumulates).
const gatherCase = smallShape(1, 3, 4).chain((s) =>
  fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
    fc
      .tuple(
        f64(s),
        fc.array(fc.integer({ min: 0, max: s[axis]! - 1 }), { minLength: 1, maxLength: 5 }),
        fc.boolean()
      )
      .map(([x, ids, matrix]) => {
        const ishape = matrix && ids.length % 2 === 0 ? [2, ids.length / 2] : [ids.length]
        const ix = Tensor.fromArray(ids, ishape, { dtype: "float64" })
        return {
          x,
          f: (t: Input) => Tensor.gather(t as T, ix, { axis }) as T,
          label: `${show(s)} gather ${JSON.stringify(ids)} as ${show(ishape)} along ${axis}`
        }
      })
  )
)

checkRows("layout", [
  { op: "reshape", order: 2, cases: reshapeCase },
  { op: "flatten", order: 2, cases: flattenCase },
  { op: "transpose", order: 2, cases: transposeCase },
  { op: "concat", order: 2, cases: concatCase },
  { op: "slice", order: 2, cases: sliceCase },
  { op: "pad", order: 2, cases: padCase },
  { op: "broadcastTo", order: 2, cases: broadcastToCase },
  { op: "squeeze (by axis, all)", order: 2, cases: squeezeCase },
  { op: "expandDims", order: 2, cases: expandDimsCase },
  { op: "stack", order: 2, cases: stackCase },
  { op: "gather (repeated indices)", order: 2, cases: gatherCase }
])

describe("gradient conventions of gather", () => {
  it("scatters the cotangent back, adding where an index repeats, and sends none to the indices", () => {
    const x = Tensor.fromArray([1, 2, 3], [3], { dtype: "float64" })
    const ix = Tensor.fromArray([2, 0, 2, 2], [4], { dtype: "float64" })
    const w = Tensor.fromArray([1, 10, 100, 1000], [4], { dtype: "float64" })
    const g = grad((t: Tensor.Tensor<readonly [3], "float64">) => Tensor.sum(Tensor.mul(Tensor.gather(t, ix), w)))
    expect(Array.from(Tensor.toArray(g(x)))).toEqual([10, 0, 1101])
    const gi = grad((i: Tensor.Tensor<readonly [4], "float64">) => Tensor.sum(Tensor.gather(x, i)))
    expect(Array.from(Tensor.toArray(gi(ix)))).toEqual([0, 0, 0, 0])
  })
})
