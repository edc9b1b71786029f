/**
 * Seeds for independent random streams, derived from one seed: the layers use it to give every layer,
 * parameter and dropout call its own stream, and `@typegrad/train` to give every training step and epoch
 * its own, so that one seed reproduces a whole run.
 *
 * @example
 * ```ts
 * import { Seed } from "@typegrad/nn"
 * import { Effect, Random } from "effect"
 *
 * const runSeed = 7
 * const dropoutSeedOfStep = (step: number) => Seed.derive(runSeed, step)
 * const shuffleOfEpoch = (epoch: number) =>
 *   Random.shuffle([1, 2, 3]).pipe(Random.withSeed(Seed.derive(runSeed, 1_000_000 + epoch)), Effect.runSync)
 * ```
 *
 * @since 0.1.0
 */
import * as Prng from "./internal/prng.ts"

/**
 * A 32-bit seed for stream `stream` of `seed`: a pure function of the pair, with good avalanche (a
 * Weyl step `(stream + 1) * 0x9e3779b9` XORed into the seed, then the SplitMix32-style finaliser), so
 * nearby seeds and stream ids give unrelated results. Both arguments are taken as 32-bit integers.
 *
 * @example
 * ```ts
 * import { Seed } from "@typegrad/nn"
 *
 * Seed.derive(42, 0) // 2023877858, always the same for (42, 0)
 * Seed.derive(42, 1) !== Seed.derive(42, 0) // true
 * ```
 *
 * @since 0.1.0
 */
export const derive: (seed: number, stream: number) => number = Prng.derive
