/**
 * Type-check cost as a budget: measure how many type instantiations (and how much check time) the
 * TypeScript compiler spends on a project, so a test can fail when a model definition becomes expensive
 * to type-check. Shapes in the types cost compile time; this keeps that cost visible, the way run time is
 * kept visible by benchmarks.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

/** What the compiler spent on a project. */
export interface Cost {
  /** Type instantiations (deterministic for a given compiler version and code). */
  readonly instantiations: number
  /** Seconds spent checking (wall clock: noisy). */
  readonly checkTime: number
}

/**
 * The nearest `node_modules/.bin/tsc` at or above the folder `from`; throws when there is none.
 *
 * @example
 * ```ts
 * const tsc = TypePerf.findTsc(process.cwd()) // ".../node_modules/.bin/tsc"
 * ```
 */
export const findTsc = (from: string): string => {
  let dir = resolve(from)
  for (;;) {
    const candidate = join(dir, "node_modules", ".bin", "tsc")
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`TypePerf: no node_modules/.bin/tsc above ${from}; install typescript`)
    dir = parent
  }
}

/**
 * Type-checks the project of `tsconfig` with `--extendedDiagnostics` and returns its cost. Throws when
 * the project does not type-check.
 *
 * @example
 * ```ts
 * const base = TypePerf.measure("typeperf/tsconfig.baseline.json")
 * const model = TypePerf.measure("typeperf/tsconfig.json")
 * expect(model.instantiations - base.instantiations).toBeLessThan(50_000)
 * ```
 */
export const measure = (tsconfig: string, options: { readonly tsc?: string } = {}): Cost => {
  const tsc = options.tsc ?? findTsc(dirname(tsconfig))
  const r = spawnSync(tsc, ["-p", tsconfig, "--extendedDiagnostics"], { encoding: "utf8" })
  const out = r.stdout + r.stderr
  const instantiations = /Instantiations:\s+(\d+)/.exec(out)?.[1]
  const checkTime = /Check time:\s+([\d.]+)s/.exec(out)?.[1]
  if (r.status !== 0 || instantiations === undefined || checkTime === undefined) {
    throw new Error(`TypePerf: tsc -p ${tsconfig} --extendedDiagnostics failed or printed no diagnostics:\n${out}`)
  }
  return { instantiations: Number(instantiations), checkTime: Number(checkTime) }
}
