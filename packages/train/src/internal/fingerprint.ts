/**
 * What a checkpoint records of the things that decide a run's remaining steps, besides the model (whose
 * tensors the checkpoint holds) and the batch size and seed: a fingerprint of the training data and a probe
 * of the optimizer's settings. A resume compares them with its own and names each difference.
 *
 * @internal
 */
import type { Dataset } from "@typegrad/data"
import type { Optimizer } from "@typegrad/optim"
import { Pytree, Tensor } from "@typegrad/tensor"
import { unsafeData } from "@typegrad/tensor/internal"
import * as Examples from "../Examples.ts"

/**
 * The training data as a checkpoint records it: the count, the shapes and dtype, and a hash of the contents
 * (every target or label, and 64 examples' inputs spread over the data, in order), so that other examples,
 * another limit, another split or another order are told apart without reading every input.
 */
export interface DataFingerprint {
  readonly count: number
  readonly dtype: string
  /** The shape of one input. */
  readonly inputs: ReadonlyArray<number>
  /** `"10 classes"` for a classification dataset, the targets' shapes (one example's) for `Examples`. */
  readonly targets: string
  /** FNV-1a (32 bits, hex) of the bytes of the targets and of the sampled inputs. */
  readonly contents: string
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const SAMPLED_ROWS = 64

const fnv = (hash: number, bytes: Uint8Array): number => {
  let h = hash
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!
    h = Math.imul(h, FNV_PRIME)
  }
  return h
}

const bytesOf = (t: Tensor.AnyTensor, from = 0, to = t.size): Uint8Array => {
  const data = unsafeData(t)
  const per = data.BYTES_PER_ELEMENT
  return new Uint8Array(data.buffer, data.byteOffset + from * per, (to - from) * per)
}

/** The fingerprint of a classification `Dataset` or of `Examples`. */
export const dataFingerprint = (
  data: Dataset.Dataset<ReadonlyArray<number>, number, Tensor.DType> | Examples.Any
): DataFingerprint => {
  const inputs = Examples.isExamples(data) ? data.inputs : data.images
  const targets: ReadonlyArray<Tensor.AnyTensor> = Examples.isExamples(data)
    ? Pytree.leaves(data.targets as Pytree.Pytree)
    : [data.labels]
  const count = data.count
  let h = FNV_OFFSET
  for (const t of targets) h = fnv(h, bytesOf(t))
  const row = count === 0 ? 0 : inputs.size / count
  const rows = Math.min(count, SAMPLED_ROWS)
  for (let k = 0; k < rows; k++) {
    const r = Math.floor((k * count) / rows)
    h = fnv(h, bytesOf(inputs, r * row, (r + 1) * row))
  }
  return {
    count,
    dtype: inputs.dtype,
    inputs: inputs.shape.slice(1),
    targets: Examples.isExamples(data)
      ? targets.map((t) => `[${t.shape.slice(1).join(", ")}]`).join(", ")
      : `${data.numClasses} classes`,
    contents: (h >>> 0).toString(16).padStart(8, "0")
  }
}

/** The differences between the recorded fingerprint and this run's, as phrases (empty: the same data). */
export const dataDifferences = (recorded: DataFingerprint, current: DataFingerprint): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (recorded.count !== current.count) {
    out.push(`it holds ${recorded.count} training examples, this run has ${current.count}`)
  }
  const shape = (s: ReadonlyArray<number>) => `[${s.join(", ")}]`
  if (shape(recorded.inputs) !== shape(current.inputs)) {
    out.push(`its inputs are ${shape(recorded.inputs)}, this run's are ${shape(current.inputs)}`)
  }
  if (recorded.targets !== current.targets) {
    out.push(`its targets are ${recorded.targets}, this run's are ${current.targets}`)
  }
  if (recorded.dtype !== current.dtype) out.push(`its data is ${recorded.dtype}, this run's is ${current.dtype}`)
  if (out.length === 0 && recorded.contents !== current.contents) {
    out.push(
      `the same number of examples (${current.count}) with other contents (other examples, labels or order; ` +
        `hash ${recorded.contents}, now ${current.contents})`
    )
  }
  return out
}

/**
 * The updates the optimizer computes for step `step + 1` on a fixed probe (three float64 parameters, fixed
 * gradients and fixed slots): equal probes mean the same kind of update with the same learning rate at
 * that step and the same other settings (betas, momentum, epsilon...), as far as three numbers can tell.
 * `undefined` when the optimizer cannot run on the probe (a user's optimizer with other needs).
 */
export const optimizerProbe = (
  optimizer: Optimizer.Optimizer,
  step: number
): ReadonlyArray<number | null> | undefined => {
  try {
    const params = Tensor.fromArray([1, -2, 0.5], [3], { dtype: "float64" })
    const grads = Tensor.fromArray([0.3, -1.2, 2.5], [3], { dtype: "float64" })
    const slots = optimizer.init(params).slots.map((slot, k) =>
      Pytree.map(slot, (t) =>
        Tensor.fromArray(Array.from({ length: t.size }, (_, i) => 0.5 + k + 0.25 * i), t.shape, {
          dtype: "float64"
        }))
    )
    const [updates] = optimizer.update(grads, { step, slots }, params)
    return Array.from(Tensor.toArray(updates), (v) => (Number.isFinite(v) ? v : null))
  } catch {
    return undefined
  }
}
