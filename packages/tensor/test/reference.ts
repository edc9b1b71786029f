/**
 * Plain, obviously-correct reference implementations the kernels are tested against. They work on
 * `number[]` in float64 and share no code with the library (padding, broadcasting and output sizes are
 * re-derived here from the definitions).
 */

export const size = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

const strides = (shape: ReadonlyArray<number>): Array<number> => {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]!
  }
  return s
}

const unravel = (i: number, shape: ReadonlyArray<number>): Array<number> => {
  const idx = new Array<number>(shape.length)
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!
    i = Math.floor(i / shape[k]!)
  }
  return idx
}

export const broadcastShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Array<number> | undefined => {
  const rank = Math.max(a.length, b.length)
  const out: Array<number> = []
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1
    const db = b[b.length - rank + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) return undefined
    out.push(da === 1 ? db : da)
  }
  return out
}

export const binary = (
  f: (x: number, y: number) => number,
  a: ReadonlyArray<number>,
  aShape: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  bShape: ReadonlyArray<number>
): { data: Array<number>; shape: Array<number> } => {
  const shape = broadcastShape(aShape, bShape)!
  const data: Array<number> = []
  const as = strides(aShape)
  const bs = strides(bShape)
  for (let i = 0; i < size(shape); i++) {
    const idx = unravel(i, shape)
    let ia = 0
    let ib = 0
    for (let k = 0; k < aShape.length; k++) {
      const d = aShape[k]!
      ia += (d === 1 ? 0 : idx[shape.length - aShape.length + k]!) * as[k]!
    }
    for (let k = 0; k < bShape.length; k++) {
      const d = bShape[k]!
      ib += (d === 1 ? 0 : idx[shape.length - bShape.length + k]!) * bs[k]!
    }
    data.push(f(a[ia]!, b[ib]!))
  }
  return { data, shape }
}

export const reduce = (
  kind: "sum" | "max" | "min" | "mean" | "logsumexp",
  data: ReadonlyArray<number>,
  shape: ReadonlyArray<number>,
  axes: ReadonlyArray<number>,
  keepDims: boolean
): { data: Array<number>; shape: Array<number> } => {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d))
  const acc = new Array<number>(size(kept)).fill(kind === "max" ? -Infinity : kind === "min" ? Infinity : 0)
  const count = new Array<number>(size(kept)).fill(0)
  const ks = strides(kept)
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape)
    let o = 0
    for (let k = 0; k < shape.length; k++) o += (axes.includes(k) ? 0 : idx[k]!) * ks[k]!
    acc[o] = kind === "max"
      ? Math.max(acc[o]!, data[i]!)
      : kind === "min"
      ? Math.min(acc[o]!, data[i]!)
      : kind === "logsumexp"
      ? acc[o]! + Math.exp(data[i]!)
      : acc[o]! + data[i]!
    count[o]!++
  }
  const out = kind === "mean" ? acc.map((v, i) => v / count[i]!) : kind === "logsumexp" ? acc.map(Math.log) : acc
  return { data: out, shape: keepDims ? kept : shape.filter((_, i) => !axes.includes(i)) }
}

/** The index of the first extreme along `axis` (naive: over every index of the input), the axis removed. */
export const argReduce = (
  kind: "argmax" | "argmin",
  data: ReadonlyArray<number>,
  shape: ReadonlyArray<number>,
  axis: number
): { data: Array<number>; shape: Array<number> } => {
  const kept = shape.map((d, i) => (i === axis ? 1 : d))
  const best = new Array<number>(size(kept)).fill(NaN)
  const at = new Array<number>(size(kept)).fill(-1)
  const ks = strides(kept)
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape)
    let o = 0
    for (let k = 0; k < shape.length; k++) o += (k === axis ? 0 : idx[k]!) * ks[k]!
    const v = data[i]!
    if (at[o] === -1 || (kind === "argmax" ? v > best[o]! : v < best[o]!)) {
      best[o] = v
      at[o] = idx[axis]!
    }
  }
  return { data: at, shape: shape.filter((_, i) => i !== axis) }
}

export const transpose = (
  data: ReadonlyArray<number>,
  shape: ReadonlyArray<number>,
  perm: ReadonlyArray<number>
): { data: Array<number>; shape: Array<number> } => {
  const outShape = perm.map((p) => shape[p]!)
  const is = strides(shape)
  const out: Array<number> = []
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, outShape)
    let j = 0
    for (let k = 0; k < perm.length; k++) j += idx[k]! * is[perm[k]!]!
    out.push(data[j]!)
  }
  return { data: out, shape: outShape }
}

/** `[..., M, K] x [K, N]`, the naive triple loop. */
export const matmul = (
  a: ReadonlyArray<number>,
  aShape: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  bShape: ReadonlyArray<number>
): Array<number> => {
  const k = aShape[aShape.length - 1]!
  const n = bShape[1]!
  const m = size(aShape) / k
  const out: Array<number> = []
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!
      out.push(s)
    }
  }
  return out
}

export type RefPadding =
  | "valid"
  | "same"
  | number
  | readonly [number, number]
  | readonly [readonly [number, number], readonly [number, number]]

/** Pads of one spatial axis, from the definitions (TensorFlow "same": smaller half first). */
export const padsOf = (
  padding: RefPadding,
  axis: 0 | 1,
  input: number,
  kernel: number,
  stride: number,
  dilation: number
): [number, number] => {
  if (padding === "valid") return [0, 0]
  if (padding === "same") {
    const out = Math.ceil(input / stride)
    const eff = (kernel - 1) * dilation + 1
    const total = Math.max(0, (out - 1) * stride + eff - input)
    return [Math.floor(total / 2), total - Math.floor(total / 2)]
  }
  if (typeof padding === "number") return [padding, padding]
  const p = padding[axis]
  return typeof p === "number" ? [p, p] : [p[0], p[1]]
}

/** The direct 7-loop convolution over NHWC input and [KH, KW, C, F] weights. */
export const conv2d = (
  x: ReadonlyArray<number>,
  xShape: readonly [number, number, number, number],
  w: ReadonlyArray<number>,
  wShape: readonly [number, number, number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  padding: RefPadding
): { data: Array<number>; shape: [number, number, number, number] } => {
  const [N, H, W, C] = xShape
  const [KH, KW, , F] = wShape
  const [pt, pb] = padsOf(padding, 0, H, KH, strides[0], dilation[0])
  const [pl, pr] = padsOf(padding, 1, W, KW, strides[1], dilation[1])
  const OH = Math.floor((H + pt + pb - ((KH - 1) * dilation[0] + 1)) / strides[0]) + 1
  const OW = Math.floor((W + pl + pr - ((KW - 1) * dilation[1] + 1)) / strides[1]) + 1
  const out: Array<number> = []
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let f = 0; f < F; f++) {
          let s = 0
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              for (let c = 0; c < C; c++) {
                const ih = oh * strides[0] + kh * dilation[0] - pt
                const iw = ow * strides[1] + kw * dilation[1] - pl
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue
                s += x[((n * H + ih) * W + iw) * C + c]! * w[((kh * KW + kw) * C + c) * F + f]!
              }
            }
          }
          out.push(s)
        }
      }
    }
  }
  return { data: out, shape: [N, OH, OW, F] }
}

/** Naive max / average pooling; padded cells are skipped (average divides by the real cells). */
export const pool = (
  kind: "max" | "avg",
  x: ReadonlyArray<number>,
  xShape: readonly [number, number, number, number],
  poolSize: readonly [number, number],
  strides: readonly [number, number],
  padding: RefPadding
): { data: Array<number>; shape: [number, number, number, number] } => {
  const [N, H, W, C] = xShape
  const [pt, pb] = padsOf(padding, 0, H, poolSize[0], strides[0], 1)
  const [pl, pr] = padsOf(padding, 1, W, poolSize[1], strides[1], 1)
  const OH = Math.floor((H + pt + pb - poolSize[0]) / strides[0]) + 1
  const OW = Math.floor((W + pl + pr - poolSize[1]) / strides[1]) + 1
  const out: Array<number> = []
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          let m = -Infinity
          let s = 0
          let count = 0
          for (let i = 0; i < poolSize[0]; i++) {
            for (let j = 0; j < poolSize[1]; j++) {
              const ih = oh * strides[0] + i - pt
              const iw = ow * strides[1] + j - pl
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue
              const v = x[((n * H + ih) * W + iw) * C + c]!
              m = Math.max(m, v)
              s += v
              count++
            }
          }
          out.push(kind === "max" ? m : s / count)
        }
      }
    }
  }
  return { data: out, shape: [N, OH, OW, C] }
}

/** `erf` by composite Simpson integration of `2 / sqrt(pi) e^(-t^2)` (an independent check of the series). */
export const erf = (x: number): number => {
  const n = 20000
  const h = x / n
  let s = 1 + Math.exp(-x * x)
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2))
  return (s * h) / 3 * (2 / Math.sqrt(Math.PI))
}
