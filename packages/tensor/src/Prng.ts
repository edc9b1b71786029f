/**
 * Random tensors from explicit keys, as in JAX: a key is a value; `split` and `foldIn` derive new keys
 * from it; `uniform`, `normal` and `bernoulli` turn a key into a tensor. The same key always gives the same
 * numbers, on every machine, whatever else the program draws; there is no hidden global state.
 *
 * The generator is Threefry-2x32 (20 rounds), the counter-based generator of JAX's keys (checked against
 * its published known-answer vectors); the numbers themselves are not JAX's, whose float conversion
 * differs. `fromRandom` bridges to Effect: it draws a key from the `Random` service, so a program seeded
 * with `Random.withSeed` is reproducible end to end.
 *
 * @example
 * ```ts
 * const [k1, k2] = Prng.split(Prng.key(0))
 * const w = Prng.normal(k1, [784, 128], { std: 0.05 }) // Tensor<readonly [784, 128], "float32">
 * const mask = Prng.bernoulli(k2, 0.9, [128])
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Random } from "effect"
import { alloc, type Data, make, sizeOf } from "./internal/core.ts"
import { fromImpl } from "./internal/op.ts"
import { allocFilled } from "./internal/recycle.ts"
import { type KeyTuple, randomBits, splitKeys, threefry2x32 } from "./internal/threefry.ts"
import { checkShape, dtypeOf } from "./ops/creation.ts"
import type { DType, Shape, Tensor } from "./Tensor.ts"

/**
 * A key: two 32-bit words. A value like any other: keep it, pass it, derive others from it.
 *
 * @example
 * ```ts
 * const k: Prng.Key = Prng.key(42)
 * ```
 */
export interface Key {
  readonly _tag: "PrngKey"
  readonly words: readonly [number, number]
}

const makeKey = (k0: number, k1: number): Key => {
  const key: Key = { _tag: "PrngKey", words: [k0 >>> 0, k1 >>> 0] }
  return Object.freeze(key)
}

const checkKey = (op: string, k: Key): void => {
  if (k === null || typeof k !== "object" || k._tag !== "PrngKey") {
    throw new TypeError(`Prng.${op}: expected a key made by Prng.key, Prng.split or Prng.foldIn, got ${String(k)}`)
  }
}

/**
 * The key of an integer seed (any safe integer, negative included).
 *
 * @example
 * ```ts
 * const k = Prng.key(0)
 * ```
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Prng.key: the seed must be a safe integer, got ${seed}`)
  const lo = seed >>> 0
  const hi = Math.floor(seed / 4294967296) >>> 0
  return makeKey(hi, lo)
}

/**
 * A tuple of N keys for a literal N, else an array.
 *
 * @example
 * ```ts
 * const keys: Prng.Keys<3> = Prng.split(Prng.key(0), 3) // readonly [Key, Key, Key]
 * ```
 */
export type Keys<N extends number> = KeyTuple<Key, N>

/**
 * `count` new keys (default 2), independent of each other and of `key`'s own numbers. Use each key once:
 * split again for more.
 *
 * @example
 * ```ts
 * const [init, dropout, shuffle] = Prng.split(Prng.key(7), 3)
 * ```
 */
export const split = <const N extends number = 2>(from: Key, count?: N): Keys<N> => {
  checkKey("split", from)
  const n = count ?? 2
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`Prng.split: count must be a positive integer, got ${n}`)
  // Counters (1, i) are disjoint from the (0, j) blocks `uniform` and friends use.
  return splitKeys<Key, N>(from.words, n, makeKey)
}

/**
 * A new key from a key and an integer: a step number, an example index, a layer number.
 *
 * @example
 * ```ts
 * const stepKey = (step: number) => Prng.foldIn(Prng.key(0), step)
 * ```
 */
export const foldIn = (from: Key, data: number): Key => {
  checkKey("foldIn", from)
  if (!Number.isSafeInteger(data)) throw new RangeError(`Prng.foldIn: data must be a safe integer, got ${data}`)
  const words = new Uint32Array(2)
  threefry2x32(from.words[0], from.words[1], (2 + Math.floor(data / 4294967296)) >>> 0, data >>> 0, words, 0)
  return makeKey(words[0]!, words[1]!)
}

/**
 * A key drawn from Effect's `Random` service: reproducible under `Random.withSeed`.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const k = yield* Prng.fromRandom
 *   return Prng.uniform(k, [3])
 * })
 * Effect.runSync(program.pipe(Random.withSeed(1)))
 * ```
 */
export const fromRandom: Effect.Effect<Key> = Effect.map(
  Effect.all([
    Random.nextIntBetween(0, 4294967296, { halfOpen: true }),
    Random.nextIntBetween(0, 4294967296, { halfOpen: true })
  ]),
  ([k0, k1]) => makeKey(k0, k1)
)

/** Options of `uniform`. */
export interface UniformOptions<D extends DType> {
  readonly dtype?: D
  /** Lower bound, included (default 0). */
  readonly min?: number
  /** Upper bound, excluded (default 1). */
  readonly max?: number
}

/**
 * Uniform doubles in [0, 1) from the key's words: 24 bits per float32 value, 53 per float64 value. A result
 * that becomes a tensor (`kept`) may go to the kernels' memory (`allocFilled`); a temporary does not.
 */
const unitFloats = (op: string, from: Key, shape: Shape, dtype: DType, kept = false): Data => {
  checkKey(op, from)
  checkShape(`Prng.${op}`, shape)
  const size = sizeOf(shape)
  const out = kept ? allocFilled(dtype, size) : alloc(dtype, size)
  if (dtype === "float32") {
    const bits = randomBits(from.words[0], from.words[1], size)
    for (let i = 0; i < size; i++) out[i] = (bits[i]! >>> 8) * 2 ** -24
  } else {
    const bits = randomBits(from.words[0], from.words[1], 2 * size)
    for (let i = 0; i < size; i++) out[i] = ((bits[2 * i]! >>> 5) * 67108864 + (bits[2 * i + 1]! >>> 6)) * 2 ** -53
  }
  return out
}

const tensorOf = <S extends Shape, D extends DType>(shape: S, dtype: DType, data: Data): Tensor<S, D> =>
  fromImpl(make(shape, dtype, data))

/**
 * Uniform values in [min, max) (default [0, 1)).
 *
 * @example
 * ```ts
 * const u = Prng.uniform(Prng.key(0), [2, 3], { min: -1, max: 1 }) // Tensor<readonly [2, 3], "float32">
 * ```
 */
export const uniform = <const S extends Shape, D extends DType = "float32">(
  from: Key,
  shape: S,
  options?: UniformOptions<D>
): Tensor<S, D> => {
  const dtype = dtypeOf(options)
  const min = options?.min ?? 0
  const max = options?.max ?? 1
  if (!(Number.isFinite(min) && Number.isFinite(max) && min < max)) {
    throw new RangeError(`Prng.uniform: needs finite min < max, got min ${min}, max ${max}`)
  }
  const data = unitFloats("uniform", from, shape, dtype, true)
  if (min !== 0 || max !== 1) {
    const span = max - min
    for (let i = 0; i < data.length; i++) data[i] = Math.min(min + span * data[i]!, nextDown(max))
  }
  return tensorOf(shape, dtype, data)
}

/** The largest double below `x` (keeps `min + span * u` inside [min, max) after rounding). */
const nextDown = (x: number): number => {
  const f = new Float64Array([x])
  const b = new BigInt64Array(f.buffer)
  b[0] = b[0]! + (x > 0 ? -1n : x < 0 ? 1n : 0n)
  return x === 0 ? -Number.MIN_VALUE : f[0]!
}

/** Options of `normal`. */
export interface NormalOptions<D extends DType> {
  readonly dtype?: D
  /** Mean (default 0). */
  readonly mean?: number
  /** Standard deviation (default 1). */
  readonly std?: number
}

/**
 * Normal values (Box-Muller on pairs of uniforms).
 *
 * @example
 * ```ts
 * const w = Prng.normal(Prng.key(1), [4, 4], { std: 0.1, dtype: "float64" })
 * ```
 */
export const normal = <const S extends Shape, D extends DType = "float32">(
  from: Key,
  shape: S,
  options?: NormalOptions<D>
): Tensor<S, D> => {
  const dtype = dtypeOf(options)
  const mean = options?.mean ?? 0
  const std = options?.std ?? 1
  if (!(Number.isFinite(mean) && Number.isFinite(std) && std >= 0)) {
    throw new RangeError(`Prng.normal: needs a finite mean and std >= 0, got mean ${mean}, std ${std}`)
  }
  checkShape("Prng.normal", shape)
  const size = sizeOf(shape)
  // Uniforms in pairs; one more when the size is odd.
  const u = unitFloats("normal", from, [size + (size & 1)], "float64")
  // Every element is written below.
  const out = allocFilled(dtype, size)
  for (let i = 0; i < size; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u[i]!))
    const t = 2 * Math.PI * u[i + 1]!
    out[i] = mean + std * r * Math.cos(t)
    if (i + 1 < size) out[i + 1] = mean + std * r * Math.sin(t)
  }
  return tensorOf(shape, dtype, out)
}

/**
 * 1 with probability `p`, else 0 (a float mask: multiply by it).
 *
 * @example
 * ```ts
 * const keep = Prng.bernoulli(Prng.key(2), 0.75, [32, 128])
 * ```
 */
export const bernoulli = <const S extends Shape, D extends DType = "float32">(
  from: Key,
  p: number,
  shape: S,
  options?: { readonly dtype?: D }
): Tensor<S, D> => {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`Prng.bernoulli: p must be in [0, 1], got ${p}`)
  const dtype = dtypeOf(options)
  const u = unitFloats("bernoulli", from, shape, "float64")
  // Every element is written below.
  const out = allocFilled(dtype, u.length)
  for (let i = 0; i < u.length; i++) out[i] = u[i]! < p ? 1 : 0
  return tensorOf(shape, dtype, out)
}
