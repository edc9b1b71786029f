/**
 * Branches applied to the same input, summed: Keras' `Add` over branches, the residual block with a
 * projection shortcut.
 *
 * @since 0.1.0
 */
import { type Shape as Rules, ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { type BranchOuts, type BranchParams, buildBranches } from "./chain.ts"
import {
  type Any,
  type InputDType,
  type InputIndex,
  type InputShape,
  type Layer,
  type Rule,
  RuleTypeId,
  variance,
  type Where
} from "./layer.ts"

type Shape = Rules.Shape

type FirstError<Ts> = Ts extends readonly [infer H, ...infer R] ? H extends Shape ? FirstError<R> : H : never
type SameShape<A extends Shape, B extends Shape> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type AllSame<Os, F extends Shape, Name extends string> = Os extends readonly [infer H extends Shape, ...infer R] ?
  SameShape<H, F> extends true ? AllSame<R, F, Name>
  : ShapeError<
    `${Name}: the branches give ${Rules.Show<F>} and ${Rules.Show<H>}; the branches of an add must give the same shape`
  >
  : F
type AddOut<Os, Name extends string> = [FirstError<Os>] extends [never]
  ? Os extends readonly [infer F extends Shape, ...infer R] ? AllSame<R, F, Name>
  : ShapeError<`${Name}: an add needs at least one branch`>
  : FirstError<Os>

/**
 * The rule of an add: each branch folded on the input; all outputs must have one shape, which is the output.
 *
 * @example
 * ```ts
 * const block = Layer.add([
 *   [Layer.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: "same" })],
 *   [Layer.conv2d({ filters: 32, kernelSize: 1, strides: 2 })]
 * ])
 * type O = Layer.Output<typeof block, readonly [number, 32, 32, 16]>
 * const check: Types.Equal<O, readonly [number, 16, 16, 32]> = true
 * ```
 */
export interface AddRule<Bs extends ReadonlyArray<ReadonlyArray<Any>>> extends Rule {
  readonly Label: "add"
  readonly Out: AddOut<BranchOuts<Bs, InputShape<this>, InputIndex<this>>, Where<this>>
  readonly Params: BranchParams<Bs, InputShape<this>, InputDType<this>>
}

/**
 * Branches applied to the same input and summed.
 *
 * @example
 * ```ts
 * const a: Layer.Add = Layer.add([[Layer.relu()], []])
 * ```
 */
export interface Add<Bs extends ReadonlyArray<ReadonlyArray<Any>> = ReadonlyArray<ReadonlyArray<Any>>>
  extends Layer<AddRule<Bs>, "Add">
{
  readonly branches: Bs
}

/**
 * Branches applied to the same input and summed elementwise (Keras' `Add()` of branches); every branch
 * must give the same shape (checked at compile time, naming both shapes). An empty branch `[]` is the
 * identity, so `Layer.add([block, []])` is `Layer.residual(...block)`; a residual block that changes the
 * shape takes a projection shortcut instead, as in ResNet:
 *
 * @example
 * ```ts
 * const downsample = Layer.add([
 *   [
 *     Layer.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: "same", useBias: false }),
 *     Layer.batchNorm(),
 *     Layer.relu(),
 *     Layer.conv2d({ filters: 32, kernelSize: 3, padding: "same", useBias: false }),
 *     Layer.batchNorm()
 *   ],
 *   [Layer.conv2d({ filters: 32, kernelSize: 1, strides: 2, useBias: false }), Layer.batchNorm()]
 * ])
 * ```
 */
export const add = <const Bs extends ReadonlyArray<ReadonlyArray<Any>>>(branches: Bs): Add<Bs> => ({
  [RuleTypeId]: variance,
  _tag: "Add",
  label: "add",
  branches,
  build: (input, name, stream) =>
    buildBranches(branches, input, name, stream, (shapes) => {
      const first = shapes[0]
      if (first === undefined) throw new ShapeError(name, `${name}: an add needs at least one branch`)
      for (const shape of shapes) {
        if (shape.length !== first.length || shape.some((d, i) => d !== first[i])) {
          throw new ShapeError(
            name,
            `${name}: the branches give [${first.join(", ")}] and [${
              shape.join(", ")
            }]; the branches of an add must give the same shape`
          )
        }
      }
      return first
    }, (outputs) => outputs.reduce((a, b) => Tensor.add(a, b)))
})
