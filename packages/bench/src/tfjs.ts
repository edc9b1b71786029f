/** Loading TensorFlow.js with its `cpu` and `wasm` backends in Node. */
import * as tf from "@tensorflow/tfjs-core"
import { createRequire, register } from "node:module"
import * as path from "node:path"
import "@tensorflow/tfjs-backend-cpu"
import * as tfWasm from "@tensorflow/tfjs-backend-wasm"

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
