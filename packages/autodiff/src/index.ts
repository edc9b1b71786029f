/**
 * `@typegrad/autodiff`: pure reverse-mode automatic differentiation, and batching (`vmap`).
 *
 * @example
 * ```ts
 * // runs
 * import { grad } from "@typegrad/autodiff"
 * import { Tensor } from "@typegrad/tensor"
 * const df = grad((x: Tensor.Tensor<readonly [3]>) => Tensor.sum(Tensor.square(x)))
 * console.log(Tensor.toArray(df(Tensor.fromArray([1, 2, 3], [3])))) // => Float32Array(3) [ 2, 4, 6 ]
 * ```
 *
 * @since 0.1.0
 */
export * as Autodiff from "./Autodiff.ts"
export {
  customJvp,
  customVjp,
  grad,
  gradArgs,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  stopGradient,
  valueAndGrad,
  valueAndGradArgs,
  valueAndGradAux,
  vjp,
  vmap
} from "./Autodiff.ts"
export type {
  ArgGrads,
  BatchedTree,
  InsertAxis,
  Jacobian,
  JacobianShape,
  PytreeArgIndex,
  VmapArgs,
  VmapAxes,
  VmapAxisTree,
  VmapOptions,
  VmapResult,
  VmapSameSize,
  VmapSize
} from "./Autodiff.ts"
/**
 * The pytree helpers (`Pytree.leaves`, `Pytree.map`, `Pytree.leavesWithPath`...), defined in
 * `@typegrad/tensor` and re-exported here, where users of `grad` look for them.
 *
 * @example
 * ```ts
 * import { Pytree } from "@typegrad/autodiff"
 * declare const grads: { readonly w: Tensor.Tensor<readonly [3, 2]>; readonly b: Tensor.Tensor<readonly [2]> }
 * const norms = Pytree.leaves(grads).map((g) => Tensor.sum(Tensor.square(g)))
 * ```
 */
export { Pytree } from "@typegrad/tensor"
