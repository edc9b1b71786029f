/**
 * Fused elementwise kernels, ready for op-level fusions (not wired to a primitive yet). Each replaces two or
 * three passes (and as many freshly allocated outputs) of the composed ops by one pass, branch-free:
 *
 * - `biasRelu`:            out = relu(x + bias[col])           (forward of dense/conv + bias + relu)
 *
 * relu here is `Tensor.relu`: x > 0 or NaN keeps x (NaN propagates), else +0.
 * - `reluBackward`:        out = y > 0 ? ct : +0               (VJP of relu from its output, no mask tensor)
 * - `reluBackwardBiasGrad` the same, plus db[col] = sum over rows of out (the bias gradient in the same pass)
 *
 * `x`/`out` are [rows, cols] row-major; `bias`/`db` have length cols. `biasRelu` is bit-identical to
 * `relu(add(x, b))`; `reluBackward` gives `y > 0 ? ct : +0`, which equals `mul(ct, greater(y, 0))` for finite
 * ct except that a masked-out negative ct gives +0 where the product gives -0; bias sums accumulate in
 * float64 like `sum`. Float64 data is masked one 32-bit half at a time with the same mask.
 */
import type { FloatArray } from "../types.ts"

const words = (a: FloatArray, n: number): Int32Array =>
  new Int32Array(a.buffer, a.byteOffset, a instanceof Float64Array ? 2 * n : n)

export function biasRelu<A extends FloatArray>(x: A, bias: A, out: A, rows: number, cols: number): void {
  const oi = words(out, rows * cols)
  // Row by row: the add, then the mask over the same (cache-hot) row through the integer view.
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j]! + bias[j]!
    if (out instanceof Float64Array) {
      for (let j = 0, k = 2 * o; j < cols; j++, k += 2) {
        const v = out[o + j]!
        const m = -!(v <= 0)
        oi[k] = oi[k]! & m
        oi[k + 1] = oi[k + 1]! & m
      }
    } else {
      for (let j = 0, k = o; j < cols; j++, k++) {
        const v = out[k]!
        oi[k] = oi[k]! & -!(v <= 0)
      }
    }
  }
}

export function reluBackward<A extends FloatArray>(ct: A, y: A, out: A, n: number): void {
  const ci = words(ct, n), oi = words(out, n)
  if (out instanceof Float64Array) {
    for (let i = 0, k = 0; i < n; i++, k += 2) {
      const m = -(y[i]! > 0)
      oi[k] = ci[k]! & m
      oi[k + 1] = ci[k + 1]! & m
    }
  } else {
    for (let i = 0; i < n; i++) oi[i] = ci[i]! & -(y[i]! > 0)
  }
}

export function reluBackwardBiasGrad<A extends FloatArray>(
  ct: A,
  y: A,
  out: A,
  db: Float64Array,
  rows: number,
  cols: number
): void {
  reluBackward(ct, y, out, rows * cols)
  db.fill(0, 0, cols)
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let j = 0; j < cols; j++) db[j] = db[j]! + out[o + j]!
  }
}

/** y = relu(y) in place, branch-free (+0 where y <= 0; NaN stays). */
export function reluInPlace<A extends FloatArray>(y: A): void {
  const n = y.length
  const yi = words(y, n)
  if (y instanceof Float64Array) {
    for (let i = 0, k = 0; i < n; i++, k += 2) {
      const v = y[i]!
      const m = -!(v <= 0)
      yi[k] = yi[k]! & m
      yi[k + 1] = yi[k + 1]! & m
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = y[i]!
      yi[i] = yi[i]! & -!(v <= 0)
    }
  }
}
