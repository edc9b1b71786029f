/**
 * `@typegrad/testing`: fast-check arbitraries for shapes and tensors, and gradient checks for your own
 * models and layers.
 *
 * @example
 * ```ts
 * import { Arbitrary, assertGrads } from "@typegrad/testing"
 * import { Tensor } from "@typegrad/tensor"
 * import fc from "fast-check"
 *
 * fc.assert(fc.property(Arbitrary.tensor([3, 4], { dtype: "float64" }), (x) => {
 *   assertGrads((t: Tensor.Tensor<readonly [3, 4], "float64">) => Tensor.softmax(t), x, { order: 2 })
 * }))
 * ```
 *
 * @since 0.1.0
 */
export * as Arbitrary from "./Arbitrary.ts"
export * as CheckGrads from "./CheckGrads.ts"
export { assertGrads, checkGrads, GradientCheckError, jvpVjpAgreement } from "./CheckGrads.ts"
export * as TypeCheck from "./TypeCheck.ts"
export * as TypePerf from "./TypePerf.ts"
