// Type-check cost budget of vmap (see @typegrad/testing's TypePerf): typical uses (typeperf/vmap.ts, with the
// autodiff API's own declarations) over the cost of the tensor API alone (typeperf/baseline.ts). Measured on
// TypeScript 7.0.2 when the budget was set: +14,731 instantiations; the budget is about 2.5x that. A
// signature that makes the checker evaluate the batch types on generic arguments cost +2.85M (caught here).
// One checker per project (`"checkers": 1`), as in nn's type-performance test, so each instantiation counts once.
import { TypePerf } from "@typegrad/testing"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const perf = resolve(dirname(fileURLToPath(import.meta.url)), "../typeperf")

it("vmap's types stay within their type-check budget", () => {
  const baseline = TypePerf.measure(join(perf, "tsconfig.baseline.json"))
  const uses = TypePerf.measure(join(perf, "tsconfig.json"))
  const cost = uses.instantiations - baseline.instantiations
  console.log(
    `typeperf autodiff: baseline ${baseline.instantiations} instantiations; vmap +${cost} (${uses.checkTime}s check)`
  )
  expect(cost).toBeGreaterThan(0)
  expect(cost).toBeLessThan(BUDGET)
})

const BUDGET = 37_000
