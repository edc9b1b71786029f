// Type-check cost budget of model definitions (see @typegrad/testing's TypePerf): the classic Keras MNIST
// CNN and a 20-block residual network, over the cost of importing the API. Measured on TypeScript 7.0.2
// when the budget was set (see the printed line); the budget is about 2.5x that.
// Both projects run with one checker (`"checkers": 1` in their tsconfig): TypeScript 7 splits a project's
// files among several checkers, each with its own caches, so a model imported from another file (the MNIST
// CNN comes from src/Reference.ts) would have its types instantiated again by a second checker and counted
// twice. One checker counts each instantiation once. The change was measured on TypeScript 7.0.2: models
// +92,468 with the default (parallel) checkers and the CNN written in models.ts; +90,642 with one checker,
// the CNN inline or imported alike.
import { TypePerf } from "@typegrad/testing"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const perf = resolve(dirname(fileURLToPath(import.meta.url)), "../typeperf")

it("model definitions stay within their type-check budget", () => {
  const baseline = TypePerf.measure(join(perf, "tsconfig.baseline.json"))
  const models = TypePerf.measure(join(perf, "tsconfig.json"))
  const cost = models.instantiations - baseline.instantiations
  console.log(
    `typeperf nn: baseline ${baseline.instantiations} instantiations; models +${cost} (${models.checkTime}s check)`
  )
  expect(cost).toBeGreaterThan(0)
  expect(cost).toBeLessThan(BUDGET)
})

const BUDGET = 200_000
