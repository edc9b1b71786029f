/**
 * The page: a drawing pad whose digit the reference CNN reads live, a file picker for the
 * `model.safetensors` that `typegrad train mnist` writes, and training in a Web Worker (`worker.ts`).
 * Everything typegrad comes from the packages' published builds (see `vite.config.ts`).
 */
import { type Model, Reference } from "@typegrad/nn"
import { Backend, Tensor } from "@typegrad/tensor"
import * as ParamsCore from "@typegrad/train/ParamsCore"
import { Cause, Effect, Exit, Random } from "effect"
import * as Plot from "./plot.ts"
import { fromRgba, toMnist } from "./preprocess.ts"
import type { FromWorker, ToWorker } from "./protocol.ts"

const cnn = Reference.mnistCnn
type Params = Model.ParamsOf<typeof cnn>

const byId = <E extends HTMLElement>(id: string): E => {
  const e = document.getElementById(id)
  if (e === null) throw new Error(`#${id} is missing`)
  return e as E
}

const pad = byId<HTMLCanvasElement>("pad")
const preview = byId<HTMLCanvasElement>("preview")
const bars = byId<HTMLDivElement>("bars")
const prediction = byId<HTMLOutputElement>("prediction")
const modelStatus = byId<HTMLSpanElement>("model-status")
const status = byId<HTMLParagraphElement>("status")
const fileInput = byId<HTMLInputElement>("weights-file")
const trainButton = byId<HTMLButtonElement>("train")
const stopButton = byId<HTMLButtonElement>("stop")
const downloadButton = byId<HTMLButtonElement>("download")
const progressBar = byId<HTMLProgressElement>("progress")
const progressText = byId<HTMLSpanElement>("progress-text")
const plot = byId<HTMLCanvasElement>("plot")
const epochsInput = byId<HTMLInputElement>("epochs")
const batchInput = byId<HTMLInputElement>("batch-size")

// ---- the model's weights: random until a file is loaded or the worker has trained ------------------------

let params: Params = Effect.runSync(cnn.init.pipe(Random.withSeed(0)))
let weightsName = "untrained"

const setWeights = (next: Params, description: string, name: string) => {
  params = next
  weightsName = name
  modelStatus.textContent = description
  modelStatus.dataset["weights"] = name
  downloadButton.disabled = false
  predict()
}

// ---- the status line -----------------------------------------------------------------------------------

const isolated = globalThis.crossOriginIsolated === true
let workerLine = "worker: starting"
const showStatus = () => {
  status.textContent = `cross-origin isolated: ${
    isolated ? "yes (SharedArrayBuffer available, threads possible)" : "no (runs on one thread)"
  } · backend: ${Backend.current()} · ${workerLine}`
  status.dataset["isolated"] = String(isolated)
  status.dataset["backend"] = Backend.current()
}
showStatus()

// ---- the drawing pad -----------------------------------------------------------------------------------

const ink = pad.getContext("2d", { willReadFrequently: true })!
const clearPad = () => {
  ink.fillStyle = "#000"
  ink.fillRect(0, 0, pad.width, pad.height)
}
clearPad()

/** Canvas coordinates of a pointer event (the canvas may be scaled by CSS). */
const at = (e: PointerEvent): readonly [number, number] => {
  const r = pad.getBoundingClientRect()
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height]
}

let last: readonly [number, number] | undefined
let scheduled = false
/** Predicts at the next frame (at most once a frame while drawing). */
const schedulePredict = () => {
  if (scheduled) return
  scheduled = true
  requestAnimationFrame(() => {
    scheduled = false
    predict()
  })
}

pad.addEventListener("pointerdown", (e) => {
  pad.setPointerCapture(e.pointerId)
  last = at(e)
  ink.fillStyle = "#fff"
  ink.beginPath()
  ink.arc(last[0], last[1], 9, 0, 2 * Math.PI)
  ink.fill()
  schedulePredict()
})
pad.addEventListener("pointermove", (e) => {
  if (last === undefined) return
  const next = at(e)
  ink.strokeStyle = "#fff"
  ink.lineWidth = 18
  ink.lineCap = "round"
  ink.lineJoin = "round"
  ink.beginPath()
  ink.moveTo(last[0], last[1])
  ink.lineTo(next[0], next[1])
  ink.stroke()
  last = next
  schedulePredict()
})
const endStroke = () => {
  if (last === undefined) return
  last = undefined
  predict()
}
pad.addEventListener("pointerup", endStroke)
pad.addEventListener("pointercancel", endStroke)
// Whatever paints the pad otherwise (a script, a test) announces it with this event.
pad.addEventListener("pad-changed", () => predict())

byId<HTMLButtonElement>("clear").addEventListener("click", () => {
  clearPad()
  predict()
})

// ---- prediction ----------------------------------------------------------------------------------------

const barElements = Array.from({ length: 10 }, (_, digit) => {
  const column = document.createElement("div")
  column.className = "bar"
  column.innerHTML = `<div class="fill"></div><span class="label">${digit}</span>`
  bars.append(column)
  return column
})

const showProbabilities = (probabilities: ReadonlyArray<number> | undefined) => {
  const best = probabilities === undefined ? -1 : probabilities.indexOf(Math.max(...probabilities))
  barElements.forEach((column, digit) => {
    const p = probabilities?.[digit] ?? 0
    column.dataset["p"] = p.toFixed(4)
    column.classList.toggle("best", digit === best)
    ;(column.firstElementChild as HTMLElement).style.height = `${(100 * p).toFixed(1)}%`
    column.title = `${digit}: ${(100 * p).toFixed(1)}%`
  })
  prediction.textContent = best < 0 ? "draw a digit" : `${best} (${(100 * probabilities![best]!).toFixed(1)}%)`
  prediction.dataset["digit"] = best < 0 ? "" : String(best)
}

const showPreview = (image: Float32Array | undefined) => {
  const ctx = preview.getContext("2d")!
  const data = ctx.createImageData(28, 28)
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * (image?.[i] ?? 0))
    data.data.set([v, v, v, 255], 4 * i)
  }
  ctx.putImageData(data, 0, 0)
}

function predict() {
  const image = toMnist(fromRgba(ink.getImageData(0, 0, pad.width, pad.height).data, pad.width, pad.height))
  showPreview(image)
  if (image === undefined) return showProbabilities(undefined)
  const probabilities = Tensor.toArray(cnn.apply(params, Tensor.fromArray(image, [1, 28, 28, 1])))
  showProbabilities(Array.from(probabilities))
}
showProbabilities(undefined)
modelStatus.textContent = "untrained (random weights): load a model.safetensors or train in this browser"
modelStatus.dataset["weights"] = weightsName

// ---- loading and saving weights ------------------------------------------------------------------------

fileInput.addEventListener("change", async () => {
  const file = fileInput.files?.[0]
  if (file === undefined) return
  const bytes = new Uint8Array(await file.arrayBuffer())
  const exit = await Effect.runPromiseExit(ParamsCore.fromBytes(bytes, cnn))
  if (Exit.isSuccess(exit)) setWeights(exit.value, `loaded from ${file.name}`, file.name)
  else {
    const error = Cause.squash(exit.cause)
    modelStatus.textContent = `could not load ${file.name}: ${error instanceof Error ? error.message : String(error)}`
    modelStatus.dataset["error"] = "true"
  }
  fileInput.value = ""
})

downloadButton.addEventListener("click", async () => {
  const bytes = await Effect.runPromise(ParamsCore.toBytes(cnn, params, { metadata: { source: weightsName } }))
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }))
  const link = document.createElement("a")
  link.href = url
  link.download = "model.safetensors"
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
})

// ---- training in the worker ----------------------------------------------------------------------------

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" })
// oxlint-disable-next-line unicorn/require-post-message-target-origin -- a Worker's postMessage has no target origin
const send = (message: ToWorker) => worker.postMessage(message)

let curves: {
  steps: Array<readonly [number, number, number | undefined]>
  validation: Array<readonly [number, number]>
  totalSteps: number
} = {
  steps: [],
  validation: [],
  totalSteps: 1
}
let stepsPerEpoch = 1

const setTraining = (on: boolean) => {
  trainButton.disabled = on
  stopButton.disabled = !on
  document.body.dataset["training"] = String(on)
}

worker.addEventListener("message", async (event: MessageEvent<FromWorker>) => {
  const m = event.data
  switch (m.type) {
    case "ready":
      workerLine = `worker: ${m.backend}, ${m.threadsReason}`
      status.dataset["workerThreads"] = String(m.threads)
      showStatus()
      trainButton.disabled = false
      return
    case "message":
      progressText.textContent = m.text
      return
    case "start":
      stepsPerEpoch = m.info.stepsPerEpoch
      curves = { steps: [], validation: [], totalSteps: m.info.epochs * m.info.stepsPerEpoch }
      progressBar.max = curves.totalSteps
      progressBar.value = 0
      progressText.dataset["step"] = "0"
      return
    case "step": {
      const done = (m.info.epoch - 1) * stepsPerEpoch + m.info.step
      curves.steps.push([done, m.info.loss, m.info.accuracy])
      progressBar.value = done
      progressText.textContent =
        `epoch ${m.info.epoch}/${m.info.epochs}, step ${m.info.step}/${m.info.stepsPerEpoch}: ` +
        `loss ${m.info.loss.toFixed(3)}, accuracy ${(100 * (m.info.accuracy ?? 0)).toFixed(1)}%, ` +
        `${Math.round(m.info.samplesPerSecond)} images/s`
      progressText.dataset["step"] = String(done)
      progressText.dataset["loss"] = String(m.info.loss)
      Plot.draw(plot, curves)
      return
    }
    case "epoch":
      if (m.metrics.validationAccuracy !== undefined) {
        curves.validation.push([m.metrics.epoch * stepsPerEpoch, m.metrics.validationAccuracy])
        Plot.draw(plot, curves)
      }
      return
    case "done": {
      setTraining(false)
      if (m.weights === undefined) {
        progressText.textContent = "stopped before the first epoch ended: the weights are unchanged"
        return
      }
      const exit = await Effect.runPromiseExit(ParamsCore.fromBytes(m.weights, cnn))
      if (Exit.isFailure(exit)) {
        progressText.textContent = `the trained weights did not load: ${Cause.pretty(exit.cause)}`
        return
      }
      const accuracy = m.validationAccuracy === undefined
        ? ""
        : `, validation accuracy ${(100 * m.validationAccuracy).toFixed(1)}%`
      const how = `${m.stopped ? "stopped; " : ""}trained in this browser: ${m.epochs} epoch(s)${accuracy}`
      setWeights(exit.value, how, "trained-in-browser")
      progressText.textContent = `done: ${how}; the pad now uses these weights`
      progressText.dataset["done"] = "true"
      return
    }
    case "error":
      setTraining(false)
      progressText.textContent = `training failed: ${m.message}`
      progressText.dataset["error"] = m.message
      return
  }
})
worker.addEventListener("error", (e) => {
  progressText.textContent = `the worker failed: ${e.message}`
  progressText.dataset["error"] = e.message
})

trainButton.addEventListener("click", () => {
  setTraining(true)
  delete progressText.dataset["done"]
  progressText.dataset["step"] = "0"
  send({
    type: "train",
    dataUrl: new URL("data/", document.baseURI).href,
    epochs: Math.max(1, Number(epochsInput.value) || 1),
    batchSize: Math.max(1, Number(batchInput.value) || 32),
    learningRate: 1e-3,
    seed: 1
  })
})
stopButton.addEventListener("click", () => send({ type: "stop" }))
