/**
 * The IDX file format (the format of the MNIST files).
 *
 * Layout, all multi-byte numbers big-endian:
 *
 * | bytes | content |
 * | --- | --- |
 * | 0-1 | `0x00 0x00` |
 * | 2 | type code: `0x08` uint8, `0x09` int8, `0x0B` int16, `0x0C` int32, `0x0D` float32, `0x0E` float64 |
 * | 3 | rank (number of dims) |
 * | 4 .. 4 + 4 * rank | the dims, uint32 each |
 * | then | the elements, row-major |
 *
 * {@link parse} is a pure function over bytes; {@link readFile} reads a file (gzip-compressed files are
 * decompressed transparently). Any defect (bad magic, unknown type code, truncated data, trailing bytes)
 * is a {@link DatasetFileError} naming the file.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { DatasetFileError } from "./DatasetError.ts"
import { type Cap, readBytesCapped } from "./internal/bytes.ts"

/**
 * The element type of an IDX file.
 *
 * @example
 * ```ts
 * import type { Idx } from "@typegrad/data"
 * const t: Idx.DataType = "uint8"
 * ```
 *
 * @since 0.1.0
 */
export type DataType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64"

/**
 * The typed array that holds elements of each {@link DataType}.
 *
 * @example
 * ```ts
 * import type { Idx } from "@typegrad/data"
 * const a: Idx.ArrayTypes["int16"] = new Int16Array(4)
 * ```
 *
 * @since 0.1.0
 */
export interface ArrayTypes {
  readonly uint8: Uint8Array
  readonly int8: Int8Array
  readonly int16: Int16Array
  readonly int32: Int32Array
  readonly float32: Float32Array
  readonly float64: Float64Array
}

/**
 * The typed array of elements of type `T`.
 *
 * @example
 * ```ts
 * import type { Idx } from "@typegrad/data"
 * const a: Idx.ArrayOf<"float64"> = new Float64Array(2)
 * ```
 *
 * @since 0.1.0
 */
export type ArrayOf<T extends DataType> = ArrayTypes[T]

/**
 * A parsed IDX file: the element type, the dims and the elements in row-major order (native byte order).
 *
 * @example
 * ```ts
 * import { Idx } from "@typegrad/data"
 * const a: Idx.IdxArray = { dtype: "uint8", dims: [2, 2], data: new Uint8Array([1, 2, 3, 4]) }
 * ```
 *
 * @since 0.1.0
 */
export type IdxArray = { readonly [T in DataType]: TypedIdxArray<T> }[DataType]

/**
 * An IDX array whose element type is known to be `T`.
 *
 * @example
 * ```ts
 * import type { Idx } from "@typegrad/data"
 * const a: Idx.TypedIdxArray<"uint8"> = { dtype: "uint8", dims: [3], data: new Uint8Array(3) }
 * ```
 *
 * @since 0.1.0
 */
export interface TypedIdxArray<T extends DataType> {
  readonly dtype: T
  readonly dims: ReadonlyArray<number>
  readonly data: ArrayOf<T>
}

interface TypeInfo {
  readonly code: number
  readonly dtype: DataType
  readonly bytes: number
}

const types: ReadonlyArray<TypeInfo> = [
  { code: 0x08, dtype: "uint8", bytes: 1 },
  { code: 0x09, dtype: "int8", bytes: 1 },
  { code: 0x0b, dtype: "int16", bytes: 2 },
  { code: 0x0c, dtype: "int32", bytes: 4 },
  { code: 0x0d, dtype: "float32", bytes: 4 },
  { code: 0x0e, dtype: "float64", bytes: 8 }
]

/**
 * The IDX type code of each element type.
 *
 * @example
 * ```ts
 * import { Idx } from "@typegrad/data"
 * Idx.typeCodes.uint8 // 0x08
 * ```
 *
 * @since 0.1.0
 */
export const typeCodes: { readonly [T in DataType]: number } = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e
}

const infoByCode = (code: number): TypeInfo | undefined => types.find((t) => t.code === code)
const infoByType = (dtype: DataType): TypeInfo => types.find((t) => t.dtype === dtype)!

const hex = (n: number): string => "0x" + n.toString(16).padStart(2, "0")

const corrupt = (path: string, what: string): DatasetFileError =>
  new DatasetFileError({
    path,
    reason: `not a valid IDX file: ${what}; the file is truncated or corrupt, or not an IDX file: ` +
      "download it again (and gunzip it or keep its .gz bytes intact)"
  })

/** Decodes `count` big-endian elements starting at `offset` into a fresh native typed array. */
const decodeElements = (bytes: Uint8Array, offset: number, count: number, dtype: DataType): IdxArray["data"] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * infoByType(dtype).bytes)
  switch (dtype) {
    case "uint8":
      return bytes.subarray(offset, offset + count)
    case "int8":
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, count)
    case "int16": {
      const out = new Int16Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2)
      return out
    }
    case "int32": {
      const out = new Int32Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4)
      return out
    }
    case "float32": {
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4)
      return out
    }
    case "float64": {
      const out = new Float64Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8)
      return out
    }
  }
}

/**
 * Parses the bytes of an IDX file. `path` only names the source in errors. Pure: no I/O. A `uint8` or
 * `int8` result is a view of `bytes` (no copy); wider types are decoded into fresh arrays.
 *
 * @example
 * ```ts
 * import { Result } from "effect"
 * import { Idx } from "@typegrad/data"
 *
 * const bytes = new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9])
 * const r = Idx.parse(bytes, "labels.idx")
 * if (Result.isSuccess(r)) r.success.dims // [2]
 * ```
 *
 * @since 0.1.0
 */
export const parse = (bytes: Uint8Array, path: string = "<bytes>"): Result.Result<IdxArray, DatasetFileError> => {
  if (bytes.length < 4) {
    return Result.fail(corrupt(path, `it has ${bytes.length} bytes, fewer than the 4-byte header`))
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    return Result.fail(
      corrupt(path, `bad magic number: the first two bytes are ${hex(bytes[0]!)} ${hex(bytes[1]!)}, expected 0x00 0x00`)
    )
  }
  const info = infoByCode(bytes[2]!)
  if (info === undefined) {
    return Result.fail(
      corrupt(path, `unknown type code ${hex(bytes[2]!)} (known: 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)`)
    )
  }
  const rank = bytes[3]!
  const headerLength = 4 + 4 * rank
  if (bytes.length < headerLength) {
    return Result.fail(
      corrupt(
        path,
        `the header declares ${rank} dims (${headerLength} header bytes) but the file has only ${bytes.length} bytes`
      )
    )
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const dims: Array<number> = []
  let count = 1
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i)
    dims.push(d)
    count *= d
  }
  const expected = headerLength + count * info.bytes
  if (bytes.length !== expected) {
    const shape = `[${dims.join(", ")}]`
    const what = bytes.length < expected
      ? `truncated: dims ${shape} of ${info.dtype} need ${expected} bytes but the file has ${bytes.length}`
      : `${
        bytes.length - expected
      } trailing bytes after the data: dims ${shape} of ${info.dtype} need ${expected} bytes but the file has ${bytes.length}`
    return Result.fail(corrupt(path, what))
  }
  return Result.succeed(
    { dtype: info.dtype, dims, data: decodeElements(bytes, headerLength, count, info.dtype) } as IdxArray
  )
}

/**
 * {@link parse} as an `Effect`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Idx } from "@typegrad/data"
 *
 * const a = Effect.runSync(Idx.decode(new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 1, 5])))
 * a.data // Uint8Array [5]
 * ```
 *
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array, path: string = "<bytes>"): Effect.Effect<IdxArray, DatasetFileError> =>
  Effect.fromResult(parse(bytes, path))

/**
 * Reads and parses an IDX file; gzip-compressed files (`.gz`, recognised by their content) are decompressed
 * transparently, as a stream. Memory is bounded by the size the header declares (header + product of the
 * dims x element size): the header is read first, an uncompressed file larger than that fails from its size
 * on disk before its data is read, and gzip data stops inflating as soon as its output passes that size
 * (within 64 KiB), with a `DatasetFileError` saying the file is larger than its header declares.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Idx } from "@typegrad/data"
 *
 * const labels = await Effect.runPromise(Idx.readFile("t10k-labels-idx1-ubyte"))
 * labels.dims // [10000]
 * ```
 *
 * @since 0.1.0
 */
export const readFile = (path: string): Effect.Effect<IdxArray, DatasetFileError> =>
  Effect.flatMap(readBytesCapped(path, capOf(path)), (bytes) => decode(bytes, path))

/** The dims and total size an IDX header declares, from the first bytes of a file. */
const declaredBy = (
  prefix: Uint8Array
): "more" | "invalid" | { readonly size: number; readonly dims: ReadonlyArray<number>; readonly info: TypeInfo } => {
  if (prefix.length >= 1 && prefix[0] !== 0) return "invalid"
  if (prefix.length >= 2 && prefix[1] !== 0) return "invalid"
  if (prefix.length >= 3 && infoByCode(prefix[2]!) === undefined) return "invalid"
  if (prefix.length < 4) return "more"
  const info = infoByCode(prefix[2]!)!
  const rank = prefix[3]!
  if (prefix.length < 4 + 4 * rank) return "more"
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength)
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i))
  return { size: 4 + 4 * rank + dims.reduce((a, b) => a * b, 1) * info.bytes, dims, info }
}

/** Caps a read of `path` at the size its IDX header declares (header, then the product of the dims). */
const capOf = (path: string): Cap => ({
  maxHeader: 4 + 4 * 255,
  declared: (prefix) => {
    const d = declaredBy(prefix)
    return typeof d === "object"
      ? { size: d.size, what: `dims [${d.dims.join(", ")}] of ${d.info.dtype} need ${d.size} bytes` }
      : d
  },
  tooLarge: (declared, found) =>
    corrupt(
      path,
      "file" in found
        ? `${found.file - declared.size} trailing bytes after the data: ${declared.what} but the file has ${found.file}`
        : `the file is larger than its header declares: ${declared.what} but the gzip data inflates to more ` +
          `(stopped after inflating ${found.inflated} bytes)`
    )
})

/**
 * Checks that a parsed IDX array has element type `dtype` and `rank` dims, with the given dims where
 * `dims` names a number (`undefined` accepts any size).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Idx } from "@typegrad/data"
 *
 * const images = Idx.readFile("t10k-images-idx3-ubyte").pipe(
 *   Effect.flatMap((a) => Idx.expect(a, "uint8", [undefined, 28, 28], "t10k-images-idx3-ubyte"))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const expect = <T extends DataType>(
  array: IdxArray,
  dtype: T,
  dims: ReadonlyArray<number | undefined>,
  path: string = "<bytes>"
): Effect.Effect<TypedIdxArray<T>, DatasetFileError> => {
  const want = `[${dims.map((d) => (d === undefined ? "N" : String(d))).join(", ")}]`
  const matches = array.dims.length === dims.length && dims.every((d, i) => d === undefined || array.dims[i] === d)
  if (array.dtype !== dtype || !matches) {
    return Effect.fail(
      new DatasetFileError({
        path,
        reason:
          `expected ${dtype} data of dims ${want}, found ${array.dtype} data of dims [${array.dims.join(", ")}]; ` +
          "check that this is the right file (images vs labels, the right dataset)"
      })
    )
  }
  return Effect.succeed(array as TypedIdxArray<T>)
}

/**
 * Encodes an array in the IDX format (the inverse of {@link parse}); `data.length` must match `dims`.
 *
 * @example
 * ```ts
 * import { Idx } from "@typegrad/data"
 * const bytes = Idx.encode({ dtype: "int16", dims: [2], data: new Int16Array([-1, 300]) })
 * bytes.length // 4 + 4 + 4
 * ```
 *
 * @since 0.1.0
 */
export const encode = (array: IdxArray): Uint8Array => {
  const info = infoByType(array.dtype)
  const count = array.dims.reduce((a, b) => a * b, 1)
  if (array.data.length !== count) {
    throw new RangeError(
      `Idx.encode: data has ${array.data.length} elements but dims [${array.dims.join(", ")}] need ${count}`
    )
  }
  if (array.dims.length > 255) throw new RangeError(`Idx.encode: rank ${array.dims.length} exceeds 255`)
  const header = 4 + 4 * array.dims.length
  const out = new Uint8Array(header + count * info.bytes)
  const view = new DataView(out.buffer)
  out[2] = info.code
  out[3] = array.dims.length
  array.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d))
  const data = array.data
  switch (array.dtype) {
    case "uint8":
      out.set(array.data, header)
      break
    case "int8":
      out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, count), header)
      break
    case "int16":
      for (let i = 0; i < count; i++) view.setInt16(header + 2 * i, data[i]!)
      break
    case "int32":
      for (let i = 0; i < count; i++) view.setInt32(header + 4 * i, data[i]!)
      break
    case "float32":
      for (let i = 0; i < count; i++) view.setFloat32(header + 4 * i, data[i]!)
      break
    case "float64":
      for (let i = 0; i < count; i++) view.setFloat64(header + 8 * i, data[i]!)
      break
  }
  return out
}
