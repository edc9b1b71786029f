import { Tensor } from "@typegrad/tensor"
import { Safetensors } from "@typegrad/train"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { tempDirs } from "./helpers.ts"

const tempDir = tempDirs("atomic")
const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../../..")
const child = join(here, "fixtures", "write-big-checkpoint.ts")

const MB = 64

describe.concurrent("Safetensors.write is atomic", () => {
  it("a process killed (SIGKILL) in the middle of writing leaves the previous checkpoint intact", async () => {
    const dir = tempDir()
    const target = join(dir, "model.safetensors")
    const old = new Map<string, Tensor.AnyTensor>([["w", Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])], [
      "b",
      Tensor.fromArray([0.5], [1], { dtype: "float64" })
    ]])
    await Effect.runPromise(Safetensors.write(target, old, { generation: "old" }))
    const oldBytes = readFileSync(target)
    const oldSize = statSync(target).size

    const proc = spawn(process.execPath, ["--import", "tsx", child, target, String(MB)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    proc.stdout.on("data", (d) => (stdout += String(d)))
    proc.stderr.on("data", (d) => (stderr += String(d)))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      proc.on("exit", (code, signal) => res({ code, signal }))
    )

    // Watch the directory: kill the writer as soon as any byte of the new checkpoint is on disk, wherever
    // it goes (a temp file, or the target itself for a non-atomic writer).
    const full = MB * 1024 * 1024
    let killedAt: { name: string; size: number } | undefined
    const deadline = Date.now() + 60_000
    while (killedAt === undefined && Date.now() < deadline && proc.exitCode === null) {
      for (const name of readdirSync(dir)) {
        const size = (() => {
          try {
            return statSync(join(dir, name)).size
          } catch {
            return -1
          }
        })()
        if ((name !== "model.safetensors" && size > 0) || (name === "model.safetensors" && size !== oldSize)) {
          proc.kill("SIGKILL")
          killedAt = { name, size }
          break
        }
      }
      if (killedAt === undefined) await new Promise((r) => setImmediate(r))
    }
    const exit = await exited
    expect(stderr).toBe("")
    expect(stdout).toContain("writing")
    expect(stdout).not.toContain("done")
    expect(exit.signal).toBe("SIGKILL")
    expect(killedAt).toBeDefined()
    // the kill landed mid-write: what was on disk was a partial file
    expect(killedAt!.size).toBeLessThan(full)

    // the target still holds exactly the old checkpoint
    expect(Buffer.compare(readFileSync(target), oldBytes)).toBe(0)
    const back = await Effect.runPromise(Safetensors.read(target))
    expect(back.metadata).toEqual({ generation: "old" })
    expect([...Tensor.toArray(back.tensors.get("w")!)]).toEqual([1, 2, 3, 4, 5, 6])
    expect(back.tensors.get("b")!.dtype).toBe("float64")
    // whatever the writer left behind is not named like the checkpoint, and is not a readable checkpoint
    const leftovers = readdirSync(dir).filter((n) => n !== "model.safetensors")
    for (const name of leftovers) {
      expect(name.endsWith(".safetensors")).toBe(false)
      expect(statSync(join(dir, name)).size).toBeLessThan(full)
    }
    // the killed writer's temp file is orphaned; the next write into the directory removes it
    expect(leftovers.some((n) => /^\.model\.safetensors\.\d+\.\d+\.tmp$/.test(n))).toBe(true)
    await Effect.runPromise(Safetensors.write(target, old, { generation: "after" }))
    expect(readdirSync(dir)).toEqual(["model.safetensors"])
  })

  it("a write that completes replaces the previous checkpoint (and the child reports it)", async () => {
    const dir = tempDir()
    const target = join(dir, "model.safetensors")
    await Effect.runPromise(Safetensors.write(target, [["w", Tensor.zeros([2])]], { generation: "old" }))
    const proc = spawn(process.execPath, ["--import", "tsx", child, target, "1"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    proc.stdout.on("data", (d) => (stdout += String(d)))
    const code = await new Promise<number | null>((res) => proc.on("exit", (c) => res(c)))
    expect(code).toBe(0)
    expect(stdout).toContain("done")
    const back = await Effect.runPromise(Safetensors.read(target))
    expect(back.metadata).toEqual({ generation: "new" })
    expect(back.tensors.get("big")!.shape).toEqual([(1024 * 1024) / 4])
    expect(readdirSync(dir)).toEqual(["model.safetensors"])
  })
})

describe("orphaned temporary files", () => {
  // A pid above Linux's largest (pid_max is at most 2^22): no process has it.
  const deadPid = 2 ** 22 + 12345

  it("the next write into a directory removes the temp files of dead processes, never those of live ones", async () => {
    const dir = tempDir()
    const stale = [
      `.model.safetensors.${deadPid}.1700000000000.tmp`,
      `.metrics.json.${deadPid}.1700000000001.tmp`,
      `.training.svg.${deadPid + 1}.1700000000002.tmp`
    ]
    const live = [`.model.safetensors.${process.pid}.1700000000003.tmp`, `.metrics.json.1.1700000000004.tmp`]
    const unrelated = ["notes.tmp", ".model.safetensors.tmp", `.x.${deadPid}.tmp`, "data.bin"]
    for (const name of [...stale, ...live, ...unrelated]) writeFileSync(join(dir, name), "partial")
    await Effect.runPromise(Safetensors.write(join(dir, "model.safetensors"), [["w", Tensor.zeros([2])]]))
    expect(readdirSync(dir).toSorted()).toEqual([...live, ...unrelated, "model.safetensors"].toSorted())
  })

  it("writeAtomic (metrics, plots) cleans up the same way", async () => {
    const dir = tempDir()
    writeFileSync(join(dir, `.metrics.json.${deadPid}.1700000000000.tmp`), "{")
    writeFileSync(join(dir, `.metrics.json.${process.pid}.1700000000000.tmp`), "{")
    await Safetensors.writeAtomic(join(dir, "metrics.json"), new TextEncoder().encode("{}\n"))
    expect(readdirSync(dir).toSorted()).toEqual(
      [`.metrics.json.${process.pid}.1700000000000.tmp`, "metrics.json"].toSorted()
    )
  })
})
