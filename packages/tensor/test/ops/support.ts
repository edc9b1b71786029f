/**
 * What the op-family tests share: the dtypes they run in, a value generator spread over [-1, 1] and a
 * tolerance-aware comparison.
 */
import fc from "fast-check"
import { expect } from "vitest"

export const DTYPES = ["float32", "float64"] as const
export type DT = (typeof DTYPES)[number]

/** Values spread over [-1, 1] (raw fc.double clusters near 0). */
export const value = fc.integer({ min: -1000, max: 1000 }).map((i) => i / 1000)
export const values = (n: number) => fc.array(value, { minLength: n, maxLength: n })

export const close = (got: ArrayLike<number>, want: ArrayLike<number>, dtype: DT, scale = 1): void => {
  expect(got.length).toBe(want.length)
  const tol = dtype === "float64" ? 1e-12 : 1e-5
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = got[i]!
    if (Math.abs(g - w) > tol * scale * Math.max(1, Math.abs(w))) {
      expect.fail(`entry ${i}: got ${g}, want ${w} (${dtype})`)
    }
  }
}
