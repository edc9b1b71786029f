/**
 * Training-step benchmark: the classic Keras MNIST CNN, forward only and forward + backward (+ an SGD
 * update), typegrad next to TensorFlow.js computing the same gradients; and a memory benchmark (many grad
 * steps of a small model, heap printed at intervals).
 *
 *   x [B,28,28,1] -> conv 2x2x1x24 same + bias + relu -> maxPool 2 -> conv 2x2x24x48 same + bias + relu
 *   -> maxPool 2 -> flatten [B,2352] -> dense 512 + relu -> dropout -> dense 128 + relu -> dropout
 *   -> dense 10 -> logSoftmax cross-entropy
 *
 * Dropout is a fixed inverted-dropout mask (0 or 2, p = 0.5) multiplied in, the same constant for both
 * libraries, so the step is deterministic and both compute identical gradients.
 */
import type { TfApi } from "./tfjs.ts"

type Thunk = () => void

/**
 * The slice of `@typegrad/tensor` and `@typegrad/autodiff` the benchmark uses, typed loosely on purpose
 * (shapes are built at run time; the bench must keep compiling while the typed API evolves).
 */
export interface TrainApi {
  readonly Tensor: {
    fromArray(data: ArrayLike<number>, shape: ReadonlyArray<number>): unknown
    add(a: unknown, b: unknown): unknown
    sub(a: unknown, b: unknown): unknown
    mul(a: unknown, b: unknown): unknown
    neg(a: unknown): unknown
    relu(a: unknown): unknown
    mean(a: unknown): unknown
    sum(a: unknown, options: { readonly axis: number }): unknown
    matmul(a: unknown, b: unknown): unknown
    conv2d(x: unknown, w: unknown, options: { readonly padding: "same" | "valid" }): unknown
    maxPool2d(x: unknown, options: { readonly poolSize: number }): unknown
    flatten(x: unknown): unknown
    logSoftmax(x: unknown): unknown
  }
  valueAndGrad(f: (p: Params) => unknown): (p: Params) => readonly [unknown, Params]
}

type Params = Record<string, unknown>

/** Loads the public API; undefined when the packages are not there (the group is skipped). */
export async function loadTrainApi(): Promise<TrainApi | undefined> {
  try {
    const tensor: { readonly Tensor?: unknown } = await import("@typegrad/tensor")
    const autodiff: { readonly valueAndGrad?: unknown } = await import("@typegrad/autodiff")
    if (tensor.Tensor === undefined || typeof autodiff.valueAndGrad !== "function") return undefined
    // Shapes of both modules match the loose interface above (checked by running it).
    return { Tensor: tensor.Tensor, valueAndGrad: autodiff.valueAndGrad } as unknown as TrainApi
  } catch {
    return undefined
  }
}

function random(length: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(length)
  let s = seed >>> 0
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 2147483648 - 1) * scale
  }
  return out
}

function dropoutMask(length: number, seed: number): Float32Array {
  const r = random(length, seed, 1)
  return r.map((v) => (v >= 0 ? 2 : 0))
}

const PARAM_SHAPES: ReadonlyArray<readonly [string, ReadonlyArray<number>, number]> = [
  ["w1", [2, 2, 1, 24], 0.5],
  ["b1", [24], 0.01],
  ["w2", [2, 2, 24, 48], 0.2],
  ["b2", [48], 0.01],
  ["d1", [2352, 512], 0.04],
  ["c1", [512], 0.01],
  ["d2", [512, 128], 0.1],
  ["c2", [128], 0.01],
  ["d3", [128, 10], 0.2],
  ["c3", [10], 0.01]
]

/** The inputs of one CNN step at a batch size, as plain arrays (shared by both libraries). */
interface CnnData {
  readonly batch: number
  readonly x: Float32Array
  readonly y: Float32Array
  readonly mask1: Float32Array
  readonly mask2: Float32Array
  readonly params: ReadonlyArray<readonly [string, Float32Array, ReadonlyArray<number>]>
}

function cnnData(batch: number): CnnData {
  const y = new Float32Array(batch * 10)
  for (let i = 0; i < batch; i++) y[i * 10 + ((i * 7) % 10)] = 1
  return {
    batch,
    x: random(batch * 28 * 28, 11, 1),
    y,
    mask1: dropoutMask(batch * 512, 12),
    mask2: dropoutMask(batch * 128, 13),
    params: PARAM_SHAPES.map(([name, shape, scale], i) =>
      [name, random(shape.reduce((a, b) => a * b, 1), 100 + i, scale), shape] as const
    )
  }
}

/** A step implementation: forward only, and forward + backward + SGD update. */
export interface StepThunks {
  readonly forward: Thunk
  readonly step: Thunk
  readonly dispose: () => void
}

const LR = 0.01

function typegradCnn(api: TrainApi, d: CnnData): StepThunks {
  const T = api.Tensor
  const x = T.fromArray(d.x, [d.batch, 28, 28, 1])
  const y = T.fromArray(d.y, [d.batch, 10])
  const m1 = T.fromArray(d.mask1, [d.batch, 512])
  const m2 = T.fromArray(d.mask2, [d.batch, 128])
  let params: Params = Object.fromEntries(d.params.map(([name, data, shape]) => [name, T.fromArray(data, shape)]))
  const loss = (p: Params): unknown => {
    let h = T.relu(T.add(T.conv2d(x, p["w1"], { padding: "same" }), p["b1"]))
    h = T.maxPool2d(h, { poolSize: 2 })
    h = T.relu(T.add(T.conv2d(h, p["w2"], { padding: "same" }), p["b2"]))
    h = T.maxPool2d(h, { poolSize: 2 })
    h = T.flatten(h)
    h = T.mul(T.relu(T.add(T.matmul(h, p["d1"]), p["c1"])), m1)
    h = T.mul(T.relu(T.add(T.matmul(h, p["d2"]), p["c2"])), m2)
    h = T.add(T.matmul(h, p["d3"]), p["c3"])
    return T.neg(T.mean(T.sum(T.mul(T.logSoftmax(h), y), { axis: 1 })))
  }
  const vg = api.valueAndGrad(loss)
  const lr = T.fromArray([LR], [])
  return {
    forward: () => void loss(params),
    step: () => {
      const [, grads] = vg(params)
      const next: Params = {}
      for (const k of Object.keys(params)) next[k] = T.sub(params[k], T.mul(grads[k], lr))
      params = next
    },
    dispose: () => {}
  }
}

/**
 * The step as a user runs it: the `@typegrad/nn` model (fused conv+bias+relu, real dropout), softmax
 * cross-entropy from logits, `valueAndGradAux` (loss and logits in one pass) and an Adam update.
 */
async function typegradModelCnn(d: CnnData): Promise<StepThunks> {
  const { valueAndGradAux } = await import("@typegrad/autodiff")
  const { Loss } = await import("@typegrad/nn")
  const { Optimizer } = await import("@typegrad/optim")
  const { Tensor } = await import("@typegrad/tensor")
  const { Effect, Random } = await import("effect")
  // The reference model exactly as the MNIST job defines it.
  const model = (await import("@typegrad/cli")).Mnist.cnn
  type P = import("@typegrad/nn").Model.ParamsOf<typeof model>
  let params: P = Effect.runSync(model.init.pipe(Random.withSeed(1)))
  const x = Tensor.fromArray(d.x, [d.batch, 28, 28, 1])
  const y = Tensor.fromArray(d.y, [d.batch, 10])
  const adam = Optimizer.adam({ learningRate: 1e-3 })
  let state = adam.init(params)
  let seed = 0
  const lossAndLogits = (p: P) => {
    const z = model.logits(p, x, { training: true, seed: seed++ })
    return [Loss.softmaxCrossEntropy(z, y), z] as const
  }
  const vg = valueAndGradAux(lossAndLogits)
  return {
    forward: () => void lossAndLogits(params),
    step: () => {
      const [, , grads] = vg(params)
      const [nextParams, next] = adam.step(grads, state, params)
      params = nextParams
      state = next
    },
    dispose: () => {}
  }
}

function tfjsCnn(tf: TfApi, d: CnnData): StepThunks {
  const x = tf.tensor4d(d.x, [d.batch, 28, 28, 1])
  const y = tf.tensor2d(d.y, [d.batch, 10])
  const m1 = tf.tensor2d(d.mask1, [d.batch, 512])
  const m2 = tf.tensor2d(d.mask2, [d.batch, 128])
  const p = Object.fromEntries(d.params.map(([name, data, shape]) => [name, tf.variable(tf.tensor(data, [...shape]))]))
  const v = (name: string) => p[name]!
  const loss = () => {
    let h: import("@tensorflow/tfjs-core").Tensor = tf.relu(tf.add(tf.conv2d(x, v("w1") as never, 1, "same"), v("b1")))
    h = tf.maxPool(h as never, 2, 2, "valid")
    h = tf.relu(tf.add(tf.conv2d(h as never, v("w2") as never, 1, "same"), v("b2")))
    h = tf.maxPool(h as never, 2, 2, "valid")
    h = tf.reshape(h, [d.batch, 2352])
    h = tf.mul(tf.relu(tf.add(tf.matMul(h, v("d1")), v("c1"))), m1)
    h = tf.mul(tf.relu(tf.add(tf.matMul(h, v("d2")), v("c2"))), m2)
    h = tf.add(tf.matMul(h, v("d3")), v("c3"))
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(h), y), 1))) as import("@tensorflow/tfjs-core").Scalar
  }
  const sgd = tf.train.sgd(LR)
  return {
    forward: () => {
      const l = tf.tidy(loss)
      l.dataSync()
      l.dispose()
    },
    step: () => {
      const { value, grads } = tf.variableGrads(loss)
      sgd.applyGradients(grads)
      value.dataSync()
      value.dispose()
      tf.dispose(Object.values(grads))
    },
    dispose: () => {
      tf.dispose([x, y, m1, m2, ...Object.values(p)])
      sgd.dispose()
    }
  }
}

interface StepTiming {
  readonly forwardMs: number
  readonly stepMs: number
}

/** Median times of `reps` runs after `warm` warm-up runs. */
function timeSteps(t: StepThunks, warm: number, reps: number): StepTiming {
  const median = (run: Thunk): number => {
    for (let i = 0; i < warm; i++) run()
    const s: Array<number> = []
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now()
      run()
      s.push(performance.now() - t0)
    }
    s.sort((a, b) => a - b)
    return s[s.length >> 1]!
  }
  return { forwardMs: median(t.forward), stepMs: median(t.step) }
}

export interface TrainOptions {
  readonly quick: boolean
  readonly tf: TfApi
  readonly useTfBackend: (name: "cpu" | "wasm") => Promise<{ readonly name: string; readonly detail: string }>
  readonly registerTfGradients: () => Promise<void>
  readonly log: (line: string) => void
}

export interface TrainRow {
  readonly impl: string
  readonly batch: number
  readonly forwardMs: number
  readonly stepMs: number
}

/** Runs the CNN step at batch 24 and 128 for typegrad and the tfjs backends; prints a table. */
export async function trainBench(api: TrainApi, opts: TrainOptions): Promise<ReadonlyArray<TrainRow>> {
  const rows: Array<TrainRow> = []
  const batches = [24, 128]
  for (const batch of batches) {
    const t = typegradCnn(api, cnnData(batch))
    const r = timeSteps(t, 3, opts.quick ? 5 : 15)
    rows.push({ impl: "typegrad", batch, ...r })
    opts.log(`typegrad batch ${batch}: step ${r.stepMs.toFixed(1)} ms`)
    const m = timeSteps(await typegradModelCnn(cnnData(batch)), 3, opts.quick ? 5 : 15)
    rows.push({ impl: "typegrad-nn+adam", batch, ...m })
    opts.log(`typegrad-nn+adam batch ${batch}: step ${m.stepMs.toFixed(1)} ms`)
  }
  await opts.registerTfGradients()
  for (const backend of ["wasm", "cpu"] as const) {
    let info: { readonly name: string; readonly detail: string }
    try {
      info = await opts.useTfBackend(backend)
    } catch (e) {
      opts.log(`tfjs-${backend}: unavailable (${String(e)})`)
      continue
    }
    opts.log(`${info.name}: ${info.detail}`)
    for (const batch of batches) {
      try {
        const t = tfjsCnn(opts.tf, cnnData(batch))
        // tfjs-cpu runs a few samples per second: one warm-up and two timed steps keep the run short.
        const r = backend === "cpu" ? timeSteps(t, 1, 2) : timeSteps(t, 1, opts.quick ? 3 : 5)
        t.dispose()
        rows.push({ impl: info.name, batch, ...r })
        opts.log(`${info.name} batch ${batch}: step ${r.stepMs.toFixed(1)} ms`)
      } catch (e) {
        opts.log(`${info.name} batch ${batch}: failed (${String(e)})`)
      }
    }
  }
  printTrainTable(rows)
  return rows
}

function printTrainTable(rows: ReadonlyArray<TrainRow>): void {
  console.log(`\nMNIST CNN training step (float32, median), Node ${process.version}`)
  console.log(
    "step = forward + backward + update (SGD; typegrad-nn+adam: the nn model with dropout and Adam, as Train.fit runs it); bwd/fwd = (step - forward) / forward"
  )
  const header = [
    "impl".padEnd(17),
    "batch".padStart(5),
    "fwd ms".padStart(9),
    "step ms".padStart(9),
    "fwd smp/s".padStart(10),
    "step smp/s".padStart(11),
    "bwd/fwd".padStart(8),
    "typegrad x".padStart(11)
  ]
  console.log(header.join(" "))
  for (const r of rows) {
    const ours = rows.find((o) => o.impl === "typegrad" && o.batch === r.batch)
    const cells = [
      r.impl.padEnd(17),
      String(r.batch).padStart(5),
      r.forwardMs.toFixed(1).padStart(9),
      r.stepMs.toFixed(1).padStart(9),
      (r.batch / r.forwardMs * 1000).toFixed(0).padStart(10),
      (r.batch / r.stepMs * 1000).toFixed(0).padStart(11),
      ((r.stepMs - r.forwardMs) / r.forwardMs).toFixed(2).padStart(8),
      (ours === undefined ? Number.NaN : r.stepMs / ours.stepMs).toFixed(1).padStart(11)
    ]
    console.log(cells.join(" "))
  }
  console.log("typegrad x = peer step time / typegrad step time (how many times faster typegrad is)")
}

/**
 * Memory: `steps` grad steps (valueAndGrad + SGD) of a small MLP, printing the heap, external and
 * ArrayBuffer memory every `every` steps. A flat profile means nothing is retained across steps.
 */
export function memoryBench(api: TrainApi, steps = 2000, every = 250): void {
  const T = api.Tensor
  const batch = 32
  const x = T.fromArray(random(batch * 64, 1, 1), [batch, 64])
  const yData = new Float32Array(batch * 10)
  for (let i = 0; i < batch; i++) yData[i * 10 + (i % 10)] = 1
  const y = T.fromArray(yData, [batch, 10])
  let params: Params = {
    w1: T.fromArray(random(64 * 128, 2, 0.1), [64, 128]),
    b1: T.fromArray(new Float32Array(128), [128]),
    w2: T.fromArray(random(128 * 10, 3, 0.1), [128, 10]),
    b2: T.fromArray(new Float32Array(10), [10])
  }
  const loss = (p: Params): unknown => {
    const h = T.relu(T.add(T.matmul(x, p["w1"]), p["b1"]))
    const o = T.add(T.matmul(h, p["w2"]), p["b2"])
    return T.neg(T.mean(T.sum(T.mul(T.logSoftmax(o), y), { axis: 1 })))
  }
  const vg = api.valueAndGrad(loss)
  const lr = T.fromArray([0.05], [])
  const gc = (globalThis as { gc?: () => void }).gc
  const mb = (b: number) => (b / 1048576).toFixed(1).padStart(8)
  console.log(
    `\nMemory: ${steps} grad steps of an MLP 64-128-10 (batch ${batch})${
      gc ? ", gc() before each sample" : " (run node with --expose-gc for exact numbers)"
    }`
  )
  console.log(
    [
      "step".padStart(6),
      "heapUsed MB".padStart(12),
      "external MB".padStart(12),
      "arrayBuf MB".padStart(12),
      "rss MB".padStart(8)
    ].join(" ")
  )
  const samples: Array<number> = []
  for (let s = 0; s <= steps; s++) {
    if (s % every === 0) {
      gc?.()
      const m = process.memoryUsage()
      samples.push(m.heapUsed)
      console.log(
        [
          String(s).padStart(6),
          mb(m.heapUsed).padStart(12),
          mb(m.external).padStart(12),
          mb(m.arrayBuffers).padStart(12),
          mb(m.rss)
        ].join(" ")
      )
    }
    if (s === steps) break
    const [, grads] = vg(params)
    const next: Params = {}
    for (const k of Object.keys(params)) next[k] = T.sub(params[k], T.mul(grads[k], lr))
    params = next
  }
  const first = samples[1] ?? samples[0]!
  const last = samples[samples.length - 1]!
  console.log(`heapUsed drift from step ${every} to ${steps}: ${((last - first) / 1048576).toFixed(2)} MB`)
}
