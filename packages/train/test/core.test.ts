/**
 * The Node-free halves: `TrainCore`, `ParamsCore` and `SafetensorsCore` import nothing from Node (checked on
 * their whole static import graph, the workspace packages' sources included), `TrainCore.fit` refuses a
 * checkpoint directory with a `CheckpointError` that says what to do, and `TrainCore.fitWith` writes and
 * resumes checkpoints through a file system of the caller's (here a map in memory) exactly as `Train.fit`
 * does on disk.
 */
import { Dataset } from "@typegrad/data"
import { Layer, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import { Tensor } from "@typegrad/tensor"
import {
  CheckpointError,
  Params,
  ParamsCore,
  Progress,
  Safetensors,
  SafetensorsCore,
  Train,
  TrainCore
} from "@typegrad/train"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { bitsOf, expectBitwiseEqual, failureOf } from "./helpers.ts"

const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Every module reachable by static imports from `file`, workspace packages resolved to their sources. */
const graph = (file: string, seen = new Map<string, ReadonlyArray<string>>()): Map<string, ReadonlyArray<string>> => {
  if (seen.has(file)) return seen
  const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  const specifiers = [...text.matchAll(/^(?:import|export)\s(?!type\s)[^"']*?from\s+"([^"]+)"/gm)].map((m) => m[1]!)
  seen.set(file, specifiers)
  for (const s of specifiers) {
    if (s.startsWith(".")) graph(path.resolve(path.dirname(file), s), seen)
    const m = /^@typegrad\/([\w-]+)(\/.+)?$/.exec(s)
    if (m !== null) {
      const manifest = JSON.parse(fs.readFileSync(path.join(packages, m[1]!, "package.json"), "utf8"))
      graph(path.join(packages, m[1]!, manifest.exports[`.${m[2] ?? ""}`].default), seen)
    }
  }
  return seen
}

const nodeImports = (entry: string): Array<string> =>
  [...graph(path.join(packages, "train", "src", entry))].flatMap(([file, specifiers]) =>
    specifiers.filter((s) => s.startsWith("node:")).map((s) => `${path.relative(packages, file)} imports ${s}`)
  )

const model = Model.input([4]).add(Layer.dense({ units: 3 }))
const data = Dataset.make({
  images: Tensor.fromArray(Array.from({ length: 40 }, (_, i) => Math.sin(i)), [10, 4]),
  labels: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
  numClasses: 3
})
const options = { optimizer: Optimizer.adam(), epochs: 2, batchSize: 5, seed: 3 }

/** A file system in memory, as a browser might bring one. */
const memoryFiles = () => {
  const files = new Map<string, Uint8Array>()
  const fileSystem: TrainCore.Files = {
    join: (directory, name) => `${directory}/${name}`,
    resolve: (file) => file,
    checkpointFile: (p) => Effect.succeed(p.endsWith(".safetensors") ? p : `${p}/model.safetensors`),
    makeDirectory: () => Effect.void,
    writeFile: (file, bytes) => Effect.sync(() => void files.set(file, bytes)),
    readCheckpoint: (file) => {
      const bytes = files.get(file)
      return bytes === undefined
        ? Effect.fail(new SafetensorsCore.CheckpointError({ path: file, reason: "no such file" }))
        : Effect.fromResult(SafetensorsCore.decode(bytes, file))
    }
  }
  return { files, fileSystem }
}

describe("the Node-free halves of @typegrad/train", () => {
  it("import nothing from Node, while the file halves do", () => {
    expect(nodeImports("TrainCore.ts")).toEqual([])
    expect(nodeImports("ParamsCore.ts")).toEqual([])
    expect(nodeImports("SafetensorsCore.ts")).toEqual([])
    // the check sees Node imports where there are some
    expect(nodeImports("Train.ts")).toContain("train/src/Train.ts imports node:fs/promises")
    expect(nodeImports("Params.ts").length).toBeGreaterThan(0)
  })

  it("keep the public names: Train, Params and Safetensors re-export them", () => {
    expect(Safetensors.encode).toBe(SafetensorsCore.encode)
    expect(Safetensors.decode).toBe(SafetensorsCore.decode)
    expect(Safetensors.CheckpointError).toBe(CheckpointError)
    expect(Params.toBytes).toBe(ParamsCore.toBytes)
    expect(Params.fromBytes).toBe(ParamsCore.fromBytes)
    expect(Params.ParamsMismatchError).toBe(ParamsCore.ParamsMismatchError)
    expect(Train.evaluate).toBe(TrainCore.evaluate)
    expect(Train.fit).not.toBe(TrainCore.fit)
  })

  it("TrainCore.fit trains without a file system and refuses a checkpoint directory, saying what to do", async () => {
    const run = TrainCore.fit(model, data, options).pipe(Effect.provide(Progress.silent))
    const [a, b] = await Promise.all([
      Effect.runPromise(run),
      Effect.runPromise(Train.fit(model, data, options).pipe(Effect.provide(Progress.silent)))
    ])
    expectBitwiseEqual(a.params, b.params)
    const error = await failureOf(
      TrainCore.fit(model, data, { ...options, directory: "runs/x" }).pipe(Effect.provide(Progress.silent))
    )
    expect(error._tag).toBe("CheckpointError")
    expect(error.message).toContain("need a file system")
    expect(error.message).toContain("Train.fit")
  })

  it("TrainCore.fitWith writes and resumes checkpoints through the caller's file system", async () => {
    const { files, fileSystem } = memoryFiles()
    const fit = TrainCore.fitWith(fileSystem)
    const full = await Effect.runPromise(
      fit(model, data, { ...options, directory: "mem" }).pipe(Effect.provide(Progress.silent))
    )
    expect([...files.keys()].toSorted()).toEqual(["mem/metrics.json", "mem/model.safetensors", "mem/training.svg"])
    const saved = await Effect.runPromise(ParamsCore.fromBytes(files.get("mem/model.safetensors")!, model))
    expectBitwiseEqual(saved, full.params)
    // one epoch into "half", then resumed from it to two: the same parameters as the uninterrupted run
    await Effect.runPromise(
      fit(model, data, { ...options, epochs: 1, directory: "half" }).pipe(Effect.provide(Progress.silent))
    )
    const resumed = await Effect.runPromise(
      fit(model, data, { ...options, resume: "half", directory: "half" }).pipe(Effect.provide(Progress.silent))
    )
    expect(resumed.completedEpochs).toBe(2)
    expect(bitsOf(resumed.params)).toEqual(bitsOf(full.params))
  })
})
