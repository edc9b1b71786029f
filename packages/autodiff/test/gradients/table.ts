/**
 * The gradient table's machinery, shared by the family files beside it (`<family>.test.ts`, one per module
 * of `packages/tensor/src/ops/`): every differentiable op is checked against central finite differences in
 * float64 (`checkGrads`: random output cotangent and input direction, atol = rtol = 1e-5), on fast-check
 * generated shapes and values (small shapes with odd sizes). `order: 2` also checks the derivative of the
 * VJP (finite differences of the VJP against the VJP of the VJP), which exercises every rule's own
 * differentiability.
 *
 * Determinism: fast-check runs with a fixed seed (`SEED`), and `checkGrads` with its default seed, so a
 * failure reproduces exactly. Kinks (relu/abs at 0, ties of max/maximum/maxPool) are avoided by the
 * generators (`awayFrom`, `distinct`) and, for the rare remaining ties, skipped with `fc.pre`.
 */
import { Tensor } from "@typegrad/tensor"
import { Arbitrary, CheckGrads, checkGrads } from "@typegrad/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

export type T = Tensor.AnyTensor
export type Dims = ReadonlyArray<number>
export type Input = T | ReadonlyArray<T>

export const SEED = 0x7e57
export const RUNS = 15

/** A generated case: an input (tensor or array of tensors), the function, and a label for messages. */
export interface Case {
  readonly x: Input
  readonly f: (x: Input) => T
  readonly label: string
}

export interface Row {
  readonly op: string
  readonly order: 1 | 2
  readonly cases: fc.Arbitrary<Case>
  readonly runs?: number
}

export const f64 = (dims: Dims, options: Arbitrary.ValueOptions = {}): fc.Arbitrary<T> =>
  Arbitrary.tensor(dims, { ...options, dtype: "float64" })

export const smallShape = (minRank = 0, maxRank = 3, maxDim = 4) =>
  Arbitrary.shape({ minRank, maxRank, minDim: 1, maxDim })

export const show = (s: Dims): string => `[${s.join(", ")}]`

/** A unary op on any shape of rank 0-3. */
export const unary = (f: (x: T) => T, values: Arbitrary.ValueOptions = {}): fc.Arbitrary<Case> =>
  smallShape().chain((s) => f64(s, values).map((x) => ({ x, f: (t: Input) => f(t as T), label: show(s) })))

/** Two shapes that broadcast against each other, in both directions (size-1 axes and missing leading axes on either side). */
export const broadcastPair: fc.Arbitrary<readonly [Dims, Dims]> = smallShape(1, 3, 4).chain((base) =>
  fc
    .tuple(
      fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }),
      fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }),
      fc.integer({ min: 0, max: base.length }),
      fc.integer({ min: 0, max: base.length })
    )
    .map(([onesA, onesB, dropA, dropB]) => {
      const a = base.map((d, i) => (onesA[i] ? 1 : d)).slice(dropA)
      const b = base.map((d, i) => (onesB[i] ? 1 : d)).slice(dropB)
      return [a, b] as const
    })
)

export const binary = (
  f: (a: T, b: T) => T,
  valuesA: Arbitrary.ValueOptions = {},
  valuesB: Arbitrary.ValueOptions = {}
): fc.Arbitrary<Case> =>
  broadcastPair.chain(([sa, sb]) =>
    fc.tuple(f64(sa, valuesA), f64(sb, valuesB)).map(([a, b]) => ({
      x: [a, b],
      f: (t: Input) => f((t as ReadonlyArray<T>)[0]!, (t as ReadonlyArray<T>)[1]!),
      label: `${show(sa)} with ${show(sb)}`
    }))
  )

export const positive = { min: 0.2, max: 3 } as const
export const awayFromZero = { min: -2, max: 2, awayFrom: [0], margin: 0.05 } as const

/**
 * Checks a family's rows: each row's generated cases against central finite differences in float64, to
 * the row's order, with the fixed seed.
 */
export const checkRows = (family: string, rows: ReadonlyArray<Row>): void => {
  describe(`gradients of the ${family} ops against finite differences (float64)`, () => {
    for (const row of rows) {
      it(`${row.op}: order ${row.order === 2 ? "1 and 2" : "1"}`, () => {
        let checked = 0
        fc.assert(
          fc.property(row.cases, ({ x, f, label }) => {
            const r = checkGrads(f, x, { order: row.order })
            // Rare ties (maximum/minimum, softmax's inner max) sit on kinks: skip those samples.
            fc.pre(!r.kinked)
            expect(r.ok ? "ok" : `${row.op} on ${label}\n${CheckGrads.format(r)}`).toBe("ok")
            checked += r.entries.length
          }),
          { seed: SEED, numRuns: row.runs ?? RUNS }
        )
        // Not vacuous: every run compared at least 3 directions of each order.
        expect(checked).toBeGreaterThanOrEqual((row.runs ?? RUNS) * 3 * row.order)
      })
    }
  })
}
