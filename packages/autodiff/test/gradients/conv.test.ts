// The gradient-table rows of the conv family (conv2d, the fused conv2dBias over the shared configuration arbitrary, conv2dTranspose): `packages/tensor/src/ops/conv.ts`.
import { Tensor } from "@typegrad/tensor"
import { Arbitrary } from "@typegrad/testing"
import fc from "fast-check"
import { checkRows, type Dims, f64, type Input, show, type T } from "./table.ts"

interface ConvConfig {
  readonly xs: Dims
  readonly ws: Dims
  readonly options: Tensor.Conv2dOptions
}

/**
 * Small conv2d configurations (the shared `Arbitrary.conv2dConfig`): odd sizes, strides 1-3, dilation 1-2,
 * every padding form (valid and same 1/8 each; a number, a pair and explicit asymmetric pads 1/4 each).
 */
const convConfig: fc.Arbitrary<ConvConfig> = Arbitrary.conv2dConfig({
  height: { min: 3, max: 6 },
  width: { min: 3, max: 6 },
  channels: { min: 1, max: 2 },
  padding: ["valid", "same", "number", "number", "pair", "pair", "explicit", "explicit"]
}).map(({ input, kernel, options }) => ({ xs: input, ws: kernel, options }))

const conv = (x: T, w: T, options: Tensor.Conv2dOptions): T => Tensor.conv2d(x, w, options) as T

const convBiasCase = (relu: boolean) =>
  convConfig.chain(({ xs, ws, options }) =>
    fc.tuple(f64(xs), f64(ws), f64([ws[3]!])).map(([x, w, b]) => ({
      x: [x, w, b],
      f: (t: Input) => {
        const [tx, tw, tb] = t as ReadonlyArray<T>
        return Tensor.conv2dBias(tx!, tw!, tb! as Tensor.Tensor<readonly [number], "float64">, {
          ...options,
          relu
        }) as T
      },
      label: `x ${show(xs)} w ${show(ws)} ${JSON.stringify(options)} relu ${relu}`
    }))
  )

const convCase = convConfig.chain(({ xs, ws, options }) =>
  fc.tuple(f64(xs), f64(ws)).map(([x, w]) => ({
    x: [x, w],
    f: (t: Input) => conv((t as ReadonlyArray<T>)[0]!, (t as ReadonlyArray<T>)[1]!, options),
    label: `x ${show(xs)} w ${show(ws)} ${JSON.stringify(options)}`
  }))
)

/** Transposed convolutions: small inputs, kernels up to 3, strides up to 3, dilation up to 2, valid and same. */
const transposeCase = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 4 }),
    w: fc.integer({ min: 1, max: 4 }),
    f: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 2 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.constantFrom("valid" as const, "same" as const)
  })
  .chain(({ n, h, w, f, c, kh, kw, ...options }) => {
    const ys: Dims = [n, h, w, f]
    const ws: Dims = [kh, kw, c, f]
    return fc.tuple(f64(ys), f64(ws)).map(([y, k]) => ({
      x: [y, k],
      f: (t: Input) => Tensor.conv2dTranspose((t as ReadonlyArray<T>)[0]!, (t as ReadonlyArray<T>)[1]!, options) as T,
      label: `y ${show(ys)} w ${show(ws)} ${JSON.stringify(options)}`
    }))
  })

checkRows("conv", [
  { op: "conv2dTranspose (strides, dilation, same/valid)", order: 2, cases: transposeCase, runs: 25 },
  { op: "conv2d (strides, dilation, same/valid/explicit asymmetric padding)", order: 2, cases: convCase, runs: 40 },
  { op: "conv2dBias (fused bias)", order: 2, cases: convBiasCase(false), runs: 25 },
  { op: "conv2dBias (fused bias + relu)", order: 2, cases: convBiasCase(true), runs: 25 }
])
