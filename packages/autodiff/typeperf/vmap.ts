// Typical uses of vmap, type-checked for their cost (test/typeperf.test.ts): importing the autodiff API
// (vmap's signature included) and per-example gradients over a pytree, nesting, axes trees.
import { grad, vmap } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"

type F64<S extends Tensor.Shape> = Tensor.Tensor<S, "float64">
type Params = { readonly w: F64<readonly [3, 2]>; readonly b: F64<readonly [2]> }
const loss = (p: Params, x: F64<readonly [3]>, y: F64<readonly [2]>) =>
  Tensor.sum(
    Tensor.square(Tensor.sub(Tensor.add(Tensor.reshape(Tensor.matmul(Tensor.reshape(x, [1, 3]), p.w), [2]), p.b), y))
  )
declare const params: Params
declare const xs: F64<readonly [32, 3]>
declare const ys: F64<readonly [32, 2]>
export const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys)
export const losses = vmap(loss, { inAxes: [null, 0, 0] })(params, xs, ys)
export const partly = vmap(loss, { inAxes: [{ w: null, b: 0 }, 0, 0] })({ w: params.w, b: ys }, xs, ys)
export const nested = vmap(vmap((x: Tensor.Tensor<readonly [3]>) => Tensor.softmax(x)))(Tensor.zeros([4, 5, 3]))
export const last = vmap((x: Tensor.Tensor<readonly [3]>) => Tensor.exp(x), { outAxes: -1 })(Tensor.zeros([4, 3]))
export const pair = vmap((x: Tensor.Tensor<readonly [3]>) => [Tensor.exp(x), Tensor.ones([2])] as const, {
  outAxes: [0, null]
})(Tensor.zeros([4, 3]))
