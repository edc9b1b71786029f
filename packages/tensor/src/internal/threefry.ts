/**
 * Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011), the counter-based generator JAX's keys use: a keyed bijection of a 64-bit counter,
 * so the value at any index is computed directly, streams split without coordination, and the output is a
 * pure function of (key, counter). Checked against the paper's known-answer vectors.
 *
 * @internal
 */

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const
const PARITY = 0x1bd11bda

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0

/** Writes the two output words of block (c0, c1) under key (k0, k1) into out[at], out[at + 1]. */
export function threefry2x32(
  k0: number,
  k1: number,
  c0: number,
  c1: number,
  out: Uint32Array,
  at: number
): void {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ PARITY) >>> 0] as const
  let x0 = (c0 + ks[0]) >>> 0
  let x1 = (c1 + ks[1]) >>> 0
  for (let i = 0; i < 5; i++) {
    const base = (i & 1) * 4
    for (let r = 0; r < 4; r++) {
      x0 = (x0 + x1) >>> 0
      x1 = rotl(x1, ROTATIONS[base + r]!) ^ x0
    }
    x0 = (x0 + ks[(i + 1) % 3]!) >>> 0
    x1 = (x1 + ks[(i + 2) % 3]! + i + 1) >>> 0
  }
  out[at] = x0
  out[at + 1] = x1 >>> 0
}

/** `count` random 32-bit words under the key: block j (counter (0, j)) gives words 2j and 2j + 1. */
export function randomBits(k0: number, k1: number, count: number): Uint32Array {
  const out = new Uint32Array(count + (count & 1))
  for (let j = 0; 2 * j < count; j++) threefry2x32(k0, k1, 0, j, out, 2 * j)
  return count & 1 ? out.subarray(0, count) : out
}

/**
 * `n` keys derived from `words` with counters (1, i), disjoint from the (0, j) blocks of `randomBits`,
 * typed as a tuple of length N when N is a literal (the caller checked that n is N).
 */
export function splitKeys<K, N extends number>(
  words: readonly [number, number],
  n: number,
  makeKey: (k0: number, k1: number) => K
): KeyTuple<K, N> {
  const out = new Uint32Array(2)
  const keys: Array<K> = []
  for (let i = 0; i < n; i++) {
    threefry2x32(words[0], words[1], 1, i, out, 0)
    keys.push(makeKey(out[0]!, out[1]!))
  }
  // An array of n keys; n is N, so it has the tuple type's length.
  return keys as unknown as KeyTuple<K, N>
}

/** A tuple of N keys for a literal N, else an array. */
export type KeyTuple<K, N extends number, Acc extends ReadonlyArray<K> = readonly []> = number extends N
  ? ReadonlyArray<K>
  : Acc["length"] extends N ? Acc
  : KeyTuple<K, N, readonly [...Acc, K]>
