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
