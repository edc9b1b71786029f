import { Pytree } from "@typegrad/autodiff"
import { Layer, Model } from "@typegrad/nn"
import { Optimizer } from "@typegrad/optim"
import type { Types } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { CheckpointError, Params, ParamsMismatchError, Progress, Safetensors, Train } from "@typegrad/train"
import { Effect, Random } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { expectBitwiseEqual, failureOf, mnistSlice, tempDirs, tinyModel } from "./helpers.ts"

const tempDir = tempDirs("params")
const assert = <T extends true>(_?: T): void => {}

/** A small model with a conv, a dense and a parameter-free layer in between (params: two entries). */
const model = Model.input([6, 6, 2])
  .add(Layer.conv2d({ filters: 3, kernelSize: 3, activation: "relu" }))
  .add(Layer.flatten())
  .add(Layer.dense({ units: 4, activation: "softmax" }))
type P = Model.ParamsOf<typeof model>

const model64 = Model.input([5], { dtype: "float64" }).add(Layer.dense({ units: 2 }))

const initOf = <A>(m: { readonly init: Effect.Effect<A> }, seed: number): A =>
  Effect.runSync(m.init.pipe(Random.withSeed(seed)))

// Compile time: save takes only the model's params, and load's result is typed by the model given.
export const typeChecks = (params64: Model.ParamsOf<typeof model64>) => {
  // @ts-expect-error params of another model
  const wrong = Params.save("never-written.safetensors", model, params64)
  // @ts-expect-error the loaded params are model64's, not model's
  const typed: Effect.Effect<P, unknown> = Params.load("never-read.safetensors", model64)
  return [wrong, typed]
}

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** The tensors `save` writes for `params` (prefix `params.`), to be edited into files that do not fit. */
const entriesOf = (params: Pytree.Pytree): Map<string, Tensor.AnyTensor> =>
  new Map(Pytree.paths(params).map(([p, t]) => [`params.${p}`, t]))

const mismatchOf = async (effect: Effect.Effect<unknown, CheckpointError | ParamsMismatchError>) => {
  const e = await failureOf(effect)
  expect(e).toBeInstanceOf(ParamsMismatchError)
  if (!(e instanceof ParamsMismatchError)) throw new Error("unreachable")
  expect(e._tag).toBe("ParamsMismatchError")
  return e
}

describe("Params.save and Params.load", () => {
  it("round-trip the parameters bit for bit, typed as Model.ParamsOf<typeof model>, in init's structure", async () => {
    const file = join(tempDir(), "params.safetensors")
    const params = initOf(model, 3)
    await run(Params.save(file, model, params))
    const loaded = await run(Params.load(file, model))
    assert<Types.Equal<typeof loaded, P>>()
    expectBitwiseEqual(loaded, params)
    // Same runtime structure as init's output: a tuple of two { kernel, bias } objects.
    expect(Array.isArray(loaded)).toBe(true)
    expect(loaded).toHaveLength(2)
    expect(Object.keys(loaded[0]).toSorted()).toEqual(["bias", "kernel"])
    expect(loaded[0].kernel.shape).toEqual([3, 3, 2, 3])
    expect(loaded[1].kernel.shape).toEqual([48, 4])
    // The loaded params drive the model exactly as the saved ones.
    const x = Tensor.fromArray(Array.from({ length: 2 * 72 }, (_, i) => Math.sin(i)), [2, 6, 6, 2])
    expect(Tensor.toArray(model.apply(loaded, x))).toEqual(Tensor.toArray(model.apply(params, x)))
    // The file is plain safetensors with the training checkpoints' names.
    const { tensors, metadata } = await run(Safetensors.read(file))
    expect([...tensors.keys()].toSorted()).toEqual([
      "params.0.bias",
      "params.0.kernel",
      "params.1.bias",
      "params.1.kernel"
    ])
    expect(metadata["format"]).toBe("typegrad-params/1")
  })

  it("keeps float64 parameters float64, and stores user metadata", async () => {
    const file = join(tempDir(), "p64.safetensors")
    const params = initOf(model64, 1)
    await run(Params.save(file, model64, params, { metadata: { note: "hello" } }))
    const { params: loaded, metadata } = await run(Params.read(file, model64))
    assert<Types.Equal<typeof loaded, Model.ParamsOf<typeof model64>>>()
    expect(loaded[0].kernel.dtype).toBe("float64")
    expectBitwiseEqual(loaded, params)
    expect(metadata).toEqual({ note: "hello", format: "typegrad-params/1" })
  })

  it("toBytes and fromBytes round-trip without a file system", () => {
    const params = initOf(model, 5)
    const bytes = Effect.runSync(Params.toBytes(model, params))
    expect(bytes).toBeInstanceOf(Uint8Array)
    const loaded = Effect.runSync(Params.fromBytes(bytes, model))
    expectBitwiseEqual(loaded, params)
  })

  it("load does not draw from the caller's Random (the template is built with its own seed)", async () => {
    const file = join(tempDir(), "params.safetensors")
    await run(Params.save(file, model, initOf(model, 1)))
    const draws = (withLoad: boolean) =>
      Effect.runPromise(
        Effect.gen(function*() {
          if (withLoad) yield* Params.load(file, model)
          return yield* Random.nextInt
        }).pipe(Random.withSeed(9))
      )
    expect(await draws(true)).toBe(await draws(false))
  })

  it("a run directory stands for its model.safetensors", async () => {
    const dir = tempDir()
    const params = initOf(model, 2)
    await run(Params.save(join(dir, "model.safetensors"), model, params))
    const loaded = await run(Params.load(dir, model))
    expect(loaded[1].bias.shape).toEqual([4])
    expectBitwiseEqual(loaded, params)
  })

  it("save replaces an existing file atomically and leaves no temporary file", async () => {
    const dir = tempDir()
    const file = join(dir, "params.safetensors")
    await run(Params.save(file, model, initOf(model, 1)))
    const second = initOf(model, 2)
    await run(Params.save(file, model, second))
    expectBitwiseEqual(await run(Params.load(file, model)), second)
    expect(readdirSync(dir)).toEqual(["params.safetensors"])
  })

  it("save refuses params that are not the model's (a cast hid it from the types) and keeps the old file", async () => {
    const dir = tempDir()
    const file = join(dir, "params.safetensors")
    const good = initOf(model, 1)
    await run(Params.save(file, model, good))
    const before = readFileSync(file)
    const other = Model.input([6, 6, 2]).add(Layer.conv2d({ filters: 5, kernelSize: 3 })).add(Layer.flatten()).add(
      Layer.dense({ units: 4 })
    )
    const wrong = initOf(other, 1) as unknown as P
    const e = await mismatchOf(Params.save(file, model, wrong))
    expect(e.path).toBe("<params>")
    expect(e.tensor).toBe("params.0.bias")
    expect(e.mismatches[0]).toEqual({
      tensor: "params.0.bias",
      kind: "shape",
      expected: { shape: [3], dtype: "float32" },
      found: { shape: [5], dtype: "float32" }
    })
    expect(e.message).toContain(
      "params do not fit the model: tensor params.0.bias has shape [5] but the model needs [3]"
    )
    expect(Buffer.compare(readFileSync(file), before)).toBe(0)
    expect(readdirSync(dir)).toEqual(["params.safetensors"])
  })

  it("save into a directory that does not exist fails with CheckpointError", async () => {
    const file = join(tempDir(), "missing-dir", "params.safetensors")
    const e = await failureOf(Params.save(file, model, initOf(model, 1)))
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e.message).toContain(`checkpoint ${file}: could not write the file`)
    expect(e.message).toContain("check that the directory exists and is writable")
  })
})

describe("a file that does not fit the model fails with ParamsMismatchError naming the tensor", () => {
  const params = initOf(model, 4)

  const writeEntries = async (entries: Map<string, Tensor.AnyTensor>) => {
    const file = join(tempDir(), "edited.safetensors")
    await run(Safetensors.write(file, entries))
    return file
  }

  it("a missing tensor", async () => {
    const entries = entriesOf(params)
    entries.delete("params.1.bias")
    const file = await writeEntries(entries)
    const e = await mismatchOf(Params.load(file, model))
    expect(e.path).toBe(file)
    expect(e.tensor).toBe("params.1.bias")
    expect(e.mismatches).toEqual([{
      tensor: "params.1.bias",
      kind: "missing",
      expected: { shape: [4], dtype: "float32" },
      found: undefined
    }])
    expect(e.message).toBe(
      `checkpoint ${file} does not fit the model: tensor params.1.bias ([4] float32) is missing; ` +
        "load it into the model it was saved from (same layers, sizes and dtype)"
    )
  })

  it("an extra tensor under the prefix", async () => {
    const entries = entriesOf(params)
    entries.set("params.2.kernel", Tensor.zeros([4, 4]))
    const file = await writeEntries(entries)
    const e = await mismatchOf(Params.load(file, model))
    expect(e.tensor).toBe("params.2.kernel")
    expect(e.mismatches).toEqual([{
      tensor: "params.2.kernel",
      kind: "extra",
      expected: undefined,
      found: { shape: [4, 4], dtype: "float32" }
    }])
    expect(e.message).toContain("tensor params.2.kernel ([4, 4] float32) is not a parameter of the model")
  })

  it("a wrong shape, with expected and found", async () => {
    const entries = entriesOf(params)
    entries.set("params.1.kernel", Tensor.zeros([50, 4]))
    const file = await writeEntries(entries)
    const e = await mismatchOf(Params.load(file, model))
    expect(e.tensor).toBe("params.1.kernel")
    expect(e.mismatches).toEqual([{
      tensor: "params.1.kernel",
      kind: "shape",
      expected: { shape: [48, 4], dtype: "float32" },
      found: { shape: [50, 4], dtype: "float32" }
    }])
    expect(e.message).toContain("tensor params.1.kernel has shape [50, 4] but the model needs [48, 4]")
  })

  it("a wrong dtype is refused by default; { cast: true } converts float64 <-> float32 explicitly", async () => {
    const as64 = new Map([...entriesOf(params)].map(([k, t]) => [k, Tensor.cast(t, "float64")] as const))
    const file = await writeEntries(as64)
    const e = await mismatchOf(Params.load(file, model))
    expect(e.mismatches.map((m) => [m.tensor, m.kind, m.expected?.dtype, m.found?.dtype])).toEqual([
      ["params.0.bias", "dtype", "float32", "float64"],
      ["params.0.kernel", "dtype", "float32", "float64"],
      ["params.1.bias", "dtype", "float32", "float64"],
      ["params.1.kernel", "dtype", "float32", "float64"]
    ])
    expect(e.message).toContain("tensor params.0.bias is float64 but the model is float32")
    expect(e.message).toContain("pass { cast: true } to convert the values")
    // float32 -> float64 -> float32 is exact, so the cast load gives back the original bits.
    const cast = await run(Params.load(file, model, { cast: true }))
    expect(cast[0].kernel.dtype).toBe("float32")
    expectBitwiseEqual(cast, params)
    // And the other way: a float32 file into a float64 model.
    const file32 = join(tempDir(), "p32.safetensors")
    const p64 = initOf(model64, 3)
    await run(
      Safetensors.write(file32, [...entriesOf(p64)].map(([k, t]) => [k, Tensor.cast(t, "float32")] as const))
    )
    const e64 = await mismatchOf(Params.load(file32, model64))
    expect(e64.mismatches[0]?.kind).toBe("dtype")
    const up = await run(Params.load(file32, model64, { cast: true }))
    expect(up[0].kernel.dtype).toBe("float64")
    expect(Array.from(Tensor.toArray(up[0].kernel))).toEqual(Array.from(Tensor.toArray(p64[0].kernel), Math.fround))
  })

  it("lists every mismatch, and names the tensors in the order of the model's parameters", async () => {
    const entries = entriesOf(params)
    entries.delete("params.0.kernel")
    entries.set("params.1.bias", Tensor.zeros([5]))
    entries.set("params.9.w", Tensor.zeros([1]))
    const file = await writeEntries(entries)
    const e = await mismatchOf(Params.load(file, model))
    expect(e.mismatches.map((m) => [m.tensor, m.kind])).toEqual([
      ["params.0.kernel", "missing"],
      ["params.1.bias", "shape"],
      ["params.9.w", "extra"]
    ])
  })

  it("a file with bare names needs { prefix: \"\" }, and the message says so", async () => {
    const file = join(tempDir(), "bare.safetensors")
    await run(Safetensors.write(file, Pytree.paths(params)))
    const e = await mismatchOf(Params.load(file, model))
    expect(e.mismatches.every((m) => m.kind === "missing")).toBe(true)
    expect(e.message).toContain(`pass { prefix: "" }`)
    const loaded = await run(Params.load(file, model, { prefix: "" }))
    expectBitwiseEqual(loaded, params)
    // With prefix "" every tensor of the file must be a parameter.
    const withMore = join(tempDir(), "bare-more.safetensors")
    await run(Safetensors.write(withMore, [...Pytree.paths(params), ["note", Tensor.zeros([1])] as const]))
    const extra = await mismatchOf(Params.load(withMore, model, { prefix: "" }))
    expect(extra.mismatches.map((m) => [m.tensor, m.kind])).toEqual([["note", "extra"]])
  })

  it("fromBytes reports the same mismatches, with the path <bytes>", async () => {
    const entries = entriesOf(params)
    entries.delete("params.0.bias")
    const e = await mismatchOf(Params.fromBytes(Safetensors.encode(entries), model))
    expect(e.path).toBe("<bytes>")
    expect(e.tensor).toBe("params.0.bias")
  })
})

describe("file-level errors are CheckpointError", () => {
  it("a file that does not exist", async () => {
    const file = join(tempDir(), "nope.safetensors")
    const e = await failureOf(Params.load(file, model))
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toContain(`checkpoint ${file}: could not read the file`)
    expect(e.message).toContain("check the path")
  })

  it("a truncated file", async () => {
    const file = join(tempDir(), "params.safetensors")
    await run(Params.save(file, model, initOf(model, 1)))
    const bytes = readFileSync(file)
    writeFileSync(file, bytes.subarray(0, bytes.length - 10))
    const e = await failureOf(Params.load(file, model))
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e.message).toContain("the file is truncated")
  })

  it("a file that is not safetensors at all", async () => {
    const file = join(tempDir(), "junk.safetensors")
    writeFileSync(file, "this is not a checkpoint, just some text that is long enough")
    const e = await failureOf(Params.load(file, model))
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e.message).toContain(file)
  })

  it("bytes that are not safetensors", () => {
    const r = Effect.runSync(Effect.result(Params.fromBytes(new Uint8Array([1, 2, 3]), model)))
    expect(r._tag).toBe("Failure")
    if (r._tag === "Failure") {
      expect(r.failure).toBeInstanceOf(CheckpointError)
      expect(r.failure.message).toContain("too short for a safetensors header")
    }
  })
})

describe("a training checkpoint (params, optimizer state, metadata)", () => {
  it("load takes the params and ignores the rest; read exposes the optimizer state and metadata", async () => {
    const dir = tempDir()
    const data = await run(mnistSlice(192, 64))
    const result = await run(
      Train.fit({
        model: tinyModel,
        optimizer: Optimizer.adam({ learningRate: 1e-2 }),
        train: data.train,
        validation: data.validation,
        epochs: 1,
        batchSize: 64,
        seed: 2,
        directory: dir
      }).pipe(Effect.provide(Progress.silent))
    )
    const params = await run(Params.load(dir, tinyModel))
    assert<Types.Equal<typeof params, Model.ParamsOf<typeof tinyModel>>>()
    expectBitwiseEqual(params, result.params)
    const { metadata, params: again, rest } = await run(Params.read(join(dir, "model.safetensors"), tinyModel))
    expectBitwiseEqual(again, params)
    expect(metadata["format"]).toBe("typegrad-checkpoint/1")
    expect(metadata["epochsDone"]).toBe("1")
    // Adam's two moment slots, one tensor per parameter each.
    const names = [...rest.keys()].toSorted()
    expect(names).toHaveLength(2 * 4)
    expect(names.every((n) => n.startsWith("optimizer."))).toBe(true)
    expect(rest.get("optimizer.0.1.kernel")?.shape).toEqual([16, 10])
    // A file saved by Params.save is not a training checkpoint, but the params in one are the same bytes.
    const saved = join(dir, "only-params.safetensors")
    await run(Params.save(saved, tinyModel, params))
    expectBitwiseEqual(await run(Params.load(saved, tinyModel)), result.params)
  })

  it("a training checkpoint of another model names the first tensor that does not fit", async () => {
    const dir = tempDir()
    mkdirSync(dir, { recursive: true })
    const p = initOf(tinyModel, 1)
    await run(Safetensors.write(join(dir, "model.safetensors"), entriesOf(p), { format: "typegrad-checkpoint/1" }))
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true)
    const e = await mismatchOf(Params.load(dir, model))
    expect(e.path).toBe(join(dir, "model.safetensors"))
    expect(e.tensor).toBe("params.0.bias")
    expect(e.message).toContain("tensor params.0.bias has shape [16] but the model needs [3]")
  })
})
