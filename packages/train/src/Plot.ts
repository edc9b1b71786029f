/**
 * The training curve as a standalone SVG: loss and accuracy per epoch, training and validation.
 *
 * @since 0.1.0
 */
import type { EpochMetrics } from "./Progress.ts"

interface Series {
  readonly label: string
  readonly color: string
  readonly dashed: boolean
  readonly values: ReadonlyArray<number | undefined>
}

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const niceTicks = (lo: number, hi: number, count = 5): Array<number> => {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / count
  const mag = Math.pow(10, Math.floor(Math.log10(raw)))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const ticks: Array<number> = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12))
  return ticks
}

const panel = (
  x0: number,
  y0: number,
  w: number,
  h: number,
  title: string,
  epochs: ReadonlyArray<number>,
  series: ReadonlyArray<Series>,
  format: (v: number) => string
): string => {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)))
  let lo = all.length === 0 ? 0 : Math.min(...all)
  let hi = all.length === 0 ? 1 : Math.max(...all)
  if (hi - lo < 1e-9) {
    lo -= 0.5 * Math.max(Math.abs(lo), 1e-3)
    hi += 0.5 * Math.max(Math.abs(hi), 1e-3)
  }
  const pad = (hi - lo) * 0.08
  lo -= pad
  hi += pad
  const left = x0 + 64
  const right = x0 + w - 16
  const top = y0 + 56
  const bottom = y0 + h - 44
  const firstEpoch = epochs[0] ?? 1
  const lastEpoch = epochs[epochs.length - 1] ?? 1
  const sx = (
    e: number
  ) => (lastEpoch === firstEpoch
    ? (left + right) / 2
    : left + ((e - firstEpoch) / (lastEpoch - firstEpoch)) * (right - left))
  const sy = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top)
  const parts: Array<string> = []
  parts.push(
    `<text x="${x0 + w / 2}" y="${y0 + 20}" text-anchor="middle" font-size="15" font-weight="bold">${
      escape(title)
    }</text>`
  )
  parts.push(
    `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#999"/>`
  )
  for (const t of niceTicks(lo, hi)) {
    if (t < lo || t > hi) continue
    parts.push(`<line x1="${left}" x2="${right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`)
    parts.push(`<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${escape(format(t))}</text>`)
  }
  const tickEvery = Math.max(1, Math.ceil(epochs.length / 10))
  epochs.forEach((e, i) => {
    if (i % tickEvery !== 0 && i !== epochs.length - 1) return
    parts.push(`<text x="${sx(e)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${e}</text>`)
  })
  parts.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle" font-size="12">epoch</text>`)
  series.forEach((s, k) => {
    const points = epochs.flatMap((e, i) => {
      const v = s.values[i]
      return v === undefined || !Number.isFinite(v) ? [] : [`${sx(e).toFixed(1)},${sy(v).toFixed(1)}`]
    })
    if (points.length > 0) {
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${
          s.dashed ? " stroke-dasharray=\"6 4\"" : ""
        } points="${points.join(" ")}"/>`
      )
      for (const p of points) {
        const [px, py] = p.split(",")
        parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`)
      }
    }
    // The legend sits above the frame, one entry after the other, so it never hides a curve.
    const lx = left + k * 120
    const ly = top - 10
    parts.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${
        s.dashed ? " stroke-dasharray=\"6 4\"" : ""
      }/>`
    )
    parts.push(`<text x="${lx + 30}" y="${ly}" font-size="11">${escape(s.label)}</text>`)
  })
  return parts.join("\n")
}

/**
 * Renders the per-epoch metrics as an SVG document with a loss panel and an accuracy panel.
 *
 * @example
 * ```ts
 * import * as fs from "node:fs/promises"
 * declare const metrics: { readonly epochs: ReadonlyArray<Progress.EpochMetrics> }
 * await fs.writeFile("out/training.svg", Plot.trainingCurves(metrics.epochs, "MNIST CNN"))
 * ```
 */
export const trainingCurves = (epochs: ReadonlyArray<EpochMetrics>, title = "training"): string => {
  const width = 960
  const height = 400
  const xs = epochs.map((e) => e.epoch)
  const loss = panel(0, 24, width / 2, height - 24, "loss", xs, [
    { label: "training", color: "#1f77b4", dashed: false, values: epochs.map((e) => e.loss) },
    { label: "validation", color: "#ff7f0e", dashed: true, values: epochs.map((e) => e.validationLoss) }
  ], (v) => v.toFixed(3))
  const accuracy = panel(width / 2, 24, width / 2, height - 24, "accuracy", xs, [
    { label: "training", color: "#1f77b4", dashed: false, values: epochs.map((e) => e.accuracy) },
    { label: "validation", color: "#ff7f0e", dashed: true, values: epochs.map((e) => e.validationAccuracy) }
  ], (v) => `${(100 * v).toFixed(1)}%`)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="16">${escape(title)}</text>`,
    loss,
    accuracy,
    "</svg>",
    ""
  ].join("\n")
}
