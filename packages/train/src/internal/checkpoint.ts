/**
 * The metadata of a training checkpoint, decoded with a schema: what `Train.fit` writes into
 * `model.safetensors`'s `__metadata__` (every value a string; numbers in decimal, lists and records as JSON),
 * and the checks that the decoded values are possible together. A wrong type or an impossible value is a
 * reason naming the field, which the resume turns into a `CheckpointError`.
 *
 * @internal
 */
import { Result, Schema, SchemaIssue, SchemaTransformation } from "effect"
import type { EpochMetrics } from "../Progress.ts"
import type { DataFingerprint } from "./fingerprint.ts"

/** A decimal string of a whole number >= 0 (no sign, no exponent, no blanks), decoded to the number. */
const Count = Schema.String.check(
  Schema.isPattern(/^(0|[1-9][0-9]*)$/, { expected: "a whole number >= 0 written in decimal" })
).pipe(Schema.decodeTo(Schema.Number, SchemaTransformation.numberFromString))

/** A decimal string of a finite number, decoded to the number. */
const Decimal = Schema.String.check(
  Schema.isPattern(/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/, {
    expected: "a finite number written in decimal"
  })
).pipe(Schema.decodeTo(Schema.Number, SchemaTransformation.numberFromString))

const WholeNumber = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))
/** A value `JSON.stringify` wrote from a number that may have been NaN (written as null). */
const MaybeNumber = Schema.NullOr(Schema.Number)

const Epoch = Schema.Struct({
  epoch: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1)),
  loss: Schema.Finite,
  accuracy: Schema.optionalKey(MaybeNumber),
  validationLoss: Schema.optionalKey(MaybeNumber),
  validationAccuracy: Schema.optionalKey(MaybeNumber),
  metrics: Schema.optionalKey(Schema.Record(Schema.String, MaybeNumber)),
  validationMetrics: Schema.optionalKey(Schema.Record(Schema.String, MaybeNumber)),
  seconds: Schema.Number,
  samplesPerSecond: Schema.Number
})

const Running = Schema.Struct({
  loss: Schema.Finite,
  correct: WholeNumber,
  seen: WholeNumber,
  metrics: Schema.optionalKey(Schema.Array(Schema.Finite))
})

const DataFingerprintSchema = Schema.Struct({
  count: WholeNumber,
  dtype: Schema.String,
  inputs: Schema.Array(WholeNumber),
  targets: Schema.String,
  contents: Schema.String
})

/** The metadata of a checkpoint written by `Train.fit` (format `typegrad-checkpoint/1`). */
const Metadata = Schema.Struct({
  epochsDone: Count,
  stepInEpoch: Count,
  globalStep: Count,
  optimizerStep: Count,
  optimizer: Schema.String,
  batchSize: Count.check(Schema.isGreaterThanOrEqualTo(1)),
  seed: Decimal,
  history: Schema.fromJsonString(Schema.Array(Epoch)),
  // `null`: no epoch under way (checkpoints of an earlier version)
  running: Schema.optionalKey(Schema.fromJsonString(Schema.NullOr(Running))),
  // Absent in checkpoints of earlier versions (the resume then checks what those versions checked).
  data: Schema.optionalKey(Schema.fromJsonString(DataFingerprintSchema)),
  optimizerProbe: Schema.optionalKey(Schema.fromJsonString(Schema.Array(MaybeNumber)))
})

/** The run's position and history as a checkpoint records them. */
export interface Decoded {
  readonly epochsDone: number
  readonly stepInEpoch: number
  readonly globalStep: number
  readonly optimizerStep: number
  readonly optimizer: string
  readonly batchSize: number
  readonly seed: number
  readonly history: ReadonlyArray<EpochMetrics>
  /** The training data's fingerprint (absent: written before fingerprints were recorded). */
  readonly data: DataFingerprint | undefined
  /** The optimizer's probe at `optimizerStep` (absent: not recorded, or the optimizer could not run it). */
  readonly optimizerProbe: ReadonlyArray<number | null> | undefined
  readonly running: {
    readonly loss: number
    readonly correct: number
    readonly seen: number
    readonly metrics?: ReadonlyArray<number>
  }
}

/** A path into the metadata as a reader writes it: `history[0].loss`, `running.seen`. */
const pathString = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string =>
  (path ?? [])
    .map((segment) => (typeof segment === "object" ? segment.key : segment))
    .map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`))
    .join("")

const WHAT_TO_DO = "resume from another checkpoint, or train from the start"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Decodes a checkpoint's metadata, or says which field is wrong and how. The history is returned as the
 * file holds it (key order included), once the schema has accepted it.
 */
export const decodeMetadata = (metadata: Readonly<Record<string, string>>): Result.Result<Decoded, string> => {
  const decoded = Schema.decodeUnknownResult(Metadata)(metadata)
  if (Result.isFailure(decoded)) {
    const first = formatter(decoded.failure.issue).issues[0]
    const field = first === undefined ? "" : pathString(first.path)
    const message = first?.message.replace(/^Missing key$/, "missing") ?? "not valid"
    const raw = metadata[field]
    const got = raw === undefined || message.includes(", got ")
      ? ""
      : `, got ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)}`
    return Result.fail(
      `its metadata field ${field === "" ? "(unknown)" : field} is wrong (${message}${got}); ` +
        `the file is corrupt or was not written by typegrad train: ${WHAT_TO_DO}`
    )
  }
  const m = decoded.success
  const inconsistent = (what: string) =>
    Result.fail(`its metadata is inconsistent: ${what}; the file is corrupt: ${WHAT_TO_DO}`)
  if (m.history.length !== m.epochsDone) {
    return inconsistent(`its history holds ${m.history.length} epoch(s) but epochsDone is ${m.epochsDone}`)
  }
  const misnumbered = m.history.findIndex((e, i) => e.epoch !== i + 1)
  if (misnumbered >= 0) {
    return inconsistent(
      `history[${misnumbered}].epoch is ${m.history[misnumbered]!.epoch}, expected ${misnumbered + 1}`
    )
  }
  if (m.globalStep < m.epochsDone + m.stepInEpoch) {
    return inconsistent(
      `globalStep is ${m.globalStep}, fewer than the ${m.epochsDone} epoch(s) and ${m.stepInEpoch} step(s) done`
    )
  }
  if (m.optimizerStep !== m.globalStep) {
    return inconsistent(`optimizerStep is ${m.optimizerStep} but globalStep is ${m.globalStep} (one update per step)`)
  }
  const running = m.running ?? { loss: 0, correct: 0, seen: 0 }
  if (running.seen > m.stepInEpoch * m.batchSize) {
    return inconsistent(
      `running.seen is ${running.seen}, more than ${m.stepInEpoch} step(s) of batch size ${m.batchSize} can see`
    )
  }
  if (running.correct > running.seen) {
    return inconsistent(`running.correct is ${running.correct}, more than running.seen (${running.seen})`)
  }
  // The history as written: the schema accepted it, and a reparse keeps its keys and their order.
  const history = JSON.parse(metadata["history"]!) as ReadonlyArray<EpochMetrics>
  return Result.succeed({ ...m, history, running, data: m.data, optimizerProbe: m.optimizerProbe })
}
