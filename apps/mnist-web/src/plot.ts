/**
 * The live training plot, drawn by hand on a canvas (a charting library would outweigh the page): the
 * running training loss (left axis, from 0 to the largest loss seen) and the running training accuracy and
 * each epoch's validation accuracy (right axis, 0 to 100%) against the step.
 */

/** What the plot shows. */
export interface Curves {
  /** `[global step, running loss, running accuracy]` per step. */
  readonly steps: ReadonlyArray<readonly [number, number, number | undefined]>
  /** `[global step, validation accuracy]` at the end of each epoch. */
  readonly validation: ReadonlyArray<readonly [number, number]>
  readonly totalSteps: number
}

export const draw = (canvas: HTMLCanvasElement, curves: Curves): void => {
  const ctx = canvas.getContext("2d")
  if (ctx === null) return
  const { width, height } = canvas
  const pad = { left: 44, right: 44, top: 12, bottom: 26 }
  const w = width - pad.left - pad.right
  const h = height - pad.top - pad.bottom
  ctx.clearRect(0, 0, width, height)
  ctx.font = "11px system-ui, sans-serif"
  ctx.strokeStyle = "#ccd"
  ctx.strokeRect(pad.left, pad.top, w, h)
  const maxLoss = Math.max(0.5, ...curves.steps.map(([, loss]) => loss))
  const x = (step: number) => pad.left + (w * step) / Math.max(1, curves.totalSteps)
  const yLoss = (loss: number) => pad.top + h - (h * loss) / maxLoss
  const yAcc = (acc: number) => pad.top + h - h * acc
  ctx.fillStyle = "#555"
  ctx.textAlign = "right"
  ctx.fillText(maxLoss.toFixed(2), pad.left - 4, pad.top + 8)
  ctx.fillText("0", pad.left - 4, pad.top + h)
  ctx.textAlign = "left"
  ctx.fillText("100%", pad.left + w + 4, pad.top + 8)
  ctx.fillText("0%", pad.left + w + 4, pad.top + h)
  ctx.textAlign = "center"
  ctx.fillText(`step (of ${curves.totalSteps})`, pad.left + w / 2, height - 6)
  const line = (points: ReadonlyArray<readonly [number, number]>, colour: string) => {
    ctx.strokeStyle = colour
    ctx.lineWidth = 2
    ctx.beginPath()
    points.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)))
    ctx.stroke()
  }
  line(curves.steps.map(([s, loss]) => [x(s), yLoss(loss)]), "#d9480f")
  line(
    curves.steps.flatMap(([s, , acc]) => (acc === undefined ? [] : [[x(s), yAcc(acc)] as const])),
    "#1c7ed6"
  )
  ctx.fillStyle = "#2b8a3e"
  for (const [s, acc] of curves.validation) {
    ctx.beginPath()
    ctx.arc(x(s), yAcc(acc), 4, 0, 2 * Math.PI)
    ctx.fill()
  }
}
