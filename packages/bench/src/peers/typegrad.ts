/**
 * typegrad itself, the column the ratios are about.
 *
 * - `typegrad`: the public API, as a user calls it. GEMM and convolution through `Tensor.matmul` /
 *   `Tensor.conv2d` (validation and output allocation included, like the peers' ops); the training step
 *   exactly as `Train.fit` runs it (the `@typegrad/nn` model with fused conv+bias+relu and real dropout,
 *   `valueAndGradAux` of softmax cross-entropy on the logits, `Tensor.item` of the loss, `Metric.correct`,
 *   `Optimizer.adam`); inference as `model.apply` (no dropout). Runs are apart by a turn of the event loop
 *   (untimed), as `Train.fit`'s steps are, so the engine returns dead tensor buffers for reuse.
 * - `typegrad-kernel`: GEMM and convolution only, the WebAssembly SIMD kernels called directly (the portable
 *   JS kernels where WASM SIMD is missing): what the op costs without its wrapper.
 */
import { valueAndGradAux } from "@typegrad/autodiff"
import { Layer, Loss, Metric, Model, Reference, Seed } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { type Pytree, Tensor } from "@typegrad/tensor"
import {
  availableCores,
  type Conv2dGeometry,
  jsKernels,
  type Kernels,
  setThreads,
  wasmKernels,
  wasmSimdSupported
} from "@typegrad/tensor/internal"
import { Effect, Random } from "effect"
import { type Run, type Runner, type Setting, type StartedPeer, thunkRunner } from "../measure.ts"
import { ADAM, cnnParams, convOut, oneHotLabels, random, type Workload } from "../workloads.ts"

/** The Keras MNIST CNN of `workloads.ts` (`CNN_MODELS.keras`), written with `@typegrad/nn`. */
export const kerasMnistCnn = Model.input([28, 28, 1])
  .add(Layer.conv2d({ filters: 32, kernelSize: 3, activation: "relu" }))
  .add(Layer.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }))
  .add(Layer.maxPool2d({ poolSize: 2 }))
  .add(Layer.dropout(0.25))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 128, activation: "relu" }))
  .add(Layer.dropout(0.5))
  .add(Layer.dense({ units: 10, activation: "softmax" }))

/** The typegrad models of `CNN_MODELS`; `startTypegrad` checks that their parameter counts agree. */
const models = { keras: kerasMnistCnn, reference: Reference.mnistCnn } as const

/**
 * One training step of `model` on a fixed batch, as `Train.fit` runs it (see the module comment): the
 * parameters and the optimizer state live in the closure; the step returns the loss.
 */
export function trainStep<In extends Tensor.Shape, Out extends Tensor.Shape, P extends ReadonlyArray<Pytree.Pytree>>(
  model: Model.Model<In, Out, P>,
  x: Tensor.Tensor<In>,
  y: Tensor.Tensor<Out>
): () => number {
  let params: P = Effect.runSync(model.init.pipe(Random.withSeed(1)))
  const adam = Optimizer.adam({ learningRate: ADAM.learningRate })
  let state = adam.init(params)
  let globalStep = 0
  // The model is a classifier ([batch, 10] out): the loss and metric see its logits as such.
  type Logits = Tensor.Tensor<readonly [number, number]>
  const lossAndOutput = (p: P, seed: number) => {
    const z = model.logits(p, x, { training: true, seed }) as Tensor.AnyTensor as Logits
    return [Loss.softmaxCrossEntropy(z, y as Tensor.AnyTensor as Logits), z] as const
  }
  const step = valueAndGradAux(lossAndOutput)
  return () => {
    globalStep++
    const [loss, output, grads] = step(params, Seed.derive(1, globalStep))
    const value = Tensor.item(loss)
    const [nextParams, next] = adam.step(grads, state, params)
    Metric.correct(output, y as Tensor.AnyTensor as Logits)
    params = nextParams
    state = next
    return value
  }
}

function ops(w: Workload): Run {
  switch (w.kind) {
    case "gemm": {
      const a = Tensor.fromArray(random(w.n * w.n, 1), [w.n, w.n])
      const b = Tensor.fromArray(random(w.n * w.n, 2), [w.n, w.n])
      return () => void Tensor.matmul(a, b)
    }
    case "conv": {
      const x = Tensor.fromArray(random(w.batch * w.h * w.w * w.c, 3), [w.batch, w.h, w.w, w.c])
      const k = Tensor.fromArray(random(w.k * w.k * w.c * w.f, 4), [w.k, w.k, w.c, w.f])
      return () => void Tensor.conv2d(x, k, { padding: w.padding })
    }
    case "train": {
      const x = Tensor.fromArray(random(w.batch * 784, 11), [w.batch, 28, 28, 1])
      const y = Tensor.fromArray(oneHotLabels(w.batch), [w.batch, 10])
      return w.model === "keras" ? trainStep(models.keras, x, y) : trainStep(models.reference, x, y)
    }
    case "infer": {
      const x = Tensor.fromArray(random(w.batch * 784, 11), [w.batch, 28, 28, 1])
      if (w.model === "keras") {
        const params = Effect.runSync(models.keras.init.pipe(Random.withSeed(1)))
        return () => void models.keras.apply(params, x)
      }
      const params = Effect.runSync(models.reference.init.pipe(Random.withSeed(1)))
      return () => void models.reference.apply(params, x)
    }
  }
}

function kernel(kernels: Kernels, w: Workload): (() => void) | undefined {
  if (w.kind === "gemm") {
    const { n } = w
    const a = random(n * n, 1), b = random(n * n, 2), c = new Float32Array(n * n)
    return () =>
      kernels.gemm({
        transA: false,
        transB: false,
        m: n,
        n,
        k: n,
        a,
        aOffset: 0,
        lda: n,
        b,
        bOffset: 0,
        ldb: n,
        c,
        cOffset: 0,
        ldc: n,
        accumulate: false
      })
  }
  if (w.kind === "conv") {
    const { outH, outW } = convOut(w)
    const pad = w.padding === "same" ? Math.floor((w.k - 1) / 2) : 0
    const g: Conv2dGeometry = {
      n: w.batch,
      h: w.h,
      w: w.w,
      c: w.c,
      kh: w.k,
      kw: w.k,
      f: w.f,
      outH,
      outW,
      strideH: 1,
      strideW: 1,
      dilationH: 1,
      dilationW: 1,
      padTop: pad,
      padLeft: pad
    }
    const x = random(w.batch * w.h * w.w * w.c, 3)
    const k = random(w.k * w.k * w.c * w.f, 4)
    const y = new Float32Array(w.batch * outH * outW * w.f)
    return () => kernels.conv2d(x, k, y, g)
  }
  return undefined
}

export function startTypegrad(): StartedPeer {
  for (const name of ["keras", "reference"] as const) {
    const expected = cnnParams(name).reduce((n, [, , data]) => n + data.length, 0)
    const actual = Model.parameterCount(models[name])
    if (actual !== expected) {
      throw new Error(`bench: typegrad's ${name} CNN has ${actual} parameters, CNN_MODELS.${name} ${expected}`)
    }
  }
  const simd = wasmSimdSupported()
  const kernels = simd ? wasmKernels : jsKernels
  const cores = availableCores()
  /** Runs `run` with the kernels on `threads` threads (every setting takes turns, so each sets its own). */
  const onThreads = (threads: number, run: Run): Run => () => {
    setThreads(threads)
    return run()
  }
  const settings: ReadonlyArray<Setting> = [
    {
      name: "typegrad",
      peer: "typegrad",
      detail: `public API (Tensor ops; Train.fit's step: nn model, valueAndGradAux, Adam), ${cores} thread(s)`,
      prepare: async (w): Promise<Runner> => thunkRunner(onThreads(cores, ops(w)), undefined, undefined, true)
    },
    {
      name: "typegrad-1t",
      peer: "typegrad",
      detail: "the same, on one thread",
      prepare: async (w): Promise<Runner> => thunkRunner(onThreads(1, ops(w)), undefined, undefined, true)
    },
    {
      name: "typegrad-kernel",
      peer: "typegrad",
      detail: `${
        simd ? "WASM SIMD" : "portable JS (no WASM SIMD here)"
      } GEMM / conv kernels called directly, ${cores} thread(s)`,
      prepare: async (w) => {
        const run = kernel(kernels, w)
        return run === undefined ? undefined : thunkRunner(onThreads(cores, run))
      }
    }
  ]
  return { settings, close: async () => {} }
}
