/**
 * Finds NaN and infinite values in loaded tensors: a checkpoint that holds them is damaged (a run that
 * diverged, or a corrupt file) and is refused at load, naming the tensors, rather than training on
 * (or predicting with) them.
 *
 * @internal
 */
import type { Tensor } from "@typegrad/tensor"
import { unsafeData } from "@typegrad/tensor/internal"

/**
 * The reason a file's tensors are not all finite (`undefined` when they are): each damaged tensor with
 * its counts of NaN and infinite values, the first three named.
 */
export const nonFiniteReason = (
  tensors: Iterable<readonly [string, Tensor.AnyTensor]>
): string | undefined => {
  const damaged: Array<string> = []
  for (const [name, t] of tensors) {
    const data = unsafeData(t)
    let nan = 0
    let inf = 0
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!
      if (v - v !== 0) {
        if (Number.isNaN(v)) nan++
        else inf++
      }
    }
    if (nan + inf > 0) {
      const what = [nan > 0 ? `${nan} NaN` : "", inf > 0 ? `${inf} infinite` : ""].filter((s) => s !== "").join(" and ")
      damaged.push(`${name} holds ${what} value(s) (of ${data.length})`)
    }
  }
  if (damaged.length === 0) return undefined
  const shown = damaged.slice(0, 3).join("; ")
  const more = damaged.length > 3 ? `; and ${damaged.length - 3} more tensor(s)` : ""
  return `tensor ${shown}${more}: the weights are damaged (a run that diverged, or a corrupt file); ` +
    `use an earlier checkpoint, or train again`
}
