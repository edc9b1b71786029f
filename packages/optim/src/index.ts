/**
 * `@typegrad/optim`: optimizers as pure state transitions.
 *
 * @example
 * ```ts
 * import { Optimizer } from "@typegrad/optim"
 * type Params = { readonly w: Tensor.Tensor<readonly [3, 2]> }
 * declare let params: Params
 * declare const grads: Params
 * const adam = Optimizer.adam({ learningRate: 1e-3 })
 * let state = adam.init(params)
 * const [updates, next] = adam.update(grads, state, params)
 * params = Optimizer.applyUpdates(params, updates)
 * ```
 *
 * @since 0.1.0
 */
export * as Optimizer from "./Optimizer.ts"
