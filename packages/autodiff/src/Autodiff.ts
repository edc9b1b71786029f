/**
 * Function transformations: `grad`, `valueAndGrad`, `vjp`, `jvp`, `stopGradient` and `customVjp`; Jacobians
 * (`jacrev`, `jacfwd`) and Hessians (`hessian`); gradients with respect to several arguments (`gradArgs`,
 * `valueAndGradArgs`); user-defined forward-mode rules (`customJvp`); and batching (`vmap`).
 *
 * They are pure: no global tape, nothing to dispose, nothing left behind after a call, and they compose
 * (`grad(grad(f))`, `jvp` of a `grad`, `vmap(grad(f))`...). The differentiated argument may be a tensor or any pytree of
 * tensors; gradients keep its structure, shapes and static type.
 *
 * @since 0.1.0
 */
import { Pytree, type ShapeError, Tensor } from "@typegrad/tensor"
import { bind, fromImpl, isFloat, type Primitive, primitive, type TensorImpl, toImpl } from "@typegrad/tensor/internal"
import { BatchTrace, broadcastBatch, moveAxis } from "./internal/batching.ts"
import { ReverseTrace, runTraced, type Tracer } from "./internal/reverse.ts"

/** A rank-0 tensor: what `grad` differentiates. */
export type Scalar = Tensor.Tensor<readonly [], Tensor.DType>

const zerosLike = (t: Tensor.AnyTensor): Tensor.AnyTensor => Tensor.zeros(t.shape, { dtype: t.dtype })

const checkScalar = (op: string, y: unknown): Tensor.AnyTensor => {
  if (!Tensor.isTensor(y)) {
    throw new TypeError(`${op}: the function must return a tensor, got ${typeof y}`)
  }
  if (y.shape.length !== 0) {
    throw new TypeError(
      `${op}: the function must return a scalar (shape []), got shape [${y.shape.join(", ")}]; ` +
        `reduce it first (Tensor.sum or Tensor.mean), or use vjp for non-scalar outputs`
    )
  }
  return y
}

/**
 * Runs `f` at `x` and returns its output and the pullback: the function that maps a cotangent of the
 * output to the cotangent of `x` (the vector-Jacobian product). `x` and the output may be pytrees.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [3]>
 * const [y, pullback] = vjp((x: Tensor.Tensor<readonly [3]>) => Tensor.exp(x), x)
 * const dx = pullback(Tensor.ones([3])) // exp(x)
 * ```
 */
export const vjp = <X extends Pytree.Pytree, Y extends Pytree.Pytree>(
  f: (x: X) => Y,
  x: X
): readonly [Y, (cotangent: Y) => X] => {
  const [y, pullback] = traced(f, x, "vjp")
  return [y, pullback] as const
}

/** Where a leaf of the differentiated argument is, for messages. */
const describeLeaf = (path: Pytree.Path): string =>
  path.length === 0 ? "the differentiated argument" : `the differentiated argument at ${Pytree.pathString(path)}`

/**
 * The differentiated tensors must be float: int32 and bool values are piecewise constant (as in JAX, which
 * asks for float inputs). The message names the transformation and where the tensor is.
 */
const checkFloatLeaves = (op: string, x: Pytree.Pytree, where: (path: Pytree.Path) => string): void => {
  for (const [path, leaf] of Pytree.leavesWithPath(x)) {
    if (!isFloat(toImpl(leaf))) {
      throw new TypeError(
        `${op} requires float inputs, but ${where(path)} is ${leaf.dtype}: int32 and bool tensors are not ` +
          `differentiable; pass them as further arguments (not differentiated), or convert them with ` +
          `Tensor.cast(x, "float32")`
      )
    }
  }
}

/** `vjp`, plus the function that unwraps this call's tracers (for auxiliary outputs). */
const traced = <X extends Pytree.Pytree, Y extends Pytree.Pytree>(
  f: (x: X) => Y,
  x: X,
  op: string,
  where: (path: Pytree.Path) => string = describeLeaf
): readonly [Y, (cotangent: Y) => X, (t: Tensor.AnyTensor) => Tensor.AnyTensor] => {
  checkFloatLeaves(op, x, where)
  const trace = new ReverseTrace()
  const tracers: Array<Tracer> = []
  const tracedX = Pytree.map(x, (leaf) => {
    const t = trace.leaf(toImpl(leaf))
    tracers.push(t)
    return fromImpl(t)
  })
  const out = runTraced(() => f(tracedX))
  const outLeaves = Pytree.leaves(out).map(toImpl)
  const y = Pytree.map(out, (leaf) => fromImpl(trace.unwrap(toImpl(leaf))))
  const pullback = (cotangent: Y): X => {
    const cts = Pytree.leaves(cotangent).map(toImpl)
    if (cts.length !== outLeaves.length) {
      throw new TypeError(
        `vjp: the cotangent has ${cts.length} tensors but the output has ${outLeaves.length}; pass one of the output's structure`
      )
    }
    cts.forEach((ct, i) => {
      const o = outLeaves[i]!
      if (ct.shape.length !== o.shape.length || ct.shape.some((d, k) => d !== o.shape[k])) {
        throw new TypeError(
          `vjp: cotangent ${i} has shape [${ct.shape.join(", ")}] but the output has shape [${o.shape.join(", ")}]`
        )
      }
    })
    const grads = trace.backward(
      outLeaves.map((o, i) => [o, cts[i]!] as const),
      tracers
    )
    return Pytree.map(x, (leaf, i) => {
      const g = grads[i]
      return g === undefined ? zerosLike(leaf) : fromImpl(g)
    })
  }
  return [y, pullback, (t: Tensor.AnyTensor) => fromImpl(trace.unwrap(toImpl(t)))] as const
}

/**
 * The gradient of a scalar function with respect to its first argument, which may be a tensor or any
 * pytree of tensors; the result has the same structure, shapes and static type. Further arguments are
 * passed through and not differentiated.
 *
 * @example
 * ```ts
 * const df = grad((x: Tensor.Tensor<readonly [3]>) => Tensor.sum(Tensor.square(x)))
 * df(Tensor.fromArray([1, 2, 3], [3])) // [2, 4, 6]
 * const d2 = grad(grad((x: Tensor.Tensor<readonly []>) => Tensor.tanh(x))) // second derivative
 * ```
 */
export const grad = <X extends Pytree.Pytree, R extends ReadonlyArray<unknown>>(
  f: (x: X, ...rest: R) => Scalar
): (x: X, ...rest: R) => X =>
(x, ...rest) => valueAndGrad(f)(x, ...rest)[1]

/**
 * Like `grad`, and also returns the value of the function.
 *
 * @example
 * ```ts
 * type Params = { readonly w: Tensor.Tensor<readonly [3, 1]> }
 * declare const params: Params
 * declare const batch: Tensor.Tensor<readonly [8, 3]>
 * const lossFn = (p: Params, x: Tensor.Tensor<readonly [8, 3]>) => Tensor.mean(Tensor.square(Tensor.matmul(x, p.w)))
 * const [loss, grads] = valueAndGrad(lossFn)(params, batch) // grads: Params
 * ```
 */
export const valueAndGrad = <X extends Pytree.Pytree, R extends ReadonlyArray<unknown>, Y extends Scalar = Scalar>(
  f: (x: X, ...rest: R) => Y
): (x: X, ...rest: R) => readonly [Y, X] =>
(x, ...rest) => {
  const [y, pullback] = traced((p: X) => checkScalar("grad", f(p, ...rest)) as Y, x, "grad")
  return [y, pullback(Tensor.ones([], { dtype: y.dtype }) as Y)] as const
}

/**
 * Like `valueAndGrad` for a function that also returns auxiliary data (`[loss, aux]`): returns the loss,
 * the aux values (not differentiated; any tensors in them are plain values) and the gradient. Use it to
 * get predictions out of a training step without a second forward pass.
 *
 * @example
 * ```ts
 * const model = Reference.mnistCnn
 * type P = Model.ParamsOf<typeof model>
 * declare const params: P
 * declare const images: Tensor.Tensor<readonly [number, 28, 28, 1]>
 * declare const labels: Tensor.Tensor<readonly [number, 10]>
 * const [loss, logits, grads] = valueAndGradAux((p: P) => {
 *   const z = model.logits(p, images)
 *   return [Loss.softmaxCrossEntropy(z, labels), z] as const
 * })(params)
 * ```
 */
export const valueAndGradAux =
  <X extends Pytree.Pytree, Aux, R extends ReadonlyArray<unknown>, Y extends Scalar = Scalar>(
    f: (x: X, ...rest: R) => readonly [Y, Aux]
  ): (x: X, ...rest: R) => readonly [Y, Aux, X] =>
  (x, ...rest) => {
    let aux: Aux | undefined
    const [y, pullback, unwrap] = traced(
      (p: X) => {
        const [value, a] = f(p, ...rest)
        aux = a
        return checkScalar("grad", value) as Y
      },
      x,
      "grad"
    )
    const plainAux = unwrapAux(aux as Aux, unwrap)
    return [y, plainAux, pullback(Tensor.ones([], { dtype: y.dtype }) as Y)] as const
  }

/** `aux` with this call's tracers replaced by their values, walked by the pytree rule. */
const unwrapAux = <A>(aux: A, unwrap: (t: Tensor.AnyTensor) => Tensor.AnyTensor): A =>
  Pytree.mapTensors(aux, (t) => unwrap(t))

/**
 * The Jacobian-vector product: `f(x)` and the derivative of `f` at `x` in the direction `tangent`
 * (forward mode). Computed by transposing the pullback (the VJP is linear in its cotangent), so it needs
 * no rules beyond the VJPs.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [3]>
 * const [y, dy] = jvp(Tensor.tanh, x, Tensor.ones([3])) // dy = 1 - tanh(x)^2
 * ```
 */
export const jvp = <X extends Pytree.Pytree, Y extends Pytree.Pytree>(
  f: (x: X) => Y,
  x: X,
  tangent: X
): readonly [Y, Y] => {
  const tl = Pytree.leaves(tangent)
  const xl = Pytree.leaves(x)
  if (
    tl.length !== xl.length ||
    tl.some((t, i) => t.shape.length !== xl[i]!.shape.length || t.shape.some((d, k) => d !== xl[i]!.shape[k]))
  ) {
    throw new TypeError("jvp: the tangent must have the structure and shapes of x")
  }
  const [y, pullback] = traced(f, x, "jvp")
  // u -> pullback(u) is linear; its own VJP at any point maps the tangent to J * tangent.
  const u0 = Pytree.map(y, zerosLike)
  const [, transpose] = vjp(pullback, u0)
  return [y, transpose(tangent)] as const
}

const stopGradientPrimitive = primitive<null>("stopGradient", ([a]) => a!, () => [undefined])

/**
 * The same value, treated as a constant by every enclosing differentiation.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly []>
 * grad((x: Tensor.Tensor<readonly []>) => Tensor.mul(x, stopGradient(x)))(x) // x, not 2x
 * ```
 */
export const stopGradient = <S extends Tensor.Shape, D extends Tensor.DType>(
  t: Tensor.Tensor<S, D>
): Tensor.Tensor<S, D> => fromImpl(bind(stopGradientPrimitive, [toImpl(t)], null)) as Tensor.Tensor<S, D>

/** A function with a user-defined gradient, as built by `customVjp`. */
export interface CustomVjp<Args extends ReadonlyArray<Tensor.AnyTensor>, Y extends Tensor.AnyTensor, Res> {
  /** Computes the output and whatever the backward pass needs (the residuals). */
  readonly forward: (...args: Args) => readonly [Y, Res]
  /** Maps the residuals and the output's cotangent to one cotangent per argument (`undefined`: none). */
  readonly backward: (residuals: Res, cotangent: Y) => { readonly [K in keyof Args]: Args[K] | undefined }
}

/**
 * A function with a user-defined gradient: `forward` computes the value and residuals, `backward` the
 * cotangents of the arguments. Write `backward` with tensor ops to keep higher-order gradients working.
 *
 * @example
 * ```ts
 * // A numerically safe log(1 + e^x) with a hand-written gradient.
 * const softplus = customVjp({
 *   forward: (x: Tensor.Tensor<readonly [number]>) => [Tensor.log(Tensor.add(Tensor.exp(x), 1)), x] as const,
 *   backward: (x, ct) => [Tensor.mul(ct, Tensor.sigmoid(x))] as const
 * })
 * ```
 */
export const customVjp = <Args extends ReadonlyArray<Tensor.AnyTensor>, Y extends Tensor.AnyTensor, Res>(
  definition: CustomVjp<Args, Y, Res>
): (...args: Args) => Y => {
  // The user's functions see the arguments with the caller's static types.
  const forward = (inputs: ReadonlyArray<TensorImpl>) =>
    definition.forward(...(inputs.map(fromImpl) as unknown as Args))
  const p: Primitive<null> = {
    name: "customVjp",
    impl: (inputs) => toImpl(forward(inputs)[0]),
    vjp: undefined,
    // Under a trace, the forward runs on the inputs as that trace sees them, so enclosing traces record
    // it and the residuals they produce: the backward stays differentiable (higher-order gradients).
    traced: (inputs) => {
      const [y, residuals] = forward(inputs)
      return {
        output: toImpl(y),
        vjp: (ct) => {
          const cts = definition.backward(residuals, fromImpl(ct) as Y)
          if (cts.length !== inputs.length) {
            throw new TypeError(`customVjp: backward returned ${cts.length} cotangents for ${inputs.length} arguments`)
          }
          return cts.map((c: Tensor.AnyTensor | undefined) => (c === undefined ? undefined : toImpl(c)))
        }
      }
    }
  }
  return (...args: Args): Y => fromImpl(bind(p, args.map(toImpl), null)) as Y
}

/**
 * The static shape of a Jacobian: the output's dims followed by the input's (`[...Out, ...In]`). Dims
 * only known at run time stay `number`; a shape that is not a tuple gives `ReadonlyArray<number>`.
 *
 * @example
 * ```ts
 * type J = Autodiff.JacobianShape<readonly [2], readonly [3, 4]> // readonly [2, 3, 4]
 * ```
 */
export type JacobianShape<Out extends Tensor.Shape, In extends Tensor.Shape> = readonly [...Out, ...In]

/**
 * The type of a Jacobian of a function from pytree `X` to pytree `Y`, as JAX lays it out: `Y`'s structure,
 * each of its tensors `Tensor<Out, DO>` replaced by `X`'s structure whose tensors `Tensor<In>` become
 * `Tensor<[...Out, ...In], DO>`. For tensors in and out it is one `Tensor<[...Out, ...In], DO>`.
 *
 * @example
 * ```ts
 * type J = Autodiff.Jacobian<Tensor.Tensor<readonly [2]>, { readonly w: Tensor.Tensor<readonly [3]> }>
 * // { readonly w: Tensor.Tensor<readonly [2, 3]> }
 * ```
 */
export type Jacobian<Y, X> = Y extends Tensor.Tensor<infer O, infer DO extends Tensor.DType> ? JacobianIn<X, O, DO>
  : { readonly [K in keyof Y]: Jacobian<Y[K], X> }

type JacobianIn<X, O extends Tensor.Shape, DO extends Tensor.DType> = X extends Tensor.Tensor<infer S, Tensor.DType>
  ? Tensor.Tensor<JacobianShape<O, S>, DO>
  : { readonly [K in keyof X]: JacobianIn<X[K], O, DO> }

/** Flattens a tensor to one axis (differentiably). */
const flat = (t: Tensor.AnyTensor): Tensor.AnyTensor => Tensor.reshape(t, [t.size]) as Tensor.AnyTensor

/** A basis vector of `size` entries shaped `shape`: 1 at `i`, 0 elsewhere. */
const basis = (shape: ReadonlyArray<number>, dtype: Tensor.DType, i: number): Tensor.AnyTensor => {
  const size = shape.reduce((a, b) => a * b, 1)
  const data = new Float64Array(size)
  data[i] = 1
  return Tensor.fromArray(data, shape, { dtype })
}

/** `tree` with every leaf zero except leaf `leaf`, which is the basis vector `i`. */
const basisTree = <T extends Pytree.Pytree>(tree: T, leaf: number, i: number): T =>
  Pytree.map(tree, (t, k) => (k === leaf ? basis(t.shape, t.dtype, i) : zerosLike(t)))

/** Stacks `parts` (each flat) as rows (`axis` 0) or columns (`axis` 1), then shapes the result. */
const assemble = (
  parts: ReadonlyArray<Tensor.AnyTensor>,
  axis: 0 | 1,
  shape: ReadonlyArray<number>,
  dtype: Tensor.DType
): Tensor.AnyTensor => {
  if (parts.length === 0) return Tensor.zeros(shape, { dtype })
  const pieces = parts.map((p) =>
    Tensor.reshape(Tensor.cast(p, dtype), axis === 0 ? [1, p.size] : [p.size, 1]) as Tensor.AnyTensor
  )
  const joined = pieces.length === 1
    ? pieces[0]!
    : (Tensor.concat(pieces as ReadonlyArray<Tensor.AnyTensor>, axis) as Tensor.AnyTensor)
  return Tensor.reshape(joined, shape) as Tensor.AnyTensor
}

/**
 * Lays out the blocks `block(i, j)` (output leaf `i`, input leaf `j`) as `y`'s structure of `x`'s
 * structures.
 */
const layout = (
  y: Pytree.Pytree,
  x: Pytree.Pytree,
  block: (i: number, j: number) => Tensor.AnyTensor
): unknown =>
  // The walk places whatever the leaf function returns; here, one of x's structures per output leaf.
  Pytree.map(y, (_yi, i) => Pytree.map(x, (_xj, j) => block(i, j)) as unknown as Tensor.AnyTensor)

/**
 * The Jacobian of `f` by reverse mode: one vector-Jacobian product per entry of the output (its rows), from
 * a single forward pass. For tensors in and out the result is one tensor of shape `[...Out, ...In]` with
 * the output's dtype; for pytrees it is laid out as JAX does (see `Jacobian`). Prefer it to `jacfwd` when
 * the output is smaller than the input. Further arguments are passed through and not differentiated.
 * Built from differentiable ops, so it composes (`jacfwd(jacrev(f))` is the Hessian).
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [3]>
 * const J = jacrev((x: Tensor.Tensor<readonly [3]>) => Tensor.softmax(x))(x) // Tensor<readonly [3, 3]>
 * ```
 */
export const jacrev = <X extends Pytree.Pytree, Y extends Pytree.Pytree, R extends ReadonlyArray<unknown>>(
  f: (x: X, ...rest: R) => Y
): (x: X, ...rest: R) => Jacobian<Y, X> =>
(x, ...rest) => {
  const [y, pullback] = traced((p: X) => f(p, ...rest), x, "jacrev")
  const ys = Pytree.leaves(y)
  const xs = Pytree.leaves(x)
  const rows = ys.map(() => xs.map((): Array<Tensor.AnyTensor> => []))
  ys.forEach((yi, i) => {
    for (let e = 0; e < yi.size; e++) {
      Pytree.leaves(pullback(basisTree(y, i, e))).forEach((g, j) => rows[i]![j]!.push(flat(g)))
    }
  })
  return layout(
    y,
    x,
    (i, j) => assemble(rows[i]![j]!, 0, [...ys[i]!.shape, ...xs[j]!.shape], ys[i]!.dtype)
  ) as Jacobian<
    Y,
    X
  >
}

/**
 * The Jacobian of `f` by forward mode: one Jacobian-vector product per entry of the input (its columns).
 * For tensors in and out the result is one tensor of shape `[...Out, ...In]` with the output's dtype; for
 * pytrees it is laid out as JAX does (see `Jacobian`). Prefer it to `jacrev` when the input is smaller than
 * the output. Further arguments are passed through and not differentiated.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [2]>
 * const J = jacfwd((x: Tensor.Tensor<readonly [2]>) => Tensor.matmul(Tensor.ones([4, 2]), Tensor.reshape(x, [2, 1])))(x)
 * // J: Tensor<readonly [4, 1, 2]>
 * ```
 */
export const jacfwd = <X extends Pytree.Pytree, Y extends Pytree.Pytree, R extends ReadonlyArray<unknown>>(
  f: (x: X, ...rest: R) => Y
): (x: X, ...rest: R) => Jacobian<Y, X> =>
(x, ...rest) => {
  const [y, pullback] = traced((p: X) => f(p, ...rest), x, "jacfwd")
  // One forward pass and one transposition of the pullback serve every column.
  const [, push] = vjp(pullback, Pytree.map(y, zerosLike))
  const ys = Pytree.leaves(y)
  const xs = Pytree.leaves(x)
  const cols = ys.map(() => xs.map((): Array<Tensor.AnyTensor> => []))
  xs.forEach((xj, j) => {
    for (let e = 0; e < xj.size; e++) {
      Pytree.leaves(push(basisTree(x, j, e))).forEach((d, i) => cols[i]![j]!.push(flat(d)))
    }
  })
  return layout(
    y,
    x,
    (i, j) => assemble(cols[i]![j]!, 1, [...ys[i]!.shape, ...xs[j]!.shape], ys[i]!.dtype)
  ) as Jacobian<
    Y,
    X
  >
}

/**
 * The Hessian of a scalar function: `jacfwd(grad(f))` (forward over reverse, as JAX does). For a tensor
 * `Tensor<In>` it has shape `[...In, ...In]`; for a pytree it is laid out as `Jacobian<X, X>` (blocks
 * `[...In_i, ...In_j]`). Further arguments are passed through and not differentiated.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [3]>
 * const H = hessian((x: Tensor.Tensor<readonly [3]>) => Tensor.sum(Tensor.exp(x)))(x) // diag(exp(x)), [3, 3]
 * ```
 */
export const hessian = <X extends Pytree.Pytree, R extends ReadonlyArray<unknown>>(
  f: (x: X, ...rest: R) => Scalar
): (x: X, ...rest: R) => Jacobian<X, X> => jacfwd(grad(f))

/**
 * The positions of `Args` that hold a tensor or a pytree: what `gradArgs` may differentiate.
 *
 * @example
 * ```ts
 * type I = Autodiff.PytreeArgIndex<[Tensor.Tensor<readonly [2]>, number, { readonly w: Tensor.Tensor<readonly []> }]> // 0 | 2
 * ```
 */
export type PytreeArgIndex<Args extends ReadonlyArray<unknown>> = {
  [K in keyof Args]: Args[K] extends Pytree.Pytree ? (K extends `${infer I extends number}` ? I : never) : never
}[number]

/**
 * The gradients of `gradArgs`: one per index of `Argnums`, with the type of that argument.
 *
 * @example
 * ```ts
 * type G = Autodiff.ArgGrads<[Tensor.Tensor<readonly [2]>, number, Tensor.Tensor<readonly [3]>], readonly [2, 0]>
 * // readonly [Tensor.Tensor<readonly [3]>, Tensor.Tensor<readonly [2]>]
 * ```
 */
export type ArgGrads<Args extends ReadonlyArray<unknown>, Argnums extends ReadonlyArray<number>> = {
  readonly [K in keyof Argnums]: Argnums[K] extends keyof Args ? Args[Argnums[K]] : never
}

const checkArgnums = (op: string, argnums: ReadonlyArray<number>, count: number): void => {
  argnums.forEach((n, k) => {
    if (!Number.isInteger(n) || n < 0 || n >= count) {
      throw new RangeError(`${op}: argnums[${k}] is ${n}, but the function was called with ${count} arguments`)
    }
    if (argnums.indexOf(n) !== k) throw new RangeError(`${op}: argument ${n} is listed twice in argnums`)
  })
}

/**
 * Like `gradArgs`, and also returns the value of the function: `[value, [grad of args[argnums[0]], ...]]`.
 *
 * @example
 * ```ts
 * declare const w: Tensor.Tensor<readonly [3, 1]>
 * declare const b: Tensor.Tensor<readonly [1]>
 * declare const x: Tensor.Tensor<readonly [8, 3]>
 * const loss = (w: Tensor.Tensor<readonly [3, 1]>, b: Tensor.Tensor<readonly [1]>, x: Tensor.Tensor<readonly [8, 3]>) =>
 *   Tensor.mean(Tensor.square(Tensor.add(Tensor.matmul(x, w), b)))
 * const [value, [dw, db]] = valueAndGradArgs(loss, [0, 1])(w, b, x)
 * ```
 */
export const valueAndGradArgs = <
  Args extends ReadonlyArray<unknown>,
  const Argnums extends ReadonlyArray<PytreeArgIndex<Args>>,
  Y extends Scalar = Scalar
>(
  f: (...args: Args) => Y,
  argnums: Argnums
): (...args: Args) => readonly [Y, ArgGrads<Args, Argnums>] =>
(...args) => {
  checkArgnums("gradArgs", argnums, args.length)
  const selected = argnums.map((n) => args[n] as Pytree.Pytree)
  const [y, pullback] = traced(
    (picked: ReadonlyArray<Pytree.Pytree>) => {
      const all: Array<unknown> = args.slice()
      argnums.forEach((n, k) => {
        all[n] = picked[k]
      })
      return checkScalar("gradArgs", f(...(all as unknown as Args))) as Y
    },
    selected,
    "gradArgs",
    ([k, ...path]) => `argument ${argnums[Number(k)]}${path.length === 0 ? "" : ` at ${Pytree.pathString(path)}`}`
  )
  return [y, pullback(Tensor.ones([], { dtype: y.dtype }) as Y) as unknown as ArgGrads<Args, Argnums>] as const
}

/**
 * The gradients of a scalar function with respect to several of its arguments (JAX's `argnums`): one
 * gradient per index in `argnums`, in that order, each with the type of its argument (a tensor or any
 * pytree). The other arguments are passed through and not differentiated. `grad(f)` is
 * `(...args) => gradArgs(f, [0])(...args)[0]`.
 *
 * @example
 * ```ts
 * declare const x: Tensor.Tensor<readonly [3]>
 * declare const y: Tensor.Tensor<readonly [3]>
 * const [dx, dy] = gradArgs((x: Tensor.Tensor<readonly [3]>, y: Tensor.Tensor<readonly [3]>) => Tensor.sum(Tensor.mul(x, y)), [0, 1])(x, y)
 * // dx = y, dy = x
 * ```
 */
export const gradArgs = <
  Args extends ReadonlyArray<unknown>,
  const Argnums extends ReadonlyArray<PytreeArgIndex<Args>>
>(
  f: (...args: Args) => Scalar,
  argnums: Argnums
): (...args: Args) => ArgGrads<Args, Argnums> =>
(...args) => valueAndGradArgs(f, argnums)(...args)[1]

/** A function with a user-defined JVP, as built by `customJvp`. */
export interface CustomJvp<Args extends ReadonlyArray<Tensor.AnyTensor>, Y extends Tensor.AnyTensor> {
  /** Computes the output (never differentiated itself). */
  readonly primal: (...args: Args) => Y
  /**
   * The derivative of the output in the direction of `tangents` (one per argument, with its shape) at
   * `primals`. Must be linear in `tangents`; written with tensor ops, it is differentiable in `primals`.
   */
  readonly jvp: (primals: Args, tangents: Args) => Y
}

/**
 * A function with a user-defined forward-mode derivative (JAX's `custom_jvp`): `primal` computes the
 * value and `jvp` its derivative in the direction of the tangents, which it must be linear in. Every
 * transformation uses the rule and never differentiates `primal`: `jvp` and `jacfwd` apply it, and
 * reverse mode (`grad`, `vjp`, `jacrev`) uses its transpose, derived by tracing the rule. Higher orders
 * differentiate the rule itself, with respect to the primals, at every level of nesting.
 *
 * @example
 * ```ts
 * // log(1 + e^x), with the derivative sigmoid(x) given in forward form.
 * const softplus = customJvp({
 *   primal: (x: Tensor.Tensor<readonly [number]>) => Tensor.log(Tensor.add(Tensor.exp(x), 1)),
 *   jvp: ([x], [dx]) => Tensor.mul(dx, Tensor.sigmoid(x))
 * })
 * declare const x: Tensor.Tensor<readonly [number]>
 * const [y, dy] = jvp(softplus, x, Tensor.ones(x.shape)) // dy = sigmoid(x)
 * ```
 */
export const customJvp = <Args extends ReadonlyArray<Tensor.AnyTensor>, Y extends Tensor.AnyTensor>(
  definition: CustomJvp<Args, Y>
): (...args: Args) => Y => {
  const p: Primitive<null> = {
    name: "customJvp",
    impl: (inputs) => {
      const y: unknown = definition.primal(...(inputs.map(fromImpl) as unknown as Args))
      if (!Tensor.isTensor(y)) throw new TypeError(`customJvp: primal must return a tensor, got ${typeof y}`)
      return toImpl(y)
    },
    vjp: undefined,
    traced: (inputs) => {
      // The output is this primitive again on the inputs as enclosing traces see them, so every level of
      // differentiation applies the user's rule and none differentiates `primal`.
      const output = bind(p, inputs, null)
      return {
        output,
        vjp: (ct) => {
          const primals = inputs.map(fromImpl) as unknown as Args
          // The rule is linear in the tangents: its pullback (taken at zero tangents) is its transpose.
          const [, transpose] = vjp((tangents: ReadonlyArray<Tensor.AnyTensor>) => {
            const dy: unknown = definition.jvp(primals, tangents as unknown as Args)
            if (
              !Tensor.isTensor(dy) || dy.shape.length !== output.shape.length ||
              dy.shape.some((d, k) => d !== output.shape[k])
            ) {
              const got = Tensor.isTensor(dy) ? `shape [${dy.shape.join(", ")}]` : typeof dy
              throw new TypeError(
                `customJvp: jvp must return a tensor of the output's shape [${output.shape.join(", ")}], got ${got}`
              )
            }
            return dy
          }, primals.map(zerosLike))
          return transpose(fromImpl(ct)).map(toImpl)
        }
      }
    }
  }
  return (...args: Args): Y => fromImpl(bind(p, args.map(toImpl), null)) as Y
}

/**
 * Where `vmap` finds the mapped axis of the arguments (`inAxes`): one axis for every argument, or one per
 * argument. A number is an axis (negative counts from the end); `null` means not mapped (an argument shared
 * by every example). The axis applies to every tensor of that argument's pytree; for different axes inside
 * one argument, give a tree of axes in its place (`VmapAxisTree`).
 *
 * @example
 * ```ts
 * const axes: Autodiff.VmapAxes = [null, 0, 0] // params shared, inputs and labels mapped on axis 0
 * ```
 */
export type VmapAxes = number | null | ReadonlyArray<VmapAxisTree>

/**
 * The axes of one argument of `vmap`, or of its whole result (`outAxes`): a number or `null` for all of its
 * tensors, or a tree of its structure whose number or `null` applies to the subtree at that place (JAX's
 * pytree prefixes). For a result, `null` marks outputs that do not depend on the mapped axis (kept as they
 * are); a tuple `[0, null]` gives one axis per element of a tuple result.
 *
 * @example
 * ```ts
 * const axes: Autodiff.VmapAxisTree = { w: null, b: 0 } // { w, b }: w shared, b mapped
 * ```
 */
export type VmapAxisTree = number | null | ReadonlyArray<VmapAxisTree> | { readonly [key: string]: VmapAxisTree }

/**
 * Options of `vmap`: `inAxes` (0 for every argument by default) and `outAxes` (0 by default, or a tree of
 * axes for the result), as JAX's `in_axes` and `out_axes`.
 *
 * @example
 * ```ts
 * const options: Autodiff.VmapOptions = { inAxes: [null, 0], outAxes: 0 }
 * ```
 */
export interface VmapOptions<In extends VmapAxes = VmapAxes, Out extends VmapAxisTree = VmapAxisTree> {
  readonly inAxes?: In
  readonly outAxes?: Out
}

type InsertAt<S, B extends number, Axis extends number, Acc extends ReadonlyArray<number>> = Acc["length"] extends Axis
  ? readonly [...Acc, B, ...(S extends ReadonlyArray<number> ? S : [])]
  : S extends readonly [infer H extends number, ...infer Rest extends ReadonlyArray<number>]
    ? InsertAt<Rest, B, Axis, [...Acc, H]>
  : ReadonlyArray<number>

/**
 * A shape with an axis of size `B` inserted at `Axis`: in front for `0`, at the end for `-1`, before dim
 * `k` for a literal `k` of a tuple shape; `S` itself for `null`. Any other axis (another negative one, a
 * `number`) or a shape whose rank is not known (not a tuple) gives `ReadonlyArray<number>`.
 *
 * @example
 * ```ts
 * type A = Autodiff.InsertAxis<readonly [3, 4], 8, 0>  // readonly [8, 3, 4]
 * type B = Autodiff.InsertAxis<readonly [3, 4], 8, -1> // readonly [3, 4, 8]
 * type C = Autodiff.InsertAxis<readonly [3, 4], 8, 1>  // readonly [3, 8, 4]
 * ```
 */
export type InsertAxis<S extends Tensor.Shape, B extends number, Axis> = Axis extends null ? S
  : number extends S["length"] ? ReadonlyArray<number>
  : Axis extends 0 ? readonly [B, ...S]
  : Axis extends -1 ? readonly [...S, B]
  : number extends Axis ? ReadonlyArray<number>
  : Axis extends number ? InsertAt<S, B, Axis, []>
  : ReadonlyArray<number>

/**
 * A pytree with a mapped axis of size `B` inserted at `Axis` in each of its tensors (see `InsertAxis`); a
 * value that is not mapped (`Axis` null) keeps its type, and so does the general `Pytree.Pytree`. `Axis` may
 * be a tree of axes (`VmapAxisTree`).
 *
 * @example
 * ```ts
 * type P = Autodiff.BatchedTree<{ readonly w: Tensor.Tensor<readonly [3]> }, 8, 0>
 * // { readonly w: Tensor.Tensor<readonly [8, 3]> }
 * ```
 */
// `B` is not constrained to `number`: `vmap`'s signature passes the deferred `VmapSize<A, In>`, and checking
// it against a constraint would evaluate the size on the generic arguments (millions of instantiations).
export type BatchedTree<T, B, Axis> = Axis extends null ? T
  : Pytree.Pytree extends T ? Pytree.Pytree
  : T extends Tensor.Tensor<infer S, infer D> ?
    (Axis extends number ? Tensor.Tensor<InsertAxis<S, B & number, Axis>, D> : T)
  : { readonly [K in keyof T]: BatchedTree<T[K], B, SubAxis<Axis, K>> }

// The axes of the child `K` of a node whose axes are `Axis` (a number or null covers the whole subtree).
type SubAxis<Axis, K> = Axis extends number | null ? Axis : K extends keyof Axis ? Axis[K] : null

type AxisAt<Axes, K> = Axes extends ReadonlyArray<unknown> ? (K extends keyof Axes ? Axes[K] : null) : Axes

type DimAt<S extends Tensor.Shape, Axis> = number extends Axis ? number
  : Axis extends -1 ? (S extends readonly [...ReadonlyArray<number>, infer L extends number] ? L : number)
  : `${Axis & number}` extends keyof S ? S[`${Axis & number}` & keyof S]
  : number

type LeafDims<T, Axis> = Axis extends null ? never
  : Pytree.Pytree extends T ? number
  : T extends Tensor.Tensor<infer S, Tensor.AnyDType> ? (Axis extends number ? DimAt<S, Axis> : never)
  : T extends ReadonlyArray<unknown> ? { [K in keyof T]: LeafDims<T[K], SubAxis<Axis, K>> }[number]
  : T extends object ? { [K in keyof T]: LeafDims<T[K], SubAxis<Axis, K>> }[keyof T]
  : never

type IsUnion<T, U = T> = [T] extends [never] ? false : T extends unknown ? ([U] extends [T] ? false : true) : never

type OneDim<U> = [U] extends [never] ? number : true extends IsUnion<U> ? number : U extends number ? U : number

/**
 * The size of the mapped axis of a call of a `vmap`ped function, read from the static types of its
 * arguments: the dim at the mapped axis of its mapped tensors when they agree, `number` otherwise.
 *
 * @example
 * ```ts
 * type B = Autodiff.VmapSize<[Tensor.Tensor<readonly [8, 3]>, Tensor.Tensor<readonly [3]>], [0, null]> // 8
 * ```
 */
export type VmapSize<A extends ReadonlyArray<unknown>, In> = OneDim<MappedDims<A, In>>

type MappedDims<A extends ReadonlyArray<unknown>, In> = {
  [K in keyof A]: AxisAt<In, K> extends null ? never : LeafDims<A[K], AxisAt<In, K>>
}[number]

/**
 * `unknown` when the mapped axes of a call's arguments can have one size, else the compile error: two
 * different literal sizes.
 *
 * @example
 * ```ts
 * type E = Autodiff.VmapSameSize<[Tensor.Tensor<readonly [8, 3]>, Tensor.Tensor<readonly [4, 3]>], 0>
 * // ShapeError<"vmap: the mapped axes of the arguments have different sizes">
 * ```
 */
export type VmapSameSize<A extends ReadonlyArray<unknown>, In> = true extends IsUnion<MappedDims<A, In>>
  ? ShapeError<"vmap: the mapped axes of the arguments have different sizes">
  : unknown

/**
 * The arguments of a `vmap`ped function: each argument of `f` with its mapped axis (of any size) inserted.
 *
 * @example
 * ```ts
 * type A = Autodiff.VmapArgs<[Tensor.Tensor<readonly [3]>, Tensor.Tensor<readonly [3]>], [0, null]>
 * // [Tensor.Tensor<readonly [number, 3]>, Tensor.Tensor<readonly [3]>]
 * ```
 */
export type VmapArgs<Args extends ReadonlyArray<unknown>, In> = {
  [K in keyof Args]: BatchedTree<Args[K], number, AxisAt<In, K>>
}

/**
 * The result of a `vmap`ped function: `f`'s result with an axis of size `B` inserted in each of its tensors
 * at `Out` (one axis for all, or a tree of axes: one per element of a tuple result...).
 *
 * @example
 * ```ts
 * type Y = Autodiff.VmapResult<Tensor.Tensor<readonly []>, 8, 0> // Tensor.Tensor<readonly [8]>
 * ```
 */
export type VmapResult<Y, B, Out> = BatchedTree<Y, B, Out>

const axisOf = (axes: VmapAxes, i: number, count: number): VmapAxisTree => {
  if (!Array.isArray(axes)) return axes as number | null
  if (axes.length !== count) {
    throw new TypeError(
      `vmap: inAxes has ${axes.length} entries, but there are ${count} arguments; give one per argument, or one number for all`
    )
  }
  return (axes as ReadonlyArray<VmapAxisTree>)[i] ?? null
}

/** The axis of the leaf at `path` under a tree of axes (a number or null covers its whole subtree). */
const axisAtPath = (spec: VmapAxisTree, path: Pytree.Path, where: string): number | null => {
  let s: VmapAxisTree = spec
  for (const key of path) {
    if (s === null || typeof s === "number") return s
    const next = (s as { readonly [k: string | number]: VmapAxisTree | undefined })[key]
    if (next === undefined) throw new TypeError(`vmap: the axes given have no entry for ${where}`)
    s = next
  }
  if (s === null || typeof s === "number") return s
  throw new TypeError(`vmap: the axes given for ${where} are a tree, but it is a tensor; give a number or null`)
}

const normalizeAxis = (axis: number, rank: number, where: string): number => {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`vmap: axis ${axis} is out of range for ${where} of rank ${rank}`)
  }
  return axis < 0 ? axis + rank : axis
}

const argName = (i: number, path: Pytree.Path): string =>
  `argument ${i}${path.length === 0 ? "" : ` at ${Pytree.pathString(path)}`}`

/**
 * Vectorizing map (JAX's `vmap`): `vmap(f)` computes `f` on every slice of its arguments along a mapped
 * axis at once and stacks the results along a mapped axis of its outputs. It is a transformation, not a
 * loop: every primitive is applied once to the whole batch through its batching rule (a batched matrix
 * product, a convolution with the batch folded into N...), and the few primitives without one apply to
 * each example in turn (see `docs/guide-autodiff.md`). It composes with every other transformation:
 * `vmap(grad(loss))` gives per-example gradients, `grad` differentiates through a `vmap`, and
 * `vmap(vmap(f))` maps two axes.
 *
 * `inAxes` says where each argument's mapped axis is (0 for every argument by default; `null`: the
 * argument is shared by every example); `outAxes` where the results get it (0 by default). Arguments and
 * results may be pytrees; an axis applies to every tensor of its argument, or a tree of axes
 * (`VmapAxisTree`, e.g. `{ w: null, b: 0 }`) gives one per subtree. The mapped axes must all have
 * the same size. In the types, `f: (x: Tensor<S>) => Tensor<R>` becomes a function from
 * `Tensor<readonly [B, ...S]>` to `Tensor<readonly [B, ...R]>`, `B` read from the argument (a literal stays
 * a literal); for axes other than 0, -1 and `null` see `InsertAxis`.
 *
 * @example
 * ```ts
 * type Params = { readonly w: Tensor.Tensor<readonly [3], "float64"> }
 * const loss = (p: Params, x: Tensor.Tensor<readonly [3], "float64">, y: Tensor.Tensor<readonly [], "float64">) =>
 *   Tensor.square(Tensor.sub(Tensor.sum(Tensor.mul(p.w, x)), y))
 * declare const params: Params
 * declare const xs: Tensor.Tensor<readonly [32, 3], "float64">
 * declare const ys: Tensor.Tensor<readonly [32], "float64">
 * // One gradient per example: { readonly w: Tensor<readonly [32, 3], "float64"> }
 * const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys)
 * const rowNorms = vmap((r: Tensor.Tensor<readonly [3], "float64">) => Tensor.sqrt(Tensor.sum(Tensor.square(r))))(xs)
 * // Tensor<readonly [32], "float64">
 * ```
 */
export const vmap = <
  Args extends ReadonlyArray<unknown>,
  // Not constrained to `Pytree`: a constraint would be the context of `f`'s result and widen dtypes there.
  Y,
  const In extends VmapAxes = 0,
  const Out extends VmapAxisTree = 0
>(
  f: (...args: Args) => Y,
  options?: VmapOptions<In, Out>
): <const A extends VmapArgs<Args, In>>(...args: A & VmapSameSize<A, In>) => VmapResult<Y, VmapSize<A, In>, Out> =>
(...args) => {
  // `null` is an axis (not mapped), so only a missing option takes the default.
  const inAxes: VmapAxes = options?.inAxes === undefined ? 0 : options.inAxes
  const outAxes: VmapAxisTree = options?.outAxes === undefined ? 0 : options.outAxes
  let size: number | undefined
  let first = ""
  const axes = args.map((arg, i) => {
    const axis = axisOf(inAxes, i, args.length)
    if (axis === null) return []
    if (!Tensor.isTensor(arg) && !Pytree.isNode(arg)) {
      throw new TypeError(
        `vmap: argument ${i} is ${arg === null ? "null" : typeof arg}, not a tensor or pytree; give it inAxes null`
      )
    }
    return Pytree.leavesWithPath(arg as Pytree.Pytree).map(([path, leaf]) => {
      const where = argName(i, path)
      const given = axisAtPath(axis, path, where)
      if (given === null) return null
      const a = normalizeAxis(given, leaf.shape.length, where)
      const d = leaf.shape[a]!
      if (size === undefined) {
        size = d
        first = `${where} has size ${d} on axis ${given}`
      } else if (d !== size) {
        throw new RangeError(
          `vmap: the mapped axes have different sizes: ${first}, but ${where} has size ${d} on axis ${given}`
        )
      }
      return a
    })
  })
  if (size === undefined) {
    throw new TypeError("vmap: no argument is mapped (every inAxes is null or there are no tensors); map at least one")
  }
  const trace = new BatchTrace(size)
  const mapped = args.map((arg, i) =>
    axisOf(inAxes, i, args.length) === null
      ? arg
      : Pytree.map(arg as Pytree.Pytree, (leaf, k) => {
        const a = axes[i]![k]!
        return a === null ? leaf : fromImpl(trace.wrap(moveAxis(toImpl(leaf), a, 0)))
      })
  )
  const out = runTraced(() => f(...(mapped as unknown as Args)))
  const n = size
  const finish = (tree: Pytree.Pytree, spec: VmapAxisTree): Pytree.Pytree =>
    Pytree.mapWithPath(tree, (leaf, path) => {
      const { value, batched } = trace.unwrap(toImpl(leaf))
      const where = `the output${path.length === 0 ? "" : ` at ${Pytree.pathString(path)}`}`
      const axis = axisAtPath(spec, path, where)
      if (axis === null) {
        if (batched) {
          throw new TypeError(`vmap: outAxes is null for ${where}, but it depends on the mapped axis`)
        }
        return fromImpl(value)
      }
      const v = batched ? value : broadcastBatch(value, n)
      return fromImpl(moveAxis(v, 0, normalizeAxis(axis, v.rank, where)))
    })
  const result = finish(out as Pytree.Pytree, outAxes)
  return result as unknown as VmapResult<Y, VmapSize<typeof args, In>, Out>
}
