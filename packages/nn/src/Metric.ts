/**
 * Metrics: plain numbers computed from predictions, outside differentiation.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { unsafeData } from "@typegrad/tensor/internal"

/**
 * The index of the largest entry of each row of a `[B, C]` tensor (the first one on ties).
 *
 * @example
 * ```ts
 * Metric.argMax(Tensor.fromArray([0.1, 0.9, 0.7, 0.3], [2, 2])) // Int32Array [1, 0]
 * ```
 */
export const argMax = <B extends number, C extends number, D extends Tensor.DType>(
  t: Tensor.Tensor<readonly [B, C], D>
): Int32Array => {
  const [rows, cols] = t.shape
  const data = unsafeData(t)
  const out = new Int32Array(rows)
  for (let r = 0; r < rows; r++) {
    let best = 0
    let m = data[r * cols]!
    for (let c = 1; c < cols; c++) {
      const v = data[r * cols + c]!
      if (v > m) {
        m = v
        best = c
      }
    }
    out[r] = best
  }
  return out
}

/**
 * A metric of a batch of predictions `[batch, classes]` against its labels: class indices (numbers, a
 * float tensor of integer values or an int32 tensor), or one-hot rows.
 *
 * @example
 * ```ts
 * const metric: Metric.LabelMetric = Metric.accuracy
 * metric(Tensor.fromArray([0.1, 0.9], [1, 2]), Tensor.fromArray([1], [1], { dtype: "int32" })) // 1
 * ```
 */
export interface LabelMetric {
  <B extends number, C extends number, D extends Tensor.DType>(
    predictions: Tensor.Tensor<readonly [B, C], D>,
    labels: ArrayLike<number> | Tensor.Tensor<readonly [B, C], D> | Tensor.Tensor<readonly [B], D>
  ): number
  <B extends number, C extends number, D extends Tensor.DType>(
    predictions: Tensor.Tensor<readonly [B, C], D>,
    labels: Tensor.Tensor<readonly [B], "int32">
  ): number
}

/** Labels in any form `LabelMetric` takes, as the implementations see them. */
type Labels = ArrayLike<number> | Tensor.AnyDTypeTensor

/**
 * The number of rows whose argmax equals the label (a `LabelMetric`).
 *
 * @example
 * ```ts
 * const model = Reference.mnistCnn
 * declare const params: Model.ParamsOf<typeof model>
 * declare const images: Tensor.Tensor<readonly [number, 28, 28, 1]>
 * declare const batch: { readonly labels: Tensor.Tensor<readonly [number, 10]> }
 * Metric.correct(model.apply(params, images), batch.labels)
 * ```
 */
export const correct: LabelMetric = (predictions: Tensor.AnyTensor, labels: Labels): number => {
  const predicted = argMax(predictions as Tensor.Tensor<readonly [number, number]>)
  // `isTensor` narrows to float tensors; int32 label tensors are tensors too, and their data are the labels.
  const truth: ArrayLike<number> = Tensor.isTensor(labels as unknown)
    ? (labels as Tensor.AnyDTypeTensor).shape.length === 2
      ? argMax(labels as Tensor.Tensor<readonly [number, number]>)
      : unsafeData(labels as Tensor.AnyTensor)
    : labels as ArrayLike<number>
  if (truth.length !== predicted.length) {
    throw new RangeError(`accuracy: ${predicted.length} predictions but ${truth.length} labels`)
  }
  let n = 0
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === truth[i]) n++
  return n
}

/**
 * The fraction of rows whose argmax equals the label (a `LabelMetric`).
 *
 * @example
 * ```ts
 * Metric.accuracy(Tensor.fromArray([0.1, 0.9, 0.7, 0.3], [2, 2]), [1, 1]) // 0.5
 * ```
 */
export const accuracy: LabelMetric = (predictions: Tensor.AnyTensor, labels: Labels): number => {
  const n = predictions.shape[0]!
  // The implementation's labels are either form: `correct` reads them the same way.
  return n === 0 ? 0 : (correct as (p: Tensor.AnyTensor, l: Labels) => number)(predictions, labels) / n
}
