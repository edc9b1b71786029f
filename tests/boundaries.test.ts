/**
 * Package boundaries: every package imports only what `tests/boundaries.json` allows, declares what it
 * imports and imports what it declares. The checker itself (`tests/boundaries.ts`) is tested on
 * deliberately wrong imports, in memory and in a temporary directory.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { check, importsOf, loadRepo, type Manifest, type Package, type Repo, type Rules } from "./boundaries.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const rules: Rules = JSON.parse(fs.readFileSync(path.join(root, "tests/boundaries.json"), "utf8"))

describe("package boundaries", () => {
  it("hold in this repository (arrows, relative imports, subpaths, declared and used dependencies)", () => {
    const repo = loadRepo(root)
    expect(repo.packages.map((p) => p.short)).toEqual(
      expect.arrayContaining(["tensor", "autodiff", "optim", "cli", "mnist-web"])
    )
    expect(repo.packages.every((p) => p.files.some((f) => f.kind === "src"))).toBe(true)
    expect(check(repo).map((v) => v.message)).toEqual([])
  })

  it("the rules name every package of the workspace and only known packages", () => {
    const shorts = ["packages", "apps"].flatMap((parent) =>
      fs.existsSync(path.join(root, parent))
        ? fs.readdirSync(path.join(root, parent)).filter((d) =>
          fs.existsSync(path.join(root, parent, d, "package.json"))
        )
        : []
    )
    expect(Object.keys(rules.packages).toSorted()).toEqual(shorts.toSorted())
    for (const [pkg, { mayImport }] of Object.entries(rules.packages)) {
      if (mayImport === "*") continue
      expect(mayImport, `${pkg} may not import itself`).not.toContain(pkg)
    }
    // API.md: optim and data build on tensor and effect only; shape depends on nothing.
    expect(rules.packages["shape"]?.mayImport).toEqual([])
    expect(rules.packages["optim"]?.mayImport).toEqual(["tensor", "effect"])
    expect(rules.packages["tensor"]?.mayImport).toEqual(["shape", "effect"])
  })
})

describe("importsOf", () => {
  it("finds static, type-only, re-export, side-effect, dynamic and type-position imports with their lines", () => {
    const source = [
      `import { a } from "a"`,
      `import type { B } from 'b'`,
      `import C, {`,
      `  type D,`,
      `  e`,
      `} from "c"`,
      `export * as F from "f"`,
      `export { g } from "g"`,
      `export type { H } from "h"`,
      `import "side-effect"`,
      `const m = await import("dynamic")`,
      `type T = import("type-position").T`,
      `const p = createRequire(import.meta.url).resolve("resolved/package.json")`,
      `const q = require("required")`
    ].join("\n")
    expect(importsOf(source)).toEqual([
      { specifier: "a", line: 1 },
      { specifier: "b", line: 2 },
      { specifier: "c", line: 6 },
      { specifier: "f", line: 7 },
      { specifier: "g", line: 8 },
      { specifier: "h", line: 9 },
      { specifier: "side-effect", line: 10 },
      { specifier: "dynamic", line: 11 },
      { specifier: "type-position", line: 12 },
      { specifier: "resolved/package.json", line: 13 },
      { specifier: "required", line: 14 }
    ])
  })

  it("ignores comments, JSDoc examples, strings, templates and regular expressions", () => {
    const source = [
      `/**`,
      ` * @example`,
      ` * import { grad } from "@typegrad/autodiff"`,
      ` */`,
      `// import { x } from "line-comment"`,
      `const s = "import { y } from 'in-a-string'"`,
      "const t = `import { z } from \"in-a-template\" ${`nested ${\"import('deep')\"}`}`",
      `const r = /import "in-a-regex"/`,
      `const ratio = a / b / c // import "after-division"`,
      `const url = "http://example.com" // not a comment opener in a string`,
      `import { real } from "real"`
    ].join("\n")
    expect(importsOf(source)).toEqual([{ specifier: "real", line: 11 }])
  })
})

const manifest = (
  name: string,
  dependencies: Record<string, string> = {},
  extra: Partial<Manifest> = {}
): Manifest => ({
  name,
  dependencies,
  exports: { ".": "./src/index.ts" },
  ...extra
})

/** A small workspace with the real rules: tensor, autodiff, optim and cli, all clean. */
const fixture = (): Repo => {
  const pkg = (short: string, m: Manifest, src: string, test = ""): Package => ({
    dir: `packages/${short}`,
    short,
    manifest: m,
    files: [
      { path: `packages/${short}/src/index.ts`, kind: "src", text: src },
      ...(test === "" ? [] : [{ path: `packages/${short}/test/${short}.test.ts`, kind: "test" as const, text: test }])
    ]
  })
  return {
    rootManifest: { devDependencies: { "@typegrad/autodiff": "workspace:*", vitest: "4" } },
    packages: [
      pkg(
        "tensor",
        manifest("@typegrad/tensor", { effect: "4" }, {
          exports: { ".": "./src/index.ts", "./internal": "./src/internal/index.ts" }
        }),
        `import { pipe } from "effect"`
      ),
      pkg(
        "autodiff",
        manifest("@typegrad/autodiff", { "@typegrad/tensor": "workspace:*" }),
        `import { bind } from "@typegrad/tensor/internal"`
      ),
      pkg(
        "optim",
        manifest("@typegrad/optim", { "@typegrad/tensor": "workspace:*" }),
        `/** import { grad } from "@typegrad/autodiff" (a JSDoc example: not an import) */\nimport { Pytree } from "@typegrad/tensor"`,
        `import { grad } from "@typegrad/autodiff"\nimport { it } from "vitest"`
      ),
      pkg(
        "cli",
        manifest("@typegrad/cli", { "@typegrad/optim": "workspace:*" }),
        `import { Optimizer } from "@typegrad/optim"`
      )
    ],
    rootFiles: [{ path: "tests/acceptance.test.ts", kind: "test", text: `import { grad } from "@typegrad/autodiff"` }],
    rules,
    rulesFile: "tests/boundaries.json"
  }
}

/** The fixture with one more source file in `short`'s `src/`. */
const withFile = (repo: Repo, short: string, name: string, text: string): Repo => ({
  ...repo,
  packages: repo.packages.map((p) =>
    p.short === short ? { ...p, files: [...p.files, { path: `${p.dir}/src/${name}`, kind: "src", text }] } : p
  )
})

const withManifest = (repo: Repo, short: string, f: (m: Manifest) => Manifest): Repo => ({
  ...repo,
  packages: repo.packages.map((p) => (p.short === short ? { ...p, manifest: f(p.manifest) } : p))
})

describe("the checker", () => {
  it("passes the clean fixture (tests may import what the root declares; comments are not imports)", () => {
    expect(check(fixture())).toEqual([])
  })

  it("reports an import across a forbidden arrow, naming the file, the import and the rule", () => {
    const repo = withFile(
      fixture(),
      "optim",
      "X.ts",
      `import { ok } from "@typegrad/tensor"\nimport { grad } from "@typegrad/autodiff"`
    )
    const violations = check(repo)
    expect(violations.filter((v) => v.rule === "arrow").map((v) => v.message)).toEqual([
      "packages/optim/src/X.ts imports @typegrad/autodiff, but optim may depend only on tensor, effect (tests/boundaries.json)"
    ])
    // Undeclared as well: optim's package.json does not list autodiff.
    expect(violations.filter((v) => v.rule === "undeclared").map((v) => v.message)).toEqual([
      "packages/optim/src/X.ts:2 imports @typegrad/autodiff, which packages/optim/package.json does not declare; add it to dependencies"
    ])
    expect(violations.every((v) => v.file === "packages/optim/src/X.ts" && v.specifier === "@typegrad/autodiff")).toBe(
      true
    )
  })

  it("reports type-only and dynamic imports across an arrow too", () => {
    const repo = withFile(
      fixture(),
      "optim",
      "Y.ts",
      `import type { Scalar } from "@typegrad/autodiff"\nconst m = () => import("@typegrad/cli")`
    )
    expect(check(repo).filter((v) => v.rule === "arrow").map((v) => v.specifier)).toEqual([
      "@typegrad/autodiff",
      "@typegrad/cli"
    ])
  })

  it("reports a relative import that reaches into another package", () => {
    const repo = withFile(fixture(), "cli", "Reach.ts", `import { impl } from "../../tensor/src/internal/core.ts"`)
    expect(check(repo).map((v) => v.message)).toEqual([
      "packages/cli/src/Reach.ts:1 imports ../../tensor/src/internal/core.ts, which reaches into packages/tensor; " +
      "import another package by its name (@typegrad/tensor, or a subpath it exports) (rule: no relative imports across packages)"
    ])
  })

  it("reports a subpath the target does not export, and a restricted subpath outside its allowed packages", () => {
    const notExported = withFile(fixture(), "cli", "Sub.ts", `import { x } from "@typegrad/optim/internal"`)
    expect(check(notExported).map((v) => v.message)).toEqual([
      "packages/cli/src/Sub.ts:1 imports @typegrad/optim/internal, but packages/optim/package.json does not export \"./internal\"; " +
      "add it to \"exports\" (and \"publishConfig.exports\") or import a subpath it exports"
    ])
    const restricted = withManifest(
      withFile(fixture(), "cli", "Internal.ts", `import { bind } from "@typegrad/tensor/internal"`),
      "cli",
      (m) => ({ ...m, dependencies: { ...m.dependencies, "@typegrad/tensor": "workspace:*" } })
    )
    expect(check(restricted).map((v) => v.message)).toEqual([
      "packages/cli/src/Internal.ts:1 imports @typegrad/tensor/internal, but only autodiff, nn, optim, data, train, testing, bench " +
      "may import it (tests/boundaries.json)"
    ])
    // The owner of a restricted subpath may always use it (its own tests reach its engine room).
    const own = withFile(fixture(), "tensor", "Own.ts", `import { bind } from "@typegrad/tensor/internal"`)
    expect(check(own).map((v) => v.message)).toEqual([])
    const unpublished = withManifest(fixture(), "tensor", (m) => ({
      ...m,
      publishConfig: { exports: { ".": { default: "./dist/index.js" } } }
    }))
    expect(check(unpublished).map((v) => v.message)).toEqual([
      "packages/autodiff/src/index.ts:1 imports @typegrad/tensor/internal, but packages/tensor/package.json does not export " +
      "\"./internal\" in publishConfig.exports; add it to \"exports\" (and \"publishConfig.exports\") or import a subpath it exports"
    ])
  })

  it("reports a declared dependency that nothing imports, and says when only tests use it", () => {
    const repo = withManifest(fixture(), "optim", (m) => ({
      ...m,
      dependencies: { ...m.dependencies, effect: "4", "@typegrad/autodiff": "workspace:*" },
      devDependencies: { "left-pad": "1" }
    }))
    expect(check(repo).map((v) => v.message)).toEqual([
      "packages/optim/package.json declares effect, but no file in packages/optim/src imports it; remove it",
      "packages/optim/package.json declares @typegrad/autodiff, but no file in packages/optim/src imports it; remove it " +
      "(its tests import it: declare it in devDependencies or the root package.json)",
      "packages/optim/package.json declares left-pad in devDependencies, but no file of packages/optim imports it; remove it"
    ])
  })

  it("reports an undeclared import in a test, and a package missing from the rules", () => {
    const repo: Repo = {
      ...fixture(),
      packages: fixture().packages.map((p) =>
        p.short === "optim"
          ? {
            ...p,
            files: [...p.files, {
              path: "packages/optim/test/more.test.ts",
              kind: "test",
              text: `import fc from "fast-check"`
            }]
          }
          : p
      ),
      rules: { ...rules, packages: Object.fromEntries(Object.entries(rules.packages).filter(([k]) => k !== "cli")) }
    }
    expect(check(repo).map((v) => v.message)).toEqual([
      "packages/optim/test/more.test.ts:1 imports fast-check, which packages/optim/package.json does not declare; " +
      "add it to devDependencies (or the root package.json)",
      "packages/cli has no entry in tests/boundaries.json; write down what it may depend on"
    ])
  })

  it("reads a repository from disk and reports a wrong import there (temporary directory)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "typegrad-boundaries-"))
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
        fs.writeFileSync(path.join(dir, file), text)
      }
      write("package.json", JSON.stringify({ devDependencies: {} }))
      write("tests/boundaries.json", JSON.stringify(rules))
      write("packages/tensor/package.json", JSON.stringify(manifest("@typegrad/tensor")))
      write("packages/tensor/src/index.ts", `export const one = 1\n`)
      write(
        "packages/optim/package.json",
        JSON.stringify(manifest("@typegrad/optim", { "@typegrad/tensor": "workspace:*" }))
      )
      write("packages/optim/src/index.ts", `export * from "./Optimizer.ts"\n`)
      write(
        "packages/optim/src/Optimizer.ts",
        `// imports\nimport { one } from "@typegrad/tensor"\nimport { grad } from "@typegrad/autodiff"\n`
      )
      write("packages/optim/src/node_modules/ignored/index.ts", `import "@typegrad/autodiff"`)
      write(
        "packages/autodiff/package.json",
        JSON.stringify(manifest("@typegrad/autodiff", { "@typegrad/tensor": "workspace:*" }))
      )
      write("packages/autodiff/src/index.ts", `import { one } from "@typegrad/tensor"\n`)
      const repo = loadRepo(dir)
      expect(repo.packages.map((p) => p.short)).toEqual(["autodiff", "optim", "tensor"])
      expect(check(repo).map((v) => `${v.rule}: ${v.message}`)).toEqual([
        "arrow: packages/optim/src/Optimizer.ts imports @typegrad/autodiff, but optim may depend only on tensor, effect (tests/boundaries.json)",
        "undeclared: packages/optim/src/Optimizer.ts:3 imports @typegrad/autodiff, which packages/optim/package.json does not declare; add it to dependencies"
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
