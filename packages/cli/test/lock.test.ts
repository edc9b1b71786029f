// The output directory's lock (issue 11, item 10): one run per --out.
import { Mnist } from "@typegrad/cli"
import { Effect, Exit, Result } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as OutputDir from "../src/internal/outputDir.ts"
import { clean, small, tempDirs, typegrad } from "./helpers.ts"

const tempDir = tempDirs()

/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!

const lockedBy = async (dir: string): Promise<Mnist.OutputLockedError | Mnist.OutputError | undefined> => {
  const r = await Effect.runPromise(Effect.result(Effect.scoped(OutputDir.acquire(dir))))
  return Result.isFailure(r) ? r.failure : undefined
}

describe("the output directory's lock", () => {
  it("is a file holding the pid while the run holds the directory, and is gone after, even on failure", async () => {
    const dir = join(tempDir(), "out")
    const lock = join(dir, OutputDir.LOCK)
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* OutputDir.acquire(dir)
      expect(readFileSync(lock, "utf8")).toBe(`${process.pid}\n`)
      // a second taker (here in the same process) is refused, naming the holder's pid
      const e = yield* Effect.flip(Effect.scoped(OutputDir.acquire(dir)))
      expect(e._tag).toBe("OutputLockedError")
      expect(e.message).toBe(
        `${dir} is in use by another typegrad run (pid ${process.pid}); wait for it to finish or choose another ` +
          `--out (if no such run exists, delete ${lock})`
      )
      // the refused taker did not remove the holder's lock
      expect(readFileSync(lock, "utf8")).toBe(`${process.pid}\n`)
    })))
    expect(existsSync(lock)).toBe(false)
    const failed = await Effect.runPromiseExit(
      Effect.scoped(Effect.andThen(OutputDir.acquire(dir), Effect.fail("boom")))
    )
    expect(Exit.isFailure(failed)).toBe(true)
    expect(existsSync(lock)).toBe(false)
  })

  it("recovers a stale lock of a process that is gone, and one of an earlier process with our pid", async () => {
    for (const pid of [deadPid(), process.pid]) {
      const dir = tempDir()
      writeFileSync(join(dir, OutputDir.LOCK), `${pid}\n`)
      expect(await lockedBy(dir)).toBeUndefined()
      expect(existsSync(join(dir, OutputDir.LOCK))).toBe(false)
    }
  })

  it("a lock of a live process (here pid 1) is refused", async () => {
    const dir = tempDir()
    writeFileSync(join(dir, OutputDir.LOCK), "1\n")
    const e = await lockedBy(dir)
    expect(e?._tag).toBe("OutputLockedError")
    expect((e as Mnist.OutputLockedError).pid).toBe(1)
    expect(readFileSync(join(dir, OutputDir.LOCK), "utf8")).toBe("1\n")
  })

  // Regression (item 10): two runs sharing one --out both exited 0 and both said they wrote it. The first
  // run here is long (20 epochs); once the second has been refused, Ctrl-C stops the first, which saves
  // its checkpoint and releases the lock.
  it("a second run on the same --out is refused with the first run's pid; the lock goes with the first", async () => {
    const dir = join(tempDir(), "shared")
    let second: Promise<Awaited<ReturnType<typeof typegrad>>> | undefined
    let firstPid: number | undefined
    const long = ["--epochs", "20", "--train-limit", "3000", "--batch-size", "32", "--out", dir, "--progress", "lines"]
    const first = typegrad([...small, ...long], {
      onStart: (pid) => (firstPid = pid),
      sigintWhen: (out) => {
        if (second === undefined && out.includes("training ")) {
          second = typegrad([...small, "--out", dir, "--progress", "lines"]).then((r) => {
            process.kill(firstPid!, "SIGINT")
            return r
          })
        }
        return false
      }
    })
    const one = await first
    const two = await second!
    expect(clean(two)).toBe(true)
    expect(two.code).toBe(1)
    expect(two.stderr).toContain(`typegrad: ${dir} is in use by another typegrad run (pid ${firstPid})`)
    expect(two.stdout).not.toContain("training ")
    expect(clean(one)).toBe(true)
    expect(one.code).toBe(130)
    expect(one.stderr).toContain(`continue with --resume ${dir}`)
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true)
    expect(existsSync(join(dir, OutputDir.LOCK))).toBe(false)
  })
})
