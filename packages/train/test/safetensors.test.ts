import { Tensor } from "@typegrad/tensor"
import { unsafeFromData } from "@typegrad/tensor/internal"
import { CheckpointError, Safetensors } from "@typegrad/train"
import { Effect, Result } from "effect"
import fc from "fast-check"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { failureOf, tempDirs } from "./helpers.ts"

const tempDir = tempDirs("safetensors")

type DType = Tensor.DType

/** A tensor spec: dtype, shape (rank 0..4, dims 0..3, so empty tensors occur) and values. */
const tensorArb: fc.Arbitrary<{ dtype: DType; shape: Array<number>; values: Array<number> }> = fc
  .record({
    dtype: fc.constantFrom<DType>("float32", "float64"),
    shape: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 4 })
  })
  .chain(({ dtype, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1)
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }).map((k) => k / 1_000_00) },
      { weight: 1, arbitrary: fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e-30, 3.4e38, -1.5e-45) }
    )
    return fc.array(value, { minLength: size, maxLength: size }).map((values) => ({ dtype, shape, values }))
  })

// Any name but the reserved one, integer-like names ("0", which JSON objects list first) included.
const nameArb = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.nat(20).map(String)).filter((s) =>
  s !== "__metadata__"
)

const build = (spec: { dtype: DType; shape: Array<number>; values: Array<number> }) =>
  Tensor.fromArray(spec.values, spec.shape, { dtype: spec.dtype }) as Tensor.AnyTensor

/** The bit pattern of the tensor's data, as the format stores it (LE). */
const leBytes = (t: Tensor.AnyTensor): Array<number> => {
  const d = Tensor.toArray(t)
  const width = t.dtype === "float64" ? 8 : 4
  const out = new Uint8Array(d.length * width)
  const v = new DataView(out.buffer)
  for (let i = 0; i < d.length; i++) {
    if (width === 8) v.setFloat64(i * 8, d[i]!, true)
    else v.setFloat32(i * 4, d[i]!, true)
  }
  return [...out]
}

/** Parses safetensors bytes by the spec, independently of the code under test. */
const parse = (bytes: Uint8Array) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = Number(view.getBigUint64(0, true))
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n))
  const header = JSON.parse(headerText) as Record<string, unknown>
  const data = bytes.subarray(8 + n)
  return { n, headerText, header, data }
}

const expectSameTensor = (got: Tensor.AnyTensor | undefined, want: Tensor.AnyTensor) => {
  expect(got).toBeDefined()
  expect(got!.dtype).toBe(want.dtype)
  expect([...got!.shape]).toEqual([...want.shape])
  expect(leBytes(got!)).toEqual(leBytes(want))
}

describe("Safetensors.encode / decode", () => {
  it("round-trips f32 and f64 tensors of rank 0..4 (empty ones too) and metadata, bit for bit", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(nameArb, tensorArb), { maxLength: 5, selector: ([name]) => name }),
        fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 10 }), {
          maxKeys: 4
        }),
        (entries, metadata) => {
          const tensors = new Map(entries.map(([name, spec]) => [name, build(spec)] as const))
          const bytes = Safetensors.encode(tensors, metadata)
          const r = Safetensors.decode(bytes, "x.safetensors")
          if (Result.isFailure(r)) throw new Error(r.failure.message)
          expect([...r.success.tensors.keys()].toSorted()).toEqual([...tensors.keys()].toSorted())
          for (const [name, t] of tensors) expectSameTensor(r.success.tensors.get(name), t)
          expect(r.success.metadata).toEqual(metadata)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("lays out bytes as the spec says: LE u64 header length, 8-byte aligned JSON header, LE data at data_offsets", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(nameArb, tensorArb), { maxLength: 5, selector: ([name]) => name }),
        fc.boolean(),
        (entries, withMetadata) => {
          const tensors = new Map(entries.map(([name, spec]) => [name, build(spec)] as const))
          const metadata = withMetadata ? { epoch: "3", note: "é ✓" } : {}
          const bytes = Safetensors.encode(tensors, metadata)
          const { n, headerText, header, data } = parse(bytes)
          expect((8 + n) % 8).toBe(0)
          expect(headerText.trimEnd()).toBe(headerText.trimEnd().trim()) // padding, if any, is trailing whitespace
          expect(/^[ ]*$/.test(headerText.slice(headerText.trimEnd().length))).toBe(true)
          expect(8 + n + data.length).toBe(bytes.length)
          expect(header["__metadata__"]).toEqual(withMetadata ? metadata : undefined)
          const names = Object.keys(header).filter((k) => k !== "__metadata__")
          expect(names.toSorted()).toEqual([...tensors.keys()].toSorted())
          // offsets tile [0, data.length) without gaps or overlaps
          const spans = names.map((k) => (header[k] as { data_offsets: [number, number] }).data_offsets).toSorted((
            a,
            b
          ) => a[0] - b[0] || a[1] - b[1])
          let at = 0
          for (const [b, e] of spans) {
            expect(b).toBe(at)
            at = e
          }
          expect(at).toBe(data.length)
          for (const name of names) {
            const entry = header[name] as { dtype: string; shape: Array<number>; data_offsets: [number, number] }
            const t = tensors.get(name)!
            expect(entry.dtype).toBe(t.dtype === "float64" ? "F64" : "F32")
            expect(entry.shape).toEqual([...t.shape])
            const [b, e] = entry.data_offsets
            expect(e - b).toBe(t.size * (t.dtype === "float64" ? 8 : 4))
            expect([...data.subarray(b, e)]).toEqual(leBytes(t))
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it("stores a known tensor with the exact known bytes", () => {
    const bytes = Safetensors.encode([["w", Tensor.fromArray([1, -2], [2])]])
    const { n, header, data } = parse(bytes)
    expect(header).toEqual({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } })
    expect(n % 8).toBe(0)
    // 1.0f = 0x3f800000, -2.0f = 0xc0000000, little-endian
    expect([...data]).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0])
    const f64 = parse(Safetensors.encode([["s", Tensor.fromArray([0.5], [], { dtype: "float64" })]]))
    expect(f64.header).toEqual({ s: { dtype: "F64", shape: [], data_offsets: [0, 8] } })
    expect([...f64.data]).toEqual([0, 0, 0, 0, 0, 0, 0xe0, 0x3f])
  })

  it("decodes a file written by another writer (header without padding, unsorted entries)", () => {
    const header = JSON.stringify({
      b: { dtype: "F64", shape: [1], data_offsets: [4, 12] },
      a: { dtype: "F32", shape: [], data_offsets: [0, 4] },
      __metadata__: { k: "v" }
    })
    const h = new TextEncoder().encode(header)
    const bytes = new Uint8Array(8 + h.length + 12)
    const v = new DataView(bytes.buffer)
    v.setBigUint64(0, BigInt(h.length), true)
    bytes.set(h, 8)
    v.setFloat32(8 + h.length, 3.5, true)
    v.setFloat64(8 + h.length + 4, -7.25, true)
    const r = Safetensors.decode(bytes)
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(Tensor.toArray(r.success.tensors.get("a")!)[0]).toBe(3.5)
    expect(r.success.tensors.get("a")!.shape).toEqual([])
    expect(r.success.tensors.get("b")!.dtype).toBe("float64")
    expect(Tensor.toArray(r.success.tensors.get("b")!)[0]).toBe(-7.25)
    expect(r.success.metadata).toEqual({ k: "v" })
  })

  // Regression: decode sorted the tensors by their first offset only. An empty tensor shares its offset
  // with the tensor after it ([0, 0] and [0, 4]); when the JSON header lists the non-empty one first, a
  // valid file was rejected as having "gaps or overlaps". The Rust reference sorts by (begin, end).
  // Encode's own files hit this with integer-like names: JS objects list "0" before " ".
  it("decodes an empty tensor that shares its offset with the next one, whatever the header order", () => {
    const header = JSON.stringify({
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      b: { dtype: "F32", shape: [0], data_offsets: [0, 0] }
    })
    const h = new TextEncoder().encode(header)
    const bytes = new Uint8Array(8 + h.length + 4)
    new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true)
    bytes.set(h, 8)
    const r = Safetensors.decode(bytes, "foreign.safetensors")
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(r.success.tensors.get("b")!.shape).toEqual([0])
  })

  it("round-trips an empty tensor next to a tensor with an integer-like name", () => {
    const r = Safetensors.decode(
      Safetensors.encode([["0", Tensor.fromArray([1], [])], [" ", Tensor.zeros([0])]]),
      "x.safetensors"
    )
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect([...r.success.tensors.keys()].toSorted()).toEqual([" ", "0"])
  })

  it("refuses to encode a tensor named __metadata__", () => {
    expect(() => Safetensors.encode([["__metadata__", Tensor.zeros([1])]])).toThrow(/__metadata__/)
  })
})

/** Safetensors bytes from a header (object or raw text) and data bytes; `length` overrides the header length. */
const file = (header: unknown, data: Uint8Array | number = 0, length?: bigint): Uint8Array => {
  const h = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header))
  const d = typeof data === "number" ? new Uint8Array(data) : data
  const out = new Uint8Array(8 + h.length + d.length)
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true)
  out.set(h, 8)
  out.set(d, 8 + h.length)
  return out
}

const assertRejects = (bytes: Uint8Array, pattern: RegExp) => {
  const name = "bad-checkpoint.safetensors"
  const r = Safetensors.decode(bytes, name)
  if (Result.isSuccess(r)) throw new Error("expected decode to fail")
  expect(r.failure).toBeInstanceOf(CheckpointError)
  expect(r.failure._tag).toBe("CheckpointError")
  expect(r.failure.message).toContain(name)
  expect(r.failure.message).toMatch(pattern)
}

const f32 = (shape: Array<number>, begin: number, end: number) => ({ dtype: "F32", shape, data_offsets: [begin, end] })

describe("Safetensors.decode rejects corrupt files with a CheckpointError naming the file", () => {
  it("a file too short for the header length", () => {
    assertRejects(new Uint8Array(0), /too short|truncated/)
    assertRejects(new Uint8Array(7), /too short|truncated/)
  })
  it("a header length beyond the end of the file", () => {
    assertRejects(file({ a: f32([1], 0, 4) }, 4, 10_000n), /header|truncated/)
    assertRejects(file({}, 0, 2n ** 63n), /header|truncated/)
  })
  it("a header that is not JSON, or not a JSON object", () => {
    assertRejects(file("{not json"), /JSON/)
    assertRejects(file("[1, 2]"), /object/)
    assertRejects(file("null"), /object/)
    assertRejects(
      new Uint8Array([...file("{}").subarray(0, 8)].map((b, i) => (i === 0 ? 2 : b)).concat([0xff, 0xfe])),
      /JSON|corrupt/
    )
  })
  it("an unsupported dtype", () => {
    assertRejects(file({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, 8), /I64/)
    assertRejects(file({ a: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, 4), /F16/)
    assertRejects(file({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /dtype/)
  })
  it("an invalid shape or offsets", () => {
    assertRejects(file({ a: f32([-1], 0, 4) }, 4), /shape/)
    assertRejects(file({ a: f32([1.5], 0, 4) }, 4), /shape/)
    assertRejects(file({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, 4), /offsets/)
    assertRejects(file({ a: { dtype: "F32", shape: [1] } }, 4), /offsets/)
  })
  it("offsets that do not match the shape", () => {
    assertRejects(file({ a: f32([2], 0, 4) }, 4), /"a"/)
    assertRejects(file({ a: f32([2, 2], 0, 20) }, 20), /16/)
  })
  it("gaps or overlaps between tensors", () => {
    assertRejects(file({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12), /gap|overlap/)
    assertRejects(file({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), /gap|overlap/)
    assertRejects(file({ a: f32([1], 4, 8) }, 8), /gap|overlap/)
  })
  it("trailing bytes after the last tensor", () => {
    assertRejects(file({ a: f32([1], 0, 4) }, 8), /trailing/)
    assertRejects(file({}, 3), /trailing/)
  })
  it("truncated data", () => {
    assertRejects(file({ a: f32([2], 0, 8) }, 4), /truncated/)
    const good = Safetensors.encode([["w", Tensor.ones([4, 4])]])
    assertRejects(good.subarray(0, good.length - 1), /truncated/)
  })
  it("metadata that is not a map of strings", () => {
    assertRejects(file({ __metadata__: { epoch: 3 } }), /metadata/)
    assertRejects(file({ __metadata__: "x" }), /metadata/)
  })
})

describe("Safetensors.read / write", () => {
  it("writes a file that reads back, then a second write replaces it and leaves no temp file", async () => {
    const dir = tempDir()
    const target = join(dir, "model.safetensors")
    await Effect.runPromise(Safetensors.write(target, [["w", Tensor.fromArray([1, 2, 3], [3])]], { v: "1" }))
    const first = await Effect.runPromise(Safetensors.read(target))
    expect([...Tensor.toArray(first.tensors.get("w")!)]).toEqual([1, 2, 3])
    expect(first.metadata).toEqual({ v: "1" })
    await Effect.runPromise(
      Safetensors.write(target, [["u", Tensor.fromArray([9], [1, 1], { dtype: "float64" })]], { v: "2" })
    )
    const second = await Effect.runPromise(Safetensors.read(target))
    expect([...second.tensors.keys()]).toEqual(["u"])
    expect(second.tensors.get("u")!.dtype).toBe("float64")
    expect(second.metadata).toEqual({ v: "2" })
    expect(readdirSync(dir)).toEqual(["model.safetensors"])
    // the file on disk is exactly what encode produces
    expect(
      Buffer.compare(
        readFileSync(target),
        Buffer.from(Safetensors.encode([["u", Tensor.fromArray([9], [1, 1], { dtype: "float64" })]], { v: "2" }))
      )
    ).toBe(0)
  })

  it("read fails with a CheckpointError naming a missing or corrupt file", async () => {
    const dir = tempDir()
    const missing = join(dir, "nope.safetensors")
    const e1 = await failureOf(Safetensors.read(missing))
    expect(e1).toBeInstanceOf(CheckpointError)
    expect(e1._tag).toBe("CheckpointError")
    expect(e1.message).toContain(missing)
    const corrupt = join(dir, "corrupt.safetensors")
    writeFileSync(corrupt, "hello world, not a checkpoint")
    const e2 = await failureOf(Safetensors.read(corrupt))
    expect(e2._tag).toBe("CheckpointError")
    expect(e2.message).toContain(corrupt)
  })

  it("write fails with a CheckpointError when the directory does not exist", async () => {
    const dir = tempDir()
    const target = join(dir, "missing-dir", "model.safetensors")
    const e = await failureOf(Safetensors.write(target, [["w", Tensor.zeros([1])]]))
    expect(e._tag).toBe("CheckpointError")
    expect(e.message).toContain(target)
  })
})

describe("Safetensors shapes: every dim a non-negative integer, empty tensors included", () => {
  it("decode rejects an empty tensor whose shape has a dim that is not an exact integer, naming tensor and dim", () => {
    // 2^53 + 2 and 1e20 are integers to JavaScript but not exact: rejected like 1.5 or -1
    for (const bad of [2 ** 53 + 2, 1e20, 1.5, -1]) {
      assertRejects(file({ empty: f32([0, bad], 0, 0) }), /tensor "empty" has an invalid shape/)
      const r = Safetensors.decode(file({ empty: f32([0, bad], 0, 0) }))
      expect(Result.isFailure(r) && r.failure.reason).toMatch(/dim 1 is .*; dims must be non-negative integers/)
    }
  })

  it("encode and write refuse a tensor whose shape has a non-integer or negative dim, naming it", async () => {
    for (const bad of [1.5, -2]) {
      const t = unsafeFromData(new Float32Array(0), [0, bad]) as Tensor.AnyTensor
      expect(() => Safetensors.encode([["empty", t]])).toThrow(/tensor "empty" has an invalid shape \[0, -?[\d.]+\]/)
      const target = join(tempDir(), "model.safetensors")
      const e = await failureOf(Safetensors.write(target, [["empty", t]]))
      expect(e._tag).toBe("CheckpointError")
      expect(e.message).toMatch(/tensor "empty" has an invalid shape/)
      expect(existsSync(target)).toBe(false)
    }
  })
})

describe("Safetensors.writeErrorReason: what a failed write tells the user, by errno", () => {
  const target = join("runs", "out", "model.safetensors")
  const err = (code: string, message: string) => Object.assign(new Error(`${code}: ${message}`), { code })

  it("a full disk says the disk is full, and where", () => {
    const reason = Safetensors.writeErrorReason(target, err("ENOSPC", "no space left on device, write"))
    expect(reason).toMatch(/the disk is full/)
    expect(reason).toContain(join("runs", "out"))
    expect(reason).toMatch(/free some space/)
    expect(reason).not.toMatch(/check that the directory exists/)
    expect(Safetensors.writeErrorReason(target, err("EDQUOT", "disk quota exceeded"))).toMatch(/quota/)
  })

  it("other errors keep accurate messages", () => {
    expect(Safetensors.writeErrorReason(target, err("ENOENT", "no such file or directory, open"))).toMatch(
      /does not exist; check that the directory exists and is writable/
    )
    expect(Safetensors.writeErrorReason(target, err("EACCES", "permission denied, open"))).toMatch(/permission/)
    expect(Safetensors.writeErrorReason(target, err("EROFS", "read-only file system"))).toMatch(/read-only/)
    expect(Safetensors.writeErrorReason(target, err("ENOTDIR", "not a directory"))).toMatch(/not a directory/)
    expect(Safetensors.writeErrorReason(target, err("EISDIR", "is a directory"))).toMatch(/is a directory/)
    expect(Safetensors.writeErrorReason(target, err("EIO", "i/o error"))).toMatch(/EIO: i\/o error/)
  })
})
