import { Types } from "@typegrad/shape"
import { Prng, ShapeError, Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { threefry2x32 } from "../src/internal/threefry.ts"

const mean = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return s / xs.length
}
const variance = (xs: ArrayLike<number>): number => {
  const m = mean(xs)
  let s = 0
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2
  return s / xs.length
}

describe("Threefry-2x32", () => {
  it("matches the known-answer vectors of Salmon et al. (Random123)", () => {
    const out = new Uint32Array(2)
    const cases: ReadonlyArray<readonly [number, number, number, number, number, number]> = [
      [0, 0, 0, 0, 0x6b200159, 0x99ba4efe],
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x1cb996fc, 0xbb002be7],
      [0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, 0xc4923a9c, 0x483df7a0]
    ]
    for (const [k0, k1, c0, c1, y0, y1] of cases) {
      threefry2x32(k0, k1, c0, c1, out, 0)
      expect([out[0], out[1]]).toEqual([y0, y1])
    }
  })
})

describe("Prng", () => {
  it("the same key gives the same numbers; other keys give other numbers", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (a, b) => {
        const x = Tensor.toArray(Prng.uniform(Prng.key(a), [64]))
        expect(Tensor.toArray(Prng.uniform(Prng.key(a), [64]))).toEqual(x)
        if (a !== b) expect(Tensor.toArray(Prng.uniform(Prng.key(b), [64]))).not.toEqual(x)
      }),
      { numRuns: 50 }
    )
  })

  it("split and foldIn give distinct keys, deterministic, typed as a tuple for a literal count", () => {
    const k = Prng.key(42)
    const [a, b, c] = Prng.split(k, 3)
    const typed: Types.Expect<Types.Equal<typeof a, Prng.Key>> = true
    expect(typed).toBe(true)
    expect(Prng.split(k, 3)).toEqual([a, b, c])
    const words = new Set([a, b, c, k, Prng.foldIn(k, 0), Prng.foldIn(k, 1)].map((x) => x.words.join(":")))
    expect(words.size).toBe(6)
    expect(Prng.split(k)).toHaveLength(2)
    expect(Prng.foldIn(k, 5)).toEqual(Prng.foldIn(k, 5))
    // A key's own numbers differ from its children's.
    const own = Tensor.toArray(Prng.uniform(k, [8]))
    expect(Tensor.toArray(Prng.uniform(a, [8]))).not.toEqual(own)
    // Large and negative seeds are distinct keys.
    expect(Prng.key(-1).words).not.toEqual(Prng.key(2 ** 40).words)
    expect(Prng.key(2 ** 40).words).toEqual([256, 0])
  })

  it("uniform: in [min, max), mean and variance of the distribution, flat histogram (float32 and float64)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const n = 100_000
      const u = Tensor.toArray(Prng.uniform(Prng.key(1), [n], { dtype }))
      expect(u).toBeInstanceOf(dtype === "float32" ? Float32Array : Float64Array)
      expect(Math.min(...u)).toBeGreaterThanOrEqual(0)
      expect(Math.max(...u)).toBeLessThan(1)
      // Standard error of the mean is sqrt(1/12 / n) ~ 0.0009: 5 of them.
      expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.0046)
      expect(Math.abs(variance(u) - 1 / 12)).toBeLessThan(0.002)
      const buckets = new Array<number>(20).fill(0)
      for (const x of u) buckets[Math.floor(x * 20)]!++
      const chi2 = buckets.reduce((s, o) => s + (o - n / 20) ** 2 / (n / 20), 0)
      // 19 degrees of freedom: P(chi2 > 43.8) = 0.001.
      expect(chi2).toBeLessThan(43.8)
      const r = Tensor.toArray(Prng.uniform(Prng.key(2), [1000], { dtype, min: -3, max: -2 }))
      expect(Math.min(...r)).toBeGreaterThanOrEqual(-3)
      expect(Math.max(...r)).toBeLessThan(-2)
    }
  })

  it("normal: mean, standard deviation and the one-sigma mass", () => {
    const n = 100_001
    const z = Tensor.toArray(Prng.normal(Prng.key(3), [n], { mean: 2, std: 3, dtype: "float64" }))
    expect(z).toHaveLength(n)
    expect(Math.abs(mean(z) - 2)).toBeLessThan(5 * 3 / Math.sqrt(n))
    expect(Math.abs(Math.sqrt(variance(z)) - 3)).toBeLessThan(0.05)
    const within = z.filter((x) => Math.abs(x - 2) < 3).length / n
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.01)
  })

  it("bernoulli: zeros and ones with the right frequency", () => {
    const b = Tensor.toArray(Prng.bernoulli(Prng.key(4), 0.3, [200, 100]))
    expect(new Set(b)).toEqual(new Set([0, 1]))
    expect(Math.abs(mean(b) - 0.3)).toBeLessThan(5 * Math.sqrt(0.21 / 20_000))
    expect(Tensor.toArray(Prng.bernoulli(Prng.key(4), 0, [10])).every((x) => x === 0)).toBe(true)
    expect(Tensor.toArray(Prng.bernoulli(Prng.key(4), 1, [10])).every((x) => x === 1)).toBe(true)
  })

  it("sibling keys give uncorrelated streams", () => {
    const [a, b] = Prng.split(Prng.key(5))
    const x = Tensor.toArray(Prng.uniform(a, [50_000], { dtype: "float64" }))
    const y = Tensor.toArray(Prng.uniform(b, [50_000], { dtype: "float64" }))
    const mx = mean(x), my = mean(y)
    let cov = 0
    for (let i = 0; i < x.length; i++) cov += (x[i]! - mx) * (y[i]! - my)
    const corr = cov / x.length / Math.sqrt(variance(x) * variance(y))
    expect(Math.abs(corr)).toBeLessThan(5 / Math.sqrt(50_000))
  })

  it("shapes are in the types and checked at run time", () => {
    const t = Prng.normal(Prng.key(0), [2, 3])
    const typed: Types.Expect<Types.Equal<typeof t, Tensor.Tensor<readonly [2, 3], "float32">>> = true
    expect(typed).toBe(true)
    expect(t.shape).toEqual([2, 3])
    expect(() => Prng.uniform(Prng.key(0), [2, -1])).toThrow(ShapeError)
    expect(() => Prng.uniform(Prng.key(0), [2], { min: 1, max: 1 })).toThrow(/needs finite min < max/)
    expect(() => Prng.bernoulli(Prng.key(0), 1.5, [2])).toThrow(/p must be in \[0, 1\], got 1.5/)
    expect(() => Prng.key(0.5)).toThrow(/seed must be a safe integer, got 0.5/)
    expect(() => Prng.split(Prng.key(0), 0)).toThrow(/count must be a positive integer, got 0/)
    // @ts-expect-error not a key
    expect(() => Prng.uniform({ words: [1, 2] }, [2])).toThrow(/expected a key made by Prng.key/)
  })

  it("fromRandom draws a key from Effect's Random: reproducible under Random.withSeed", () => {
    const draw = Effect.map(Prng.fromRandom, (k) => Tensor.toArray(Prng.uniform(k, [4])))
    const one = Effect.runSync(draw.pipe(Random.withSeed(11)))
    expect(Effect.runSync(draw.pipe(Random.withSeed(11)))).toEqual(one)
    expect(Effect.runSync(draw.pipe(Random.withSeed(12)))).not.toEqual(one)
  })
})
