/**
 * Progress reporting as a service: the training loop says what happens, the layer decides how it is
 * shown. `Progress.terminal` draws a live bar (loss, accuracy, samples/s, ETA) on a TTY, `Progress.lines`
 * prints plain lines (logs, CI), `Progress.silent` prints nothing (tests), and `Progress.auto` picks the
 * bar on a terminal and lines otherwise.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"

/** What the loop knows when training starts. */
export interface StartInfo {
  readonly epochs: number
  readonly firstEpoch: number
  readonly stepsPerEpoch: number
  readonly samplesPerEpoch: number
  /** Examples per step (the last step of an epoch may have fewer). */
  readonly batchSize?: number | undefined
}

/** The state after one step. */
export interface StepInfo {
  readonly epoch: number
  readonly epochs: number
  /** Steps done in this epoch. */
  readonly step: number
  readonly stepsPerEpoch: number
  /** Running mean of the training loss over this epoch. */
  readonly loss: number
  /** Running training accuracy over this epoch (with the default loss; `undefined` with a loss of your own). */
  readonly accuracy: number | undefined
  readonly samplesPerSecond: number
  /** Estimated seconds left in this epoch. */
  readonly etaSeconds: number
}

/** The metrics of one epoch. */
export interface EpochMetrics {
  readonly epoch: number
  readonly loss: number
  /** Training accuracy (with the default loss; `undefined` with a loss of your own). */
  readonly accuracy: number | undefined
  readonly validationLoss: number | undefined
  readonly validationAccuracy: number | undefined
  /** The `metrics` given to `Train.fit`, averaged over the epoch's training examples. */
  readonly metrics?: Readonly<Record<string, number>>
  /** The same metrics on the validation data. */
  readonly validationMetrics?: Readonly<Record<string, number>>
  readonly seconds: number
  readonly samplesPerSecond: number
}

/**
 * The progress service.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const progress = yield* Progress.Progress
 *   yield* progress.message("starting")
 * })
 * ```
 */
export class Progress extends Context.Service<Progress, {
  readonly start: (info: StartInfo) => Effect.Effect<void>
  readonly step: (info: StepInfo) => Effect.Effect<void>
  readonly epoch: (metrics: EpochMetrics) => Effect.Effect<void>
  readonly message: (text: string) => Effect.Effect<void>
}>()("@typegrad/train/Progress") {}

const pct = (x: number | undefined): string => (x === undefined ? "-" : `${(100 * x).toFixed(2)}%`)
const num = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(4))
const duration = (s: number): string => {
  if (!Number.isFinite(s)) return "?"
  const m = Math.floor(s / 60)
  const r = Math.round(s % 60)
  return m > 0 ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`
}

/**
 * The line printed at the end of an epoch.
 *
 * @example
 * ```ts
 * declare const metrics: Progress.EpochMetrics
 * Progress.formatEpoch(metrics, 3) // "epoch 1/3: loss 0.2925 acc 90.83% | val loss ..."
 * ```
 */
export const formatEpoch = (m: EpochMetrics, epochs: number): string =>
  `epoch ${m.epoch}/${epochs}: loss ${num(m.loss)} acc ${pct(m.accuracy)} | val loss ${num(m.validationLoss)} val acc ${
    pct(m.validationAccuracy)
  }${named(m.metrics, "")}${named(m.validationMetrics, "val ")} | ${m.samplesPerSecond.toFixed(0)} samples/s, ${
    duration(m.seconds)
  }`

/**
 * The line printed when training starts: the epochs to run, the steps per epoch and the batch size, with
 * the size of a last partial batch when the epoch's samples are not a multiple of it.
 *
 * @example
 * ```ts
 * Progress.formatStart({ epochs: 1, firstEpoch: 1, stepsPerEpoch: 16, samplesPerEpoch: 1000, batchSize: 64 })
 * // "training 1 epoch(s) from epoch 1: 16 steps of 64 samples (the last of 40)"
 * ```
 */
export const formatStart = (info: StartInfo): string => {
  const head = `training ${info.epochs - info.firstEpoch + 1} epoch(s) from epoch ${info.firstEpoch}: `
  const b = info.batchSize
  if (b === undefined) return `${head}${info.stepsPerEpoch} steps, ${info.samplesPerEpoch} samples`
  if (info.stepsPerEpoch === 1) return `${head}1 step of ${info.samplesPerEpoch} samples`
  const last = info.samplesPerEpoch % b
  return `${head}${info.stepsPerEpoch} steps of ${b} samples${last === 0 ? "" : ` (the last of ${last})`}`
}

/** The user's metrics as ` | name value ...` (nothing without metrics). */
const named = (metrics: Readonly<Record<string, number>> | undefined, prefix: string): string => {
  const entries = Object.entries(metrics ?? {})
  return entries.length === 0 ? "" : ` | ${entries.map(([k, v]) => `${prefix}${k} ${num(v)}`).join(" ")}`
}

const makeWriter = (write: (s: string) => void, live: boolean, everySteps: number) => {
  let epochs = 0
  let lastDraw = 0
  return Progress.of({
    start: (info) =>
      Effect.sync(() => {
        epochs = info.epochs
        write(`${formatStart(info)}\n`)
      }),
    step: (s) =>
      Effect.sync(() => {
        if (live) {
          const now = Date.now()
          if (now - lastDraw < 100 && s.step < s.stepsPerEpoch) return
          lastDraw = now
          const width = 24
          const filled = Math.round((width * s.step) / Math.max(1, s.stepsPerEpoch))
          const bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(width - filled)
          write(
            `\r\x1b[2Kepoch ${s.epoch}/${s.epochs} [${bar}] ${s.step}/${s.stepsPerEpoch} loss ${num(s.loss)} acc ${
              pct(s.accuracy)
            } ${s.samplesPerSecond.toFixed(0)} samples/s ETA ${duration(s.etaSeconds)}`
          )
        } else if (s.step % everySteps === 0 || s.step === s.stepsPerEpoch) {
          write(
            `epoch ${s.epoch}/${s.epochs} step ${s.step}/${s.stepsPerEpoch} loss ${num(s.loss)} acc ${
              pct(s.accuracy)
            } ${s.samplesPerSecond.toFixed(0)} samples/s ETA ${duration(s.etaSeconds)}\n`
          )
        }
      }),
    epoch: (m) => Effect.sync(() => write(`${live ? "\r\x1b[2K" : ""}${formatEpoch(m, epochs)}\n`)),
    message: (text) => Effect.sync(() => write(`${live ? "\r\x1b[2K" : ""}${text}\n`))
  })
}

const stdout = (s: string): void => {
  process.stdout.write(s)
}

/**
 * A live progress bar on the terminal.
 *
 * @example
 * ```ts
 * declare const config: Train.FitConfig<Model.ParamsOf<typeof Reference.mnistCnn>>
 * Effect.provide(Train.fit(config), Progress.terminal)
 * ```
 */
export const terminal: Layer.Layer<Progress> = Layer.sync(Progress, () => makeWriter(stdout, true, 1))

/**
 * Plain lines (every 100 steps and at the end of each epoch), for logs and CI.
 *
 * @example
 * ```ts
 * declare const config: Train.FitConfig<Model.ParamsOf<typeof Reference.mnistCnn>>
 * Effect.provide(Train.fit(config), Progress.lines)
 * ```
 */
export const lines: Layer.Layer<Progress> = Layer.sync(Progress, () => makeWriter(stdout, false, 100))

/**
 * Reports nothing (tests).
 *
 * @example
 * ```ts
 * declare const config: Train.FitConfig<Model.ParamsOf<typeof Reference.mnistCnn>>
 * Effect.provide(Train.fit(config), Progress.silent)
 * ```
 */
export const silent: Layer.Layer<Progress> = Layer.succeed(
  Progress,
  Progress.of({
    start: () => Effect.void,
    step: () => Effect.void,
    epoch: () => Effect.void,
    message: () => Effect.void
  })
)

/**
 * The bar when stdout is a terminal, plain lines otherwise.
 *
 * @example
 * ```ts
 * declare const program: Effect.Effect<void, never, Progress.Progress>
 * Effect.provide(program, Progress.auto)
 * ```
 */
export const auto: Layer.Layer<Progress> = Layer.suspend(() => (process.stdout.isTTY ? terminal : lines))

/**
 * Collects every report in memory (for tests of the loop itself).
 *
 * @example
 * ```ts
 * declare const config: Train.FitConfig<Model.ParamsOf<typeof Reference.mnistCnn>>
 * const events: Array<string> = []
 * Effect.provide(Train.fit(config), Progress.collect(events))
 * ```
 */
export const collect = (events: Array<string>): Layer.Layer<Progress> =>
  Layer.succeed(
    Progress,
    Progress.of({
      start: (i) => Effect.sync(() => void events.push(`start ${i.firstEpoch}/${i.epochs}`)),
      step: (s) => Effect.sync(() => void events.push(`step ${s.epoch}:${s.step}`)),
      epoch: (m) => Effect.sync(() => void events.push(`epoch ${m.epoch}`)),
      message: (t) => Effect.sync(() => void events.push(t))
    })
  )
