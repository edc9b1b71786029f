/**
 * TensorFlow.js 4.22 peer, with its `cpu` (pure JS) and `wasm` (XNNPACK) backends: settings `tfjs-cpu` and
 * `tfjs-wasm`. Layout NHWC / HWIO like typegrad. The CNN is written with tfjs-core ops (`tf.conv2d`,
 * `tf.dropout`, `tf.losses.softmaxCrossEntropy`) and trained with `tf.train.adam` through
 * `optimizer.minimize`, the loss read back each step.
 */
import type { Scalar, Tensor, Tensor4D } from "@tensorflow/tfjs-core"
import * as tf from "@tensorflow/tfjs-core"
import { createRequire, register } from "node:module"
import * as path from "node:path"
import "@tensorflow/tfjs-backend-cpu"
import * as tfWasm from "@tensorflow/tfjs-backend-wasm"
import { type PeerStart, type Runner, type Setting, thunkRunner } from "../measure.ts"
import { ADAM, cnnParams, oneHotLabels, planCnn, random, type Workload } from "../workloads.ts"

export type TfApi = typeof tf

export interface TfBackendInfo {
  readonly name: string
  readonly detail: string
}

/** Activate a tfjs backend ("cpu" or "wasm"); returns a description (e.g. the wasm thread count). */
export async function useTfBackend(name: "cpu" | "wasm"): Promise<TfBackendInfo> {
  if (name === "wasm") {
    const require = createRequire(import.meta.url)
    const dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"))
    tfWasm.setWasmPaths(dist + path.sep)
  }
  const ok = await tf.setBackend(name)
  if (!ok) throw new Error(`tfjs backend ${name} failed to initialise`)
  await tf.ready()
  const detail = name === "wasm" ? `threads: ${tfWasm.getThreadsCount()}` : "pure JS"
  return { name: `tfjs-${name}`, detail }
}

export { tf }

/**
 * Registers tfjs's gradient functions (needed by tf.grads / tf.variableGrads). They ship only in the ESM
 * build, whose relative imports have no file extension, which Node's ESM loader refuses; a resolve hook
 * scoped to tfjs-core's dist folder adds the extension.
 */
let gradientsRegistered: Promise<void> | undefined
export function registerTfGradients(): Promise<void> {
  gradientsRegistered ??= (async () => {
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier.startsWith(".") && !specifier.endsWith(".js") && context.parentURL && context.parentURL.includes("/@tensorflow/tfjs-core/dist/")) {
        try { return await next(specifier + ".js", context) } catch { return next(specifier + "/index.js", context) }
      }
      return next(specifier, context)
    }`
    register("data:text/javascript," + encodeURIComponent(hook), import.meta.url)
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js")
  })()
  return gradientsRegistered
}

/** The backend a runner was built on is made active again before each of its samples. */
async function activate(backend: "cpu" | "wasm"): Promise<void> {
  if (tf.getBackend() !== backend) await useTfBackend(backend)
}

function build(backend: "cpu" | "wasm", w: Workload): Runner {
  const before = () => activate(backend)
  const keep: Array<Tensor> = []
  const hold = <T extends Tensor>(t: T): T => {
    keep.push(t)
    return t
  }
  const dispose = () => tf.dispose(keep)
  switch (w.kind) {
    case "gemm": {
      const a = hold(tf.tensor2d(random(w.n * w.n, 1), [w.n, w.n]))
      const b = hold(tf.tensor2d(random(w.n * w.n, 2), [w.n, w.n]))
      return thunkRunner(
        () => {
          const c = tf.matMul(a, b)
          c.dataSync()
          c.dispose()
        },
        dispose,
        before
      )
    }
    case "conv": {
      const x = hold(tf.tensor4d(random(w.batch * w.h * w.w * w.c, 3), [w.batch, w.h, w.w, w.c]))
      const k = hold(tf.tensor4d(random(w.k * w.k * w.c * w.f, 4), [w.k, w.k, w.c, w.f]))
      return thunkRunner(
        () => {
          const y = tf.conv2d(x, k, 1, w.padding)
          y.dataSync()
          y.dispose()
        },
        dispose,
        before
      )
    }
    case "train":
    case "infer": {
      const x = hold(tf.tensor4d(random(w.batch * 784, 11), [w.batch, 28, 28, 1]))
      const y = hold(tf.tensor2d(oneHotLabels(w.batch), [w.batch, 10]))
      // The cpu and wasm runners of one workload exist side by side: minimize is given its variables.
      const p = new Map(
        cnnParams(w.model).map(([name, shape, data]) => [name, hold(tf.variable(tf.tensor(data, [...shape])))])
      )
      const vars = [...p.values()]
      const plan = planCnn(w.model)
      const logits = (training: boolean): Tensor => {
        let h: Tensor = x
        plan.forEach(({ layer }, i) => {
          const param = (kind: "w" | "b"): Tensor => p.get(`${kind}${i}`)!
          switch (layer.kind) {
            case "conv":
              h = tf.relu(tf.add(tf.conv2d(h as Tensor4D, param("w") as Tensor4D, 1, layer.padding), param("b")))
              break
            case "pool":
              h = tf.maxPool(h as Tensor4D, 2, 2, "valid")
              break
            case "dropout":
              if (training) h = tf.dropout(h, layer.rate)
              break
            case "flatten":
              h = tf.reshape(h, [w.batch, -1])
              break
            case "dense":
              h = tf.add(tf.matMul(h, param("w")), param("b"))
              if (layer.relu) h = tf.relu(h)
          }
        })
        return h
      }
      if (w.kind === "infer") {
        return thunkRunner(
          () => {
            const out = tf.tidy(() => tf.softmax(logits(false)))
            out.dataSync()
            out.dispose()
          },
          dispose,
          before
        )
      }
      const adam = tf.train.adam(ADAM.learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon)
      return thunkRunner(() => {
        const loss = adam.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(true)) as Scalar, true, vars)!
        const value = loss.dataSync()[0]
        loss.dispose()
        return value
      }, () => {
        dispose()
        adam.dispose()
      }, before)
    }
  }
}

export async function startTfjs(): Promise<PeerStart> {
  await registerTfGradients()
  const settings: Array<Setting> = []
  const failed: Array<string> = []
  for (const backend of ["cpu", "wasm"] as const) {
    try {
      const info = await useTfBackend(backend)
      settings.push({
        name: info.name,
        peer: "tfjs",
        detail: `TensorFlow.js ${tf.version_core}, ${info.detail}`,
        prepare: async (w) => {
          await activate(backend)
          return build(backend, w)
        }
      })
    } catch (e) {
      failed.push(`${backend}: ${String(e)}`)
    }
  }
  if (settings.length === 0) return { skipped: `no backend initialised (${failed.join("; ")})` }
  return { settings, close: async () => {} }
}
