// The job's failure paths (issue 11): every failure a clear message and a non-zero exit, no stack trace,
// no silent success, no lost checkpoint.
import { Cli, Mnist } from "@typegrad/cli"
import { Cause, Effect, Result } from "effect"
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { defectMessage } from "../src/internal/defect.ts"
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
    // Item 3: `--resume A/model.safetensors` without --out writes into A, not into a directory named
    // like the checkpoint file (which failed after the training).
    const before = readFileSync(join(a, "model.safetensors"))
    const third = await typegrad([...small, "--resume", join(a, "model.safetensors"), "--progress", "lines"])
    expect(third.stderr).toBe("")
    expect(third.code).toBe(0)
    expect(third.stdout).toContain(`(written to ${a})`)
    expect(third.stdout).toContain(`the checkpoint ${join(a, "model.safetensors")} is unchanged`)
    expect(Buffer.compare(readFileSync(join(a, "model.safetensors")), before)).toBe(0)
    for (const d of [a, b]) expect(existsSync(join(d, ".typegrad.lock"))).toBe(false)
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

  // Regression (item 3): the output directory was checked only when the first epoch's checkpoint was
  // written, after minutes of training. Now it is checked before the data is even loaded.
  it.each([
    ["a file", (f: string) => f, "it is a file, not a directory; choose another --out"],
    ["a path under a file", (f: string) => join(f, "sub"), "a part of the path is a file, not a directory"]
  ])("--out naming %s fails before any training, with a message and exit 1", async (_, out, says) => {
    const file = join(tempDir(), "file")
    writeFileSync(file, "keep")
    const r = await typegrad([...small, "--out", out(file), "--progress", "lines"])
    expect(clean(r)).toBe(true)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`typegrad: ${out(file)}: cannot use it as the output directory: ${says}`)
    expect(r.stdout).not.toContain("MNIST:")
    expect(r.stdout).not.toContain("training ")
    expect(readFileSync(file, "utf8")).toBe("keep")
  })

  it("--resume naming the checkpoint file (without --out) writes into the checkpoint's directory", () => {
    const dir = tempDir()
    mkdirSync(join(dir, "run"))
    writeFileSync(join(dir, "run", "model.safetensors"), "")
    const c = Cli.parse(["train", "mnist", "--resume", join(dir, "run", "model.safetensors")])
    expect(c).toMatchObject({ options: { out: join(dir, "run"), resume: join(dir, "run", "model.safetensors") } })
    // a directory (or a path that does not exist) is the output directory itself, as before
    expect(Cli.parse(["train", "mnist", "--resume", join(dir, "run")])).toMatchObject({
      options: { out: join(dir, "run") }
    })
  })

  // Regression (item 5): a Ctrl-C during start-up said "interrupted; continue with --resume DIR" for a
  // directory with no checkpoint.
  it("Ctrl-C during start-up says that nothing was saved, and how to start again", async () => {
    const dir = join(tempDir(), "run")
    const r = await typegrad([...small, "--out", dir, "--progress", "lines"], {
      sigintWhen: (out) => out.includes("loading MNIST")
    })
    expect(clean(r)).toBe(true)
    expect(r.code).toBe(130)
    expect(r.stdout).not.toContain("training ")
    expect(r.stderr).toContain(
      "interrupted during start-up, before training began: nothing was saved; run the same command again to start over"
    )
    expect(r.stderr).not.toContain("continue with --resume")
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false)
    // the output directory's lock is released on Ctrl-C
    expect(existsSync(join(dir, ".typegrad.lock"))).toBe(false)
  })

  // Item 5: when the save on Ctrl-C fails (here the output directory is replaced by a file mid-run), the
  // job says so instead of pointing at a checkpoint that does not exist.
  it("Ctrl-C whose checkpoint cannot be saved says that nothing of the run was saved", async () => {
    const dir = join(tempDir(), "run")
    const r = await typegrad(
      [...small, "--train-limit", "3000", "--batch-size", "32", "--out", dir, "--progress", "lines"],
      {
        sigintWhen: (out) => {
          if (!out.includes("training 1 epoch(s)")) return false
          renameSync(dir, `${dir}.moved`)
          writeFileSync(dir, "")
          return true
        }
      }
    )
    expect(clean(r)).toBe(true)
    expect(r.code).toBe(130)
    expect(r.stdout).toContain("cannot create the directory")
    expect(r.stderr).toContain("interrupted, but the checkpoint could not be saved")
    expect(r.stderr).toContain("cannot create the directory")
    expect(r.stderr).toContain(
      `nothing of this run was saved; check that ${dir} can be written, then run the same command again`
    )
    expect(r.stderr).not.toContain("continue with --resume")
  })
})

describe("a failure that is not one of the job's errors (a bug)", () => {
  it("prints its message and how to report it, the stack trace only with TYPEGRAD_DEBUG=1", () => {
    const cause = Cause.die(new TypeError("x is not a function"))
    const plain = defectMessage(cause, false)
    expect(plain).toBe(
      "typegrad: unexpected error: x is not a function\n" +
        "this is a bug in typegrad: please report it with the output of the same command run with TYPEGRAD_DEBUG=1\n"
    )
    expect(defectMessage(cause, true)).toMatch(/^typegrad: unexpected error: x is not a function\n[\s\S]*\n\s+at /)
  })
})
