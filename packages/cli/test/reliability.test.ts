// The job's failure paths (issue 11): every failure a clear message and a non-zero exit, no stack trace,
// no silent success, no lost checkpoint.
import { Mnist } from "@typegrad/cli"
import { Effect, Result } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as OutputDir from "../src/internal/outputDir.ts"
import { clean, small, tempDirs, typegrad } from "./helpers.ts"

const tempDir = tempDirs()

describe.concurrent("the typegrad job's failure paths", () => {
  // Regression (item 1): `--resume A --out B` of a finished run crashed after the test evaluation with
  // "unexpected error" and an ENOENT stack trace for B/.metrics.json.<pid>.<ts>.tmp, and B was never made.
  it("resuming a finished run into another directory trains nothing, says so and writes every file there", async () => {
    const a = join(tempDir(), "A")
    const b = join(tempDir(), "B")
    const first = await typegrad([...small, "--out", a, "--progress", "none"])
    expect(first.code).toBe(0)
    const second = await typegrad([...small, "--resume", a, "--out", b, "--progress", "lines"])
    expect(clean(second)).toBe(true)
    expect(second.stderr).toBe("")
    expect(second.code).toBe(0)
    expect(second.stdout).toContain(`nothing left to train: 1 of 1 epoch(s) done: checkpoint saved to ${b}`)
    expect(second.stdout).not.toMatch(/epoch 1\/1 step/)
    for (const f of ["model.safetensors", "metrics.json", "training.svg"]) expect(existsSync(join(b, f))).toBe(true)
    const ma = JSON.parse(readFileSync(join(a, "metrics.json"), "utf8"))
    const mb = JSON.parse(readFileSync(join(b, "metrics.json"), "utf8"))
    expect(mb.testAccuracy).toBe(ma.testAccuracy)
    expect(mb.epochs).toEqual(ma.epochs)
    expect(Buffer.compare(readFileSync(join(a, "model.safetensors")), readFileSync(join(b, "model.safetensors"))))
      .toBe(0)
  })

  // Item 1: the final metrics write runs inside the tagged-error path: a failure is an OutputError with
  // a message, not a defect.
  it("a final write that fails is an OutputError saying what was wrong", async () => {
    const file = join(tempDir(), "file")
    writeFileSync(file, "")
    const r = await Effect.runPromise(Effect.result(OutputDir.writeFile(join(file, "metrics.json"), new Uint8Array(1))))
    expect(Result.isFailure(r)).toBe(true)
    const e = (r as Result.Failure<void, Mnist.OutputError>).failure
    expect(e._tag).toBe("OutputError")
    expect(e.message).toBe(
      `${
        join(file, "metrics.json")
      }: could not write the file: a part of the path is a file, not a directory; choose another --out`
    )
  })
})
