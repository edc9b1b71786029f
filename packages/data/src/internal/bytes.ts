/**
 * Reading dataset files into memory.
 *
 * Files are read with `node:fs/promises` inside `Effect.tryPromise`, not with `effect`'s `FileSystem`
 * service: the loaders then need no service (`Effect.runPromise(Mnist.load(...))` just works, with
 * `R = never`), and the package does not pull in `@effect/platform-node` for one read of a whole file.
 * Interruption is honoured: the abort signal is passed to `readFile`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { readFile } from "node:fs/promises"
import { gunzip } from "node:zlib"
import { DatasetFileError } from "../DatasetError.ts"

/** `true` when `bytes` start with the gzip magic number `1f 8b`. */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Decompresses gzip data; fails with a `DatasetFileError` naming `path` when the stream is corrupt. */
export const gunzipBytes = (bytes: Uint8Array, path: string): Effect.Effect<Uint8Array, DatasetFileError> =>
  Effect.callback<Uint8Array, DatasetFileError>((resume) => {
    gunzip(bytes, (error, result) => {
      if (error) {
        resume(Effect.fail(
          new DatasetFileError({
            path,
            reason: `the gzip data is corrupt or truncated (${errorText(error)}); download the file again`,
            cause: error
          })
        ))
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
    catch: (cause) => {
      const code = (cause as { code?: unknown } | null)?.code
      const reason = code === "ENOENT"
        ? "no such file; check the path (files are never downloaded at run time)"
        : code === "EISDIR"
        ? "is a directory, not a file; pass the path of the data file itself"
        : `cannot be read (${errorText(cause)}); check that it exists and is readable`
      return new DatasetFileError({ path, reason, cause })
    }
  }).pipe(
    Effect.flatMap((buffer) => {
      const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
      return isGzip(bytes) ? gunzipBytes(bytes, path) : Effect.succeed(bytes)
    })
  )
