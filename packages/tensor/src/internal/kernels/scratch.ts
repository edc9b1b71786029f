/**
 * Reusable scratch buffers. Each named slot holds one growing buffer per element type, so kernels allocate
 * only when a call needs more room than any earlier call did. Slots must not be shared by kernels that can
 * be active at the same time (kernels are synchronous and never re-enter each other with the same slot).
 */
import type { FloatArray } from "./types.ts"

const slots32 = new Map<string, Float32Array>()
const slots64 = new Map<string, Float64Array>()

/** A buffer of the same element type as `like`, with at least `size` elements (contents unspecified). */
export function scratchLike<A extends FloatArray>(like: A, slot: string, size: number): A {
  if (like instanceof Float32Array) {
    let buf = slots32.get(slot)
    if (buf === undefined || buf.length < size) {
      buf = new Float32Array(grow(buf?.length ?? 0, size))
      slots32.set(slot, buf)
    }
    // Same element type as `like` by the branch above.
    return buf as A
  }
  return scratchF64(slot, size) as A
}

/** A Float64Array scratch buffer with at least `size` elements (contents unspecified). */
export function scratchF64(slot: string, size: number): Float64Array {
  let buf = slots64.get(slot)
  if (buf === undefined || buf.length < size) {
    buf = new Float64Array(grow(buf?.length ?? 0, size))
    slots64.set(slot, buf)
  }
  return buf
}

/** Drop every scratch buffer (lets the memory be collected). */
export function releaseScratch(): void {
  slots32.clear()
  slots64.clear()
}

function grow(current: number, wanted: number): number {
  // Grow geometrically so a sequence of slightly larger requests does not reallocate every time.
  return Math.max(wanted, Math.min(current * 2, wanted + (1 << 20)))
}
