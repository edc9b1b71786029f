/**
 * The packaging rules, checked on the manifests in a second (tests/consumer.test.ts checks the real
 * tarballs in minutes): every public package builds with `tsc -b` from its `tsconfig.build.json`, its
 * `exports` (source-first, for work in the repository) and `publishConfig.exports` (the build, for npm)
 * (`pnpm pack` runs the build first)
 * offer the same subpaths, every namespace module of `src/index.ts` is a subpath (declaration emit names
 * types through it), tarballs ship `dist/`, `src/` and the README only, and `effect` / `fast-check` are peers
 * of the libraries at ranges that hold the versions this repository tests.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

type Deps = Readonly<Record<string, string>>

interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly exports?: Readonly<Record<string, unknown>>
  readonly files?: ReadonlyArray<string>
  readonly scripts?: Readonly<Record<string, string>>
  readonly dependencies?: Deps
  readonly peerDependencies?: Deps
  readonly devDependencies?: Deps
  readonly publishConfig?: { readonly exports?: Readonly<Record<string, unknown>> }
}

interface BuildConfig {
  readonly compilerOptions?: Readonly<Record<string, unknown>>
  readonly references?: ReadonlyArray<{ readonly path: string }>
}

/** What the rules read of one package. */
interface Pkg {
  readonly dir: string
  readonly manifest: Manifest
  readonly index: string
  readonly hasReadme: boolean
  readonly build: BuildConfig | undefined
}

interface Workspace {
  readonly rootDevDependencies: Deps
  readonly rootBuildReferences: ReadonlyArray<string>
  readonly packages: ReadonlyArray<Pkg>
}

/** Peers of the libraries: the CLI, an application, depends on them directly. */
const peers = ["effect", "fast-check"]

/** Whether `version` (x.y.z) lies in a caret range `^a.b.c` (the only kind of range the peers use). */
const inCaret = (range: string, version: string): boolean => {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range)
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version)
  if (m === null || v === null) return false
  const [a, b] = [m.slice(1).map(Number), v.slice(1).map(Number)]
  return a[0] === b[0] && (b[1]! > a[1]! || (b[1] === a[1] && b[2]! >= a[2]!))
}

/** Every broken packaging rule, as a message that says what to change. */
const check = (ws: Workspace): Array<string> => {
  const out: Array<string> = []
  const names = new Set(ws.packages.map((p) => p.manifest.name))
  for (const pkg of ws.packages) {
    const { manifest: m, dir } = pkg
    const file = `${dir}/package.json`
    if (m.private === true) continue
    const short = dir.slice("packages/".length)
    // Subpaths: the same in both maps, source in the repository, the build on npm.
    const dev = m.exports ?? {}
    const published = m.publishConfig?.exports ?? {}
    const devKeys = Object.keys(dev).toSorted()
    if (JSON.stringify(devKeys) !== JSON.stringify(Object.keys(published).toSorted())) {
      out.push(
        `${file}: exports (${devKeys.join(", ")}) and publishConfig.exports (${
          Object.keys(published).toSorted().join(", ")
        }) must offer the same subpaths`
      )
    }
    for (const [subpath, target] of Object.entries(dev)) {
      const src = (target as Record<string, string>)["default"]
      const module = src?.match(/^\.\/src\/(.+)\.ts$/)?.[1]
      const expectedDev = { "typegrad-build": `./dist/${module}.d.ts`, default: src }
      if (module === undefined || JSON.stringify(target) !== JSON.stringify(expectedDev)) {
        out.push(
          `${file}: exports["${subpath}"] must be { "typegrad-build": "./dist/<module>.d.ts", "default": "./src/<module>.ts" }`
        )
        continue
      }
      const expectedPublished = { types: `./dist/${module}.d.ts`, default: `./dist/${module}.js` }
      if (JSON.stringify(published[subpath]) !== JSON.stringify(expectedPublished)) {
        out.push(`${file}: publishConfig.exports["${subpath}"] must be ${JSON.stringify(expectedPublished)}`)
      }
    }
    for (const [, module] of pkg.index.matchAll(/^export \* as \w+ from "\.\/(\w+)\.ts"/gm)) {
      if (!(`./${module}` in dev)) {
        out.push(
          `${dir}/src/index.ts re-exports ./${module}.ts as a namespace; add "./${module}" to exports and ` +
            `publishConfig.exports in ${file} (declaration emit names its types through that subpath)`
        )
      }
    }
    // `pnpm pack` builds first, so a tarball never lacks its dist/.
    if (m.scripts?.["prepack"] !== "tsc -b tsconfig.build.json") {
      out.push(`${file}: scripts.prepack must be "tsc -b tsconfig.build.json" (pnpm pack builds the package first)`)
    }
    // What the tarball ships.
    const files = ["dist", "!dist/.tsbuildinfo", "src", ...(pkg.hasReadme ? ["README.md"] : [])]
    if (JSON.stringify(m.files) !== JSON.stringify(files)) {
      out.push(`${file}: files must be ${JSON.stringify(files)} (no tests, type tests or build info on npm)`)
    }
    // Peers of the libraries, at ranges that hold the versions tested here.
    for (const peer of peers) {
      const version = ws.rootDevDependencies[peer]
      if (short === "cli") {
        if (m.peerDependencies?.[peer] !== undefined) out.push(`${file}: the CLI depends on ${peer}; no peer`)
        continue
      }
      if (m.dependencies?.[peer] !== undefined) {
        out.push(`${file}: ${peer} must be a peerDependency of a library (one copy for the user and us)`)
      }
      const range = m.peerDependencies?.[peer]
      if (range === undefined) continue
      if (version === undefined || !inCaret(range, version) || m.devDependencies?.[peer] !== version) {
        out.push(
          `${file}: peer ${peer} ${range} must hold the tested version ${version} (root devDependencies), ` +
            `and devDependencies must pin ${peer} to it`
        )
      }
    }
    // The build: one tsconfig.build.json per package, referencing the packages it depends on.
    if (pkg.build === undefined) {
      out.push(`${dir} has no tsconfig.build.json; add one (see packages/tensor/tsconfig.build.json)`)
    } else {
      const wanted = Object.keys(m.dependencies ?? {}).filter((d) => names.has(d))
        .map((d) => `../${d.slice("@typegrad/".length)}/tsconfig.build.json`).toSorted()
      const refs = (pkg.build.references ?? []).map((r) => r.path).toSorted()
      if (JSON.stringify(refs) !== JSON.stringify(wanted)) {
        out.push(`${dir}/tsconfig.build.json: references must be [${wanted.join(", ")}] (its @typegrad dependencies)`)
      }
    }
    if (!ws.rootBuildReferences.includes(`${dir}/tsconfig.build.json`)) {
      out.push(`tsconfig.build.json: add { "path": "${dir}/tsconfig.build.json" } to references`)
    }
  }
  return out
}

const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8")) as A

const load = (): Workspace => ({
  rootDevDependencies: readJson<Manifest>(path.join(root, "package.json")).devDependencies ?? {},
  rootBuildReferences: (readJson<BuildConfig>(path.join(root, "tsconfig.build.json")).references ?? []).map((r) =>
    r.path
  ),
  packages: fs.readdirSync(path.join(root, "packages")).toSorted()
    .filter((d) => fs.existsSync(path.join(root, "packages", d, "package.json")))
    .map((d) => {
      const dir = path.join(root, "packages", d)
      const build = path.join(dir, "tsconfig.build.json")
      return {
        dir: `packages/${d}`,
        manifest: readJson<Manifest>(path.join(dir, "package.json")),
        index: fs.existsSync(path.join(dir, "src", "index.ts"))
          ? fs.readFileSync(path.join(dir, "src", "index.ts"), "utf8")
          : "",
        hasReadme: fs.existsSync(path.join(dir, "README.md")),
        build: fs.existsSync(build) ? readJson<BuildConfig>(build) : undefined
      }
    })
})

describe("packaging rules", () => {
  it("hold for every public package of this repository", () => {
    const ws = load()
    expect(ws.packages.filter((p) => p.manifest.private !== true).map((p) => p.dir)).toHaveLength(10)
    expect(check(ws)).toEqual([])
  })

  it("report a namespace without a subpath, a stray file, effect as a dependency, a peer range that misses", () => {
    const ws = load()
    const nn = ws.packages.find((p) => p.dir === "packages/nn")!
    const broken: Workspace = {
      ...ws,
      packages: [{
        ...nn,
        index: `${nn.index}export * as Custom from "./Custom.ts"\n`,
        manifest: {
          ...nn.manifest,
          files: ["dist", "src", "test"],
          scripts: {},
          dependencies: { ...nn.manifest.dependencies, effect: "^4.1.0" },
          peerDependencies: { effect: "^3.0.0" }
        }
      }]
    }
    expect(check(broken)).toEqual([
      `packages/nn/src/index.ts re-exports ./Custom.ts as a namespace; add "./Custom" to exports and ` +
      `publishConfig.exports in packages/nn/package.json (declaration emit names its types through that subpath)`,
      `packages/nn/package.json: scripts.prepack must be "tsc -b tsconfig.build.json" (pnpm pack builds the package first)`,
      `packages/nn/package.json: files must be ["dist","!dist/.tsbuildinfo","src"] (no tests, type tests or build info on npm)`,
      `packages/nn/package.json: effect must be a peerDependency of a library (one copy for the user and us)`,
      `packages/nn/package.json: peer effect ^3.0.0 must hold the tested version ${ws.rootDevDependencies["effect"]} ` +
      `(root devDependencies), and devDependencies must pin effect to it`,
      `packages/nn/tsconfig.build.json: references must be [] (its @typegrad dependencies)`
    ])
  })

  it("checks caret ranges the way npm does for x.y.z versions", () => {
    expect([inCaret("^4.1.0", "4.1.0"), inCaret("^4.1.0", "4.2.3"), inCaret("^4.1.0", "4.0.9")]).toEqual([
      true,
      true,
      false
    ])
    expect([inCaret("^4.1.0", "5.0.0"), inCaret("4.1.0", "4.1.0")]).toEqual([false, false])
  })
})
