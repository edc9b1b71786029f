// The type-level rules and their runtime twins must agree. Random configurations (valid and invalid) are
// computed at run time, written as compile-time assertions into packages/shape/.generated/, and checked
// with `tsc`: a result shape must equal the type-level result; a thrown ShapeError must match the
// type-level ShapeError with the message the runtime message starts with.
// Reproduce a failure with TYPEGRAD_AGREEMENT_SEED=<seed printed below>.
import { Shape, ShapeError } from "@typegrad/shape"
import * as fc from "fast-check"
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../../..")
const outDir = resolve(here, "../.generated/agreement")

// A runtime value as a TypeScript type literal.
const lit = (v: unknown): string => {
  if (Array.isArray(v)) return `readonly [${v.map(lit).join(", ")}]`
  if (typeof v === "number") return String(v)
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v)
  if (v === undefined) return "undefined"
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined)
    return `{ ${entries.map(([k, x]) => `readonly ${k}: ${lit(x)}`).join("; ")} }`
  }
  throw new Error(`cannot render ${String(v)}`)
}

interface Case {
  readonly type: string
  readonly run: () => unknown
}

const expected = (c: Case): string => {
  try {
    return lit(c.run())
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e
    expect(e.message.startsWith(e.summary)).toBe(true)
    return `ShapeError<${JSON.stringify(e.summary)}>`
  }
}

// Options objects without the keys that are undefined (exactOptionalPropertyTypes).
const clean = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

const dim = fc.integer({ min: 1, max: 6 })
const small = (min: number, max: number) => fc.integer({ min, max })
const pairOr = (a: fc.Arbitrary<number>) => fc.oneof(a, fc.tuple(a, a))
// mostly valid values, sometimes an invalid one
const mostly = (valid: fc.Arbitrary<number>, invalid: fc.Arbitrary<number>) =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid })
const shape = (minRank: number, maxRank: number, d: fc.Arbitrary<number> = dim) =>
  fc.array(d, { minLength: minRank, maxLength: maxRank })

const conv: fc.Arbitrary<Case> = fc
  .record({
    x: fc.oneof({ weight: 9, arbitrary: fc.tuple(small(1, 2), small(1, 12), small(1, 12), small(1, 3)) }, {
      weight: 1,
      arbitrary: shape(3, 3)
    }),
    k: fc.tuple(mostly(small(1, 6), fc.constant(0)), small(1, 6)),
    c2: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: small(1, 3) }),
    f: small(1, 4),
    strides: fc.option(pairOr(mostly(small(1, 3), fc.constant(0))), { freq: 3, nil: undefined }),
    dilation: fc.option(pairOr(mostly(small(1, 3), fc.constant(0))), { freq: 3, nil: undefined }),
    padding: fc.option(
      fc.oneof(
        fc.constantFrom("valid", "same"),
        mostly(small(0, 3), fc.constant(-1)),
        fc.tuple(small(0, 3), small(0, 3)),
        fc.tuple(fc.tuple(small(0, 3), mostly(small(0, 3), fc.constant(-1))), fc.tuple(small(0, 3), small(0, 3)))
      ),
      { freq: 4, nil: undefined }
    )
  })
  .map(({ x, k, c2, f, strides, dilation, padding }) => {
    // c2 is usually absent: the kernel then matches the input channels
    const w = [k[0], k[1], c2 ?? x[3] ?? 1, f]
    const o = clean({ strides, dilation, padding }) as Shape.Conv2dOptions
    return {
      type: `Shape.Conv2d<${lit(x)}, ${lit(w)}, ${lit(o)}>`,
      run: () => Shape.conv2d(x as Shape.Shape, w as Shape.Shape, o)
    }
  })

const pool: fc.Arbitrary<Case> = fc
  .record({
    x: fc.oneof({ weight: 9, arbitrary: fc.tuple(small(1, 2), small(1, 9), small(1, 9), small(1, 3)) }, {
      weight: 1,
      arbitrary: shape(2, 3)
    }),
    poolSize: pairOr(mostly(small(1, 4), fc.constant(0))),
    strides: fc.option(pairOr(mostly(small(1, 3), fc.constant(0))), { freq: 3, nil: undefined }),
    // Explicit pads too, sometimes not smaller than the window or negative (errors must agree as well).
    padding: fc.option(
      fc.oneof(
        fc.constantFrom("valid", "same" as const),
        mostly(small(0, 2), fc.constant(-1)),
        fc.tuple(small(0, 2), small(0, 3)),
        fc.tuple(fc.tuple(small(0, 2), mostly(small(0, 2), fc.constant(-1))), fc.tuple(small(0, 3), small(0, 2)))
      ),
      { freq: 3, nil: undefined }
    ),
    op: fc.constantFrom("maxPool2d", "avgPool2d")
  })
  .map(({ x, poolSize, strides, padding, op }) => {
    const o = clean({ poolSize, strides, padding }) as Shape.Pool2dOptions
    return {
      type: `Shape.Pool2d<${lit(x)}, ${lit(o)}, ${JSON.stringify(op)}>`,
      run: () => Shape.pool2d(x as Shape.Shape, o, op)
    }
  })

const conv2dTranspose: fc.Arbitrary<Case> = fc
  .record({
    x: fc.oneof({ weight: 9, arbitrary: fc.tuple(small(1, 2), small(1, 9), small(1, 9), small(1, 3)) }, {
      weight: 1,
      arbitrary: shape(3, 3)
    }),
    k: fc.tuple(mostly(small(1, 5), fc.constant(0)), small(1, 5)),
    c: small(1, 3),
    f2: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: small(1, 3) }),
    strides: fc.option(pairOr(mostly(small(1, 3), fc.constant(0))), { freq: 3, nil: undefined }),
    dilation: fc.option(pairOr(mostly(small(1, 3), fc.constant(0))), { freq: 3, nil: undefined }),
    padding: fc.option(fc.constantFrom("valid" as const, "same" as const), { freq: 3, nil: undefined })
  })
  .map(({ x, k, c, f2, strides, dilation, padding }) => {
    const w = [k[0], k[1], c, f2 ?? x[3] ?? 1]
    const o = clean({ strides, dilation, padding }) as Shape.Conv2dTransposeOptions
    return {
      type: `Shape.Conv2dTranspose<${lit(x)}, ${lit(w)}, ${lit(o)}>`,
      run: () => Shape.conv2dTranspose(x as Shape.Shape, w as Shape.Shape, o)
    }
  })

const bdim = fc.constantFrom(1, 2, 3)
const broadcast: fc.Arbitrary<Case> = fc.tuple(shape(0, 4, bdim), shape(0, 4, bdim)).map(([a, b]) => ({
  type: `Shape.Broadcast<${lit(a)}, ${lit(b)}, "add">`,
  run: () => Shape.broadcast(a, b, "add")
}))

const matmul: fc.Arbitrary<Case> = fc
  .tuple(shape(1, 4, bdim), shape(2, 4, bdim), fc.boolean())
  .map(([a, b0, fit]) => {
    // usually make the inner dimensions agree
    const b = fit && a.length >= 2 && b0.length >= 2 ? [...b0.slice(0, -2), a[a.length - 1]!, b0[b0.length - 1]!] : b0
    return { type: `Shape.Matmul<${lit(a)}, ${lit(b)}>`, run: () => Shape.matmul(a, b) }
  })

const reshape: fc.Arbitrary<Case> = fc
  .tuple(shape(0, 4, small(1, 40)), fc.boolean(), shape(0, 4, small(-2, 12)), fc.nat())
  .map(([s, compatible, t0, i]) => {
    // half of the targets are valid: a permutation of s's dims, one of them maybe -1
    const t = compatible && s.length > 0 ? s.toReversed().map((d, j) => (j === i % (s.length + 1) ? -1 : d)) : t0
    return { type: `Shape.Reshape<${lit(s)}, ${lit(t)}>`, run: () => Shape.reshape(s, t) }
  })

const big: fc.Arbitrary<Case> = fc
  .tuple(fc.constantFrom(60000, 4096, 10000, 50000), small(1, 64), small(1, 64), fc.constantFrom(-1, 0, 1))
  .map(([n, h, w, where]) => {
    const s = [n, h, w, 1]
    const t = where === -1 ? [-1, h * w] : where === 0 ? [n * h, -1] : [n, h * w + 1]
    return { type: `Shape.Reshape<${lit(s)}, ${lit(t)}>`, run: () => Shape.reshape(s, t) }
  })

const flatten: fc.Arbitrary<Case> = shape(0, 5, small(1, 30)).map((s) => ({
  type: `Shape.Flatten<${lit(s)}>`,
  run: () => Shape.flatten(s)
}))

const concat: fc.Arbitrary<Case> = fc
  .tuple(
    small(0, 3),
    shape(1, 3),
    small(-3, 2),
    fc.array(fc.tuple(fc.nat(), small(0, 4), mostly(fc.constant(0), fc.constant(1)).map((x) => x === 1)), {
      maxLength: 3
    })
  )
  .map(([n, base, axis, tweaks]) => {
    const shapes = Array.from({ length: n }, (_, i) => {
      const [at, v, drop] = tweaks[i] ?? [0, 0, false]
      const s = base.map((d, j) => (j === at % base.length ? (v === 0 ? d : v) : d))
      return drop && i > 0 ? s.slice(1) : s
    })
    return { type: `Shape.Concat<${lit(shapes)}, ${axis}>`, run: () => Shape.concat(shapes, axis) }
  })

const reduce: fc.Arbitrary<Case> = fc
  .tuple(
    shape(0, 4),
    fc.option(fc.oneof(small(-5, 4), fc.array(small(-4, 4), { maxLength: 3 })), { nil: undefined }),
    fc.boolean()
  )
  .map(([s, axes, keep]) => {
    const a = axes
    return { type: `Shape.Reduce<${lit(s)}, ${lit(a)}, ${keep}, "sum">`, run: () => Shape.reduce(s, a, keep, "sum") }
  })

const transpose: fc.Arbitrary<Case> = fc
  .tuple(shape(0, 4), fc.option(fc.array(small(0, 4), { maxLength: 4 }), { nil: undefined }), fc.boolean())
  .map(([s, p, shuffle]) => {
    const perm = shuffle ? s.map((_, i) => (i + 1) % s.length) : p
    return { type: `Shape.Transpose<${lit(s)}, ${lit(perm)}>`, run: () => Shape.transpose(s, perm) }
  })

const pad: fc.Arbitrary<Case> = fc
  .tuple(
    shape(0, 3),
    fc.array(fc.tuple(mostly(small(0, 3), fc.constant(-1)), small(0, 3)), { maxLength: 3 }),
    fc.boolean()
  )
  .map(([s, p0, fit]) => {
    const p = fit ? s.map((_, i) => p0[i] ?? ([1, 2] as const)) : p0
    return { type: `Shape.Pad<${lit(s)}, ${lit(p)}>`, run: () => Shape.pad(s, p) }
  })

const axis: fc.Arbitrary<Case> = fc.tuple(small(0, 4), small(-6, 6)).map(([r, a]) => ({
  type: `Shape.NormalizeAxis<${r}, ${a}, "softmax">`,
  run: () => Shape.normalizeAxis(r as number, a as number, "softmax")
}))

const squeeze: fc.Arbitrary<Case> = fc
  .tuple(shape(0, 4, fc.oneof(small(1, 1), small(1, 4))), fc.option(small(-5, 4), { nil: undefined }))
  .map(([s, a]) => ({ type: `Shape.Squeeze<${lit(s)}, ${lit(a)}>`, run: () => Shape.squeeze(s, a) }))

const expandDims: fc.Arbitrary<Case> = fc.tuple(shape(0, 4), small(-6, 5)).map(([s, a]) => ({
  type: `Shape.ExpandDims<${lit(s)}, ${a}>`,
  run: () => Shape.expandDims(s, a as number)
}))

const stack: fc.Arbitrary<Case> = fc
  .tuple(
    shape(0, 3),
    small(1, 3),
    small(-4, 3),
    fc.option(fc.tuple(small(0, 2), small(0, 6), fc.boolean()), { freq: 3, nil: undefined })
  )
  .map(([base, n, at, tweak]) => {
    const shapes = Array.from({ length: n }, (_, i) => {
      if (tweak === undefined || i !== n - 1 || n === 1) return base
      const [where, v, drop] = tweak
      return drop ? base.slice(1) : base.map((d, j) => (j === where % base.length ? (v === 0 ? d : v) : d))
    })
    return { type: `Shape.Stack<${lit(shapes)}, ${at}>`, run: () => Shape.stack(shapes, at as number) }
  })

const slice: fc.Arbitrary<Case> = fc
  .tuple(
    shape(0, 3),
    fc.array(fc.tuple(small(-1, 7), small(-1, 7)), { maxLength: 3 }),
    fc.boolean()
  )
  .map(([s, boxes, fit]) => {
    const bz = fit ? s.map((d, i) => boxes[i] ?? [0, d] as const) : boxes
    const begin = bz.map(([b]) => b)
    const size = bz.map(([, z]) => z)
    return { type: `Shape.Slice<${lit(s)}, ${lit(begin)}, ${lit(size)}>`, run: () => Shape.slice(s, begin, size) }
  })

const oneHot: fc.Arbitrary<Case> = fc.tuple(shape(0, 3), mostly(small(1, 12), small(-2, 0))).map(([s, n]) => ({
  type: `Shape.OneHot<${lit(s)}, ${n}>`,
  run: () => Shape.oneHot(s, n as number)
}))

const gather: fc.Arbitrary<Case> = fc.tuple(shape(0, 3), shape(0, 2), small(-4, 3)).map(([x, ix, a]) => ({
  type: `Shape.Gather<${lit(x)}, ${lit(ix)}, ${a}>`,
  run: () => Shape.gather(x, ix, a as number)
}))

const rules: Record<string, readonly [fc.Arbitrary<Case>, number]> = {
  conv: [conv, 160],
  conv2dTranspose: [conv2dTranspose, 60],
  pool: [pool, 60],
  broadcast: [broadcast, 40],
  matmul: [matmul, 40],
  reshape: [reshape, 60],
  big: [big, 12],
  flatten: [flatten, 20],
  concat: [concat, 50],
  reduce: [reduce, 50],
  transpose: [transpose, 40],
  pad: [pad, 30],
  axis: [axis, 30],
  squeeze: [squeeze, 30],
  expandDims: [expandDims, 30],
  stack: [stack, 30],
  slice: [slice, 60],
  oneHot: [oneHot, 20],
  gather: [gather, 30]
}

/** Writes the assertions for the sampled cases and type-checks them; returns tsc's exit code and output. */
export const checkAgreement = (seed: number, name = "cases") => {
  const lines = [
    `import type { Shape, ShapeError, Types } from "../../src/index.ts"`,
    ``
  ]
  let n = 0
  for (const [rule, [arb, count]] of Object.entries(rules)) {
    fc.sample(arb, { numRuns: count, seed: seed + n }).forEach((c, i) => {
      lines.push(`export type ${rule}${i} = Types.Expect<Types.Equal<${c.type}, ${expected(c)}>>`)
    })
    n++
  }
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `${name}.ts`), lines.join("\n") + "\n")
  writeFileSync(
    join(outDir, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../../tsconfig.base.json",
      compilerOptions: { noEmit: true },
      files: [`${name}.ts`]
    })
  )
  const r = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(outDir, "tsconfig.json")], { encoding: "utf8" })
  return { status: r.status, output: r.stdout + r.stderr, cases: lines.length - 2 }
}

it("type-level rules agree with their runtime twins on generated cases", () => {
  const seed = Number(process.env["TYPEGRAD_AGREEMENT_SEED"] ?? Date.now() % 1_000_000)
  const r = checkAgreement(seed)
  console.log(`type-level agreement: ${r.cases} cases, seed ${seed}`)
  expect(`seed ${seed}\n${r.output}`).toBe(`seed ${seed}\n`)
  expect(r.status).toBe(0)
})
