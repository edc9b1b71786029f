import { Pytree, Tensor } from "@typegrad/tensor"
import { describe, expect, it } from "vitest"

const t = (...xs: Array<number>): Tensor.AnyTensor => Tensor.fromArray(xs, [xs.length])
const values = (x: Tensor.AnyTensor): Array<number> => Array.from(Tensor.toArray(x))

describe("Pytree", () => {
  const w = t(1)
  const b = t(2)
  const k = t(3)
  const tree = { dense: { w, b }, conv: [{ kernel: k }] }

  it("leavesWithPath: key paths (numbers for indices) in the order of leaves, as JAX's tree_flatten_with_path", () => {
    const withPath = Pytree.leavesWithPath(tree)
    expect(withPath.map(([p]) => p)).toEqual([["conv", 0, "kernel"], ["dense", "b"], ["dense", "w"]])
    expect(withPath.map(([, leaf]) => leaf)).toEqual(Pytree.leaves(tree))
    expect(withPath.map(([, leaf]) => leaf)).toEqual([k, b, w])
    expect(Pytree.leavesWithPath(w)).toEqual([[[], w]])
  })

  it("paths writes the key paths dotted (checkpoint names), as pathString does", () => {
    expect(Pytree.paths(tree).map(([p]) => p)).toEqual(["conv.0.kernel", "dense.b", "dense.w"])
    expect(Pytree.paths([{ kernel: k, bias: b }])).toEqual([["0.bias", b], ["0.kernel", k]])
    expect(Pytree.pathString(["layers", 0, "kernel"])).toBe("layers.0.kernel")
    expect(Pytree.pathString([])).toBe("")
  })

  it("mapWithPath passes each leaf's path and index and keeps the structure", () => {
    const seen: Array<readonly [string, number]> = []
    const out = Pytree.mapWithPath(tree, (leaf, path, i) => {
      seen.push([Pytree.pathString(path), i])
      return path.at(-1) === "w" ? Tensor.mul(leaf, 10) : leaf
    })
    expect(seen).toEqual([["conv.0.kernel", 0], ["dense.b", 1], ["dense.w", 2]])
    expect(values(out.dense.w)).toEqual([10])
    expect(out.dense.b).toBe(b)
    expect(out.conv[0]!.kernel).toBe(k)
    expect(Pytree.map(tree, (leaf, i) => Tensor.add(leaf, i)).conv[0]!.kernel).toEqual(Tensor.add(k, 0))
  })

  it("one rule for nodes: null-prototype objects are nodes for every function", () => {
    const bare: { w: Tensor.AnyTensor; inner: { b: Tensor.AnyTensor } } = Object.assign(Object.create(null), {
      w,
      inner: Object.assign(Object.create(null), { b })
    })
    expect(Pytree.isNode(bare)).toBe(true)
    expect(Pytree.leaves(bare)).toEqual([b, w])
    expect(Pytree.paths(bare).map(([p]) => p)).toEqual(["inner.b", "w"])
    expect(values(Pytree.map(bare, (x) => Tensor.neg(x)).inner.b)).toEqual([-2])
    expect(values(Pytree.mapTensors(bare, (x) => Tensor.neg(x)).w)).toEqual([-1])
    expect(values(Pytree.zipWith(bare, bare, (x, y) => Tensor.add(x, y)).w)).toEqual([2])
  })

  it("isNode: arrays and plain objects only", () => {
    class Box {
      readonly w = w
    }
    expect(Pytree.isNode([])).toBe(true)
    expect(Pytree.isNode({})).toBe(true)
    expect(Pytree.isNode(w)).toBe(false)
    expect(Pytree.isNode(new Box())).toBe(false)
    expect(Pytree.isNode(new Float32Array(2))).toBe(false)
    expect(Pytree.isNode(null)).toBe(false)
    expect(Pytree.isNode(3)).toBe(false)
  })

  it("rejects what is not a tensor, array or plain object, naming its path", () => {
    class Box {
      readonly w = w
    }
    const bad = { a: [w, 3] } as unknown as Pytree.Pytree
    expect(() => Pytree.leaves(bad)).toThrow(/pytree: a\.1 is number; a pytree holds only tensors/)
    expect(() => Pytree.map(bad, (x) => x)).toThrow(/pytree: a\.1 is number/)
    expect(() => Pytree.paths({ box: new Box() } as unknown as Pytree.Pytree)).toThrow(/pytree: box is object/)
    expect(() => Pytree.leaves(null as unknown as Pytree.Pytree)).toThrow(/pytree: the value is null/)
  })

  it("mapTensors keeps every value that is not a tensor or a node", () => {
    const raw = new Float32Array(1)
    const out = Pytree.mapTensors({ w, n: 3, s: "x", raw, nothing: undefined, list: [w, null] }, (x, path) => {
      expect(Pytree.pathString(path)).toMatch(/^(w|list\.0)$/)
      return Tensor.neg(x)
    })
    expect(values(out.w)).toEqual([-1])
    expect(values(out.list[0] as Tensor.AnyTensor)).toEqual([-1])
    expect(out.list[1]).toBeNull()
    expect(out.n).toBe(3)
    expect(out.s).toBe("x")
    expect(out.raw).toBe(raw)
    expect(out.nothing).toBeUndefined()
  })
})
