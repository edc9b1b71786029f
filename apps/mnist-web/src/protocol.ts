/** The messages between the page and its training worker. */
import type { EpochMetrics, StartInfo, StepInfo } from "@typegrad/train/Progress"

/** Page to worker. */
export type ToWorker =
  | {
    readonly type: "train"
    /** Where the MNIST slice lies (`.../data/`), absolute. */
    readonly dataUrl: string
    readonly epochs: number
    readonly batchSize: number
    readonly learningRate: number
    readonly seed: number
  }
  | { readonly type: "stop" }

/** Worker to page. */
export type FromWorker =
  | {
    readonly type: "ready"
    readonly backend: string
    /** Threads the worker's kernels run on, and why (`Backend.status()`). */
    readonly threads: number
    readonly threadsReason: string
    readonly crossOriginIsolated: boolean
  }
  | { readonly type: "message"; readonly text: string }
  | { readonly type: "start"; readonly info: StartInfo }
  | { readonly type: "step"; readonly info: StepInfo }
  | { readonly type: "epoch"; readonly metrics: EpochMetrics }
  | {
    readonly type: "done"
    /** The weights (safetensors bytes, `ParamsCore.toBytes`) of the last finished epoch; none if none finished. */
    readonly weights: Uint8Array | undefined
    readonly stopped: boolean
    readonly epochs: number
    readonly validationAccuracy: number | undefined
  }
  | { readonly type: "error"; readonly message: string }
