// `typegrad export onnx`: the checkpoint of `typegrad train mnist` exported to ONNX predicts, in ONNX
// Runtime, the same class as typegrad for every one of the 10,000 MNIST test images; and the command's
// errors (missing or wrong checkpoint, unwritable output, bad flags) say what to do.
import { Cli } from "@typegrad/cli"
import { Dataset, Mnist } from "@typegrad/data"
import { Reference } from "@typegrad/nn"
import { Tensor } from "@typegrad/tensor"
import { Params } from "@typegrad/train"
import { Effect, Stream } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { argmaxRows, typegrad } from "./helpers.ts"

const tmp = mkdtempSync(join(tmpdir(), "typegrad-onnx-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const run = join(tmp, "run")
beforeAll(async () => {
  const r = await typegrad([
    "train",
    "mnist",
    "--epochs",
    "1",
    "--train-limit",
    "600",
    "--validation",
    "100",
    "--out",
    run,
    "--progress",
    "none"
  ])
  if (r.code !== 0 || r.stderr !== "") throw new Error(`train mnist failed (${r.code}): ${r.stderr}`)
})

describe("typegrad export onnx", () => {
  it("exports the MNIST checkpoint; ONNX Runtime predicts typegrad's class for all 10,000 test images", async () => {
    const file = join(tmp, "exported", "model.onnx")
    const r = await typegrad(["export", "onnx", "--checkpoint", run, "--out", file])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^wrote .*model\.onnx \(\d+ bytes, ONNX IR 8, opset 17\)/)

    const params = await Effect.runPromise(Params.load(run, Reference.mnistCnn))
    const session = await ort.InferenceSession.create(readFileSync(file))
    const test = await Effect.runPromise(Mnist.load({ split: "test" }))
    let seen = 0
    let same = 0
    let maxDiff = 0
    await Effect.runPromise(
      Stream.runForEach(
        Dataset.batches(test, { batchSize: 1000, shuffle: false }),
        (batch) =>
          Effect.promise(async () => {
            const images = Tensor.toArray(batch.images)
            const ours = Tensor.toArray(Reference.mnistCnn.apply(params, batch.images))
            const result = await session.run({ input: new ort.Tensor("float32", images, [batch.size, 28, 28, 1]) })
            const theirs = result["output"]!.data as Float32Array
            expect(result["output"]!.dims).toEqual([batch.size, 10])
            for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!))
            const a = argmaxRows(ours, 10)
            const b = argmaxRows(theirs, 10)
            a.forEach((p, i) => {
              if (p === b[i]) same++
            })
            seen += batch.size
          })
      )
    )
    console.info(
      `mnist checkpoint in onnxruntime: ${same}/${seen} same classes, max abs diff ${maxDiff.toExponential(2)}`
    )
    expect(seen).toBe(10000)
    expect(same).toBe(10000)
    expect(maxDiff).toBeLessThan(1e-5)
  })

  it("a missing checkpoint exits with 1 and names it", async () => {
    const r = await typegrad(["export", "onnx", "--checkpoint", join(tmp, "nowhere"), "--out", join(tmp, "a.onnx")])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^typegrad: checkpoint .*nowhere: could not read the file .*check the path/)
    expect(existsSync(join(tmp, "a.onnx"))).toBe(false)
  })

  it("a file that is not the job's checkpoint exits with 1 and says so", async () => {
    const bogus = join(tmp, "bogus.safetensors")
    writeFileSync(bogus, "not a checkpoint at all, just text")
    const r = await typegrad(["export", "onnx", "--checkpoint", bogus, "--out", join(tmp, "b.onnx")])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^typegrad: checkpoint .*bogus\.safetensors: .*not a safetensors file/)
  })

  it("an unwritable output (a directory, a path under a file) exits with 1 and says what to do", async () => {
    const asDirectory = await typegrad(["export", "onnx", "--checkpoint", run, "--out", run])
    expect(asDirectory.code).toBe(1)
    expect(asDirectory.stderr).toMatch(
      /^typegrad: .*run: could not write the file \(.*\): .*run is a directory; name a file inside it/
    )
    expect(readdirSync(tmp).filter((f) => f.endsWith(".tmp"))).toEqual([])
    const blocker = join(tmp, "blocker")
    writeFileSync(blocker, "")
    const underFile = await typegrad(["export", "onnx", "--checkpoint", run, "--out", join(blocker, "m.onnx")])
    expect(underFile.code).toBe(1)
    expect(underFile.stderr).toMatch(
      /blocker\/m\.onnx: could not write the file \(.*blocker or a parent is a file\): a part of the path .*blocker is not a directory but a file; check the path/
    )
  })
})

describe("parsing `export onnx`", () => {
  const usageError = (argv: Array<string>): string => {
    try {
      Cli.parse(argv)
    } catch (e) {
      expect(e).toBeInstanceOf(Cli.UsageError)
      return (e as Error).message
    }
    throw new Error(`parse accepted ${argv.join(" ")}`)
  }
  it("takes --checkpoint and --out", () => {
    expect(Cli.parse(["export", "onnx", "--checkpoint", "runs/mnist", "--out", "m.onnx"])).toEqual({
      _tag: "ExportOnnx",
      checkpoint: "runs/mnist",
      out: "m.onnx"
    })
  })
  it("needs both, and only those", () => {
    expect(usageError(["export", "onnx", "--out", "m.onnx"])).toMatch(/needs --checkpoint DIR/)
    expect(usageError(["export", "onnx", "--checkpoint", "d"])).toMatch(/needs --out FILE/)
    expect(usageError(["export", "onnx", "--checkpoint", "d", "--out", "m", "--epochs", "2"])).toBe(
      "--epochs is not a flag of `export onnx` (it takes --checkpoint and --out)"
    )
    expect(usageError(["export", "tflite", "--checkpoint", "d", "--out", "m"])).toContain("\"tflite\"")
    expect(usageError(["train", "mnist", "--checkpoint", "d"])).toContain("--resume DIR")
  })
  it("--help documents it", () => {
    expect(Cli.usage).toContain("typegrad export onnx --checkpoint DIR --out FILE")
    expect(Cli.usage).toMatch(/--checkpoint DIR {5}the checkpoint of `train mnist`/)
  })
})
