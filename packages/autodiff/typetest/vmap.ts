/**
 * Compile-time tests of `vmap`: the mapped axis is in the types. Checked by the root `tsc --noEmit` (part of
 * `pnpm test`); nothing here runs.
 */
import { type Autodiff, grad, jvp, vmap } from "@typegrad/autodiff"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"

type F64<S extends Tensor.Shape> = Tensor.Tensor<S, "float64">

// f: Tensor<S> -> Tensor<R> becomes Tensor<[B, ...S]> -> Tensor<[B, ...R]>, B read from the argument
const rowSums = vmap((x: Tensor.Tensor<readonly [3, 4]>) => Tensor.sum(x, { axis: 1 }))
declare const xs8: Tensor.Tensor<readonly [8, 3, 4]>
const r8 = rowSums(xs8)
export type _r8 = Types.Expect<Types.Equal<typeof r8, Tensor.Tensor<readonly [8, 3]>>>
// a batch size only known at run time stays `number`
declare const xsN: Tensor.Tensor<readonly [number, 3, 4]>
const rN = rowSums(xsN)
export type _rN = Types.Expect<Types.Equal<typeof rN, Tensor.Tensor<readonly [number, 3]>>>
// the dtype is kept
const norms = vmap((x: F64<readonly [5]>) => Tensor.sqrt(Tensor.sum(Tensor.square(x))))
declare const vs: F64<readonly [32, 5]>
const n32 = norms(vs)
export type _n32 = Types.Expect<Types.Equal<typeof n32, F64<readonly [32]>>>
// an example of the wrong shape is a compile error
// @ts-expect-error each example must be [3, 4]
rowSums(Tensor.zeros([8, 4, 3]))
// @ts-expect-error the mapped axis is missing
rowSums(Tensor.zeros([3, 4]))

// several arguments: inAxes 0 and null (shared)
const affine = (w: Tensor.Tensor<readonly [3, 2]>, x: Tensor.Tensor<readonly [3]>) =>
  Tensor.reshape(Tensor.matmul(Tensor.reshape(x, [1, 3]), w), [2])
declare const w: Tensor.Tensor<readonly [3, 2]>
declare const xs: Tensor.Tensor<readonly [16, 3]>
const ys = vmap(affine, { inAxes: [null, 0] })(w, xs)
export type _ys = Types.Expect<Types.Equal<typeof ys, Tensor.Tensor<readonly [16, 2]>>>
export type _affineArgs = Types.Expect<
  Types.Equal<
    Autodiff.VmapArgs<Parameters<typeof affine>, readonly [null, 0]>,
    [w: Tensor.Tensor<readonly [3, 2]>, x: Tensor.Tensor<readonly [number, 3]>]
  >
>
// @ts-expect-error w is shared (inAxes null): a batch of weights does not fit
vmap(affine, { inAxes: [null, 0] })(Tensor.zeros([16, 3, 2]), xs)

// per-example gradients: vmap(grad(loss)) over a pytree of shared params
type Params = { readonly w: F64<readonly [3]>; readonly b: F64<readonly []> }
const loss = (p: Params, x: F64<readonly [3]>, y: F64<readonly []>) =>
  Tensor.square(Tensor.sub(Tensor.add(Tensor.sum(Tensor.mul(p.w, x)), p.b), y))
declare const params: Params
declare const bx: F64<readonly [64, 3]>
declare const by: F64<readonly [64]>
const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, bx, by)
export type _perExample = Types.Expect<
  Types.Equal<typeof perExample, { readonly w: F64<readonly [64, 3]>; readonly b: F64<readonly [64]> }>
>
// losses of a batch, mapped pytree argument
const perLoss = vmap(loss, { inAxes: [0, 0, 0] })({ w: bx, b: by }, bx, by)
export type _perLoss = Types.Expect<Types.Equal<typeof perLoss, F64<readonly [64]>>>

// nested: vmap(vmap(f)) adds both axes; the inner one's size is `number` (the outer vmap sees the inner
// function's generic signature at its constraint)
const pairwise = vmap(vmap((x: Tensor.Tensor<readonly [3]>) => Tensor.sum(x)))
declare const grid: Tensor.Tensor<readonly [5, 7, 3]>
const p57 = pairwise(grid)
export type _p57 = Types.Expect<Types.Equal<typeof p57, Tensor.Tensor<readonly [5, number]>>>

// outAxes: at the end (-1), kept (null) per output, in the middle of a tuple shape (a literal k)
const last = vmap((x: Tensor.Tensor<readonly [3]>) => Tensor.exp(x), { outAxes: -1 })(Tensor.zeros([4, 3]))
export type _last = Types.Expect<Types.Equal<typeof last, Tensor.Tensor<readonly [3, 4]>>>
const pair = vmap((x: Tensor.Tensor<readonly [3]>) => [Tensor.exp(x), Tensor.ones([2])] as const, {
  outAxes: [0, null]
})(Tensor.zeros([4, 3]))
export type _pair = Types.Expect<
  Types.Equal<typeof pair, readonly [Tensor.Tensor<readonly [4, 3]>, Tensor.Tensor<readonly [2]>]>
>
export type _mid = Types.Expect<Types.Equal<Autodiff.InsertAxis<readonly [2, 3, 4], 9, 2>, readonly [2, 3, 9, 4]>>
// other axes degrade to an unknown shape
export type _neg2 = Types.Expect<Types.Equal<Autodiff.InsertAxis<readonly [2, 3], 9, -2>, ReadonlyArray<number>>>
export type _numAxis = Types.Expect<Types.Equal<Autodiff.InsertAxis<readonly [2, 3], 9, number>, ReadonlyArray<number>>>
// inAxes -1: the batch size is read from the last dim
const lastIn = vmap((x: Tensor.Tensor<readonly [3]>) => Tensor.sum(x), { inAxes: -1 })(Tensor.zeros([3, 6]))
export type _lastIn = Types.Expect<Types.Equal<typeof lastIn, Tensor.Tensor<readonly [6]>>>

// composes with jvp
const [yj, dyj] = jvp(
  (t: Tensor.Tensor<readonly [8, 3, 4]>) => rowSums(t),
  xs8,
  xs8
)
export type _yj = Types.Expect<Types.Equal<typeof yj, Tensor.Tensor<readonly [8, 3]>>>
export type _dyj = Types.Expect<Types.Equal<typeof dyj, Tensor.Tensor<readonly [8, 3]>>>

// a function of tensors of unknown rank takes any tensor
const anyExp = vmap((x: Tensor.AnyTensor) => Tensor.exp(x))(xs8)
export type _anyExp = Types.Expect<Types.Equal<typeof anyExp, Tensor.Tensor<ReadonlyArray<number>, Tensor.DType>>>

// mapped axes of two different literal sizes are a compile error (at run time a RangeError names them)
const addRows = vmap((a: Tensor.Tensor<readonly [3]>, b: Tensor.Tensor<readonly [3]>) => Tensor.add(a, b))
// @ts-expect-error the mapped axes of the arguments have different sizes
addRows(Tensor.zeros([8, 3]), Tensor.zeros([4, 3]))
const added = addRows(Tensor.zeros([8, 3]), Tensor.zeros([8, 3]))
export type _added = Types.Expect<Types.Equal<typeof added, Tensor.Tensor<readonly [8, 3]>>>
// a size only known at run time fits any other
const addedN = addRows(xsN as unknown as Tensor.Tensor<readonly [number, 3]>, Tensor.zeros([8, 3]))
export type _addedN = Types.Expect<Types.Equal<typeof addedN, Tensor.Tensor<readonly [number, 3]>>>

// a tree of axes inside one argument: w shared, b mapped
type Model = { readonly w: Tensor.Tensor<readonly [2, 3]>; readonly b: Tensor.Tensor<readonly [2]> }
const fm = (m: Model) => Tensor.add(Tensor.sum(m.w, { axis: 1 }), m.b)
const treeAxes = vmap(fm, { inAxes: [{ w: null, b: 0 }] })
export type _treeArgs = Types.Expect<
  Types.Equal<
    Parameters<typeof treeAxes>,
    [{ readonly w: Tensor.Tensor<readonly [2, 3]>; readonly b: Tensor.Tensor<readonly [number, 2]> }]
  >
>
declare const model: Model
declare const bs: Tensor.Tensor<readonly [10, 2]>
const treeOut = treeAxes({ w: model.w, b: bs })
export type _treeOut = Types.Expect<Types.Equal<typeof treeOut, Tensor.Tensor<readonly [10, 2]>>>

// int32 indices are mapped like any tensor: the batch size is read from them, their dtype kept.
declare const embeddings: Tensor.Tensor<readonly [100, 16]>
declare const tokenBatch: Tensor.Tensor<readonly [8, 5], "int32">
const embedded = vmap((ix: Tensor.Tensor<readonly [5], "int32">) => Tensor.gather(embeddings, ix))(tokenBatch)
export type _embedded = Types.Expect<Types.Equal<typeof embedded, Tensor.Tensor<readonly [8, 5, 16]>>>
const winners = vmap((row: Tensor.Tensor<readonly [16]>) => Tensor.argmax(row, { dtype: "int32" }))(
  Tensor.zeros([8, 16])
)
export type _winners = Types.Expect<Types.Equal<typeof winners, Tensor.Tensor<readonly [8], "int32">>>
