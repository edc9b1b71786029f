/**
 * The rules every primitive follows, checked over every op family module: a primitive is exported as
 * `<name>Primitive` (one naming scheme), its name is unique in the package, it carries its VJP rule from
 * the moment it is made, and it is a frozen value (no module attaches or swaps a rule later).
 */
import type { Primitive } from "@typegrad/tensor/internal"
import { readdirSync } from "node:fs"
import { describe, expect, it } from "vitest"

const opsDir = new URL("../../src/ops/", import.meta.url)
const families: Record<string, Record<string, unknown>> = Object.fromEntries(
  await Promise.all(
    readdirSync(opsDir).filter((f) => f.endsWith(".ts")).map(async (f) =>
      [f, (await import(new URL(f, opsDir).href)) as Record<string, unknown>] as const
    )
  )
)

const isPrimitive = (u: unknown): u is Primitive =>
  typeof u === "object" && u !== null && typeof (u as Primitive).name === "string" &&
  typeof (u as Primitive).impl === "function"

const primitives = Object.entries(families).flatMap(([file, mod]) =>
  Object.entries(mod).filter(([, v]) => isPrimitive(v)).map(([key, p]) => ({ file, key, p: p as Primitive }))
)

describe("primitives", () => {
  it("the op families are all found, and they define the primitives", () => {
    const names = Object.keys(families).map((f) => f.replace(/\.ts$/, "")).sort()
    expect(names).toEqual(["conv", "creation", "elementwise", "layout", "linalg", "pool", "reduce", "softmax"])
    expect(primitives.length).toBeGreaterThanOrEqual(35)
  })

  it.each(primitives.map((e) => [e.key, e] as const))(
    "%s is named <name>Primitive, frozen and has its rule",
    (_, e) => {
      expect(e.key).toBe(`${e.p.name}Primitive`)
      expect(Object.isFrozen(e.p)).toBe(true)
      expect(typeof e.p.vjp).toBe("function")
    }
  )

  it("names are unique across the families", () => {
    const seen = new Map<string, string>()
    for (const { file, p } of primitives) {
      expect(seen.get(p.name), `${p.name} defined in ${seen.get(p.name)} and ${file}`).toBeUndefined()
      seen.set(p.name, file)
    }
  })
})
