// Recycled tensor buffers: a large buffer is reused only after the array that owned it is collected, comes
// back zero-filled from `alloc`, is never reused while a `subView` of it lives, and memory stays bounded in
// a loop that never yields to the event loop.
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { describe, expect, it } from "vitest"
import { alloc, allocUninit } from "../src/internal/core.ts"
import { MAX_PENDING_BYTES, MIN_BYTES, recycleStats, releaseRecycled, subView } from "../src/internal/recycle.ts"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/**
 * Full collections, then event-loop turns so the registry's callbacks run (V8 posts them as a task of its
 * own after the collection: a few turns, with a timer among them, leave room for it on a loaded machine).
 */
async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** Collects what earlier tests left, then empties the free list. */
async function fresh(): Promise<void> {
  await collect()
  releaseRecycled()
}

/** Elements of a float32 buffer of a size no other test (or module) allocates. */
const N = MIN_BYTES / 4 + 1237

describe("recycled buffers", () => {
  it("reuses a collected buffer, zero-filled by alloc", async () => {
    await fresh()
    let a: Float32Array | undefined = alloc("float32", N) as Float32Array
    a.fill(7)
    const buffer = new WeakRef(a.buffer)
    a = undefined
    await collect()
    expect(recycleStats().freeBytes).toBeGreaterThanOrEqual(N * 4)
    const reused = recycleStats().reused
    const b = alloc("float32", N)
    expect(recycleStats().reused).toBe(reused + 1)
    expect(b.every((x) => x === 0)).toBe(true)
    expect(buffer.deref()).toBe(b.buffer)
  })

  it("never reuses a buffer while a subView of it lives", async () => {
    await fresh()
    let owner: Float32Array | undefined = alloc("float32", N) as Float32Array
    owner.fill(5)
    const view = subView(owner, 10, 20)
    owner = undefined
    await collect()
    for (let i = 0; i < 4; i++) allocUninit("float32", N).fill(9)
    expect(Array.from(view)).toEqual(new Array(10).fill(5))
  })

  it("does not reuse a transferred (detached) buffer", async () => {
    await fresh()
    let a: Float32Array | undefined = alloc("float32", N) as Float32Array
    // alloc makes plain (not shared) buffers.
    const buffer = a.buffer as ArrayBuffer
    structuredClone(buffer, { transfer: [buffer] })
    expect(a.byteLength).toBe(0)
    a = undefined
    await collect()
    expect(recycleStats().freeBytes).toBe(0)
  })

  it("keeps registered bytes bounded in a loop that never yields", () => {
    const before = recycleStats()
    const size = (4 * 2 ** 20) / 4
    for (let i = 0; i < (2 * MAX_PENDING_BYTES) / (4 * 2 ** 20); i++) allocUninit("float32", size)[0] = i
    expect(recycleStats().pendingBytes).toBeLessThanOrEqual(MAX_PENDING_BYTES)
    expect(recycleStats().fresh).toBeGreaterThan(before.fresh)
  })

  it("allocates small buffers plainly", () => {
    const before = recycleStats()
    alloc("float64", MIN_BYTES / 8 - 1)
    expect(recycleStats()).toEqual(before)
  })
})
