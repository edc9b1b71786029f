import { Tensor } from "@typegrad/tensor"
import { CheckpointError, Safetensors } from "@typegrad/train"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { failureOf, tempDirs } from "./helpers.ts"

const tempDir = tempDirs("safetensors-read")
const here = dirname(fileURLToPath(import.meta.url))
const GiB = 1024 ** 3

/** Writes `head` at the start of a sparse file of `size` bytes (no disk used for the zeros). */
const sparse = (file: string, head: Uint8Array, size: number): string => {
  const fd = openSync(file, "w")
  writeSync(fd, head)
  ftruncateSync(fd, size)
  closeSync(fd)
  return file
}

/** An 8-byte little-endian header length followed by `header`. */
const headed = (header: string, length = BigInt(Buffer.byteLength(header))): Uint8Array => {
  const h = new TextEncoder().encode(header)
  const out = new Uint8Array(8 + h.length)
  new DataView(out.buffer).setBigUint64(0, length, true)
  out.set(h, 8)
  return out
}

const small = () => Safetensors.encode([["w", Tensor.fromArray([1, 2, 3, 4], [2, 2])]], { v: "1" })

describe("Safetensors.read checks the header and the file size before reading the data", () => {
  it("a 3 GiB file whose header declares 16 bytes of data: trailing bytes, found from the size alone", async () => {
    const file = sparse(join(tempDir(), "huge.safetensors"), small(), 3 * GiB)
    const e = await failureOf(Safetensors.read(file))
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toContain(file)
    expect(e.message).toMatch(/trailing bytes after the last tensor/)
    expect(e.message).toMatch(/the file is corrupt/)
  })

  it("a header length beyond the cap is refused before the header is read", async () => {
    const file = sparse(join(tempDir(), "big-header.safetensors"), headed("{}", 2n * BigInt(GiB)), 3 * GiB)
    const e = await failureOf(Safetensors.read(file))
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toContain(file)
    expect(e.message).toMatch(/header length of 2147483648 bytes exceeds the 100000000-byte limit/)
  })

  it("a tensor that extends past the end of the file: truncated, before its data is read", async () => {
    const header = JSON.stringify({ w: { dtype: "F32", shape: [1024, 1024, 256], data_offsets: [0, GiB] } })
    const file = join(tempDir(), "truncated.safetensors")
    writeFileSync(file, Buffer.concat([headed(header), new Uint8Array(64)]))
    const e = await failureOf(Safetensors.read(file))
    expect(e.message).toMatch(/tensor "w" ends at byte 1073741824 but the data has 64 bytes; the file is truncated/)
  })

  it("a well-formed file still reads back exactly", async () => {
    const file = join(tempDir(), "ok.safetensors")
    writeFileSync(file, small())
    const { tensors, metadata } = await Effect.runPromise(Safetensors.read(file))
    expect([...Tensor.toArray(tensors.get("w")!)]).toEqual([1, 2, 3, 4])
    expect(metadata).toEqual({ v: "1" })
  })

  it("reading an oversized file does not grow the reader's peak memory by the file's size", () => {
    // 512 MiB of trailing zeros behind a valid 16-byte tensor: reading the whole file first adds >= 512 MiB
    const file = sparse(join(tempDir(), "oversized.safetensors"), small(), 512 * 1024 * 1024)
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", join(here, "fixtures", "read-safetensors.ts"), file],
      { cwd: resolve(here, "../../.."), encoding: "utf8" }
    )
    expect(child.stderr).toBe("")
    const out = JSON.parse(child.stdout) as { beforeKiB: number; afterKiB: number; message?: string }
    expect(out.message).toMatch(/trailing bytes/)
    expect((out.afterKiB - out.beforeKiB) / 1024).toBeLessThan(32)
  })
})
