/**
 * The training worker: trains the reference CNN (`Reference.mnistCnn`, the network of `pnpm mnist`) on the
 * MNIST slice with `TrainCore.fit` (the loop `Train.fit` and the CLI run, without the file system), Adam as
 * in the CLI's job, and reports every step through a `Progress` service that posts messages to the page.
 * "stop" interrupts the fit (it stops after the current step); the weights of the last finished epoch go
 * back to the page as safetensors bytes (`ParamsCore.toBytes`).
 */
import * as Dataset from "@typegrad/data/Dataset"
import { type Model, Reference } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Backend, Tensor } from "@typegrad/tensor"
import * as ParamsCore from "@typegrad/train/ParamsCore"
import { Progress } from "@typegrad/train/Progress"
import * as TrainCore from "@typegrad/train/TrainCore"
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import { loadSplit } from "./mnist.ts"
import type { FromWorker, ToWorker } from "./protocol.ts"

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: ReadonlyArray<Transferable>): void
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void
}
const scope = globalThis as unknown as WorkerScope
const post = (message: FromWorker, transfer: ReadonlyArray<Transferable> = []) => scope.postMessage(message, transfer)

const cnn = Reference.mnistCnn

/** Progress as messages to the page. */
const progress = Layer.succeed(
  Progress,
  Progress.of({
    start: (info) => Effect.sync(() => post({ type: "start", info })),
    step: (info) => Effect.sync(() => post({ type: "step", info })),
    epoch: (metrics) => Effect.sync(() => post({ type: "epoch", metrics })),
    message: (text) => Effect.sync(() => post({ type: "message", text }))
  })
)

/** A split of the slice as a `Dataset` of `[28, 28, 1]` images and 10 classes. */
const datasetOf = (split: { readonly count: number; readonly images: Float32Array; readonly labels: Uint8Array }) =>
  Dataset.make({
    images: Tensor.fromArray(split.images, [split.count, 28, 28, 1]),
    labels: split.labels,
    numClasses: 10
  })

let running: Fiber.Fiber<unknown, unknown> | undefined
/** A run is asked for and not finished (it may still be loading its data). */
let busy = false
/** Stop was pressed while the data was loading: the run ends before it starts. */
let stopRequested = false

const train = async (request: Extract<ToWorker, { type: "train" }>) => {
  post({ type: "message", text: "loading the MNIST slice..." })
  const [trainSplit, testSplit] = await Promise.all([
    loadSplit(request.dataUrl, "train"),
    loadSplit(request.dataUrl, "t10k")
  ])
  if (stopRequested) {
    post({ type: "done", weights: undefined, stopped: true, epochs: 0, validationAccuracy: undefined })
    return
  }
  post({ type: "message", text: `MNIST slice: ${trainSplit.count} training, ${testSplit.count} validation images` })
  let last:
    | { readonly params: Model.ParamsOf<typeof cnn>; readonly epochs: number; readonly accuracy: number | undefined }
    | undefined
  const fit = TrainCore.fit(cnn, datasetOf(trainSplit), {
    optimizer: Optimizer.adam({ learningRate: request.learningRate }),
    validation: datasetOf(testSplit),
    epochs: request.epochs,
    batchSize: request.batchSize,
    seed: request.seed,
    onEpoch: (metrics, context) =>
      Effect.sync(() => {
        last = { params: context.params, epochs: metrics.epoch, accuracy: metrics.validationAccuracy }
      })
  }).pipe(Effect.provide(progress))
  const fiber = Effect.runFork(fit)
  running = fiber
  const exit = await Effect.runPromise(Fiber.await(fiber))
  running = undefined
  const stopped = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
  if (Exit.isFailure(exit) && !stopped) {
    post({ type: "error", message: Cause.pretty(exit.cause) })
    return
  }
  const weights = last === undefined
    ? undefined
    : await Effect.runPromise(ParamsCore.toBytes(cnn, last.params))
  post(
    {
      type: "done",
      weights,
      stopped,
      epochs: last?.epochs ?? 0,
      validationAccuracy: last?.accuracy
    },
    weights === undefined ? [] : [weights.buffer]
  )
}

scope.addEventListener("message", (event) => {
  const request = event.data
  if (request.type === "stop") {
    if (running !== undefined) Effect.runFork(Fiber.interrupt(running))
    else if (busy) stopRequested = true
    return
  }
  if (busy) return
  busy = true
  stopRequested = false
  train(request)
    .catch((error: unknown) => post({ type: "error", message: String(error) }))
    .finally(() => (busy = false))
})

const backend = Backend.status()
post({
  type: "ready",
  backend: backend.name,
  threads: backend.threads,
  threadsReason: backend.threadsReason,
  crossOriginIsolated: globalThis.crossOriginIsolated === true
})
