/**
 * The loop's view of the user's functions.
 *
 * @internal
 */
import type { Pytree, Tensor } from "@typegrad/tensor"

/**
 * A function of a typed output and typed targets, as the loop calls it: with the tensors of each batch.
 * `fit`'s signature (or, in the untyped form, the run-time check of the data against the model) is what
 * makes the batch's output and targets the types the function declares; this only forgets them.
 */
export const loosen = <A>(
  f: (output: never, target: never) => A
): (output: Tensor.AnyTensor, target: Pytree.Pytree) => A =>
  f as unknown as (output: Tensor.AnyTensor, target: Pytree.Pytree) => A
