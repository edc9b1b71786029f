/**
 * Column sums in float64, the bias gradients' reduction: `acc[j] += data[r * n + j]` over every row r, four
 * rows per pass (`acc[j] + ((d0 + d1) + (d2 + d3))`), then the rows left one at a time. The WebAssembly
 * kernel (`wasm/reduce-wasm.ts`) adds in this same order, so both give the same bits.
 */
import type { FloatArray } from "../types.ts"

/** `Kernels.sumRows` in JavaScript: the reference. */
export function sumRows<A extends FloatArray>(data: A, rows: number, n: number, acc: Float64Array): void {
  let r = 0
  for (; r + 4 <= rows; r += 4) {
    const i = r * n
    for (let j = 0; j < n; j++) {
      acc[j] = acc[j]! + ((data[i + j]! + data[i + n + j]!) + (data[i + 2 * n + j]! + data[i + 3 * n + j]!))
    }
  }
  for (; r < rows; r++) {
    const i = r * n
    for (let j = 0; j < n; j++) acc[j] = acc[j]! + data[i + j]!
  }
}
