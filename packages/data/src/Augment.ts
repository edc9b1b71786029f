/**
 * Data augmentation as pure functions over a batch of NHWC images: the random crop with zero padding and
 * horizontal flip used on CIFAR (`RandomCrop(32, padding=4)` + `RandomHorizontalFlip()` in torchvision).
 * Randomness comes from a seed through Effect's `Random`, so a batch is augmented the same way for the same
 * seed; `Train.fit`'s `augment` option gives every training step its own seed.
 *
 * @since 0.1.0
 */
import { ShapeError, type Tensor } from "@typegrad/tensor"
import { unsafeData, unsafeFromData } from "@typegrad/tensor/internal"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

type Images = Tensor.Tensor<readonly [number, number, number, number], Tensor.DType>

/**
 * What happens to one image: the crop's top-left corner `(dy, dx)` in the padded image (each in
 * `0 .. 2 * padding`; `(padding, padding)` is no shift) and whether it is flipped left to right (after the
 * crop).
 *
 * @example
 * ```ts
 * import type { Augment } from "@typegrad/data"
 * const keep: Augment.CropFlip = { dy: 4, dx: 4, flip: false } // the identity with padding 4
 * ```
 *
 * @since 0.1.0
 */
export interface CropFlip {
  readonly dy: number
  readonly dx: number
  readonly flip: boolean
}

/**
 * Options of {@link randomCropFlip} and {@link cropFlip}.
 *
 * @example
 * ```ts
 * import type { Augment } from "@typegrad/data"
 * const o: Augment.CropFlipOptions = { padding: 4, flip: true, fill: 0 }
 * ```
 *
 * @since 0.1.0
 */
export interface CropFlipOptions {
  /** Pixels of padding on each side before cropping back to the original size (default 4). */
  readonly padding?: number
  /** Whether to flip half of the images left to right (default true). */
  readonly flip?: boolean
  /**
   * The value of the padding: one number, or one per channel (default 0). Images normalised per channel
   * before augmentation pad with `-mean[c] / std[c]`, the normalised black, as torchvision does.
   */
  readonly fill?: number | ReadonlyArray<number>
}

const paddingOf = (options: CropFlipOptions | undefined): number => {
  const p = options?.padding ?? 4
  if (!Number.isInteger(p) || p < 0) throw new RangeError(`Augment: padding must be an integer >= 0, got ${p}`)
  return p
}

/**
 * Draws the crop offsets and flips of `count` images from Effect's `Random` (each offset uniform in
 * `0 .. 2 * padding`, each flip a fair coin, or never with `flip: false`).
 *
 * @example
 * ```ts
 * import { Effect, Random } from "effect"
 * import { Augment } from "@typegrad/data"
 * const decisions = Effect.runSync(Augment.drawCropFlip(128).pipe(Random.withSeed(7)))
 * ```
 *
 * @since 0.1.0
 */
export const drawCropFlip = (count: number, options?: CropFlipOptions): Effect.Effect<ReadonlyArray<CropFlip>> =>
  Effect.suspend(() => {
    const p = paddingOf(options)
    const flips = options?.flip ?? true
    return Effect.forEach(Array.from({ length: count }), () =>
      Effect.all({
        dy: Random.nextIntBetween(0, 2 * p),
        dx: Random.nextIntBetween(0, 2 * p),
        flip: flips ? Random.nextBoolean : Effect.succeed(false)
      }))
  })

/**
 * Crops and flips each image of the batch `[N, H, W, C]` as `decisions[n]` says: the image is padded with
 * `fill` by `padding` pixels on each side, the `H x W` window at `(dy, dx)` is cut out, then flipped left
 * to right if `flip`. The shape and dtype are kept; the input is not changed. Pure and deterministic.
 *
 * @example
 * ```ts
 * import { Augment } from "@typegrad/data"
 * import { Tensor } from "@typegrad/tensor"
 * const x = Tensor.zeros([1, 32, 32, 3])
 * const shifted = Augment.cropFlip(x, [{ dy: 0, dx: 8, flip: true }]) // 4 up, 4 right, mirrored
 * ```
 *
 * @since 0.1.0
 */
export const cropFlip = <S extends readonly [number, number, number, number], D extends Tensor.DType>(
  images: Tensor.Tensor<S, D>,
  decisions: ReadonlyArray<CropFlip>,
  options?: CropFlipOptions
): Tensor.Tensor<S, D> => {
  const shape = images.shape as unknown as ReadonlyArray<number>
  if (shape.length !== 4) {
    throw new ShapeError(
      "Augment.cropFlip",
      `Augment.cropFlip: expected images [N, H, W, C], got [${shape.join(", ")}]`
    )
  }
  const [n, h, w, c] = shape as [number, number, number, number]
  if (decisions.length !== n) {
    throw new RangeError(`Augment.cropFlip: ${decisions.length} decisions for a batch of ${n} images`)
  }
  const p = paddingOf(options)
  const fillOption = options?.fill ?? 0
  const fill = typeof fillOption === "number" ? new Array<number>(c).fill(fillOption) : fillOption
  if (fill.length !== c) {
    throw new ShapeError(
      "Augment.cropFlip",
      `Augment.cropFlip: fill has ${fill.length} values but the images have ${c} channels`
    )
  }
  const src = unsafeData(images as unknown as Images) as Float32Array | Float64Array
  const out = src instanceof Float64Array ? new Float64Array(src.length) : new Float32Array(src.length)
  const image = h * w * c
  for (let i = 0; i < n; i++) {
    const { dx, dy, flip } = decisions[i]!
    if (!Number.isInteger(dy) || !Number.isInteger(dx) || dy < 0 || dx < 0 || dy > 2 * p || dx > 2 * p) {
      throw new RangeError(`Augment.cropFlip: offset (${dy}, ${dx}) of image ${i} is outside 0 .. ${2 * p}`)
    }
    const base = i * image
    for (let y = 0; y < h; y++) {
      const sy = y + dy - p
      for (let x = 0; x < w; x++) {
        const sx = (flip ? w - 1 - x : x) + dx - p
        const o = base + (y * w + x) * c
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          for (let k = 0; k < c; k++) out[o + k] = fill[k]!
        } else {
          const s = base + (sy * w + sx) * c
          for (let k = 0; k < c; k++) out[o + k] = src[s + k]!
        }
      }
    }
  }
  return unsafeFromData(out as Tensor.ArrayOf<D>, shape) as unknown as Tensor.Tensor<S, D>
}

/**
 * The CIFAR augmentation of a batch `[N, H, W, C]`: each image is padded by `padding` (default 4) pixels
 * of `fill` (default 0), randomly cropped back to `H x W`, and flipped left to right with probability
 * 1/2, the decisions drawn from Effect's `Random` seeded with `seed`. Pure: the same batch and seed give
 * the same result; the shape and dtype are kept. As `Train.fit`'s `augment` option it runs on every
 * training batch with a seed derived from the run's seed and the step.
 *
 * @example
 * ```ts
 * import { Augment } from "@typegrad/data"
 * import { Tensor } from "@typegrad/tensor"
 * const batch = Tensor.zeros([64, 32, 32, 3])
 * const augmented = Augment.randomCropFlip(batch, 42) // Tensor<readonly [64, 32, 32, 3]>
 * ```
 *
 * @since 0.1.0
 */
export const randomCropFlip = <S extends readonly [number, number, number, number], D extends Tensor.DType>(
  images: Tensor.Tensor<S, D>,
  seed: number,
  options?: CropFlipOptions
): Tensor.Tensor<S, D> => {
  const decisions = Effect.runSync(drawCropFlip(images.shape[0], options).pipe(Random.withSeed(seed)))
  return cropFlip(images, decisions, options)
}
