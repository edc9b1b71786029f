import { Cli } from "@typegrad/cli"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { clean, small, tempDirs, typegrad } from "./helpers.ts"

const temp = tempDirs()

describe("--threads", () => {
  it("is parsed, checked, and only a flag of train mnist", () => {
    const c = Cli.parse(["train", "mnist", "--threads", "2"])
    expect(c._tag === "TrainMnist" && c.threads).toBe(2)
    const d = Cli.parse(["train", "mnist"])
    expect(d._tag === "TrainMnist" && d.threads).toBeUndefined()
    expect(() => Cli.parse(["train", "mnist", "--threads", "0"])).toThrow(/--threads must be an integer >= 1, got "0"/)
    expect(() => Cli.parse(["train", "mnist", "--threads", "-2"])).toThrow(/--threads must be an integer >= 1/)
    expect(() => Cli.parse(["train", "mnist", "--threads", "65"])).toThrow(/--threads must be at most 64, got "65"/)
    expect(() => Cli.parse(["export", "onnx", "--checkpoint", "a", "--out", "b", "--threads", "2"])).toThrow(
      /--threads is not a flag of `export onnx`/
    )
  })

  it("trains to the same bytes on 1 and 2 threads, and says how many it used", async () => {
    const outputs: Array<{ readonly weights: Buffer; readonly metrics: Record<string, unknown> }> = []
    for (const threads of [1, 2]) {
      const out = temp()
      const r = await typegrad([...small, "--seed", "5", "--out", out, "--threads", String(threads)])
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 })
      expect(clean(r)).toBe(true)
      const reason = threads === 1 ? "one thread requested" : "2 threads sharing WebAssembly memory"
      expect(r.stdout + r.stderr).toContain(`computing on wasm-simd: ${reason}`)
      const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<string, unknown>
      expect(metrics["backend"]).toEqual({ kernels: "wasm-simd", threads })
      // The tensors' bytes, after the header (whose metadata holds timings).
      const file = readFileSync(join(out, "model.safetensors"))
      const weights = file.subarray(8 + Number(file.readBigUInt64LE(0)))
      outputs.push({ weights, metrics })
    }
    const [one, two] = outputs
    expect(two!.metrics["testAccuracy"]).toBe(one!.metrics["testAccuracy"])
    expect(two!.metrics["testLoss"]).toBe(one!.metrics["testLoss"])
    expect(one!.weights.length).toBeGreaterThan(4 * 1_000_000)
    expect(two!.weights.equals(one!.weights)).toBe(true)
  })
})
