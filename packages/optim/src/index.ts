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

/**
 * Learning-rate schedules as values: functions of the step (1 for the first update), Optax's schedules.
 *
 * @example
 * ```ts
 * import { Optimizer, Schedule } from "@typegrad/optim"
 * const lr = Schedule.warmupCosineDecay({ init: 0, peak: 1e-3, warmupSteps: 100, decaySteps: 1000 })
 * const opt = Optimizer.adamw({ learningRate: lr, weightDecay: 1e-4 })
 * ```
 *
 * @since 0.1.0
 */
export * as Schedule from "./Schedule.ts"
