import { grad } from "@typegrad/autodiff"
import { Layer, Loss, Metric, Model, Reference } from "@typegrad/nn"
import { ShapeError } from "@typegrad/shape"
import { Tensor } from "@typegrad/tensor"
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"

const run = <A>(e: Effect.Effect<A>, seed: number): A => Effect.runSync(e.pipe(Random.withSeed(seed)))
const values = (t: Tensor.AnyTensor) => Array.from(Tensor.toArray(t))
const maxAbs = (xs: ReadonlyArray<number>) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0)

const cnn = Reference.mnistCnn

describe("models", () => {
  it("the classic CNN: shapes, parameter count, forward pass", () => {
    expect(cnn.layers.map((l) => l.outputShape)).toEqual([
      [-1, 28, 28, 24],
      [-1, 14, 14, 24],
      [-1, 14, 14, 48],
      [-1, 7, 7, 48],
      [-1, 2352],
      [-1, 512],
      [-1, 512],
      [-1, 128],
      [-1, 128],
      [-1, 10]
    ])
    expect(Model.parameterCount(cnn)).toBe(120 + 4656 + 1204736 + 65664 + 1290)
    expect(Model.summary(cnn)).toContain("layer 6 dense(512)")
    const params = run(cnn.init, 1)
    expect(params).toHaveLength(5)
    expect(params[0].kernel.shape).toEqual([2, 2, 1, 24])
    expect(params[2].kernel.shape).toEqual([2352, 512])
    const x = Tensor.full([3, 28, 28, 1], 0.5)
    const y = cnn.apply(params, x)
    expect(y.shape).toEqual([3, 10])
    const rows = Tensor.toArray(Tensor.sum(y, { axis: 1 }))
    rows.forEach((r) => expect(r).toBeCloseTo(1, 5))
    // logits skip the final softmax: softmax(logits) is the output.
    const z = cnn.logits(params, x)
    expect(values(Tensor.softmax(z)).map((v) => +v.toFixed(5))).toEqual(values(y).map((v) => +v.toFixed(5)))
  })

  it("init is reproducible from the seed and differs across seeds", () => {
    const a = run(cnn.init, 7)
    const b = run(cnn.init, 7)
    const c = run(cnn.init, 8)
    expect(values(a[2].kernel)).toEqual(values(b[2].kernel))
    expect(values(a[2].kernel)).not.toEqual(values(c[2].kernel))
    // Different layers get different streams.
    expect(values(a[3].kernel).slice(0, 10)).not.toEqual(values(a[2].kernel).slice(0, 10))
  })

  it("Glorot uniform: bounded by sqrt(6 / (fanIn + fanOut)) with the uniform variance; biases start at zero", () => {
    const params = run(cnn.init, 3)
    const w = values(params[2].kernel)
    const limit = Math.sqrt(6 / (2352 + 512))
    expect(maxAbs(w)).toBeLessThanOrEqual(limit)
    const mean = w.reduce((a, b) => a + b, 0) / w.length
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length
    expect(Math.abs(mean)).toBeLessThan(limit / 100)
    expect(variance / (limit * limit / 3)).toBeGreaterThan(0.98)
    expect(variance / (limit * limit / 3)).toBeLessThan(1.02)
    expect(values(params[2].bias).every((v) => v === 0)).toBe(true)
  })

  it("He normal: standard deviation sqrt(2 / fanIn), truncated at two deviations", () => {
    const m = Model.input([400]).add(Layer.dense({ units: 500, kernelInitializer: "heNormal" }))
    const w = values(run(m.init, 1)[0].kernel)
    const std = Math.sqrt(w.reduce((a, b) => a + b * b, 0) / w.length)
    expect(std / Math.sqrt(2 / 400)).toBeGreaterThan(0.97)
    expect(std / Math.sqrt(2 / 400)).toBeLessThan(1.03)
    expect(maxAbs(w)).toBeLessThanOrEqual((2 * Math.sqrt(2 / 400)) / 0.8796256610342398 + 1e-9)
  })

  it("dropout is active only in training, scales the kept units and is reproducible from the seed", () => {
    const m = Model.input([1000]).add(Layer.dropout(0.25))
    const x = Tensor.ones([4, 1000])
    expect(values(m.apply([], x))).toEqual(values(x))
    const a = values(m.apply([], x, { training: true, seed: 5 }))
    const b = values(m.apply([], x, { training: true, seed: 5 }))
    const c = values(m.apply([], x, { training: true, seed: 6 }))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    const zeros = a.filter((v) => v === 0).length / a.length
    expect(zeros).toBeGreaterThan(0.22)
    expect(zeros).toBeLessThan(0.28)
    expect(a.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true)
    expect(() => Layer.dropout(1)).toThrow(/rate/)
  })

  it("residual and parallel blocks at run time", () => {
    const m = Model.input([4, 4, 2])
      .add(Layer.residual(Layer.conv2d({ filters: 2, kernelSize: 3, padding: "same", useBias: false })))
      .add(
        Layer.parallel([[Layer.conv2d({ filters: 3, kernelSize: 1 })], [
          Layer.avgPool2d({ poolSize: 3, strides: 1, padding: "same" })
        ]])
      )
    expect(m.layers.map((l) => l.outputShape)).toEqual([[-1, 4, 4, 2], [-1, 4, 4, 5]])
    const params = run(m.init, 1)
    // A zero kernel makes the residual block the identity.
    const zero = [[{ kernel: Tensor.zeros([3, 3, 2, 2]) }], params[1]] as unknown as typeof params
    expect(() =>
      m.apply(
        [{ kernel: Tensor.zeros([3, 3, 2, 2]) }, params[1]] as unknown as typeof params,
        Tensor.zeros([1, 4, 4, 2])
      )
    ).toThrow(/params must be an array/)
    const x = Tensor.fromArray(Array.from({ length: 32 }, (_, i) => i / 32), [1, 4, 4, 2])
    const y = m.apply(zero, x)
    expect(y.shape).toEqual([1, 4, 4, 5])
    const pooled = values(Tensor.avgPool2d(x, { poolSize: 3, strides: 1, padding: "same" }))
    const yv = values(y)
    for (let p = 0; p < 16; p++) {
      expect(yv[p * 5 + 3]).toBeCloseTo(pooled[p * 2]!, 6)
      expect(yv[p * 5 + 4]).toBeCloseTo(pooled[p * 2 + 1]!, 6)
    }
  })

  it("rejects inputs of the wrong shape and wirings that only fail at run time", () => {
    const params = run(cnn.init, 1)
    expect(() => cnn.apply(params, Tensor.zeros([2, 28, 27, 1]) as never)).toThrow(ShapeError)
    const dynamic = Model.input([8, 8, 3] as ReadonlyArray<number>)
    expect(() => dynamic.add(Layer.dense({ units: 3 }))).toThrow(/dense\(3\): expected input of rank 2/)
    expect(() => dynamic.add(Layer.conv2d({ filters: 2, kernelSize: 9 }))).toThrow(
      /kernel 9 larger than padded input 8/
    )
  })

  it("gradients flow to every parameter and match a float64 finite difference", () => {
    const m = Model.input([6, 6, 1], { dtype: "float64" })
      .add(Layer.conv2d({ filters: 3, kernelSize: 3, activation: "tanh" }))
      .add(Layer.maxPool2d({ poolSize: 2 }))
      .add(Layer.flatten())
      .add(Layer.dense({ units: 4, activation: "softmax" }))
    const params = run(m.init, 2)
    const x = Tensor.fromArray(Array.from({ length: 72 }, (_, i) => Math.sin(i)), [2, 6, 6, 1], { dtype: "float64" })
    const labels = Tensor.fromArray([1, 0, 0, 0, 0, 0, 1, 0], [2, 4], { dtype: "float64" })
    type P = typeof params
    const loss = (p: P) => Loss.softmaxCrossEntropy(m.logits(p, x), labels)
    const g = grad(loss)(params)
    const h = 1e-6
    const probe = (k: number, i: number) => {
      const bump = (s: number) => {
        const copy = params.map((layer) => ({ ...layer })) as unknown as Array<{ kernel: Tensor.AnyTensor }>
        const data = Tensor.toArray(copy[k]!.kernel)
        data[i] = data[i]! + s * h
        copy[k]!.kernel = Tensor.fromArray(data, copy[k]!.kernel.shape, { dtype: "float64" })
        return Tensor.item(loss(copy as unknown as P))
      }
      return (bump(1) - bump(-1)) / (2 * h)
    }
    for (const [k, i] of [[0, 0], [0, 13], [1, 2], [1, 10]] as const) {
      const analytic = values((g[k] as { kernel: Tensor.AnyTensor }).kernel)[i]!
      expect(Math.abs(analytic - probe(k, i))).toBeLessThan(1e-7 * Math.max(1, Math.abs(analytic)))
    }
  })
})

describe("losses and metrics", () => {
  it("softmax cross-entropy: exact value, stable for huge logits", () => {
    const z = Tensor.fromArray([0, 0, Math.log(2), 1000, 0, 0], [2, 3], { dtype: "float64" })
    const t = Tensor.fromArray([0, 0, 1, 1, 0, 0], [2, 3], { dtype: "float64" })
    const expected = (-Math.log(2 / 4) + 0) / 2
    expect(Tensor.item(Loss.softmaxCrossEntropy(z, t))).toBeCloseTo(expected, 12)
    expect(() => Loss.softmaxCrossEntropy(z, Tensor.zeros([2, 4], { dtype: "float64" }) as never)).toThrow(ShapeError)
  })

  it("mean squared error", () => {
    const a = Tensor.fromArray([1, 2, 3], [3])
    const b = Tensor.fromArray([1, 0, 0], [3])
    expect(Tensor.item(Loss.meanSquaredError(a, b))).toBeCloseTo(13 / 3, 6)
  })

  it("accuracy from class indices or one-hot labels; first maximum wins ties", () => {
    const p = Tensor.fromArray([0.1, 0.9, 0.5, 0.5, 0.2, 0.3], [3, 2])
    expect(Array.from(Metric.argMax(p))).toEqual([1, 0, 1])
    expect(Metric.accuracy(p, [1, 0, 0])).toBeCloseTo(2 / 3, 12)
    expect(Metric.accuracy(p, Tensor.fromArray([0, 1, 0, 1, 1, 0], [3, 2]))).toBeCloseTo(1 / 3, 12)
    expect(() => Metric.accuracy(p, [1])).toThrow(/labels/)
    // int32 class labels, as data loaders and argmax give them.
    expect(Metric.accuracy(p, Tensor.fromArray([1, 0, 0], [3], { dtype: "int32" }))).toBeCloseTo(2 / 3, 12)
    expect(Metric.correct(p, Tensor.fromArray([1, 0, 1], [3], { dtype: "int32" }))).toBe(3)
  })

  it("sparse softmax cross-entropy: int32 labels give the one-hot loss and its gradient, none to the labels", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const logits = Tensor.fromArray([0.2, -1.3, 2.1, 0.5, 0.4, -0.7, 1.9, 0.1, -2.2, 0.3, 0.9, 1.5], [4, 3], {
        dtype
      })
      const labels = Tensor.fromArray([2, 0, 0, 1], [4], { dtype: "int32" })
      const oneHot = Tensor.fromArray([0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0], [4, 3], { dtype })
      const sparse = Loss.sparseSoftmaxCrossEntropy(logits, labels)
      const dense = Loss.softmaxCrossEntropy(logits, oneHot)
      expect(sparse.dtype).toBe(dtype)
      expect(Tensor.item(sparse)).toBeCloseTo(Tensor.item(dense), dtype === "float64" ? 14 : 6)
      // By hand: -mean(z[label] - logsumexp(z)) over the rows.
      const z = values(logits), rows = [2, 0, 0, 1]
      const byHand = rows.reduce((acc, label, r) => {
        const row = z.slice(3 * r, 3 * r + 3)
        return acc - (row[label]! - Math.log(row.reduce((m, v) => m + Math.exp(v), 0)))
      }, 0) / 4
      expect(Tensor.item(sparse)).toBeCloseTo(byHand, 5)
      const gSparse = values(grad((x: typeof logits) => Loss.sparseSoftmaxCrossEntropy(x, labels))(logits))
      const gDense = values(grad((x: typeof logits) => Loss.softmaxCrossEntropy(x, oneHot))(logits))
      gSparse.forEach((g, i) => expect(g).toBeCloseTo(gDense[i]!, 6))
    }
  })

  it("sparse softmax cross-entropy: clear errors for float labels, a wrong batch and out-of-range classes", () => {
    const logits = Tensor.zeros([2, 3])
    const floatLabels = Tensor.fromArray([0, 1], [2])
    // @ts-expect-error float labels: give int32 classes or use softmaxCrossEntropy with one-hot rows
    expect(() => Loss.sparseSoftmaxCrossEntropy(logits, floatLabels)).toThrow(
      /labels must be an int32 tensor, got float32; convert with Tensor.cast\(labels, "int32"\)/
    )
    expect(() =>
      Loss.sparseSoftmaxCrossEntropy(
        logits as Tensor.Tensor<readonly [number, 3]>,
        Tensor.fromArray([0, 1, 2], [3], { dtype: "int32" })
      )
    ).toThrow(ShapeError)
    expect(() => Loss.sparseSoftmaxCrossEntropy(logits, Tensor.fromArray([0, 3], [2], { dtype: "int32" }))).toThrow(
      RangeError
    )
  })
})
