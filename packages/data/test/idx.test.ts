import { Idx } from "@typegrad/data"
import { Effect, Result } from "effect"
import fc from "fast-check"
import { spawnSync } from "node:child_process"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { failureOf, tempDir } from "./helpers.ts"

const write = tempDir()
const here = dirname(fileURLToPath(import.meta.url))

/**
 * A gzip file whose IDX header declares uint8 dims [10] (18 bytes in all) but which inflates to
 * `18` bytes + `mib` MiB: the good file, then `mib` gzip members of 1 MiB of zeros each (about 1 KiB each).
 */
const gzipBomb = (mib: number): Uint8Array => {
  const good = gzipSync(Idx.encode({ dtype: "uint8", dims: [10], data: new Uint8Array(10).fill(7) }))
  const zeros = gzipSync(new Uint8Array(1 << 20))
  return Buffer.concat([good, ...Array.from({ length: mib }, () => zeros)])
}

const samples: ReadonlyArray<Idx.IdxArray> = [
  { dtype: "uint8", dims: [2, 3], data: new Uint8Array([0, 1, 127, 128, 254, 255]) },
  { dtype: "int8", dims: [4], data: new Int8Array([-128, -1, 0, 127]) },
  { dtype: "int16", dims: [2, 2], data: new Int16Array([-32768, -2, 258, 32767]) },
  { dtype: "int32", dims: [3], data: new Int32Array([-2147483648, 16909060, 2147483647]) },
  { dtype: "float32", dims: [1, 3], data: new Float32Array([-1.5, 3.25, 1e-30]) },
  { dtype: "float64", dims: [2, 1, 2], data: new Float64Array([Math.PI, -0.1, 1e300, -Infinity]) }
]

describe("Idx", () => {
  it("encodes the header big-endian", () => {
    const bytes = Idx.encode({ dtype: "int16", dims: [2, 258], data: new Int16Array(516).fill(0x0102) })
    expect(Array.from(bytes.subarray(0, 12))).toEqual([0, 0, 0x0b, 2, 0, 0, 0, 2, 0, 0, 1, 2])
    expect(Array.from(bytes.subarray(12, 14))).toEqual([1, 2])
  })

  it.each(samples)("round-trips $dtype through a file", async (sample) => {
    const path = write(`sample-${sample.dtype}.idx`, Idx.encode(sample))
    const read = await Effect.runPromise(Idx.readFile(path))
    expect(read.dtype).toBe(sample.dtype)
    expect(read.dims).toEqual(sample.dims)
    expect(read.data.constructor).toBe(sample.data.constructor)
    expect(Array.from(read.data)).toEqual(Array.from(sample.data))
  })

  it("round-trips random arrays of every type code", () => {
    const dims = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 })
    const arrays = fc.tuple(fc.constantFrom(...samples.map((s) => s.dtype)), dims).chain(([dtype, ds]) => {
      const n = ds.reduce((a, b) => a * b, 1)
      const make = (values: Array<number>): Idx.IdxArray => {
        switch (dtype) {
          case "uint8":
            return { dtype, dims: ds, data: Uint8Array.from(values, (v) => v & 255) }
          case "int8":
            return { dtype, dims: ds, data: Int8Array.from(values) }
          case "int16":
            return { dtype, dims: ds, data: Int16Array.from(values) }
          case "int32":
            return { dtype, dims: ds, data: Int32Array.from(values) }
          case "float32":
            return { dtype, dims: ds, data: Float32Array.from(values, (v) => v / 7) }
          case "float64":
            return { dtype, dims: ds, data: Float64Array.from(values, (v) => v / 7) }
        }
      }
      return fc.array(fc.integer({ min: -100000, max: 100000 }), { minLength: n, maxLength: n }).map(make)
    })
    fc.assert(fc.property(arrays, (a) => {
      const r = Idx.parse(Idx.encode(a))
      expect(Result.isSuccess(r)).toBe(true)
      const got = Result.getOrThrow(r)
      expect(got.dtype).toBe(a.dtype)
      expect(got.dims).toEqual(a.dims)
      expect(Array.from(got.data)).toEqual(Array.from(a.data))
    }))
  })

  it("reads gzip-compressed files transparently", async () => {
    const sample = samples[3]!
    const path = write("sample.idx.gz", gzipSync(Idx.encode(sample)))
    const read = await Effect.runPromise(Idx.readFile(path))
    expect(Array.from(read.data)).toEqual(Array.from(sample.data))
  })

  it("rejects a corrupt gzip stream", async () => {
    const gz = gzipSync(Idx.encode(samples[0]!))
    const path = write("broken.idx.gz", gz.subarray(0, gz.length - 6))
    const e = await failureOf(Idx.readFile(path))
    expect(e.path).toBe(path)
    expect(e.message).toContain("broken.idx.gz")
    expect(e.message).toMatch(/gzip/)
  })

  it("stops inflating a gzip file as soon as it inflates past the size its IDX header declares", async () => {
    const bomb = gzipBomb(64) // 64 MiB of zeros behind a header that declares 18 bytes
    expect(bomb.length).toBeLessThan(100_000)
    const path = write("bomb.idx.gz", bomb)
    const e = await failureOf(Idx.readFile(path))
    expect(e.path).toBe(path)
    expect(e.reason).toMatch(/larger than its header declares/)
    expect(e.reason).toMatch(/dims \[10\] of uint8 need 18 bytes/)
    // the reader's own counter: it stopped within one inflate chunk (64 KiB) of the declared 18 bytes
    const inflated = Number(/stopped after inflating (\d+) bytes/.exec(e.reason)?.[1])
    expect(inflated).toBeGreaterThan(18)
    expect(inflated).toBeLessThanOrEqual(18 + 64 * 1024)
  })

  it("reading a gzip bomb does not grow the reader's peak memory by what the bomb inflates to", () => {
    // 512 MiB behind a header that declares 18 bytes; the whole inflation would add at least 512 MiB to the peak RSS
    const path = write("bomb-512.idx.gz", gzipBomb(512))
    const child = spawnSync(process.execPath, ["--import", "tsx", join(here, "fixtures", "read-idx.ts"), path], {
      cwd: resolve(here, "../../.."),
      encoding: "utf8"
    })
    expect(child.stderr).toBe("")
    const out = JSON.parse(child.stdout) as { beforeKiB: number; afterKiB: number; reason?: string }
    expect(out.reason).toMatch(/larger than its header declares/)
    const grewMiB = (out.afterKiB - out.beforeKiB) / 1024
    expect(grewMiB).toBeLessThan(32)
  })

  it("rejects an uncompressed file larger than its header declares, counting the trailing bytes", async () => {
    const header = Idx.encode({ dtype: "uint8", dims: [2], data: new Uint8Array(2) })
    const path = write("big-raw.idx", Buffer.concat([header, new Uint8Array(3 << 20)]))
    const e = await failureOf(Idx.readFile(path))
    expect(e.reason).toMatch(/3145728 trailing bytes after the data: dims \[2\] of uint8 need 10 bytes/)
    expect(e.reason).toMatch(/download it again/)
  })

  const bad: ReadonlyArray<readonly [string, (good: Uint8Array) => Uint8Array, RegExp]> = [
    ["truncated.idx", (g) => g.subarray(0, g.length - 1), /truncated/],
    ["header-only.idx", (g) => g.subarray(0, 6), /header declares 2 dims/],
    ["tiny.idx", (g) => g.subarray(0, 2), /fewer than the 4-byte header/],
    ["trailing.idx", (g) => Uint8Array.from([...g, 0, 0]), /2 trailing bytes/],
    ["magic.idx", (g) => Uint8Array.from(g, (b, i) => (i === 1 ? 8 : b)), /bad magic/],
    ["type.idx", (g) => Uint8Array.from(g, (b, i) => (i === 2 ? 0x0a : b)), /unknown type code 0x0a/],
    [
      "dims.idx",
      (g) => Uint8Array.from(g, (b, i) => (i === 11 ? 4 : b)),
      /dims \[2, 4\] of uint8 need 20 bytes but the file has 18/
    ]
  ]

  it.each(bad)("rejects %s with a DatasetFileError naming the file", async (name, corrupt, reason) => {
    const good = Idx.encode(samples[0]!)
    const path = write(name, corrupt(good))
    const e = await failureOf(Idx.readFile(path))
    expect(e.path).toBe(path)
    expect(e.reason).toMatch(reason)
    expect(e.message).toContain(path)
    expect(e.message).toMatch(/download it again/)
    // the pure parser agrees
    const r = Idx.parse(corrupt(good), name)
    expect(Result.isFailure(r) && r.failure.path).toBe(name)
  })

  it("reports a missing file", async () => {
    const e = await failureOf(Idx.readFile("/nonexistent/typegrad/file.idx"))
    expect(e.path).toBe("/nonexistent/typegrad/file.idx")
    expect(e.message).toMatch(/no such file/)
  })

  it("expect checks type and dims", async () => {
    const a = Result.getOrThrow(Idx.parse(Idx.encode(samples[0]!)))
    expect((await Effect.runPromise(Idx.expect(a, "uint8", [undefined, 3]))).dims).toEqual([2, 3])
    const e = await failureOf(Idx.expect(a, "uint8", [undefined, 28, 28], "images.idx"))
    expect(e.message).toMatch(/expected uint8 data of dims \[N, 28, 28\], found uint8 data of dims \[2, 3\]/)
  })

  it("encode rejects a data length that does not match the dims", () => {
    expect(() => Idx.encode({ dtype: "uint8", dims: [3], data: new Uint8Array(2) })).toThrow(/2 elements/)
  })
})
