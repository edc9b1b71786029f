/**
 * jax-js peer (`@jax-js/jax`, its `wasm` device: single-threaded in Node, which has no global `Worker`).
 *
 * Settings:
 * - `jax`: GEMM with `np.matmul`; convolutions with its own `lax.conv` (NCHW / OIHW), and the CNN built on it.
 * - `jax-im2col`: convolutions written as im2col (nine shifted slices, concatenated) + `np.matmul` in NHWC,
 *   and the CNN built on that: the faster way to write a CNN in jax-js today.
 *
 * Every function is `jit`-ed (as JAX code is); the training step is `jit(valueAndGrad(loss))` and a `jit`-ed
 * Adam update, with inverted-dropout masks drawn from `random.bernoulli` each step. jax-js arrays are
 * reference-counted: a function consumes its arguments, so an array used again is passed as `.ref`.
 * A run ends with `blockUntilReady` on its outputs (no copy out, like the in-process peers).
 */
import {
  blockUntilReady,
  defaultDevice,
  init,
  jit,
  lax,
  nn,
  numpy as np,
  random,
  tree,
  valueAndGrad
} from "@jax-js/jax"
import { asyncRunner, type PeerStart, type Runner, type Setting } from "../measure.ts"
import {
  ADAM,
  type CnnModelName,
  cnnParams,
  oneHotLabels,
  planCnn,
  type PlannedLayer,
  random as uniform,
  type Workload
} from "../workloads.ts"

type Arr = np.Array
type Form = "lax" | "im2col"
type Params = { [name: string]: Arr }

/** A float32 array of `shape` from plain data (NHWC / HWIO data; `perm` transposes it to the form's layout). */
const arr = (data: Float32Array, shape: ReadonlyArray<number>, perm?: Array<number>): Arr => {
  const a = np.array(data).reshape([...shape])
  return perm === undefined ? a : a.transpose(perm)
}

/** Stride-1 convolution; consumes `x` and `w`. lax: x NCHW, w OIHW. im2col: x NHWC, w HWIO. */
function conv(form: Form, x: Arr, w: Arr, padding: "valid" | "same"): Arr {
  if (form === "lax") return lax.conv(x, w, [1, 1], padding === "same" ? "SAME" : "VALID")
  const [kh, kw, c, f] = w.shape as [number, number, number, number]
  let xp = x
  if (padding === "same") {
    const top = Math.floor((kh - 1) / 2), left = Math.floor((kw - 1) / 2)
    xp = np.pad(x, [[0, 0], [top, kh - 1 - top], [left, kw - 1 - left], [0, 0]])
  }
  const [b, h, wd] = xp.shape as [number, number, number, number]
  const oh = h - kh + 1, ow = wd - kw + 1
  const cols: Array<Arr> = []
  for (let dy = 0; dy < kh; dy++) {
    for (let dx = 0; dx < kw; dx++) cols.push(xp.ref.slice([], [dy, dy + oh], [dx, dx + ow], []))
  }
  xp.dispose()
  const patches = np.concatenate(cols, 3).reshape([b * oh * ow, kh * kw * c])
  return np.matmul(patches, w.reshape([kh * kw * c, f])).reshape([b, oh, ow, f])
}

/** Adds a per-channel bias (channel axis 1 for lax's NCHW, last for NHWC). */
const addBias = (form: Form, h: Arr, b: Arr): Arr => h.add(form === "lax" ? b.reshape([1, -1, 1, 1]) : b)

/** 2x2 max pooling, stride 2. */
function maxPool2(form: Form, h: Arr): Arr {
  const [b, d1, d2, d3] = h.shape as [number, number, number, number]
  return form === "lax"
    ? h.reshape([b, d1, d2 / 2, 2, d3 / 2, 2]).max([3, 5])
    : h.reshape([b, d1 / 2, 2, d2 / 2, 2, d3]).max([2, 4])
}

/**
 * The CNN's logits; consumes everything passed. `masks`: the inverted-dropout masks of the dropout layers,
 * in order, when training.
 */
function logits(form: Form, plan: ReadonlyArray<PlannedLayer>, p: Params, x: Arr, masks?: ReadonlyArray<Arr>): Arr {
  const batch = x.shape[0]!
  let h = x
  let dropout = 0
  plan.forEach(({ layer }, i) => {
    switch (layer.kind) {
      case "conv":
        h = nn.relu(addBias(form, conv(form, h, p[`w${i}`]!, layer.padding), p[`b${i}`]!))
        break
      case "pool":
        h = maxPool2(form, h)
        break
      case "dropout":
        if (masks !== undefined) h = h.mul(masks[dropout++]!)
        break
      case "flatten":
        h = h.reshape([batch, -1])
        break
      case "dense":
        h = np.matmul(h, p[`w${i}`]!).add(p[`b${i}`]!)
        if (layer.relu) h = nn.relu(h)
    }
  })
  return h
}

/** The shapes of the dropout masks, in the form's layout. */
const maskShapes = (form: Form, plan: ReadonlyArray<PlannedLayer>, batch: number): Array<Array<number>> =>
  plan.filter(({ layer }) => layer.kind === "dropout").map(({ inShape }) =>
    form === "lax" && inShape.length === 3 ? [batch, inShape[2]!, inShape[0]!, inShape[1]!] : [batch, ...inShape]
  )

function initParams(form: Form, model: CnnModelName): Params {
  return Object.fromEntries(
    cnnParams(model).map(([name, shape, data]) => {
      // HWIO -> OIHW for lax.conv's kernels.
      const perm = form === "lax" && shape.length === 4 ? [3, 2, 0, 1] : undefined
      return [name, arr(data, shape, perm)]
    })
  )
}

/** A CNN input batch in the form's layout. */
const cnnInput = (form: Form, batch: number): Arr =>
  arr(uniform(batch * 784, 11), [batch, 28, 28, 1], form === "lax" ? [0, 3, 1, 2] : undefined)

/** Inverted dropout: 0 with probability `rate`, else 1 / (1 - rate). */
const dropoutMask = (seed: number, rate: number, shape: Array<number>): Arr =>
  random.bernoulli(random.key(seed), 1 - rate, shape).astype(np.float32).mul(1 / (1 - rate))

function trainRunner(form: Form, model: CnnModelName, batch: number): Promise<Runner> {
  const plan = planCnn(model)
  let params = initParams(form, model)
  let m: Params = tree.map((a: Arr) => np.zerosLike(a.ref), params) as Params
  let v: Params = tree.map((a: Arr) => np.zerosLike(a.ref), params) as Params
  const x = cnnInput(form, batch)
  const y = arr(oneHotLabels(batch), [batch, 10])
  const loss = (p: Params, xs: Arr, ys: Arr, masks: Array<Arr>): Arr =>
    nn.logSoftmax(logits(form, plan, p, xs, masks), -1).mul(ys).sum(1).mean().neg()
  const lossAndGrad = jit(valueAndGrad(loss))
  // Adam with bias correction: a1 = 1 / (1 - beta1^t), a2 = 1 / (1 - beta2^t) passed as arrays (no retrace).
  const adam = jit((p: Params, mt: Params, vt: Params, g: Params, a1: Arr, a2: Arr) => {
    const out: [Params, Params, Params] = [{}, {}, {}]
    for (const k of Object.keys(p)) {
      const gk = g[k]!
      const mk = mt[k]!.mul(ADAM.beta1).add(gk.ref.mul(1 - ADAM.beta1))
      const vk = vt[k]!.mul(ADAM.beta2).add(gk.ref.mul(gk).mul(1 - ADAM.beta2))
      const update = mk.ref.mul(a1.ref).div(np.sqrt(vk.ref.mul(a2.ref)).add(ADAM.epsilon)).mul(ADAM.learningRate)
      out[0][k] = p[k]!.sub(update)
      out[1][k] = mk
      out[2][k] = vk
    }
    a1.dispose()
    a2.dispose()
    return out
  })
  const shapes = maskShapes(form, plan, batch)
  const rates = plan.flatMap(({ layer }) => (layer.kind === "dropout" ? [layer.rate] : []))
  let t = 0
  return asyncRunner(async () => {
    t++
    const masks = shapes.map((shape, k) => dropoutMask(shapes.length * t + k, rates[k]!, shape))
    const [value, grads] = lossAndGrad(tree.ref(params), x.ref, y.ref, masks)
    const a1 = np.array(1 / (1 - ADAM.beta1 ** t)), a2 = np.array(1 / (1 - ADAM.beta2 ** t))
    ;[params, m, v] = adam(params, m, v, grads as Params, a1, a2)
    await blockUntilReady([value, params, m, v])
    return (await value.data())[0] // the loss read back, as the other peers do
  }, () => {
    tree.dispose([params, m, v, x, y])
    lossAndGrad.dispose()
    adam.dispose()
  })
}

function inferRunner(form: Form, model: CnnModelName, batch: number): Promise<Runner> {
  const plan = planCnn(model)
  const params = initParams(form, model)
  const x = cnnInput(form, batch)
  const forward = jit((p: Params, xs: Arr) => nn.softmax(logits(form, plan, p, xs), -1))
  return asyncRunner(async () => {
    const out = forward(tree.ref(params), x.ref)
    await blockUntilReady(out)
    out.dispose()
  }, () => {
    tree.dispose([params, x])
    forward.dispose()
  })
}

function prepare(form: Form, w: Workload): Promise<Runner> | undefined {
  switch (w.kind) {
    case "gemm": {
      if (form === "im2col") return undefined
      const a = arr(uniform(w.n * w.n, 1), [w.n, w.n]), b = arr(uniform(w.n * w.n, 2), [w.n, w.n])
      const mm = jit((p: Arr, q: Arr) => np.matmul(p, q))
      return asyncRunner(async () => {
        const c = mm(a.ref, b.ref)
        await blockUntilReady(c)
        c.dispose()
      }, () => tree.dispose([a, b]))
    }
    case "conv": {
      const x = arr(
        uniform(w.batch * w.h * w.w * w.c, 3),
        [w.batch, w.h, w.w, w.c],
        form === "lax" ? [0, 3, 1, 2] : undefined
      )
      const k = arr(uniform(w.k * w.k * w.c * w.f, 4), [w.k, w.k, w.c, w.f], form === "lax" ? [3, 2, 0, 1] : undefined)
      const f = jit((p: Arr, q: Arr) => conv(form, p, q, w.padding))
      return asyncRunner(async () => {
        const y = f(x.ref, k.ref)
        await blockUntilReady(y)
        y.dispose()
      }, () => {
        tree.dispose([x, k])
        f.dispose()
      })
    }
    case "train":
      return trainRunner(form, w.model, w.batch)
    case "infer":
      return inferRunner(form, w.model, w.batch)
  }
}

export async function startJax(): Promise<PeerStart> {
  try {
    const devices = await init("wasm")
    if (!devices.includes("wasm")) return { skipped: `jax-js: no wasm device (got ${devices.join(", ")})` }
    defaultDevice("wasm")
  } catch (e) {
    return { skipped: `jax-js failed to initialise: ${String(e)}` }
  }
  const detail = "@jax-js/jax 0.1.25, wasm device (single thread in Node), jit"
  const settings: ReadonlyArray<Setting> = [
    { name: "jax", peer: "jax", detail: `${detail}; lax.conv (NCHW / OIHW)`, prepare: async (w) => prepare("lax", w) },
    {
      name: "jax-im2col",
      peer: "jax",
      detail: `${detail}; convolutions as im2col + matmul (NHWC)`,
      prepare: async (w) => prepare("im2col", w)
    }
  ]
  return { settings, close: async () => {} }
}
