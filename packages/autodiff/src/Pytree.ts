/**
 * Pytrees: nested plain objects and arrays whose leaves are tensors, such as the parameters of a model.
 * `grad` differentiates with respect to a whole pytree and returns a gradient of the same structure.
 *
 * @since 0.1.0
 */
import { Tensor } from "@typegrad/tensor"

/**
 * A tensor, or an array or plain object of pytrees.
 *
 * @example
 * ```ts
 * const params: Pytree.Pytree = { dense: { w: Tensor.zeros([784, 10]), b: Tensor.zeros([10]) } }
 * ```
 */
export type Pytree = Tensor.AnyTensor | ReadonlyArray<Pytree> | { readonly [key: string]: Pytree }

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * The tensors of a pytree in a fixed order (arrays by index, objects by sorted key).
 *
 * @example
 * ```ts
 * Pytree.leaves({ b: Tensor.ones([2]), a: [Tensor.zeros([1])] }) // [zeros([1]), ones([2])]
 * ```
 */
export const leaves = (tree: Pytree): Array<Tensor.AnyTensor> => {
  const out: Array<Tensor.AnyTensor> = []
  const go = (t: unknown, path: string): void => {
    if (Tensor.isTensor(t)) out.push(t)
    else if (Array.isArray(t)) t.forEach((c, i) => go(c, `${path}[${i}]`))
    else if (isPlainObject(t)) { for (const k of Object.keys(t).sort()) go(t[k], `${path}.${k}`) }
    else {
      throw new TypeError(
        `pytree: ${path || "the value"} is ${
          t === null ? "null" : typeof t
        }; a pytree holds only tensors, arrays and plain objects`
      )
    }
  }
  go(tree, "")
  return out
}

/**
 * Rebuilds a pytree of the same structure with each tensor replaced by `f(tensor)`.
 *
 * @example
 * ```ts
 * const halves = Pytree.map(params, (t) => Tensor.mul(t, 0.5))
 * ```
 */
export const map = <T extends Pytree>(tree: T, f: (leaf: Tensor.AnyTensor, index: number) => Tensor.AnyTensor): T => {
  let i = 0
  const go = (t: unknown): unknown => {
    if (Tensor.isTensor(t)) return f(t, i++)
    if (Array.isArray(t)) return t.map(go)
    if (isPlainObject(t)) {
      const o: Record<string, unknown> = {}
      for (const k of Object.keys(t).sort()) o[k] = go(t[k])
      return o
    }
    throw new TypeError(
      `pytree: found ${t === null ? "null" : typeof t}; a pytree holds only tensors, arrays and plain objects`
    )
  }
  // The rebuilt value has T's structure by construction.
  return go(tree) as T
}

/**
 * Combines two pytrees of the same structure leaf by leaf.
 *
 * @example
 * ```ts
 * const sum = Pytree.zipWith(a, b, (x, y) => Tensor.add(x, y))
 * ```
 */
export const zipWith = <T extends Pytree>(
  a: T,
  b: T,
  f: (x: Tensor.AnyTensor, y: Tensor.AnyTensor, index: number) => Tensor.AnyTensor
): T => {
  const bs = leaves(b)
  const as = leaves(a)
  if (as.length !== bs.length) {
    throw new TypeError(`pytree: structures differ (${as.length} leaves vs ${bs.length})`)
  }
  return map(a, (x, i) => f(x, bs[i]!, i))
}

/**
 * The tensors of a pytree with their paths (`"0.kernel"`, `"dense.bias"`), in the order of `leaves`.
 * Paths name tensors in checkpoints.
 *
 * @example
 * ```ts
 * Pytree.paths([{ kernel: w, bias: b }]) // [["0.bias", b], ["0.kernel", w]]
 * ```
 */
export const paths = (tree: Pytree): Array<readonly [string, Tensor.AnyTensor]> => {
  const out: Array<readonly [string, Tensor.AnyTensor]> = []
  const join = (path: string, key: string | number): string => (path === "" ? String(key) : `${path}.${key}`)
  const go = (t: unknown, path: string): void => {
    if (Tensor.isTensor(t)) out.push([path, t])
    else if (Array.isArray(t)) t.forEach((c, i) => go(c, join(path, i)))
    else if (isPlainObject(t)) { for (const k of Object.keys(t).sort()) go(t[k], join(path, k)) }
    else throw new TypeError(`pytree: ${path || "the value"} is not a tensor, array or plain object`)
  }
  go(tree, "")
  return out
}
