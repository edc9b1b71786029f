/** Loading TensorFlow.js with its `cpu` and `wasm` backends in Node. */
import { createRequire } from "node:module"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
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
