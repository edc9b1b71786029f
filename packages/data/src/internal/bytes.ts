/**
 * Reading dataset files into memory.
 *
 * Files are read with `node:fs/promises` inside `Effect.tryPromise`, not with `effect`'s `FileSystem`
 * service: the loaders then need no service (`Effect.runPromise(Mnist.load(...))` just works, with
 * `R = never`), and the package does not pull in `@effect/platform-node` for one read of a whole file.
 * Interruption is honoured: the abort signal is passed to `readFile` and to the read stream.
 * {@link readBytesCapped} bounds memory by the size a file's header declares.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { createReadStream } from "node:fs"
import { open, readFile } from "node:fs/promises"
import { createGunzip, gunzip } from "node:zlib"
import { DatasetFileError } from "../DatasetError.ts"

/** `true` when `bytes` start with the gzip magic number `1f 8b`. */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The error of a file that cannot be opened or read, by its errno code. */
const ioError = (path: string, cause: unknown): DatasetFileError => {
  const code = (cause as { code?: unknown } | null)?.code
  const reason = code === "ENOENT"
    ? "no such file; check the path (files are never downloaded at run time)"
    : code === "EISDIR"
    ? "is a directory, not a file; pass the path of the data file itself"
    : `cannot be read (${errorText(cause)}); check that it exists and is readable`
  return new DatasetFileError({ path, reason, cause })
}

const gzipError = (path: string, cause: unknown): DatasetFileError =>
  new DatasetFileError({
    path,
    reason: `the gzip data is corrupt or truncated (${errorText(cause)}); download the file again`,
    cause
  })

/** Decompresses gzip data; fails with a `DatasetFileError` naming `path` when the stream is corrupt. */
export const gunzipBytes = (bytes: Uint8Array, path: string): Effect.Effect<Uint8Array, DatasetFileError> =>
  Effect.callback<Uint8Array, DatasetFileError>((resume) => {
    gunzip(bytes, (error, result) => {
      if (error) {
        resume(Effect.fail(gzipError(path, error)))
      } else {
        resume(Effect.succeed(new Uint8Array(result.buffer, result.byteOffset, result.byteLength)))
      }
    })
  })

/**
 * Reads a whole file; gzip data (recognised by its magic number, whatever the file is called) is
 * decompressed transparently.
 */
export const readBytes = (path: string): Effect.Effect<Uint8Array, DatasetFileError> =>
  Effect.tryPromise({
    try: (signal) => readFile(path, { signal }),
    catch: (cause) => ioError(path, cause)
  }).pipe(
    Effect.flatMap((buffer) => {
      const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
      return isGzip(bytes) ? gunzipBytes(bytes, path) : Effect.succeed(bytes)
    })
  )

/** What the first bytes of a file declare about its size (see {@link readBytesCapped}). */
export type Declared =
  /** The header is complete: the whole file must have `size` bytes (`what` says why, for messages). */
  | { readonly size: number; readonly what: string }
  /** The header is incomplete in these bytes: more are needed. */
  | "more"
  /** The header is invalid: stop reading, the parser reports the defect from these bytes. */
  | "invalid"

/** How {@link readBytesCapped} learns the size a file declares, and says that a file exceeds it. */
export interface Cap {
  /** Longest header there is: {@link Cap.declared} never answers `"more"` for this many bytes. */
  readonly maxHeader: number
  /** The size the first bytes declare. */
  readonly declared: (prefix: Uint8Array) => Declared
  /**
   * The error for a file larger than it declares: `found` bytes in the (uncompressed) file, or, for gzip
   * data, `inflated` bytes inflated when the reader stopped (it does not inflate the rest).
   */
  readonly tooLarge: (
    declared: { readonly size: number; readonly what: string },
    found: { readonly file: number } | { readonly inflated: number }
  ) => DatasetFileError
}

/** Concatenates chunks into one array of `total` bytes. */
const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/**
 * Reads a file whose header declares its size, never holding (much) more than that in memory: an
 * uncompressed file larger than its header declares fails from its size on disk before its data is read;
 * gzip data is inflated as a stream and fails as soon as the output passes the declared size (within one
 * inflate chunk of 64 KiB). A header that is invalid or incomplete yields the bytes read so far, for the
 * parser to report.
 */
export const readBytesCapped = (path: string, cap: Cap): Effect.Effect<Uint8Array, DatasetFileError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const handle = await open(path, "r")
      let gzip: boolean
      try {
        const { size } = await handle.stat()
        const head = new Uint8Array(Math.min(size, cap.maxHeader))
        const { bytesRead } = await handle.read(head, 0, head.length, 0)
        const prefix = head.subarray(0, bytesRead)
        gzip = isGzip(prefix)
        if (!gzip) {
          const declared = cap.declared(prefix)
          if (typeof declared === "object" && size > declared.size) {
            throw cap.tooLarge(declared, { file: size })
          }
          if (declared === "invalid") return prefix
          const buffer = await handle.readFile({ signal })
          return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
        }
      } finally {
        await handle.close()
      }
      const inflater = createGunzip({ chunkSize: 64 * 1024 })
      const source = createReadStream(path, { signal, highWaterMark: 64 * 1024 })
      source.on("error", (e) => inflater.destroy(e))
      source.pipe(inflater)
      const chunks: Array<Uint8Array> = []
      let total = 0
      let limit: { readonly size: number; readonly what: string } | undefined
      try {
        for await (const chunk of inflater as AsyncIterable<Buffer>) {
          chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          total += chunk.byteLength
          if (limit === undefined) {
            const declared = cap.declared(concat(chunks, total).subarray(0, cap.maxHeader))
            if (declared === "invalid") return concat(chunks, total)
            if (typeof declared === "object") limit = declared
          }
          if (limit !== undefined && total > limit.size) throw cap.tooLarge(limit, { inflated: total })
        }
      } finally {
        source.destroy()
        inflater.destroy()
      }
      return concat(chunks, total)
    },
    catch: (cause) => {
      if (cause instanceof DatasetFileError) return cause
      const code = (cause as { code?: unknown } | null)?.code
      return typeof code === "string" && code.startsWith("Z_") ? gzipError(path, cause) : ioError(path, cause)
    }
  })
