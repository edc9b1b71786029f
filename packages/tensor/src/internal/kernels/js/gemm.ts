/**
 * Portable GEMM in plain JavaScript: `C (+)= op(A) op(B)`.
 *
 * GotoBLAS-style blocking: op(B) is packed into KC x NR column panels and op(A) into MC x KC blocks of
 * MR-row slivers, both into Float64Array scratch; a 4x4 register-blocked micro-kernel with sixteen local
 * accumulators runs over the packed data. Because the packed buffers are always Float64Array, the inner
 * loop is monomorphic whatever the caller's element type (float32 inputs are widened while packing and
 * rounded once when the tile is stored, which is at least as accurate as float32 accumulation).
 */
import { scratchF64 } from "../scratch.ts"
import type { FloatArray, GemmArgs } from "../types.ts"

const MR = 4
const NR = 4
const KC = 256
const MC = 128
const NC = 512

export function gemmJs<A extends FloatArray>(args: GemmArgs<A>): void {
  const { m, n, k, c, cOffset, ldc, accumulate } = args
  if (m <= 0 || n <= 0) return
  if (k <= 0) {
    if (!accumulate) {
      for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n)
    }
    return
  }
  const kcMax = Math.min(KC, k)
  const pb = scratchF64("gemm-js.b", kcMax * (Math.ceil(Math.min(NC, n) / NR) * NR))
  const pa = scratchF64("gemm-js.a", kcMax * (Math.ceil(Math.min(MC, m) / MR) * MR))
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc)
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc)
      const acc = accumulate || pc > 0
      packB(args, pb, pc, jc, kc, nc)
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic)
        packA(args, pa, ic, pc, mc, kc)
        macroKernel(pa, pb, mc, nc, kc, c, cOffset + ic * ldc + jc, ldc, acc)
      }
    }
  }
}

/** pa[(i / MR) * kc * MR + p * MR + i % MR] = op(A)[ic + i, pc + p], zero-padded to whole slivers. */
function packA(args: GemmArgs<FloatArray>, pa: Float64Array, ic: number, pc: number, mc: number, kc: number): void {
  const { a, aOffset, lda, transA } = args
  let dst = 0
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = Math.min(MR, mc - i0)
    if (transA) {
      // op(A)[i, p] = a[(pc + p) * lda + ic + i]: each p reads `rows` consecutive values.
      let src = aOffset + pc * lda + ic + i0
      for (let p = 0; p < kc; p++) {
        let r = 0
        for (; r < rows; r++) pa[dst + r] = a[src + r]!
        for (; r < MR; r++) pa[dst + r] = 0
        dst += MR
        src += lda
      }
    } else {
      for (let r = 0; r < MR; r++) {
        let d = dst + r
        if (r < rows) {
          let src = aOffset + (ic + i0 + r) * lda + pc
          for (let p = 0; p < kc; p++, d += MR) pa[d] = a[src++]!
        } else {
          for (let p = 0; p < kc; p++, d += MR) pa[d] = 0
        }
      }
      dst += kc * MR
    }
  }
}

/** pb[(j / NR) * kc * NR + p * NR + j % NR] = op(B)[pc + p, jc + j], zero-padded to whole panels. */
function packB(args: GemmArgs<FloatArray>, pb: Float64Array, pc: number, jc: number, kc: number, nc: number): void {
  const { b, bOffset, ldb, transB } = args
  let dst = 0
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = Math.min(NR, nc - j0)
    if (!transB) {
      let src = bOffset + pc * ldb + jc + j0
      for (let p = 0; p < kc; p++) {
        let q = 0
        for (; q < cols; q++) pb[dst + q] = b[src + q]!
        for (; q < NR; q++) pb[dst + q] = 0
        dst += NR
        src += ldb
      }
    } else {
      // op(B)[p, j] = b[(jc + j) * ldb + pc + p].
      for (let q = 0; q < NR; q++) {
        let d = dst + q
        if (q < cols) {
          let src = bOffset + (jc + j0 + q) * ldb + pc
          for (let p = 0; p < kc; p++, d += NR) pb[d] = b[src++]!
        } else {
          for (let p = 0; p < kc; p++, d += NR) pb[d] = 0
        }
      }
      dst += kc * NR
    }
  }
}

const edgeTile = new Float64Array(MR * NR)

function macroKernel(
  pa: Float64Array,
  pb: Float64Array,
  mc: number,
  nc: number,
  kc: number,
  c: FloatArray,
  cBase: number,
  ldc: number,
  acc: boolean
): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const bBase = (j0 / NR) * kc * NR
    const cols = Math.min(NR, nc - j0)
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const rows = Math.min(MR, mc - i0)
      let ai = (i0 / MR) * kc * MR
      let bi = bBase
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0
      for (let p = 0; p < kc; p++) {
        const a0 = pa[ai]!, a1 = pa[ai + 1]!, a2 = pa[ai + 2]!, a3 = pa[ai + 3]!
        const b0 = pb[bi]!, b1 = pb[bi + 1]!, b2 = pb[bi + 2]!, b3 = pb[bi + 3]!
        c00 += a0 * b0
        c01 += a0 * b1
        c02 += a0 * b2
        c03 += a0 * b3
        c10 += a1 * b0
        c11 += a1 * b1
        c12 += a1 * b2
        c13 += a1 * b3
        c20 += a2 * b0
        c21 += a2 * b1
        c22 += a2 * b2
        c23 += a2 * b3
        c30 += a3 * b0
        c31 += a3 * b1
        c32 += a3 * b2
        c33 += a3 * b3
        ai += MR
        bi += NR
      }
      const o = cBase + i0 * ldc + j0
      if (rows === MR && cols === NR) {
        const o1 = o + ldc, o2 = o1 + ldc, o3 = o2 + ldc
        if (acc) {
          c[o] = c[o]! + c00
          c[o + 1] = c[o + 1]! + c01
          c[o + 2] = c[o + 2]! + c02
          c[o + 3] = c[o + 3]! + c03
          c[o1] = c[o1]! + c10
          c[o1 + 1] = c[o1 + 1]! + c11
          c[o1 + 2] = c[o1 + 2]! + c12
          c[o1 + 3] = c[o1 + 3]! + c13
          c[o2] = c[o2]! + c20
          c[o2 + 1] = c[o2 + 1]! + c21
          c[o2 + 2] = c[o2 + 2]! + c22
          c[o2 + 3] = c[o2 + 3]! + c23
          c[o3] = c[o3]! + c30
          c[o3 + 1] = c[o3 + 1]! + c31
          c[o3 + 2] = c[o3 + 2]! + c32
          c[o3 + 3] = c[o3 + 3]! + c33
        } else {
          c[o] = c00
          c[o + 1] = c01
          c[o + 2] = c02
          c[o + 3] = c03
          c[o1] = c10
          c[o1 + 1] = c11
          c[o1 + 2] = c12
          c[o1 + 3] = c13
          c[o2] = c20
          c[o2 + 1] = c21
          c[o2 + 2] = c22
          c[o2 + 3] = c23
          c[o3] = c30
          c[o3 + 1] = c31
          c[o3 + 2] = c32
          c[o3 + 3] = c33
        }
      } else {
        const t = edgeTile
        t[0] = c00
        t[1] = c01
        t[2] = c02
        t[3] = c03
        t[4] = c10
        t[5] = c11
        t[6] = c12
        t[7] = c13
        t[8] = c20
        t[9] = c21
        t[10] = c22
        t[11] = c23
        t[12] = c30
        t[13] = c31
        t[14] = c32
        t[15] = c33
        for (let r = 0; r < rows; r++) {
          const row = o + r * ldc
          for (let q = 0; q < cols; q++) {
            if (acc) c[row + q] = c[row + q]! + t[r * NR + q]!
            else c[row + q] = t[r * NR + q]!
          }
        }
      }
    }
  }
}
