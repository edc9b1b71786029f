/**
 * CIFAR-10 in its binary format (`cifar-10-batches-bin`): each record is 1 label byte followed by 3072
 * pixel bytes, the 1024 red, then 1024 green, then 1024 blue values of a 32x32 image, row-major.
 *
 * Records are converted to NHWC float32 `[N, 32, 32, 3]` with values in `[0, 1]` (`x / 255`); labels are
 * class indices `0 .. 9` (see {@link classNames}). CIFAR-10 is not downloaded: point {@link load} at a
 * folder or {@link loadFiles} at files you have.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"
import { unsafeFromData } from "@typegrad/tensor/internal"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { statSync } from "node:fs"
import { join } from "node:path"
import * as Dataset from "./Dataset.ts"
import { DatasetFileError } from "./DatasetError.ts"
import { readBytes } from "./internal/bytes.ts"
import { byteScale } from "./internal/convert.ts"

/**
 * The CIFAR-10 dataset type: 32x32 RGB images in `[0, 1]`, 10 classes.
 *
 * @example
 * ```ts
 * import type { Cifar10 } from "@typegrad/data"
 * declare const ds: Cifar10.Cifar10
 * ds.images.shape // readonly [number, 32, 32, 3]
 * ```
 *
 * @since 0.1.0
 */
export type Cifar10 = Dataset.Dataset<readonly [32, 32, 3], 10>

/**
 * Bytes per record: 1 label byte + 32 * 32 * 3 pixel bytes.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/data"
 * Cifar10.recordBytes // 3073
 * ```
 *
 * @since 0.1.0
 */
export const recordBytes = 3073

/**
 * The names of the ten classes, by class index.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/data"
 * Cifar10.classNames[3] // "cat"
 * ```
 *
 * @since 0.1.0
 */
export const classNames = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck"
] as const

/**
 * The per-channel mean and standard deviation of the CIFAR-10 training images (values in `[0, 1]`, red,
 * green, blue), for `Dataset.normalize`: the standard figures (torchvision's and Keras' examples).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cifar10, Dataset } from "@typegrad/data"
 * const test = Cifar10.load({ directory: "cifar-10-batches-bin", split: "test" }).pipe(
 *   Effect.map(Dataset.normalize(Cifar10.channelStats))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const channelStats: { readonly mean: ReadonlyArray<number>; readonly std: ReadonlyArray<number> } = {
  mean: [0.4914, 0.4822, 0.4465],
  std: [0.247, 0.2435, 0.2616]
}

const pixels = 1024

/** Decodes the records of `bytes` into `images`/`labels` from example `offset`; returns a reason on failure. */
const decodeInto = (
  bytes: Uint8Array,
  images: Float32Array,
  labels: Float32Array,
  offset: number
): string | undefined => {
  const n = bytes.length / recordBytes
  const table = byteScale
  for (let r = 0; r < n; r++) {
    const base = r * recordBytes
    const label = bytes[base]!
    if (label > 9) {
      return `record ${r} (byte offset ${base}) has label ${label}, not a class 0-9; ` +
        "the file is corrupt or not a CIFAR-10 binary batch (CIFAR-100 files have 2 label bytes)"
    }
    labels[offset + r] = label
    const red = base + 1
    const green = red + pixels
    const blue = green + pixels
    let o = (offset + r) * 3 * pixels
    for (let p = 0; p < pixels; p++) {
      images[o] = table[bytes[red + p]!]!
      images[o + 1] = table[bytes[green + p]!]!
      images[o + 2] = table[bytes[blue + p]!]!
      o += 3
    }
  }
  return undefined
}

const badSize = (path: string, length: number): DatasetFileError =>
  new DatasetFileError({
    path,
    reason: `its size ${length} bytes is not a multiple of the 3073-byte CIFAR-10 record ` +
      `(${Math.floor(length / recordBytes)} whole records and ${length % recordBytes} bytes left over); ` +
      "the file is truncated or not a CIFAR-10 binary batch (use the data_batch_*.bin / test_batch.bin files)"
  })

/**
 * Parses the bytes of one CIFAR-10 binary batch. `path` only names the source in errors. Pure: no I/O.
 *
 * @example
 * ```ts
 * import { Result } from "effect"
 * import { Cifar10 } from "@typegrad/data"
 *
 * const record = new Uint8Array(3073) // label 0, a black image
 * const r = Cifar10.parse(record, "one.bin")
 * if (Result.isSuccess(r)) r.success.count // 1
 * ```
 *
 * @since 0.1.0
 */
export const parse = (bytes: Uint8Array, path: string = "<bytes>"): Result.Result<Cifar10, DatasetFileError> => {
  if (bytes.length % recordBytes !== 0) return Result.fail(badSize(path, bytes.length))
  const n = bytes.length / recordBytes
  const images = new Float32Array(n * 3 * pixels)
  const labels = new Float32Array(n)
  const reason = decodeInto(bytes, images, labels, 0)
  if (reason !== undefined) return Result.fail(new DatasetFileError({ path, reason }))
  return Result.succeed(make(images, labels))
}

const make = (images: Float32Array, labels: Float32Array): Cifar10 => ({
  images: unsafeFromData(images, [labels.length, 32, 32, 3] as const) as Tensor.Tensor<
    readonly [number, 32, 32, 3]
  >,
  labels: unsafeFromData(labels, [labels.length] as const) as Tensor.Tensor<readonly [number]>,
  count: labels.length,
  numClasses: 10
})

/**
 * Reads and concatenates CIFAR-10 binary batch files, in order (gzip-compressed files are decompressed
 * transparently). Fails with a `DatasetFileError` naming the first bad file.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cifar10 } from "@typegrad/data"
 *
 * const train = Cifar10.loadFiles(["cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin"])
 * ```
 *
 * @since 0.1.0
 */
export const loadFiles = (paths: ReadonlyArray<string>): Effect.Effect<Cifar10, DatasetFileError> =>
  Effect.gen(function*() {
    const contents = yield* Effect.forEach(paths, readBytes, { concurrency: 4 })
    let total = 0
    for (let i = 0; i < contents.length; i++) {
      const bytes = contents[i]!
      if (bytes.length % recordBytes !== 0) return yield* badSize(paths[i]!, bytes.length)
      total += bytes.length / recordBytes
    }
    const images = new Float32Array(total * 3 * pixels)
    const labels = new Float32Array(total)
    let offset = 0
    for (let i = 0; i < contents.length; i++) {
      const bytes = contents[i]!
      const reason = decodeInto(bytes, images, labels, offset)
      if (reason !== undefined) return yield* new DatasetFileError({ path: paths[i]!, reason })
      offset += bytes.length / recordBytes
    }
    return make(images, labels)
  })

/**
 * Options of {@link load}.
 *
 * @example
 * ```ts
 * import type { Cifar10 } from "@typegrad/data"
 * const o: Cifar10.LoadOptions = { directory: "cifar-10-batches-bin", split: "test" }
 * ```
 *
 * @since 0.1.0
 */
export interface LoadOptions {
  /** The `cifar-10-batches-bin` folder. */
  readonly directory: string
  /** `"train"`: `data_batch_1.bin` .. `data_batch_5.bin` (50,000 images); `"test"`: `test_batch.bin`. */
  readonly split: "train" | "test"
  /** Keep only the first `limit` examples (only the files that hold them are read). */
  readonly limit?: number
}

/**
 * Loads a split from a `cifar-10-batches-bin` folder (see {@link LoadOptions} for the file names). A
 * missing folder or file fails with a `DatasetFileError` that names it and says where the files go (CIFAR-10
 * is never downloaded); with `limit`, only the files holding the first `limit` records are read.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cifar10 } from "@typegrad/data"
 *
 * const test = await Effect.runPromise(Cifar10.load({ directory: "cifar-10-batches-bin", split: "test" }))
 * test.images.shape // [10000, 32, 32, 3]
 * ```
 *
 * @since 0.1.0
 */
export const load = (options: LoadOptions): Effect.Effect<Cifar10, DatasetFileError> =>
  Effect.suspend(() => {
    const names = options.split === "test" ? testFiles : trainFiles
    const dir = options.directory
    const stat = statOf(dir)
    if (stat === undefined || !stat.isDirectory()) {
      return Effect.fail(
        new DatasetFileError({
          path: dir,
          reason: `${stat === undefined ? "no such directory" : "not a directory"}; ${layout(dir)}`
        })
      )
    }
    const missing = names.find((name) => statOf(join(dir, name)) === undefined)
    if (missing !== undefined) {
      return Effect.fail(
        new DatasetFileError({
          path: join(dir, missing),
          reason: `no such file (${missing} is missing); ${layout(dir)}`
        })
      )
    }
    const { limit } = options
    if (limit === undefined) return loadFiles(names.map((name) => join(dir, name)))
    if (!Number.isInteger(limit) || limit < 0) {
      return Effect.die(new RangeError(`Cifar10.load: limit must be a non-negative integer, got ${limit}`))
    }
    // The first files that hold `limit` records (by their sizes), then the first `limit` of them.
    const needed: Array<string> = []
    let records = 0
    for (const name of names) {
      if (records >= limit && needed.length > 0) break
      needed.push(join(dir, name))
      records += Math.floor((statOf(join(dir, name))?.size ?? 0) / recordBytes)
    }
    return Effect.map(loadFiles(needed), (ds) => Dataset.take(ds, limit))
  })

/**
 * The file names of the training split (`data_batch_1.bin` .. `data_batch_5.bin`) in a
 * `cifar-10-batches-bin` folder.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/data"
 * Cifar10.trainFiles[4] // "data_batch_5.bin"
 * ```
 *
 * @since 0.1.0
 */
export const trainFiles: ReadonlyArray<string> = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`)

/**
 * The file name of the test split in a `cifar-10-batches-bin` folder: `["test_batch.bin"]`.
 *
 * @example
 * ```ts
 * import { Cifar10 } from "@typegrad/data"
 * Cifar10.testFiles // ["test_batch.bin"]
 * ```
 *
 * @since 0.1.0
 */
export const testFiles: ReadonlyArray<string> = ["test_batch.bin"]

const statOf = (p: string) => {
  try {
    return statSync(p, { throwIfNoEntry: false })
  } catch {
    return undefined
  }
}

/** Where the files go: the expected layout, and that nothing is downloaded. */
const layout = (dir: string): string =>
  `put the CIFAR-10 binary version files data_batch_1.bin .. data_batch_5.bin and test_batch.bin ` +
  `(the folder cifar-10-batches-bin of cifar-10-binary.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html) ` +
  `directly in ${dir}; CIFAR-10 is never downloaded at run time`
