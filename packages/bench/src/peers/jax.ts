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
import { ADAM, CNN_PARAMS, DROPOUT, oneHotLabels, random as uniform, type Workload } from "../workloads.ts"

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

/** The CNN's logits; consumes everything passed. `masks`: inverted-dropout masks when training. */
function logits(form: Form, p: Params, x: Arr, masks?: readonly [Arr, Arr]): Arr {
  const batch = x.shape[0]!
  let h = nn.relu(addBias(form, conv(form, x, p["w1"]!, "valid"), p["b1"]!))
  h = nn.relu(addBias(form, conv(form, h, p["w2"]!, "valid"), p["b2"]!))
  h = maxPool2(form, h)
  if (masks !== undefined) h = h.mul(masks[0])
  h = h.reshape([batch, 9216])
  h = nn.relu(np.matmul(h, p["d1"]!).add(p["c1"]!))
  if (masks !== undefined) h = h.mul(masks[1])
  return np.matmul(h, p["d2"]!).add(p["c2"]!)
}

function initParams(form: Form): Params {
  return Object.fromEntries(
    CNN_PARAMS.map(([name, shape, scale], i) => {
      const data = uniform(shape.reduce((a, b) => a * b, 1), 100 + i, scale)
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

function trainRunner(form: Form, batch: number): Promise<Runner> {
  let params = initParams(form)
  let m: Params = tree.map((a: Arr) => np.zerosLike(a.ref), params) as Params
  let v: Params = tree.map((a: Arr) => np.zerosLike(a.ref), params) as Params
  const x = cnnInput(form, batch)
  const y = arr(oneHotLabels(batch), [batch, 10])
  const loss = (p: Params, xs: Arr, ys: Arr, m1: Arr, m2: Arr): Arr =>
    nn.logSoftmax(logits(form, p, xs, [m1, m2]), -1).mul(ys).sum(1).mean().neg()
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
  const poolShape = form === "lax" ? [batch, 64, 12, 12] : [batch, 12, 12, 64]
  let t = 0
  return asyncRunner(async () => {
    t++
    const m1 = dropoutMask(2 * t, DROPOUT.afterPool, poolShape)
    const m2 = dropoutMask(2 * t + 1, DROPOUT.afterDense, [batch, 128])
    const [value, grads] = lossAndGrad(tree.ref(params), x.ref, y.ref, m1, m2)
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

function inferRunner(form: Form, batch: number): Promise<Runner> {
  const params = initParams(form)
  const x = cnnInput(form, batch)
  const forward = jit((p: Params, xs: Arr) => nn.softmax(logits(form, p, xs), -1))
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
      return trainRunner(form, w.batch)
    case "infer":
      return inferRunner(form, w.batch)
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
