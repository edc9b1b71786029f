/**
 * A drawing to an MNIST-like 28x28 image, the way MNIST's digits were made: the ink's bounding box is
 * scaled (aspect ratio kept, area-averaged, so strokes stay anti-aliased) to fit a 20x20 box, and that box
 * is placed in a 28x28 field so that the ink's centre of mass is at the centre (pixel 14, 14, as measured on
 * MNIST's own digits).
 *
 * Pure functions on plain arrays (no DOM): the page calls them on the canvas's pixels, the tests in Node.
 */

/** A grey image: `width * height` intensities in `[0, 1]`, row-major, ink high. */
export interface Grey {
  readonly width: number
  readonly height: number
  readonly data: Float32Array
}

/** The ink of an RGBA canvas drawn white on black (or on transparent): the maximum of alpha-weighted RGB. */
export const fromRgba = (rgba: Uint8ClampedArray, width: number, height: number): Grey => {
  const data = new Float32Array(width * height)
  for (let i = 0; i < data.length; i++) {
    const a = rgba[4 * i + 3]! / 255
    data[i] = (Math.max(rgba[4 * i]!, rgba[4 * i + 1]!, rgba[4 * i + 2]!) / 255) * a
  }
  return { width, height, data }
}

/** The smallest box holding every pixel brighter than `threshold`, or `undefined` for a blank image. */
export const boundingBox = (img: Grey, threshold = 0.05) => {
  let x0 = img.width, y0 = img.height, x1 = -1, y1 = -1
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[y * img.width + x]! > threshold) {
        if (x < x0) x0 = x
        if (x > x1) x1 = x
        if (y < y0) y0 = y
        if (y > y1) y1 = y
      }
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1, y1 }
}

/**
 * The region of `img` starting at `(x0, y0)` with `scale` source pixels per target pixel, resampled into a
 * `width * height` image by area averaging (each target pixel is the mean of the source area it covers).
 */
const resample = (img: Grey, x0: number, y0: number, scale: number, width: number, height: number): Grey => {
  const out = new Float32Array(width * height)
  for (let ty = 0; ty < height; ty++) {
    const sy0 = y0 + ty * scale
    const sy1 = sy0 + scale
    for (let tx = 0; tx < width; tx++) {
      const sx0 = x0 + tx * scale
      const sx1 = sx0 + scale
      let sum = 0
      for (let sy = Math.max(0, Math.floor(sy0)); sy < Math.min(img.height, Math.ceil(sy1)); sy++) {
        const wy = Math.min(sy1, sy + 1) - Math.max(sy0, sy)
        for (let sx = Math.max(0, Math.floor(sx0)); sx < Math.min(img.width, Math.ceil(sx1)); sx++) {
          const wx = Math.min(sx1, sx + 1) - Math.max(sx0, sx)
          sum += wx * wy * img.data[sy * img.width + sx]!
        }
      }
      out[ty * width + tx] = sum / (scale * scale)
    }
  }
  return { width, height, data: out }
}

/** The centre of mass `(x, y)` of an image's intensities, in pixel indices (MNIST's convention). */
export const centreOfMass = (img: Grey): readonly [number, number] => {
  let total = 0, sx = 0, sy = 0
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const v = img.data[y * img.width + x]!
      total += v
      sx += v * x
      sy += v * y
    }
  }
  return total === 0 ? [(img.width - 1) / 2, (img.height - 1) / 2] : [sx / total, sy / total]
}

/**
 * The 28x28 MNIST-style image of a drawing (784 values in `[0, 1]`), or `undefined` when nothing is drawn:
 * bounding box, scaled to fit 20x20 (aspect kept), centre of mass moved to the centre of 28x28.
 */
export const toMnist = (img: Grey): Float32Array | undefined => {
  const box = boundingBox(img)
  if (box === undefined) return undefined
  const bw = box.x1 - box.x0 + 1
  const bh = box.y1 - box.y0 + 1
  const scale = Math.max(bw, bh) / 20
  const w = Math.max(1, Math.min(20, Math.round(bw / scale)))
  const h = Math.max(1, Math.min(20, Math.round(bh / scale)))
  const digit = resample(img, box.x0, box.y0, scale, w, h)
  const [cx, cy] = centreOfMass(digit)
  const left = Math.round(14 - cx)
  const top = Math.round(14 - cy)
  const out = new Float32Array(28 * 28)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const X = x + left
      const Y = y + top
      if (X >= 0 && X < 28 && Y >= 0 && Y < 28) out[Y * 28 + X] = Math.min(1, digit.data[y * w + x]!)
    }
  }
  return out
}
