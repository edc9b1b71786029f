/**
 * `vmap`: every batching rule against the per-example loop it replaces (apply `f` to each slice, stack the
 * results), on fast-check generated shapes, values, batch sizes and mapped axes (each argument mapped or
 * shared, the mapped axis first, last or in between); the same for the gradients of each case
 * (`vmap(gradArgs(...))`), which exercises the rules of the backward primitives. float64 results must be
 * exactly equal to the loop's (same kernels, same order of operations: the reduction rule places the batch
 * axis so that sums add in the per-example order). Then compositions with the other transformations,
 * pytrees, the axes options, errors, and random programs built from the ops (float64 exact, float32 within
 * 1e-5); tolerances appear only where two different computations are compared (a batch gradient against the
 * sum of per-example ones).
 */
import { customJvp, customVjp, grad, gradArgs, jvp, Pytree, stopGradient, vjp, vmap } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { rules, vectorized } from "../src/internal/batching.ts"

type T = Tensor.AnyTensor
type Dims = ReadonlyArray<number>
type F64<S extends Tensor.Shape> = Tensor.Tensor<S, "float64">

const SEED = 0xba7c
const RUNS = 12

const f64 = (dims: Dims, options: Arbitrary.ValueOptions = {}): fc.Arbitrary<T> =>
  Arbitrary.tensor(dims, { ...options, dtype: "float64" })
const arr = (t: T): Array<number> => Array.from(Tensor.toArray(t))

/** Example `i` of `t` along `axis`. */
const take = (t: T, axis: number, i: number): T => {
  const begin = t.shape.map((_, k) => (k === axis ? i : 0))
  const size = t.shape.map((d, k) => (k === axis ? 1 : d))
  return Tensor.reshape(Tensor.slice(t, begin, size) as T, t.shape.filter((_, k) => k !== axis)) as T
}

/** The per-example loop that `vmap(f, { inAxes })` replaces, with the results stacked on axis 0. */
const loop = (
  f: (...xs: ReadonlyArray<never>) => Pytree.Pytree,
  inAxes: ReadonlyArray<number | null>,
  args: ReadonlyArray<Pytree.Pytree>,
  size: number
): Pytree.Pytree => {
  const outs: Array<Pytree.Pytree> = []
  for (let i = 0; i < size; i++) {
    outs.push((f as (...xs: ReadonlyArray<Pytree.Pytree>) => Pytree.Pytree)(...args.map((a, k) => {
      const axis = inAxes[k]
      if (axis === null || axis === undefined) return a
      return Pytree.map(a, (t) => take(t, axis < 0 ? axis + t.shape.length : axis, i))
    })))
  }
  const per = outs.map((o) => Pytree.leaves(o))
  return Pytree.map(outs[0]!, (_, j) => Tensor.stack(per.map((ls) => ls[j]!)) as T)
}

/** Leaf by leaf, same shapes and entries within `tol` (relative to max(1, |b|)); `tol` 0 is exact. */
const expectSame = (a: Pytree.Pytree, b: Pytree.Pytree, tol = 0, what = ""): void => {
  const la = Pytree.leaves(a)
  const lb = Pytree.leaves(b)
  expect(la.length).toBe(lb.length)
  la.forEach((x, j) => {
    const y = lb[j]!
    expect(x.shape, `${what} leaf ${j} shape`).toEqual(y.shape)
    expect(x.dtype).toBe(y.dtype)
    const xs = arr(x)
    const ys = arr(y)
    xs.forEach((v, i) => {
      const w = ys[i]!
      const ok = tol === 0
        ? Object.is(v, w) || v === w
        : Math.abs(v - w) <= tol * Math.max(1, Math.abs(w)) || (Number.isNaN(v) && Number.isNaN(w))
      if (!ok) expect.fail(`${what} leaf ${j} entry ${i}: vmap ${v}, loop ${w}`)
    })
  })
}

/** A row: a function of per-example tensors of the given shapes. */
interface Row {
  readonly name: string
  readonly shapes: ReadonlyArray<Dims>
  readonly f: (...xs: ReadonlyArray<T>) => T
  readonly values?: Arbitrary.ValueOptions
  /** Also check the per-example gradients (false for piecewise-constant results). */
  readonly grad?: boolean
  /** Tolerance for float64 (0: exact). */
  readonly tol?: number
}

/** Every non-empty set of mapped arguments, each with a mapped axis at a generated position. */
const axesFor = (shapes: ReadonlyArray<Dims>): fc.Arbitrary<ReadonlyArray<number | null>> =>
  fc
    .tuple(...shapes.map((s) => fc.option(fc.integer({ min: -1, max: s.length }), { nil: null, freq: 3 })))
    .filter((axes) => axes.some((a) => a !== null))

const insert = (s: Dims, axis: number, size: number): Dims => {
  const at = axis < 0 ? s.length + 1 + axis : axis
  return [...s.slice(0, at), size, ...s.slice(at)]
}

const checkRow = (row: Row): void => {
  const cases = fc.tuple(fc.integer({ min: 1, max: 3 }), axesFor(row.shapes)).chain(([size, axes]) =>
    fc
      .tuple(...row.shapes.map((s, k) => f64(axes[k] === null ? s : insert(s, axes[k]!, size), row.values)))
      .map((args) => ({ size, axes, args }))
  )
  fc.assert(
    fc.property(cases, ({ size, axes, args }) => {
      const label = `${row.name} inAxes ${JSON.stringify(axes)} shapes ${JSON.stringify(args.map((a) => a.shape))}`
      const got = vmap(row.f, { inAxes: axes })(...args)
      expectSame(got, loop(row.f, axes, args, size), row.tol ?? 0, label)
      if (row.grad !== false) {
        const all = row.shapes.map((_, k) => k)
        const g = gradArgs(
          (...xs: ReadonlyArray<T>) => Tensor.sum(Tensor.sin(row.f(...xs))) as never,
          all as never
        ) as (
          ...xs: ReadonlyArray<T>
        ) => Pytree.Pytree
        expectSame(vmap(g, { inAxes: axes })(...args), loop(g, axes, args, size), row.tol ?? 0, `grad of ${label}`)
      }
    }),
    { seed: SEED, numRuns: RUNS }
  )
}

const positive = { min: 0.2, max: 2 }

const unaryRows: ReadonlyArray<Row> = [
  { name: "neg", shapes: [[2, 3]], f: Tensor.neg },
  { name: "exp", shapes: [[2, 3]], f: Tensor.exp },
  { name: "log", shapes: [[3]], f: Tensor.log, values: positive },
  { name: "tanh", shapes: [[2, 3]], f: Tensor.tanh },
  { name: "sigmoid", shapes: [[3]], f: Tensor.sigmoid },
  { name: "relu (reluGrad)", shapes: [[2, 3]], f: Tensor.relu, values: { awayFrom: [0] } },
  { name: "sqrt", shapes: [[3]], f: Tensor.sqrt, values: positive },
  { name: "abs", shapes: [[3]], f: Tensor.abs, values: { awayFrom: [0] } },
  { name: "sign", shapes: [[3]], f: Tensor.sign, grad: false },
  { name: "square", shapes: [[]], f: Tensor.square },
  { name: "sin", shapes: [[3]], f: Tensor.sin },
  { name: "cos", shapes: [[3]], f: Tensor.cos },
  { name: "log1p", shapes: [[3]], f: Tensor.log1p, values: positive },
  { name: "expm1", shapes: [[3]], f: Tensor.expm1 },
  { name: "cast", shapes: [[3]], f: (x) => Tensor.cast(Tensor.cast(x, "float32"), "float64") }
]

const binaryRows: ReadonlyArray<Row> = [
  ["add", Tensor.add],
  ["sub", Tensor.sub],
  ["mul", Tensor.mul],
  ["div", Tensor.div],
  ["maximum", Tensor.maximum],
  ["minimum", Tensor.minimum],
  ["pow", Tensor.pow]
].flatMap(([name, op]) => {
  const f = op as (a: T, b: T) => T
  return [
    // Ranks differ: a batched operand of lower rank must stay aligned with the other's trailing dims.
    { name: `${name} [3] with [2, 3]`, shapes: [[3], [2, 3]], f, values: positive },
    { name: `${name} [2, 1] with [3]`, shapes: [[2, 1], [3]], f, values: positive },
    { name: `${name} [] with [2]`, shapes: [[], [2]], f, values: positive }
  ]
})

const compareRows: ReadonlyArray<Row> = [
  ["greater", Tensor.greater],
  ["greaterEqual", Tensor.greaterEqual],
  ["equal", Tensor.equal],
  ["less", Tensor.less],
  ["lessEqual", Tensor.lessEqual]
].map(([name, op]) => ({
  name: name as string,
  shapes: [[3], [2, 3]],
  f: (a: T, b: T) => (op as (a: T, b: T) => T)(Tensor.sign(a), Tensor.sign(b)),
  grad: false
}))

const reduceRows: ReadonlyArray<Row> = [
  { name: "sum (all)", shapes: [[2, 3]], f: (x) => Tensor.sum(x) as T },
  { name: "sum axis 0", shapes: [[2, 3]], f: (x) => Tensor.sum(x, { axis: 0 }) as T },
  { name: "mean axis -1 keepDims", shapes: [[2, 3]], f: (x) => Tensor.mean(x, { axis: -1, keepDims: true }) as T },
  {
    name: "max (firstMaxMask)",
    shapes: [[2, 3]],
    f: (x) => Tensor.max(x, { axis: 1 }) as T,
    values: { distinct: true }
  },
  { name: "min (all)", shapes: [[2, 3]], f: (x) => Tensor.min(x) as T, values: { distinct: true } },
  { name: "logsumexp", shapes: [[2, 3]], f: (x) => Tensor.logsumexp(x, { axis: -1 }) as T },
  { name: "argmax axis 1", shapes: [[2, 3]], f: (x) => Tensor.argmax(x, { axis: 1 }) as T, grad: false },
  { name: "argmax (flat)", shapes: [[2, 3]], f: (x) => Tensor.argmax(x) as T, grad: false },
  {
    name: "argmin keepDims",
    shapes: [[2, 3]],
    f: (x) => Tensor.argmin(x, { axis: 0, keepDims: true }) as T,
    grad: false
  },
  { name: "softmax", shapes: [[2, 3]], f: (x) => Tensor.softmax(x) as T },
  { name: "logSoftmax axis 0", shapes: [[2, 3]], f: (x) => Tensor.logSoftmax(x, 0) as T }
]

const idx = (values: ReadonlyArray<number>, shape: Dims): T => Tensor.fromArray(values, shape, { dtype: "float64" })

const layoutRows: ReadonlyArray<Row> = [
  { name: "reshape", shapes: [[2, 3]], f: (x) => Tensor.reshape(x, [3, 2]) as T },
  { name: "flatten", shapes: [[2, 2, 2]], f: (x) => Tensor.flatten(x) as T },
  { name: "transpose", shapes: [[2, 3, 2]], f: (x) => Tensor.transpose(x, [2, 0, 1]) as T },
  { name: "expandDims, squeeze", shapes: [[2, 3]], f: (x) => Tensor.squeeze(Tensor.expandDims(x, 1) as T, 1) as T },
  { name: "concat", shapes: [[2, 3], [1, 3]], f: (a, b) => Tensor.concat([a, b], 0) as T },
  { name: "concat axis 1", shapes: [[2, 1], [2, 3]], f: (a, b) => Tensor.concat([a, b], 1) as T },
  { name: "stack", shapes: [[3], [3]], f: (a, b) => Tensor.stack([a, b], 1) as T },
  { name: "slice (pad)", shapes: [[3, 4]], f: (x) => Tensor.slice(x, [1, 1], [2, 2]) as T },
  { name: "pad (slice)", shapes: [[2, 2]], f: (x) => Tensor.pad(x, [[1, 0], [0, 2]]) as T },
  { name: "broadcastTo", shapes: [[3]], f: (x) => Tensor.broadcastTo(x, [2, 3]) as T },
  {
    name: "where",
    shapes: [[3], [2, 3], [3]],
    f: (c, a, b) => Tensor.where(Tensor.greater(c, 0), a, b) as T
  },
  {
    name: "gather (scatterAdd)",
    shapes: [[4, 2]],
    f: (x) => Tensor.gather(x, idx([3, 0, 3], [3])) as T
  },
  {
    name: "gather axis 1",
    shapes: [[2, 4]],
    f: (x) => Tensor.gather(x, idx([1, 2, 1, 0], [2, 2]), { axis: 1 }) as T
  }
]

const linalgRows: ReadonlyArray<Row> = [
  { name: "matmul2d", shapes: [[2, 3], [3, 4]], f: (a, b) => Tensor.matmul(a, b) as T },
  { name: "matmul [4, 2, 3] x [3, 2]", shapes: [[4, 2, 3], [3, 2]], f: (a, b) => Tensor.matmul(a, b) as T },
  {
    name: "batchMatmul [2, 2, 3] x [2, 3, 4]",
    shapes: [[2, 2, 3], [2, 3, 4]],
    f: (a, b) => Tensor.matmul(a, b) as T
  },
  {
    name: "batchMatmul [2, 3] x [2, 3, 1]",
    shapes: [[2, 3], [2, 3, 1]],
    f: (a, b) => Tensor.matmul(a, b) as T
  }
]

const windowRows: ReadonlyArray<Row> = [
  {
    name: "conv2d (conv2dBackpropInput, conv2dBackpropFilter)",
    shapes: [[2, 5, 4, 2], [3, 2, 2, 3]],
    f: (x, w) => Tensor.conv2d(x, w, { padding: "same", strides: [2, 1] }) as T
  },
  {
    name: "conv2dBias relu",
    shapes: [[1, 4, 4, 1], [2, 2, 1, 2], [2]],
    f: (x, w, b) =>
      Tensor.conv2dBias(x, w, b as Tensor.Tensor<readonly [number], "float64">, { relu: true, padding: "valid" }) as T,
    values: { awayFrom: [0], margin: 0.1 }
  },
  {
    name: "maxPool2d (maxPool2dBackward)",
    shapes: [[2, 4, 5, 2]],
    f: (x) => Tensor.maxPool2d(x, { poolSize: 2, strides: 1, padding: "same" }) as T,
    values: { distinct: true }
  },
  {
    name: "avgPool2d (avgPool2dBackward)",
    shapes: [[1, 5, 4, 2]],
    f: (x) => Tensor.avgPool2d(x, { poolSize: [2, 3], strides: 2, padding: "same" }) as T
  }
]

describe("vmap agrees with the per-example loop, and so do its gradients", () => {
  for (
    const [family, rows] of [
      ["elementwise (unary)", unaryRows],
      ["elementwise (binary)", binaryRows],
      ["comparisons", compareRows],
      ["reductions and softmax", reduceRows],
      ["layout", layoutRows],
      ["linalg", linalgRows],
      ["conv and pool", windowRows]
    ] as const
  ) {
    describe(`${family}`, () => {
      it.each(rows.map((r) => [r.name, r] as const))("%s", (_, row) => checkRow(row))
    })
  }

  it("oneHot and gather with batched indices (the indices of every example are checked)", () => {
    const labels = idx([2, 0, 1], [3])
    const table = Tensor.reshape(Tensor.cast(Tensor.fromArray([0, 1, 2, 3, 4, 5], [6]), "float64"), [3, 2]) as T
    expectSame(
      vmap((y: T) => Tensor.oneHot(y, 3) as T)(labels),
      loop((y: T) => Tensor.oneHot(y, 3) as T, [0], [labels], 3)
    )
    expect(() => vmap((ix: T) => Tensor.gather(table, ix) as T)(idx([0, 1, 2, 3], [2, 2]))).toThrow(
      /index 3 .* not an integer in \[0, 3\)/
    )
  })

  it("gather and scatterAdd with batched indices: a shared table (per-example embedding gradients) and a batch of tables", () => {
    const cases = fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 2 }))
      .chain(([size, n, axis]) => {
        const dims = [2, 3, 2].map((d, k) => (k === axis ? n : d))
        return fc.record({
          size: fc.constant(size),
          axis: fc.constant(axis),
          table: f64(dims),
          tables: f64([size, ...dims]),
          ids: fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: size * 3, maxLength: size * 3 })
        })
      })
    fc.assert(
      fc.property(cases, ({ size, axis, table, tables, ids }) => {
        const ix = idx(ids, [size, 3])
        const shared = (t: T, i: T) => Tensor.gather(t, i, { axis }) as T
        const sq = (t: T, i: T) => Tensor.sum(Tensor.square(shared(t, i))) as never
        for (const [axes, t] of [[[null, 0], table], [[0, 0], tables]] as const) {
          const label = `axis ${axis} inAxes ${JSON.stringify(axes)}`
          expectSame(vmap(shared, { inAxes: axes })(t, ix), loop(shared, axes, [t, ix], size), 0, label)
          // the gradient with respect to the table: a scatterAdd at the batched indices
          expectSame(vmap(grad(sq), { inAxes: axes })(t, ix), loop(grad(sq), axes, [t, ix], size), 0, `grad ${label}`)
        }
      }),
      { seed: SEED, numRuns: RUNS }
    )
    expect(() => vmap((y: T) => Tensor.oneHot(y, 3) as T)(idx([0, 3], [2]))).toThrow(
      /index 3 .* not an integer in \[0, 3\)/
    )
  })

  it("a batch of filters and a batch of images: conv2d (more cases in vmap-conv.test.ts)", () => {
    const images = Tensor.reshape(
      Tensor.cast(Tensor.fromArray(Array.from({ length: 48 }, (_, i) => Math.sin(i)), [48]), "float64"),
      [2, 1, 4, 3, 2]
    ) as T
    const filters = Tensor.reshape(
      Tensor.cast(Tensor.fromArray(Array.from({ length: 48 }, (_, i) => Math.cos(i)), [48]), "float64"),
      [2, 2, 2, 2, 3]
    ) as T
    const f = (x: T, w: T) => Tensor.conv2d(x, w) as T
    expectSame(vmap(f)(images, filters), loop(f, [0, 0], [images, filters], 2))
    const one = take(images, 0, 0)
    expectSame(vmap(f, { inAxes: [null, 0] })(one, filters), loop(f, [null, 0], [one, filters], 2))
  })
})

describe("the rule table", () => {
  it("lists the primitives with a vectorized rule; the others fall back to one example at a time", () => {
    expect(vectorized).toEqual([
      "abs",
      "add",
      "argmax",
      "argmin",
      "avgPool2d",
      "avgPool2dBackward",
      "batchMatmul",
      "cast",
      "concat",
      "conv2d",
      "conv2dBackpropFilter",
      "conv2dBackpropInput",
      "conv2dBias",
      "cos",
      "div",
      "equal",
      "exp",
      "expm1",
      "firstMaxMask",
      "gather",
      "greater",
      "greaterEqual",
      "less",
      "lessEqual",
      "log",
      "log1p",
      "matmul2d",
      "max",
      "maxPool2d",
      "maxPool2dBackward",
      "maxPool2dGather",
      "maximum",
      "minimum",
      "mul",
      "neg",
      "oneHot",
      "pad",
      "pow",
      "relu",
      "reluGrad",
      "reshape",
      "scatterAdd",
      "sigmoid",
      "sign",
      "sin",
      "slice",
      "sqrt",
      "square",
      "stopGradient",
      "sub",
      "sum",
      "tanh",
      "transpose",
      "where"
    ])
    // Every primitive of @typegrad/tensor has one; customVjp and customJvp (the user's rules) fall back, and so
    // do the cases a rule hands on (both operands of a convolution batched, above `convBatching.maxMacs`
    // multiply-adds per example: see vmap-conv.test.ts).
    for (const name of ["customVjp", "customJvp"]) expect(Object.hasOwn(rules, name)).toBe(false)
  })

  it("a vectorized rule applies its primitive once for the whole batch, the fallback once per example", () => {
    let calls = 0
    const counted = customVjp({
      forward: (x: T) => {
        calls++
        return [Tensor.tanh(x), null] as const
      },
      backward: (_, ct: T) => [ct]
    })
    const xs = Tensor.ones([5, 3], { dtype: "float64" })
    expectSame(vmap(counted)(xs), Tensor.tanh(xs))
    expect(calls).toBe(5)
  })
})

describe("composition", () => {
  type Params = { readonly w: F64<readonly [3, 2]>; readonly b: F64<readonly [2]> }
  const loss = (p: Params, x: F64<readonly [3]>, y: F64<readonly [2]>) => {
    const h = Tensor.tanh(Tensor.add(Tensor.reshape(Tensor.matmul(Tensor.reshape(x, [1, 3]), p.w), [2]), p.b))
    return Tensor.sum(Tensor.square(Tensor.sub(Tensor.logSoftmax(h), y)))
  }
  const data = fc.record({
    w: f64([3, 2]),
    b: f64([2]),
    xs: f64([4, 3]),
    ys: f64([4, 2])
  })

  it("vmap(grad(loss)) gives per-example gradients, exactly the per-example loop's (float64)", () => {
    fc.assert(
      fc.property(data, ({ w, b, xs, ys }) => {
        const params = { w, b } as Params
        const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(
          params,
          xs as F64<readonly [4, 3]>,
          ys as F64<readonly [4, 2]>
        )
        expectSame(perExample, loop(grad(loss), [null, 0, 0], [params, xs, ys], 4))
        // the batch gradient is their sum
        const batchGrad = grad((p: Params) =>
          Tensor.sum(
            vmap((x: F64<readonly [3]>, y: F64<readonly [2]>) => loss(p, x, y))(
              xs as F64<readonly [4, 3]>,
              ys as F64<readonly [4, 2]>
            )
          )
        )(params)
        expectSame(batchGrad, Pytree.map(perExample, (g) => Tensor.sum(g, { axis: 0 }) as T), 1e-14)
      }),
      { seed: SEED, numRuns: RUNS }
    )
  })

  it("grad of a penalty on per-example gradients: grad(vmap(grad(loss))) equals grad of the loop", () => {
    fc.assert(
      fc.property(data, ({ w, b, xs, ys }) => {
        const params = { w, b } as Params
        const penalty = (per: (p: Params) => Pytree.Pytree) => (p: Params) =>
          Tensor.sum(Tensor.square((per(p) as { readonly w: T }).w)) as never
        const viaVmap = penalty((p) => vmap(grad(loss), { inAxes: [null, 0, 0] })(p, xs as never, ys as never))
        const viaLoop = penalty((p) => loop(grad(loss), [null, 0, 0], [p, xs, ys], 4))
        expectSame(grad(viaVmap)(params), grad(viaLoop)(params), 1e-13)
      }),
      { seed: SEED, numRuns: RUNS }
    )
  })

  it("grad of a function that uses vmap inside equals grad of the loop", () => {
    fc.assert(
      fc.property(data, ({ w, b, xs, ys }) => {
        const params = { w, b } as Params
        const viaVmap = grad((p: Params) =>
          Tensor.mean(vmap(loss, { inAxes: [null, 0, 0] })(p, xs as never, ys as never))
        )
        const viaLoop = grad((p: Params) =>
          Tensor.mean(loop(loss as never, [null, 0, 0], [p, xs, ys], 4) as T) as never
        )
        expectSame(viaVmap(params), viaLoop(params), 1e-14)
      }),
      { seed: SEED, numRuns: RUNS }
    )
  })

  it("vmap(jvp(f)) and jvp(vmap(f)) agree with the loop; so does vmap of a vjp", () => {
    const f = (x: T) => Tensor.softmax(Tensor.mul(Tensor.sin(x), x)) as T
    fc.assert(
      fc.property(f64([3, 4]), f64([3, 4]), (xs, ts) => {
        const perJvp = (x: T, t: T) => jvp(f, x, t) as unknown as Pytree.Pytree
        expectSame(vmap(perJvp)(xs, ts), loop(perJvp, [0, 0], [xs, ts], 3))
        const [y, dy] = jvp((x: T) => vmap(f)(x) as T, xs, ts)
        expectSame([y, dy], loop(perJvp, [0, 0], [xs, ts], 3))
        const perVjp = (x: T, u: T) => vjp(f, x)[1](u)
        expectSame(vmap(perVjp)(xs, ts), loop(perVjp, [0, 0], [xs, ts], 3))
      }),
      { seed: SEED, numRuns: RUNS }
    )
  })

  it("vmap(vmap(f)) maps two axes, and an inner function may close over the outer example", () => {
    fc.assert(
      fc.property(f64([2, 3, 4]), f64([5, 4]), (xs, ys) => {
        const f = (x: T) => Tensor.logsumexp(Tensor.mul(x, x)) as T
        const twice = vmap(vmap(f))(xs)
        expectSame(twice, Tensor.stack([0, 1].map((i) => loop(f, [0], [take(xs, 0, i)], 3) as T)) as T)
        // the outer product of two batches of vectors: an inner vmap over ys, closing over x
        const dots = vmap((x: T) => vmap((y: T) => Tensor.sum(Tensor.mul(x, y)) as T)(ys))(take(xs, 0, 0))
        expect(dots.shape).toEqual([3, 5])
        expectSame(dots, Tensor.matmul(take(xs, 0, 0), Tensor.transpose(ys)) as T, 1e-14)
        // vmap over the second axis of the outer batch
        expectSame(vmap(vmap(f), { inAxes: 1 })(xs), loop(vmap(f), [1], [xs], 3), 0)
      }),
      { seed: SEED, numRuns: RUNS }
    )
  })

  it("vmap of a hessian-vector product, and of a customJvp / customVjp function (the fallback keeps their rules)", () => {
    const softplus = customJvp({
      primal: (x: T) => Tensor.log(Tensor.add(Tensor.exp(x), 1)) as T,
      jvp: ([x], [dx]) => Tensor.mul(dx, Tensor.mul(Tensor.sigmoid(x), 2)) as T // deliberately 2x the true derivative
    })
    const xs = Tensor.fromArray([0.5, -1, 2, 0.25, 1, -0.5], [2, 3], { dtype: "float64" })
    const g = grad((u: T) => Tensor.sum(softplus(u)) as never)
    expectSame(vmap(g)(xs), Tensor.mul(Tensor.sigmoid(xs), 2) as T, 1e-15)
    const hvp = (x: T, v: T) => jvp(grad((u: T) => Tensor.sum(Tensor.mul(Tensor.sin(u), u)) as never), x, v)[1]
    expectSame(vmap(hvp)(xs, Tensor.cos(xs)), loop(hvp, [0, 0], [xs, Tensor.cos(xs)], 2))
  })
})

describe("second order and whole models", () => {
  it("vmap of Hessian-vector products through pools and convolutions (maxPool2dGather, the backprop primitives' own rules)", () => {
    const cases: ReadonlyArray<readonly [string, Dims, (x: T) => T]> = [
      ["maxPool2d", [1, 4, 4, 2], (x) => Tensor.maxPool2d(x, { poolSize: 2, strides: 1 }) as T],
      ["avgPool2d", [1, 4, 5, 1], (x) => Tensor.avgPool2d(x, { poolSize: 2, padding: "same" }) as T],
      [
        "conv2d",
        [2, 4, 4, 2],
        (x) =>
          Tensor.conv2d(
            x,
            Tensor.reshape(Tensor.cast(Tensor.fromArray([1, -2, 3, 0.5, -1, 2, 0.25, 1], [8]), "float64"), [
              2,
              2,
              2,
              1
            ]) as T
          ) as T
      ],
      ["stopGradient", [3], (x) => Tensor.mul(x, Tensor.exp(stopGradient(x))) as T]
    ]
    for (const [name, dims, f] of cases) {
      fc.assert(
        fc.property(f64([3, ...dims], { distinct: true }), f64([3, ...dims]), (xs, vs) => {
          const hvp = (x: T, v: T) =>
            jvp(grad((u: T) => Tensor.sum(Tensor.sin(f(Tensor.mul(u, u) as T))) as never), x, v)[1]
          expectSame(vmap(hvp)(xs, vs), loop(hvp, [0, 0], [xs, vs], 3), 0, name)
        }),
        { seed: SEED, numRuns: 5 }
      )
    }
  })

  it("per-example gradients of a small CNN (conv2dBias, maxPool2d, dense, cross-entropy) equal the loop's", () => {
    type CnnParams = { readonly k: T; readonly kb: T; readonly w: T; readonly b: T }
    const logits = (p: CnnParams, image: T): T => {
      const h = Tensor.conv2dBias(
        Tensor.reshape(image, [1, 6, 6, 1]) as T,
        p.k,
        p.kb as Tensor.Tensor<readonly [number], "float64">,
        { padding: "same", relu: true }
      ) as T
      const pooled = Tensor.maxPool2d(h, { poolSize: 2 }) as T
      return Tensor.add(Tensor.matmul(Tensor.flatten(pooled) as T, p.w), p.b) as T
    }
    const loss = (p: CnnParams, image: T, label: T) =>
      Tensor.neg(Tensor.sum(Tensor.mul(Tensor.logSoftmax(logits(p, image)), Tensor.oneHot(label, 3)))) as never
    fc.assert(
      fc.property(
        fc.record({ k: f64([3, 3, 1, 2]), kb: f64([2]), w: f64([18, 3]), b: f64([3]) }),
        f64([4, 6, 6], { distinct: true }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
        (p, images, labels) => {
          const ys = Tensor.fromArray(labels, [4], { dtype: "float64" }) as T
          const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(p, images, ys)
          expectSame(perExample, loop(grad(loss), [null, 0, 0], [p, images, ys], 4))
        }
      ),
      { seed: SEED, numRuns: 5 }
    )
  })
})

describe("pytrees and axes", () => {
  it("pytree arguments and results; inAxes per argument; outAxes for all or per output", () => {
    type Tree = { readonly a: T; readonly b: ReadonlyArray<T> }
    const tree: Tree = {
      a: Tensor.fromArray([1, 2, 3, 4, 5, 6], [3, 2], { dtype: "float64" }),
      b: [Tensor.fromArray([1, 2, 3], [3], { dtype: "float64" })]
    }
    const shared = Tensor.fromArray([10, 20], [2], { dtype: "float64" })
    const f = (t: Tree, s: T) => ({ y: Tensor.add(Tensor.mul(t.a, t.b[0]!), s) as T, z: [Tensor.sum(t.a) as T] })
    const out = vmap(f, { inAxes: [0, null] })(tree, shared)
    expectSame(out, loop(f as never, [0, null], [tree, shared], 3))
    const last = vmap(f, { inAxes: [0, null], outAxes: -1 })(tree, shared)
    expect(Pytree.leaves(last).map((t) => t.shape)).toEqual([[2, 3], [3]])
    // an output that does not depend on the mapped axis: repeated (outAxes 0) or kept (null)
    const g = (x: T) => [Tensor.exp(x) as T, shared] as const
    const [e, s] = vmap(g, { outAxes: [1, null] })(tree.a)
    expect(e.shape).toEqual([2, 3])
    expect(s).toBe(shared)
    expect(vmap(g)(tree.a)[1].shape).toEqual([3, 2])
    // a mapped axis in the middle, negative axes
    const x3 = Tensor.reshape(Tensor.cast(Tensor.fromArray(Array.from({ length: 24 }, (_, i) => i), [24]), "float64"), [
      2,
      3,
      4
    ]) as T
    const h = (x: T) => Tensor.sum(x, { axis: -1 }) as T
    expectSame(vmap(h, { inAxes: 1 })(x3), loop(h, [1], [x3], 3))
    expectSame(vmap(h, { inAxes: -2, outAxes: 1 })(x3), Tensor.transpose(loop(h, [-2], [x3], 3) as T))
    // non-tensor arguments pass through with inAxes null
    const scale = (x: T, k: number) => Tensor.mul(x, k) as T
    expectSame(vmap(scale, { inAxes: [0, null] })(x3, 3), Tensor.mul(x3, 3) as T)
  })

  it("a tree of axes maps the tensors of one argument differently (JAX's pytree prefixes)", () => {
    type Model = { readonly w: T; readonly b: ReadonlyArray<T> }
    const model: Model = {
      w: Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], { dtype: "float64" }),
      b: [Tensor.fromArray([1, 2, 3, 4, 5, 6], [3, 2], { dtype: "float64" })]
    }
    const f = (m: Model, x: T) => Tensor.add(Tensor.mul(m.w, x), Tensor.sum(m.b[0]!)) as T
    const x = Tensor.fromArray([1, -1, 2], [3], { dtype: "float64" })
    // w shared, b mapped along its axis 0 (3 examples of [2]), x shared
    const got = vmap(f, { inAxes: [{ w: null, b: [0] }, null] })(model, x)
    const want = Tensor.stack([0, 1, 2].map((i) => f({ w: model.w, b: [take(model.b[0]!, 0, i)] }, x))) as T
    expectSame(got, want)
    // the same with `b` covered by one number for its subtree, and outAxes as a tree
    const g = (m: Model) => ({ s: Tensor.sum(m.b[0]!) as T, w: m.w })
    const out = vmap(g, { inAxes: [{ w: null, b: 1 }], outAxes: { s: 0, w: null } })(model)
    expect(out.s.shape).toEqual([2])
    expect(out.w).toBe(model.w)
    expect(() => vmap(f, { inAxes: [{ w: null }, null] })(model, x)).toThrow(
      "vmap: the axes given have no entry for argument 0 at b.0"
    )
    expect(() => vmap(f, { inAxes: [{ w: null, b: [0] }, { x: 0 }] })(model, x)).toThrow(
      /the axes given for argument 1 are a tree, but it is a tensor/
    )
  })

  it("errors name what is wrong", () => {
    const f = (a: T, b: T) => Tensor.add(a, b) as T
    const a: T = Tensor.zeros([3, 2])
    const b: T = Tensor.zeros([4, 2])
    expect(() => vmap(f)(a, b)).toThrow(
      "vmap: the mapped axes have different sizes: argument 0 has size 3 on axis 0, but argument 1 has size 4 on axis 0"
    )
    expect(() => vmap(f, { inAxes: [null, null] })(a, b)).toThrow(/no argument is mapped/)
    expect(() => vmap(f, { inAxes: [0] })(a, b)).toThrow(/inAxes has 1 entries, but there are 2 arguments/)
    expect(() => vmap(f, { inAxes: [2, 0] })(a, b)).toThrow(/axis 2 is out of range for argument 0 of rank 2/)
    expect(() => vmap((x: T) => Tensor.exp(x) as T, { outAxes: null })(a)).toThrow(
      /outAxes is null for the output, but it depends on the mapped axis/
    )
    expect(() => vmap((x: T, k: number) => Tensor.mul(x, k) as T)(a, 2 as never)).toThrow(
      /argument 1 is number, not a tensor or pytree; give it inAxes null/
    )
    const tree: { readonly w: T; readonly v: T } = { w: Tensor.zeros([3]), v: Tensor.zeros([2]) }
    expect(() => vmap((t: { readonly w: T; readonly v: T }) => t.w)(tree)).toThrow(
      "vmap: the mapped axes have different sizes: argument 0 at v has size 2 on axis 0, but argument 0 at w has size 3 on axis 0"
    )
  })

  it("an empty batch", () => {
    const xs = Tensor.zeros([0, 3], { dtype: "float64" })
    expect(vmap((x: T) => Tensor.sum(Tensor.exp(x)) as T)(xs).shape).toEqual([0])
    expect(
      vmap((x: T) => Tensor.matmul(Tensor.reshape(x, [1, 3]), Tensor.ones([3, 2], { dtype: "float64" })) as T)(xs).shape
    )
      .toEqual([0, 1, 2])
  })
})

// ---------------------------------------------------------------------------------------------------------
// Random programs
// ---------------------------------------------------------------------------------------------------------

/** One step of a random program on `[4, 3]` tensors, with a shared `[3]` vector `v` and `[3, 3]` matrix `m`. */
const steps: ReadonlyArray<(x: T, v: T, m: T) => T> = [
  (x) => Tensor.tanh(x),
  (x) => Tensor.sin(x),
  (x, v) => Tensor.mul(x, v) as T,
  (x, v) => Tensor.add(v, x) as T,
  (x, _, m) => Tensor.matmul(x, m) as T,
  (x) => Tensor.softmax(x) as T,
  (x) => Tensor.logSoftmax(x, 0) as T,
  (x) => Tensor.transpose(Tensor.reshape(Tensor.transpose(x), [3, 4]) as T) as T,
  (x, v) => Tensor.maximum(x, v) as T,
  (x) => Tensor.sub(x, Tensor.mean(x, { axis: 0, keepDims: true }) as T) as T,
  (x) => Tensor.concat([Tensor.slice(x, [2, 0], [2, 3]) as T, Tensor.slice(x, [0, 0], [2, 3]) as T], 0) as T,
  (x) => Tensor.mul(x, Tensor.max(x, { axis: 1, keepDims: true }) as T) as T,
  (x, v) => Tensor.where(Tensor.greater(x, 0), x, Tensor.mul(v, x) as T) as T,
  (x) =>
    Tensor.reshape(
      Tensor.maxPool2d(Tensor.reshape(x, [1, 4, 3, 1]) as T, { poolSize: 2, strides: 1, padding: "same" }) as T,
      [4, 3]
    ) as T
]

const program = fc.array(fc.integer({ min: 0, max: steps.length - 1 }), { minLength: 1, maxLength: 6 })

const run = (ops: ReadonlyArray<number>) => (x: T, v: T, m: T): T =>
  Tensor.sum(ops.reduce((h, k) => steps[k]!(h, v, m), x), { axis: -1 }) as T

describe("random programs", () => {
  for (const dtype of ["float64", "float32"] as const) {
    it(`vmap(f) equals stacking f(x_i), and so do the per-example gradients (${dtype})`, () => {
      // float64: a reduction over a leading axis may add in another order once the batch axis is in front.
      const tol = dtype === "float64" ? 0 : 1e-5
      const t = (dims: Dims) => Arbitrary.tensor(dims, { dtype, distinct: true })
      fc.assert(
        fc.property(
          program,
          fc.integer({ min: 1, max: 3 }),
          fc.constantFrom<ReadonlyArray<number | null>>([0, null, null], [0, 0, null], [0, null, 0], [0, 0, 0]),
          fc.tuple(t([3, 4, 3]), t([3, 3]), t([3, 3, 3])),
          (ops, size, axes, [xs, vs, ms]) => {
            const args = [xs, vs, ms].map((
              a,
              k
            ) => (axes[k] === null
              ? take(a as T, 0, 0)
              : Tensor.slice(a as T, a.shape.map(() => 0), [size, ...a.shape.slice(1)]) as T)
            )
            const f = run(ops)
            expectSame(
              vmap(f, { inAxes: axes })(...(args as [T, T, T])),
              loop(f as never, axes, args, size),
              tol,
              `program ${ops}`
            )
            const g = (x: T, v: T, m: T) => grad((u: T) => Tensor.sum(f(u, v, m)) as never)(x)
            expectSame(
              vmap(g, { inAxes: axes })(...(args as [T, T, T])),
              loop(g as never, axes, args, size),
              tol,
              `grad of program ${ops}`
            )
          }
        ),
        { seed: SEED, numRuns: 40 }
      )
    })
  }
})
