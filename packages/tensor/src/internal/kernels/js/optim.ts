/**
 * Fused optimizer updates, the portable reference: one pass over a parameter's entries computes the new
 * optimizer slots and the update (or the updated parameter) together, so the step reads each array once.
 */
import type { AdamArgs, FloatArray } from "../types.ts"

/**
 * Adam's update for one parameter (see `AdamArgs`): `m' = b1 m + (1 - b1) g`, `v' = b2 v + (1 - b2) g g`,
 * `u = a m' / (sqrt(v') + e)`, `out = p + u` (or `u` without `p`). Computed in float64 and rounded once
 * per stored value.
 */
export function adamJs<A extends FloatArray>(args: AdamArgs<A>): void {
  const { g, p, m, v, out, mOut, vOut, b1, b2, a, e } = args
  const ob1 = 1 - b1, ob2 = 1 - b2
  for (let i = 0; i < g.length; i++) {
    const gi = g[i]!
    const mi = b1 * m[i]! + ob1 * gi
    const vi = b2 * v[i]! + ob2 * gi * gi
    mOut[i] = mi
    vOut[i] = vi
    const u = (a * mi) / (Math.sqrt(vi) + e)
    out[i] = p === undefined ? u : p[i]! + u
  }
}
