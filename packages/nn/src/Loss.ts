/**
 * Losses: scalar functions of predictions and targets, differentiable with `@typegrad/autodiff`.
 *
 * @since 0.1.0
 */
import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"

type Logits<B extends number, C extends number, D extends Tensor.DType> = Tensor.Tensor<readonly [B, C], D>

/**
 * Softmax cross-entropy from logits and one-hot (or soft) targets, averaged over the batch. Computed
 * stably: `-mean(sum(targets * logSoftmax(logits), axis 1))`.
 *
 * @example
 * ```ts
 * const model = Reference.mnistCnn
 * declare const params: Model.ParamsOf<typeof model>
 * declare const batch: { readonly images: Tensor.Tensor<readonly [number, 28, 28, 1]>; readonly labels: Tensor.Tensor<readonly [number, 10]> }
 * const loss = Loss.softmaxCrossEntropy(model.logits(params, batch.images), batch.labels)
 * ```
 */
export const softmaxCrossEntropy = <B extends number, C extends number, D extends Tensor.DType>(
  logits: Logits<B, C, D>,
  targets: Tensor.Tensor<readonly [NoInfer<B>, NoInfer<C>], NoInfer<D>>
): Tensor.Tensor<readonly [], D> => {
  if (
    logits.shape.length !== 2 || targets.shape.length !== 2 || logits.shape[1] !== targets.shape[1] ||
    logits.shape[0] !== targets.shape[0]
  ) {
    throw new ShapeError(
      "softmaxCrossEntropy",
      `softmaxCrossEntropy: logits [${logits.shape.join(", ")}] and targets [${
        targets.shape.join(", ")
      }] must both be [batch, classes]`
    )
  }
  // The shape checks above stand for the static ones, which generic code cannot evaluate.
  const z = logits as Tensor.AnyTensor
  const t = targets as Tensor.AnyTensor
  return Tensor.neg(Tensor.mean(Tensor.sum(Tensor.mul(Tensor.logSoftmax(z), t), { axis: 1 }))) as Tensor.Tensor<
    readonly [],
    D
  >
}

/**
 * Softmax cross-entropy from logits and integer class labels (an int32 tensor of classes in
 * `[0, classes)`), averaged over the batch: `softmaxCrossEntropy` against the labels' one-hot rows, without
 * building those rows by hand. The labels get no gradient; a label out of range is a `RangeError`.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * const labels = Tensor.fromArray([3, 1, 4, 1, 5, 9, 2, 6], [8], { dtype: "int32" })
 * Loss.sparseSoftmaxCrossEntropy(logits, labels) // Tensor<readonly []>
 * ```
 */
export const sparseSoftmaxCrossEntropy = <B extends number, C extends number, D extends Tensor.DType>(
  logits: Logits<B, C, D>,
  labels: Tensor.Tensor<readonly [NoInfer<B>], "int32">
): Tensor.Tensor<readonly [], D> => {
  if (logits.shape.length !== 2 || labels.shape.length !== 1 || logits.shape[0] !== labels.shape[0]) {
    throw new ShapeError(
      "sparseSoftmaxCrossEntropy",
      `sparseSoftmaxCrossEntropy: logits [${logits.shape.join(", ")}] must be [batch, classes] and labels [${
        labels.shape.join(", ")
      }] must be [batch]`
    )
  }
  if (labels.dtype !== "int32") {
    throw new TypeError(
      `sparseSoftmaxCrossEntropy: labels must be an int32 tensor, got ${String(labels.dtype)}; ` +
        `convert with Tensor.cast(labels, "int32"), or pass one-hot rows to softmaxCrossEntropy`
    )
  }
  const classes: number = logits.shape[1]
  const targets = Tensor.oneHot(labels as Tensor.Tensor<readonly [number], "int32">, classes, { dtype: logits.dtype })
  // The shape checks above stand for the static ones, which generic code cannot evaluate.
  return softmaxCrossEntropy(logits, targets as Tensor.AnyTensor as Logits<B, C, D>)
}

/**
 * Mean squared error over all entries.
 *
 * @example
 * ```ts
 * declare const predictions: Tensor.Tensor<readonly [8, 1]>
 * declare const targets: Tensor.Tensor<readonly [8, 1]>
 * Loss.meanSquaredError(predictions, targets)
 * ```
 */
export const meanSquaredError = <S extends Tensor.Shape, D extends Tensor.DType>(
  predictions: Tensor.Tensor<S, D>,
  targets: Tensor.Tensor<NoInfer<S>, NoInfer<D>>
): Tensor.Tensor<readonly [], D> =>
  Tensor.mean(Tensor.square(Tensor.sub(predictions as Tensor.AnyTensor, targets as Tensor.AnyTensor))) as Tensor.Tensor<
    readonly [],
    D
  >
