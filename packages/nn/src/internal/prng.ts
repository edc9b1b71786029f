/**
 * A small, fast, seedable generator for filling large buffers (initial weights, dropout masks).
 *
 * Effect's `Random` service is the source of every seed, so a run is reproducible from one seed; this
 * generator only expands a 32-bit seed into many numbers without a per-number Effect. The algorithm is
 * SplitMix32-style mixing of a Weyl sequence (a counter times an odd constant): each output is a pure
 * function of (seed, index), so streams for different layers or steps never overlap in structure.
 *
 * @internal
 */

/** Mixes a 32-bit value (a finaliser with good avalanche). */
export const mix32 = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad)
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97)
  return (x ^ (x >>> 15)) >>> 0
}

/** Derives an independent seed from a seed and a stream id (public as `Seed.derive`, which train uses too). */
export const derive = (seed: number, stream: number): number => mix32((seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0)

/** A generator of uniform doubles in [0, 1). */
export interface Prng {
  next(): number
}

/** A generator seeded with a 32-bit integer. */
export const make = (seed: number): Prng => {
  let state = seed >>> 0
  return {
    next: () => {
      state = (state + 0x9e3779b9) >>> 0
      return mix32(state) / 4294967296
    }
  }
}

/** Fills `out` with uniform values in [lo, hi). */
export const fillUniform = (out: Float32Array | Float64Array, seed: number, lo: number, hi: number): void => {
  const g = make(seed)
  const span = hi - lo
  for (let i = 0; i < out.length; i++) out[i] = lo + span * g.next()
}

/** Fills `out` with normal values of standard deviation `std`, truncated at two standard deviations. */
export const fillTruncatedNormal = (out: Float32Array | Float64Array, seed: number, std: number): void => {
  const g = make(seed)
  let i = 0
  while (i < out.length) {
    // Box-Muller: two independent normals per pair of uniforms; redraw outside [-2, 2].
    const u = 1 - g.next()
    const v = g.next()
    const r = Math.sqrt(-2 * Math.log(u))
    const a = r * Math.cos(2 * Math.PI * v)
    const b = r * Math.sin(2 * Math.PI * v)
    if (Math.abs(a) <= 2) out[i++] = a * std
    if (i < out.length && Math.abs(b) <= 2) out[i++] = b * std
  }
}

/**
 * Fills `out` with an inverted-dropout mask: 0 with probability `rate`, else `1 / (1 - rate)`.
 */
export const fillDropoutMask = (out: Float32Array | Float64Array, seed: number, rate: number): void => {
  const g = make(seed)
  const keep = 1 / (1 - rate)
  for (let i = 0; i < out.length; i++) out[i] = g.next() < rate ? 0 : keep
}
