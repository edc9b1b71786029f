/**
 * fp-ts interop: the effectful edges of typegrad (loading data, training, checkpoints) as `TaskEither`
 * and `Either`, for code bases built on fp-ts.
 *
 * @since 0.1.0
 */
import { Effect, Exit } from "effect"
import * as E from "fp-ts/lib/Either.js"
import type { TaskEither } from "fp-ts/lib/TaskEither.js"

const settle = <A, Err>(exit: Exit.Exit<A, Err>): E.Either<Err, A> => {
  if (Exit.isSuccess(exit)) return E.right(exit.value)
  const failure = Exit.findErrorOption(exit)
  if (failure._tag === "Some") return E.left(failure.value)
  // Defects and interruptions are not typed failures: they stay exceptions, as in Effect.runPromise.
  throw new Error(`the effect did not fail with a typed error: ${String(exit.cause)}`)
}

/**
 * An Effect with no requirements as an fp-ts `TaskEither`: typed failures become `Left`.
 *
 * @example
 * ```ts
 * import { Mnist } from "@typegrad/data"
 * import { Interop } from "@typegrad/train"
 * const load = Interop.toTaskEither(Mnist.load({ split: "test" }))
 * const result = await load() // Either<DatasetFileError, Dataset>
 * ```
 */
export const toTaskEither = <A, Err>(effect: Effect.Effect<A, Err>): TaskEither<Err, A> => () =>
  Effect.runPromiseExit(effect).then(settle)

/**
 * A synchronous Effect with no requirements as an fp-ts `Either`.
 *
 * @example
 * ```ts
 * declare const bytes: Uint8Array
 * const decoded = Interop.toEither(Effect.fromResult(Safetensors.decode(bytes)))
 * ```
 */
export const toEither = <A, Err>(effect: Effect.Effect<A, Err>): E.Either<Err, A> => settle(Effect.runSyncExit(effect))
