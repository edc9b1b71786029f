// `typegrad train cifar10 --data DIR` end to end on small generated CIFAR-10 binary files (two classes of
// patterned noise, 250 training and 100 test records): exit 0, metrics.json, a checkpoint holding the
// batch-norm state (`state.*`), the plot; Ctrl-C and --resume; the errors of missing data; the seeded
// augmentation.
import { Cifar10 } from "@typegrad/cli"
import { Tensor } from "@typegrad/tensor"
import { Params, Safetensors } from "@typegrad/train"
import { Effect } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { describe, expect, it } from "vitest"
import { clean, tempDirs, typegrad } from "./helpers.ts"

const tempDir = tempDirs()

/** `n` records: label `r % 2`, channel `label` bright, the others dark, plus noise; channel-major. */
const records = (n: number, seed: number): Uint8Array => {
  let s = seed >>> 0
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
  const bytes = new Uint8Array(n * 3073)
  for (let r = 0; r < n; r++) {
    const label = r % 2
    bytes[r * 3073] = label
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) {
        bytes[r * 3073 + 1 + c * 1024 + p] = Math.floor((label === c ? 160 : 60) + 90 * next())
      }
    }
  }
  return bytes
}

/** A CIFAR-10 binary folder; `skip` names a file left out. */
const dataDir = (skip?: string): string => {
  const dir = tempDir()
  for (let i = 1; i <= 5; i++) {
    if (skip !== `data_batch_${i}.bin`) writeFileSync(join(dir, `data_batch_${i}.bin`), records(50, i))
  }
  if (skip !== "test_batch.bin") writeFileSync(join(dir, "test_batch.bin"), records(100, 9))
  return dir
}

const small = [
  "--train-limit",
  "200",
  "--validation",
  "40",
  "--batch-size",
  "40",
  "--progress",
  "none",
  "--threads",
  "1"
]

describe("typegrad train cifar10", () => {
  it("trains on the files in --data, writes metrics, a checkpoint with the batch-norm state, the plot", async () => {
    const data = dataDir()
    const out = join(tempDir(), "run")
    const r = await typegrad(["train", "cifar10", "--data", data, "--epochs", "1", "--out", out, ...small])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^test accuracy: \d+\.\d\d% \(written to /m)
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"))
    expect(metrics).toMatchObject({ job: "cifar10", trainImages: 160, validationImages: 40, testImages: 100 })
    expect(metrics.testAccuracy).toBeGreaterThanOrEqual(0)
    expect(metrics.epochs).toHaveLength(1)
    expect(existsSync(join(out, "training.svg"))).toBe(true)
    const { tensors } = await Effect.runPromise(Safetensors.read(join(out, "model.safetensors")))
    const state = [...tensors.keys()].filter((k) => k.startsWith("state."))
    // 15 batch norms, each a running mean and variance
    expect(state).toHaveLength(30)

    // export onnx knows the checkpoint's job: the ResNet with its batch-norm statistics
    const onnx = join(tempDir(), "resnet.onnx")
    const exported = await typegrad(["export", "onnx", "--checkpoint", out, "--out", onnx])
    expect(exported.stderr).toBe("")
    expect(exported.code).toBe(0)
    expect(exported.stdout).toContain(`input "input" [batch, 32, 32, 3] float32 (normalised per channel)`)
    const model = Cifar10.resNet
    const params = await Effect.runPromise(Params.load(out, model))
    const modelState = await Effect.runPromise(
      Params.load(out, { init: Effect.succeed(model.initState) }, { prefix: "state." })
    )
    const x = Float32Array.from({ length: 2 * 3072 }, (_, i) => Math.sin(i))
    const expected = Tensor.toArray(model.apply(params, Tensor.fromArray(x, [2, 32, 32, 3]), { state: modelState }))
    const session = await ort.InferenceSession.create(onnx)
    const got = (await session.run({ input: new ort.Tensor("float32", x, [2, 32, 32, 3]) }))["output"]!.data
    Array.from(got as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5))
  }, 120_000)

  it("Ctrl-C saves a mid-epoch checkpoint (with the batch-norm state) and exits 130; --resume finishes", async () => {
    const data = dataDir()
    const out = join(tempDir(), "run")
    const args = [
      "train",
      "cifar10",
      "--data",
      data,
      "--epochs",
      "1",
      ...small,
      "--batch-size",
      "20",
      "--progress",
      "lines"
    ]
    const first = await typegrad([...args, "--out", out], { sigintWhen: (o) => o.includes("training 1 epoch(s)") })
    expect(first.code).toBe(130)
    expect(first.stderr).toContain(`continue with --resume ${out}`)
    const { tensors, metadata } = await Effect.runPromise(Safetensors.read(join(out, "model.safetensors")))
    expect(metadata["epochsDone"]).toBe("0")
    const steps = Number(metadata["stepInEpoch"])
    expect(steps).toBeGreaterThan(0)
    expect(steps).toBeLessThan(8)
    expect([...tensors.keys()].filter((k) => k.startsWith("state."))).toHaveLength(30)
    const second = await typegrad([...args, "--resume", out])
    expect(second.stderr).toBe("")
    expect(second.code).toBe(0)
    expect(second.stdout).toContain(`resumed from ${out}: 0 epoch(s) and ${steps} step(s) done`)
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"))
    expect(metrics.epochs).toHaveLength(1)
  }, 120_000)

  it("a missing folder or file is an error naming it and the expected layout (exit 1)", async () => {
    const missing = join(tempDir(), "nowhere")
    const r = await typegrad(["train", "cifar10", "--data", missing, "--out", join(tempDir(), "a"), ...small])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `typegrad: dataset file ${missing}: no such directory; put the CIFAR-10 binary version files`
    )
    expect(clean(r)).toBe(true)
    const data = dataDir("data_batch_3.bin")
    const f = await typegrad(["train", "cifar10", "--data", data, "--out", join(tempDir(), "b"), ...small])
    expect(f.code).toBe(1)
    expect(f.stderr).toContain(`${join(data, "data_batch_3.bin")}: no such file (data_batch_3.bin is missing)`)
    expect(f.stderr).toContain(`data_batch_1.bin .. data_batch_5.bin and test_batch.bin`)
    expect(f.stderr).toContain(`directly in ${data}; CIFAR-10 is never downloaded`)
    const short = dataDir()
    writeFileSync(join(short, "test_batch.bin"), records(3, 1).subarray(0, 3 * 3073 - 100))
    const s = await typegrad(["train", "cifar10", "--data", short, "--out", join(tempDir(), "c"), ...small])
    expect(s.code).toBe(1)
    expect(s.stderr).toContain(`${join(short, "test_batch.bin")}: its size 9119 bytes is not a multiple`)
    expect(clean(s)).toBe(true)
  }, 120_000)

  it("augments each batch reproducibly from the step's seed, padding with normalised black", () => {
    const x = Tensor.ones([4, 32, 32, 3])
    const a = Array.from(Tensor.toArray(Cifar10.augment(x, 5)))
    expect(Array.from(Tensor.toArray(Cifar10.augment(x, 5)))).toEqual(a)
    expect(Array.from(Tensor.toArray(Cifar10.augment(x, 6)))).not.toEqual(a)
    // red pads with (0 - 0.4914) / 0.247
    expect(Math.min(...a)).toBeCloseTo(-0.4914 / 0.247, 5)
  })
})
