/** @internal byte -> float in [0, 1] lookup table: `x / 255` for every byte. */
export const byteScale: Float32Array = Float32Array.from({ length: 256 }, (_, i) => i / 255)

/** @internal `src[i] / 255` for every byte into a fresh Float32Array. */
export const bytesToUnit = (src: Uint8Array): Float32Array => {
  const out = new Float32Array(src.length)
  const table = byteScale
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!
  return out
}
