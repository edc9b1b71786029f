/**
 * Pytrees: nested plain objects and arrays whose leaves are tensors, such as the parameters of a model.
 * `grad` differentiates with respect to a whole pytree and returns a gradient of the same structure.
 *
 * One walk defines every function here, with one rule for what is a node:
 * - a tensor is a leaf;
 * - an array is a node, its children visited by index;
 * - a plain object (prototype `Object.prototype` or `null`) is a node, its children visited by sorted key;
 * - anything else is not part of a pytree (an error, except in `mapTensors`, which keeps it).
 *
 * Every leaf has a path: the keys from the root to it (`["conv", 0, "w"]`; numbers are array indices), as
 * JAX's `tree_flatten_with_path` gives. `pathString` writes it dotted (`"conv.0.w"`), the form that names
 * tensors in checkpoints.
 *
 * @since 0.1.0
 */
import * as Tensor from "./Tensor.ts"

/**
 * A tensor, or an array or plain object of pytrees.
 *
 * @example
 * ```ts
 * const params: Pytree.Pytree = { dense: { w: Tensor.zeros([784, 10]), b: Tensor.zeros([10]) } }
 * ```
 */
export type Pytree = Tensor.AnyTensor | ReadonlyArray<Pytree> | { readonly [key: string]: Pytree }

/**
 * The position of a leaf in a pytree: the keys from the root, numbers for array indices and strings for
 * object keys. The root itself (a tree that is one tensor) has the empty path.
 *
 * @example
 * ```ts
 * const path: Pytree.Path = ["layers", 0, "kernel"] // params.layers[0].kernel
 * ```
 */
export type Path = ReadonlyArray<string | number>

/**
 * Whether a value is a node of a pytree: an array, or a plain object (whose prototype is
 * `Object.prototype` or `null`). Tensors are leaves; class instances, typed arrays, numbers... are neither.
 *
 * @example
 * ```ts
 * Pytree.isNode({ w: Tensor.zeros([2]) }) // true
 * Pytree.isNode(Object.create(null)) // true
 * Pytree.isNode(new Float32Array(2)) // false
 * ```
 */
export const isNode = (u: unknown): u is ReadonlyArray<unknown> | { readonly [key: string]: unknown } => {
  if (Array.isArray(u)) return true
  if (typeof u !== "object" || u === null || Tensor.isTensor(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * A path written dotted, as in checkpoint names: `["conv", 0, "w"]` gives `"conv.0.w"`, the empty path
 * gives `""`.
 *
 * @example
 * ```ts
 * Pytree.pathString(["layers", 0, "kernel"]) // "layers.0.kernel"
 * ```
 */
export const pathString = (path: Path): string => path.join(".")

const describe = (u: unknown): string => (u === null ? "null" : Array.isArray(u) ? "array" : typeof u)

/**
 * The walk behind every function of this module: visits the leaves depth first (arrays by index, objects
 * by sorted key) and rebuilds the structure with each leaf replaced by `onLeaf`'s result. A value that is
 * neither a tensor nor a node is passed to `onOther`, which returns its replacement or throws.
 */
const walk = (
  tree: unknown,
  onLeaf: (leaf: Tensor.AnyTensor, path: Path, index: number) => unknown,
  onOther: (value: unknown, path: Path) => unknown
): unknown => {
  let index = 0
  const path: Array<string | number> = []
  const go = (t: unknown): unknown => {
    if (Tensor.isTensor(t)) return onLeaf(t, path.slice(), index++)
    if (Array.isArray(t)) {
      const out: Array<unknown> = []
      for (let i = 0; i < t.length; i++) {
        path.push(i)
        out.push(go(t[i]))
        path.pop()
      }
      return out
    }
    if (isNode(t)) {
      const node = t as { readonly [key: string]: unknown }
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(node).toSorted()) {
        path.push(k)
        out[k] = go(node[k])
        path.pop()
      }
      return out
    }
    return onOther(t, path.slice())
  }
  return go(tree)
}

const reject = (value: unknown, path: Path): never => {
  throw new TypeError(
    `pytree: ${path.length === 0 ? "the value" : pathString(path)} is ${
      describe(value)
    }; a pytree holds only tensors, arrays and plain objects`
  )
}

/**
 * The tensors of a pytree with their paths, in the order of `leaves` (arrays by index, objects by sorted
 * key): JAX's `tree_flatten_with_path`.
 *
 * @example
 * ```ts
 * declare const w: Tensor.Tensor<readonly [3, 2]>
 * declare const b: Tensor.Tensor<readonly [2]>
 * Pytree.leavesWithPath({ dense: { w, b } }) // [[["dense", "b"], b], [["dense", "w"], w]]
 * ```
 */
export const leavesWithPath = (tree: Pytree): Array<readonly [Path, Tensor.AnyTensor]> => {
  const out: Array<readonly [Path, Tensor.AnyTensor]> = []
  walk(tree, (leaf, path) => out.push([path, leaf]), reject)
  return out
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
  walk(tree, (leaf) => out.push(leaf), reject)
  return out
}

/**
 * Rebuilds a pytree of the same structure with each tensor replaced by `f(tensor, path, index)`, where
 * `index` is the leaf's position in `leaves`.
 *
 * @example
 * ```ts
 * declare const params: { readonly dense: { readonly kernel: Tensor.Tensor<readonly [3, 2]>; readonly bias: Tensor.Tensor<readonly [2]> } }
 * // Weight decay on kernels only.
 * const decayed = Pytree.mapWithPath(params, (t, path) => path.at(-1) === "kernel" ? Tensor.mul(t, 0.99) : t)
 * ```
 */
export const mapWithPath = <T extends Pytree>(
  tree: T,
  f: (leaf: Tensor.AnyTensor, path: Path, index: number) => Tensor.AnyTensor
): T =>
  // The rebuilt value has T's structure by construction.
  walk(tree, f, reject) as T

/**
 * Rebuilds a pytree of the same structure with each tensor replaced by `f(tensor)`.
 *
 * @example
 * ```ts
 * declare const params: { readonly dense: { readonly kernel: Tensor.Tensor<readonly [3, 2]>; readonly bias: Tensor.Tensor<readonly [2]> } }
 * const halves = Pytree.map(params, (t) => Tensor.mul(t, 0.5))
 * ```
 */
export const map = <T extends Pytree>(tree: T, f: (leaf: Tensor.AnyTensor, index: number) => Tensor.AnyTensor): T =>
  mapWithPath(tree, (leaf, _path, index) => f(leaf, index))

/**
 * Replaces the tensors inside any value, walking its arrays and plain objects as a pytree is walked and
 * keeping every other value (numbers, strings, class instances...) as it is. For data that is not a pytree
 * but may hold tensors, such as the auxiliary outputs of `valueAndGradAux`.
 *
 * @example
 * ```ts
 * declare const logits: Tensor.Tensor<readonly [8, 10]>
 * Pytree.mapTensors({ logits, step: 3 }, (t) => Tensor.mul(t, 2)) // { logits: 2 * logits, step: 3 }
 * ```
 */
export const mapTensors = <A>(value: A, f: (leaf: Tensor.AnyTensor, path: Path) => Tensor.AnyTensor): A =>
  // Same structure as `value`, with tensors replaced.
  walk(value, f, (other) => other) as A

/**
 * Combines two pytrees of the same structure leaf by leaf.
 *
 * @example
 * ```ts
 * declare const a: Tensor.Tensor<readonly [2]>
 * declare const b: Tensor.Tensor<readonly [2]>
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
 * The tensors of a pytree with their dotted paths (`"0.kernel"`, `"dense.bias"`), in the order of
 * `leaves`: `leavesWithPath` with `pathString`. Paths name tensors in checkpoints.
 *
 * @example
 * ```ts
 * declare const w: Tensor.Tensor<readonly [3, 2]>
 * declare const b: Tensor.Tensor<readonly [2]>
 * Pytree.paths([{ kernel: w, bias: b }]) // [["0.bias", b], ["0.kernel", w]]
 * ```
 */
export const paths = (tree: Pytree): Array<readonly [string, Tensor.AnyTensor]> =>
  leavesWithPath(tree).map(([path, leaf]) => [pathString(path), leaf] as const)
