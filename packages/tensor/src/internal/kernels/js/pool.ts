/**
 * 2-D max and average pooling over NHWC data, forward and backward, in one pass over each window with the
 * channel loop innermost (contiguous). Windows are clipped to the real cells of the input, so padding
 * never wins a maximum and averages divide by the number of real cells.
 */
import type { FloatArray, Pool2dGeometry } from "../types.ts"

export function maxPool2d<A extends FloatArray>(x: A, y: A, g: Pool2dGeometry, argmax?: Int32Array): void {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } = g
  const track = argmax !== undefined
  const am = argmax ?? new Int32Array(0)
  let o = 0
  for (let img = 0; img < n; img++) {
    const xImg = img * h * w * c
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop
      const kyStart = Math.max(0, -y0), kyEnd = Math.min(kh, h - y0)
      for (let ox = 0; ox < outW; ox++, o += c) {
        const x0 = ox * strideW - padLeft
        const kxStart = Math.max(0, -x0), kxEnd = Math.min(kw, w - x0)
        if (kyStart >= kyEnd || kxStart >= kxEnd) {
          y.fill(-Infinity, o, o + c)
          if (track) am.fill(-1, o, o + c)
          continue
        }
        let first = true
        for (let ky = kyStart; ky < kyEnd; ky++) {
          for (let kx = kxStart; kx < kxEnd; kx++) {
            const src = xImg + ((y0 + ky) * w + x0 + kx) * c
            if (first) {
              for (let ch = 0; ch < c; ch++) y[o + ch] = x[src + ch]!
              if (track) { for (let ch = 0; ch < c; ch++) am[o + ch] = src + ch }
              first = false
            } else if (track) {
              for (let ch = 0; ch < c; ch++) {
                const v = x[src + ch]!
                if (v > y[o + ch]!) {
                  y[o + ch] = v
                  am[o + ch] = src + ch
                }
              }
            } else {
              for (let ch = 0; ch < c; ch++) {
                const v = x[src + ch]!
                if (v > y[o + ch]!) y[o + ch] = v
              }
            }
          }
        }
      }
    }
  }
}

export function maxPool2dBackward<A extends FloatArray>(dy: A, argmax: Int32Array, dx: A, g: Pool2dGeometry): void {
  dx.fill(0, 0, g.n * g.h * g.w * g.c)
  const total = g.n * g.outH * g.outW * g.c
  for (let i = 0; i < total; i++) {
    const j = argmax[i]!
    if (j >= 0) dx[j] = dx[j]! + dy[i]!
  }
}

export function maxPool2dBackwardFromInput<A extends FloatArray>(x: A, dy: A, dx: A, g: Pool2dGeometry): void {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } = g
  dx.fill(0, 0, n * h * w * c)
  let o = 0
  for (let img = 0; img < n; img++) {
    const xImg = img * h * w * c
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop
      const kyStart = Math.max(0, -y0), kyEnd = Math.min(kh, h - y0)
      for (let ox = 0; ox < outW; ox++, o += c) {
        const x0 = ox * strideW - padLeft
        const kxStart = Math.max(0, -x0), kxEnd = Math.min(kw, w - x0)
        if (kyStart >= kyEnd || kxStart >= kxEnd) continue
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity
          let at = -1
          for (let ky = kyStart; ky < kyEnd; ky++) {
            let src = xImg + ((y0 + ky) * w + x0 + kxStart) * c + ch
            for (let kx = kxStart; kx < kxEnd; kx++, src += c) {
              const v = x[src]!
              if (at < 0 || v > best) {
                best = v
                at = src
              }
            }
          }
          dx[at] = dx[at]! + dy[o + ch]!
        }
      }
    }
  }
}

export function avgPool2d<A extends FloatArray>(x: A, y: A, g: Pool2dGeometry): void {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } = g
  let o = 0
  for (let img = 0; img < n; img++) {
    const xImg = img * h * w * c
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop
      const kyStart = Math.max(0, -y0), kyEnd = Math.min(kh, h - y0)
      for (let ox = 0; ox < outW; ox++, o += c) {
        const x0 = ox * strideW - padLeft
        const kxStart = Math.max(0, -x0), kxEnd = Math.min(kw, w - x0)
        const count = Math.max(0, kyEnd - kyStart) * Math.max(0, kxEnd - kxStart)
        y.fill(0, o, o + c)
        if (count === 0) continue
        for (let ky = kyStart; ky < kyEnd; ky++) {
          for (let kx = kxStart; kx < kxEnd; kx++) {
            const src = xImg + ((y0 + ky) * w + x0 + kx) * c
            for (let ch = 0; ch < c; ch++) y[o + ch] = y[o + ch]! + x[src + ch]!
          }
        }
        const scale = 1 / count
        for (let ch = 0; ch < c; ch++) y[o + ch] = y[o + ch]! * scale
      }
    }
  }
}

export function avgPool2dBackward<A extends FloatArray>(dy: A, dx: A, g: Pool2dGeometry): void {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } = g
  dx.fill(0, 0, n * h * w * c)
  let o = 0
  for (let img = 0; img < n; img++) {
    const xImg = img * h * w * c
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop
      const kyStart = Math.max(0, -y0), kyEnd = Math.min(kh, h - y0)
      for (let ox = 0; ox < outW; ox++, o += c) {
        const x0 = ox * strideW - padLeft
        const kxStart = Math.max(0, -x0), kxEnd = Math.min(kw, w - x0)
        const count = Math.max(0, kyEnd - kyStart) * Math.max(0, kxEnd - kxStart)
        if (count === 0) continue
        const scale = 1 / count
        for (let ky = kyStart; ky < kyEnd; ky++) {
          for (let kx = kxStart; kx < kxEnd; kx++) {
            const d = xImg + ((y0 + ky) * w + x0 + kx) * c
            for (let ch = 0; ch < c; ch++) dx[d + ch] = dx[d + ch]! + dy[o + ch]! * scale
          }
        }
      }
    }
  }
}
