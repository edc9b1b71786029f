/**
 * Early release of a backward pass's dropped cotangents (`reverse.ts`) and of a gradient rule's own
 * temporaries (`conv2dBias`'s relu gradient): their memory goes back to the module memory's arena during
 * the pass instead of at the next collection. The tests serve every float buffer from the arena (so small
 * cases take that path), check that buffers were released early, then overwrite the freed memory with
 * further work and check every result against the same computation with the arena off: a buffer released
 * while something could still read it shows up as changed bits. Covered: fan-out (cotangents summed),
 * cotangents passed on unchanged to inputs (add, reshape), broadcast sums, the fused convolution with relu,
 * gradients returned to the caller, nested `grad(grad(f))`, `jvp` of a gradient, `vmap` of a gradient, and
 * user rules (`customVjp`) that keep a cotangent they were given.
 */
import { customVjp, grad, jvp, vjp, vmap } from "@typegrad/autodiff"
import { Tensor } from "@typegrad/tensor"
import { arenaStats, configureArena, getKernels } from "@typegrad/tensor/internal"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

type T = Tensor.AnyTensor

/** A loss of any-shaped tensors, typed as the scalar it is. */
const scalar = (t: T): Tensor.Tensor<readonly []> => t as unknown as Tensor.Tensor<readonly []>

const random = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 32 - 0.5
  }
  return out
}

const arenaOn = (): boolean => arenaStats().enabled

beforeAll(() => {
  // The arena starts with the WebAssembly kernels' memory: run one kernel, then serve small buffers too.
  Tensor.matmul(Tensor.ones([2, 2]), Tensor.ones([2, 2]))
  configureArena({ minBytes: 4 })
})
afterAll(() => {
  configureArena({ minBytes: 64 * 1024, off: false })
})

/** The values of a pytree of tensors, copied out. */
const values = (tree: ReadonlyArray<T> | T): Array<Array<number>> =>
  (Array.isArray(tree) ? tree : [tree]).map((t: T) => Array.from(Tensor.toArray(t)))

/** Work that allocates (and so reuses released memory) before the results are read again. */
const churn = (): void => {
  for (let i = 0; i < 20; i++) {
    const a = Tensor.fromArray(random(64 * 64, 100 + i), [64, 64])
    Tensor.toArray(Tensor.relu(Tensor.matmul(a, Tensor.mul(a, 2))))
  }
}

/**
 * Runs `compute` with the arena off (the reference), then on; on, checks that the results survive further
 * allocation; returns how many buffers were released early during the run with the arena on.
 */
const check = (compute: () => ReadonlyArray<T> | T): number => {
  configureArena({ off: true })
  const reference = values(compute())
  configureArena({ off: false })
  const before = arenaStats().releasedEarly
  const result = compute()
  const released = arenaStats().releasedEarly - before
  expect(values(result)).toEqual(reference)
  churn()
  expect(values(result)).toEqual(reference)
  return released
}

describe("early release of backward buffers", () => {
  it("runs on the WebAssembly kernels with the arena in use", () => {
    expect(getKernels().name).toBe("wasm-simd")
    expect(arenaOn()).toBe(true)
  })

  const x = Tensor.fromArray(random(6 * 5, 1), [6, 5])
  const w1 = Tensor.fromArray(random(5 * 7, 2), [5, 7])
  const b1 = Tensor.fromArray(random(7, 3), [7])
  const w2 = Tensor.fromArray(random(7 * 3, 4), [7, 3])

  it("a network with fan-out, pass-through cotangents, broadcasts and reshapes gives the same gradients", () => {
    type P = readonly [T, T, T, T]
    const loss = ([xx, a, b, c]: P) => {
      const h = Tensor.relu(Tensor.add(Tensor.matmul(xx, a), b)) // broadcast bias
      const y = Tensor.matmul(h, c)
      const again = Tensor.mul(Tensor.reshape(h, [6 * 7]), Tensor.reshape(h, [6 * 7])) // h used thrice
      return scalar(
        Tensor.add(Tensor.sum(Tensor.square(y)), Tensor.sum(Tensor.add(again, Tensor.reshape(xx, [30, 1]))))
      )
    }
    const released = check(() => grad(loss)([x, w1, b1, w2]))
    expect(released).toBeGreaterThan(0)
  })

  it("a gradient that is a cotangent passed on unchanged (add) survives", () => {
    const f = ([a, b]: readonly [T, T]) => scalar(Tensor.sum(Tensor.mul(Tensor.add(a, b), Tensor.add(a, b))))
    const released = check(() => grad(f)([x, Tensor.mul(x, 3)]))
    expect(released).toBeGreaterThan(0)
  })

  it("the fused convolution with relu releases its own temporary and gives the same gradients", () => {
    const img = Tensor.fromArray(random(2 * 9 * 9 * 3, 5), [2, 9, 9, 3])
    const k = Tensor.fromArray(random(3 * 3 * 3 * 4, 6), [3, 3, 3, 4])
    const bias = Tensor.fromArray(random(4, 7), [4])
    const f = ([i, kk, bb]: readonly [T, T, T]) =>
      scalar(
        Tensor.sum(
          Tensor.square(Tensor.conv2dBias(i as never, kk as never, bb as never, { padding: "same", relu: true }))
        )
      )
    const released = check(() => grad(f)([img, k, bias]))
    expect(released).toBeGreaterThan(0)
  })

  it("nested differentiation (grad of grad, jvp of grad, vmap of grad) gives the same values", () => {
    const v = Tensor.fromArray(random(5, 8), [5])
    const f = (t: T) => scalar(Tensor.sum(Tensor.mul(Tensor.tanh(Tensor.mul(t, t)), Tensor.exp(t))))
    const df = (t: T) => grad(f)(t)
    check(() => grad((t: T) => scalar(Tensor.sum(Tensor.square(df(t)))))(v))
    check(() => jvp(df, v, Tensor.ones([5])) as unknown as ReadonlyArray<T>)
    check(() => vmap(df)(Tensor.fromArray(random(4 * 5, 9), [4, 5])))
  })

  it("the cotangent a caller passes to a pullback, and the forward values, are never released", () => {
    const seed = Tensor.mul(Tensor.fromArray(random(6 * 7, 11), [6, 7]), 1) // a kernel output: in the arena
    const expected = values(seed)
    const hidden = Tensor.relu(Tensor.matmul(x, w1))
    const expectedHidden = values(hidden)
    const [, pullback] = vjp((a: T) => Tensor.tanh(Tensor.matmul(a, w1)), x)
    pullback(seed)
    grad((a: T) => scalar(Tensor.sum(Tensor.mul(Tensor.matmul(a, w1), hidden))))(x)
    churn()
    expect(values(seed)).toEqual(expected)
    expect(values(hidden)).toEqual(expectedHidden)
  })

  it("a cotangent a user's rule kept is never released", () => {
    const kept: Array<T> = []
    const scaled = customVjp({
      forward: (a: T) => [Tensor.mul(a, 2), null] as const,
      backward: (_res: null, ct: T) => {
        kept.push(ct)
        return [Tensor.mul(ct, 2)] as const
      }
    })
    const f = (a: T) => scalar(Tensor.sum(Tensor.square(Tensor.relu(scaled(Tensor.mul(a, 3))))))
    configureArena({ off: true })
    grad(f)(x)
    const reference = values(kept[0]!)
    configureArena({ off: false })
    kept.length = 0
    grad(f)(x)
    churn()
    expect(values(kept[0]!)).toEqual(reference)
  })
})
