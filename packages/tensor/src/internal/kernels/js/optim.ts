/**
 * Fused optimizer updates, the portable reference: one pass over a parameter's entries computes the new
 * optimizer slots and the update (or the updated parameter) together, so the step reads each array once.
 */
import type { AdamArgs, FloatArray } from "../types.ts"

/** The smallest normal number of the element type (2^-126 for float32, 2^-1022 for float64). */
export const smallestNormal = (is32: boolean): number => (is32 ? 2 ** -126 : 2 ** -1022)

/**
 * Adam's update for one parameter (see `AdamArgs`): `m' = b1 m + (1 - b1) g`, `v' = b2 v + (1 - b2) g g`,
 * `u = a m' / (sqrt(v') + e)`, `out = p + u` (or `u` without `p`). Computed in float64 and rounded once
 * per stored value.
 *
 * Moments below the element type's smallest normal number are flushed to zero. An entry whose gradient
 * stays zero (a dead unit, a border pixel) has its first moment shrink by b1 every step into the subnormal
 * range, where it sticks (0.9 times a few units of the last place rounds back to itself), and arithmetic
 * on subnormal numbers is dozens of times slower on x86: measured, half of the reference CNN's first
 * moments were subnormal from step 700 on, and the training step ran 20% slower. An update of 1e-38
 * times the learning rate over epsilon moves nothing.
 */
export function adamJs<A extends FloatArray>(args: AdamArgs<A>): void {
  const { g, p, m, v, out, mOut, vOut, b1, b2, a, e } = args
  const ob1 = 1 - b1, ob2 = 1 - b2
  const tiny = smallestNormal(g instanceof Float32Array)
  for (let i = 0; i < g.length; i++) {
    const gi = g[i]!
    let mi = b1 * m[i]! + ob1 * gi
    let vi = b2 * v[i]! + ob2 * gi * gi
    if (Math.abs(mi) < tiny) mi = 0
    if (Math.abs(vi) < tiny) vi = 0
    mOut[i] = mi
    vOut[i] = vi
    const u = (a * mi) / (Math.sqrt(vi) + e)
    out[i] = p === undefined ? u : p[i]! + u
  }
}
