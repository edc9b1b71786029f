/**
 * The tagged errors of `@typegrad/data`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A dataset file that cannot be used: missing, unreadable, truncated, corrupt, or not of the expected
 * format. `path` names the file (or files, joined with `" / "`), `reason` says what is wrong and what to
 * do; `message` puts both together.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Idx } from "@typegrad/data"
 *
 * const program = Idx.readFile("missing.idx").pipe(
 *   Effect.catchTag("DatasetFileError", (e) => Effect.succeed(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class DatasetFileError extends Data.TaggedError("DatasetFileError")<{
  /** The file that is wrong. */
  readonly path: string
  /** What is wrong with it and what to do. */
  readonly reason: string
  /** The underlying error (an I/O or zlib error), when there is one. */
  readonly cause?: unknown
}> {
  override get message(): string {
    return `dataset file ${this.path}: ${this.reason}`
  }
}
