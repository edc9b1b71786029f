/**
 * The package-boundary checker behind `tests/boundaries.test.ts`.
 *
 * It reads every package's source imports (static `import`/`export ... from`, `import type`, side-effect
 * imports, `import()` in code and in types, `require`/`require.resolve`), ignoring comments and the text of
 * strings, and reports:
 * - `arrow`: a source file (`src/`) imports a package its package may not depend on (`boundaries.json`);
 * - `relative`: a relative import that leaves its package (`../../tensor/src/...`);
 * - `subpath`: a subpath the target package does not export (in `exports`, and in `publishConfig.exports`
 *   when the package has one), or a restricted subpath (`@typegrad/tensor/internal`) imported by a
 *   package that the rules do not list for it;
 * - `undeclared`: an imported package that the package's `package.json` does not declare (source files
 *   need `dependencies`; tests, type tests and type-performance files may also use `devDependencies` or
 *   the root `package.json`);
 * - `unused`: a declared dependency that no file imports (`dependencies` must be used by `src/`,
 *   `devDependencies` by any file of the package).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { isBuiltin } from "node:module"
import * as path from "node:path"

/**
 * The allowed arrows, as written in `boundaries.json`.
 *
 * @example
 * ```ts
 * const rules: Rules = {
 *   packages: { tensor: { mayImport: ["shape", "effect"] }, bench: { mayImport: "*" } },
 *   restrictedSubpaths: { "@typegrad/tensor/internal": ["autodiff", "bench"] }
 * }
 * ```
 */
export interface Rules {
  /**
   * Per package folder name: the packages its sources may import. Workspace packages by folder name
   * (`tensor` is `@typegrad/tensor`), others by their npm name; `"*"`: anything (private packages).
   */
  readonly packages: { readonly [pkg: string]: { readonly mayImport: ReadonlyArray<string> | "*" } }
  /** Restricted subpaths (`@typegrad/tensor/internal`): the package folders allowed to import each. */
  readonly restrictedSubpaths: { readonly [specifier: string]: ReadonlyArray<string> }
}

/**
 * The parts of a `package.json` the checker reads.
 *
 * @example
 * ```ts
 * const m: Manifest = { name: "@typegrad/optim", dependencies: { "@typegrad/tensor": "workspace:*" } }
 * ```
 */
export interface Manifest {
  readonly name?: string
  readonly dependencies?: { readonly [name: string]: string }
  readonly devDependencies?: { readonly [name: string]: string }
  readonly peerDependencies?: { readonly [name: string]: string }
  readonly exports?: unknown
  readonly publishConfig?: { readonly exports?: unknown }
}

/**
 * What a file is for: shipped source, or a test (unit tests, type tests, type-performance files).
 *
 * @example
 * ```ts
 * const kind: Kind = "src"
 * ```
 */
export type Kind = "src" | "test"

/**
 * One source file, by its path from the repository root.
 *
 * @example
 * ```ts
 * const file: SourceFile = { path: "packages/optim/src/X.ts", kind: "src", text: `import "@typegrad/tensor"` }
 * ```
 */
export interface SourceFile {
  readonly path: string
  readonly kind: Kind
  readonly text: string
}

/**
 * A package of the workspace: its folder (`packages/optim`), short name (`optim`), manifest and files.
 *
 * @example
 * ```ts
 * const optim: Package = { dir: "packages/optim", short: "optim", manifest: { name: "@typegrad/optim" }, files: [] }
 * ```
 */
export interface Package {
  readonly dir: string
  readonly short: string
  readonly manifest: Manifest
  readonly files: ReadonlyArray<SourceFile>
}

/**
 * Everything the checker looks at; `loadRepo` reads it from disk, tests may build one by hand.
 *
 * @example
 * ```ts
 * const repo: Repo = { ...loadRepo(root), rootFiles: [] }
 * ```
 */
export interface Repo {
  readonly rootManifest: Manifest
  readonly packages: ReadonlyArray<Package>
  /** Files outside the packages (the root `tests/`): they must import packages by name. */
  readonly rootFiles: ReadonlyArray<SourceFile>
  readonly rules: Rules
  /** Where the rules were read from, for the messages. */
  readonly rulesFile: string
}

/**
 * The rule a violation breaks.
 *
 * @example
 * ```ts
 * const arrows = check(repo).filter((v) => v.rule === "arrow")
 * ```
 */
export type Rule = "arrow" | "relative" | "subpath" | "undeclared" | "unused"

/**
 * One broken rule, with a message that names the file, the import and the rule.
 *
 * @example
 * ```ts
 * const v: Violation = {
 *   rule: "arrow",
 *   file: "packages/optim/src/X.ts",
 *   specifier: "@typegrad/autodiff",
 *   message: "packages/optim/src/X.ts imports @typegrad/autodiff, but optim may depend only on tensor, effect (tests/boundaries.json)"
 * }
 * ```
 */
export interface Violation {
  readonly rule: Rule
  readonly file: string
  readonly specifier: string
  readonly message: string
}

/**
 * An import found in a file: the specifier and its 1-based line.
 *
 * @example
 * ```ts
 * const found: Import = { specifier: "@typegrad/tensor", line: 3 }
 * ```
 */
export interface Import {
  readonly specifier: string
  readonly line: number
}

/**
 * The source with comments, template literals and regular expressions blanked out (newlines kept, so
 * offsets and lines stay as they were), and the contents of string literals by the offset of their opening
 * quote. Import patterns then match only code, and a string is an import only where the code says so.
 */
const scan = (src: string): { readonly code: string; readonly strings: ReadonlyMap<number, string> } => {
  const out: Array<string> = []
  const strings = new Map<number, string>()
  const blank = (from: number, to: number): void => {
    out.push(src.slice(from, to).replace(/[^\n]/g, " "))
  }
  const stringEnd = (i: number): number => {
    const q = src[i]
    let j = i + 1
    while (j < src.length && src[j] !== q && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1
    return Math.min(j + 1, src.length)
  }
  const commentEnd = (i: number): number => {
    if (src[i + 1] === "/") {
      const nl = src.indexOf("\n", i)
      return nl === -1 ? src.length : nl
    }
    const close = src.indexOf("*/", i + 2)
    return close === -1 ? src.length : close + 2
  }
  const regexEnd = (i: number): number => {
    let j = i + 1
    let inClass = false
    while (j < src.length && src[j] !== "\n") {
      const c = src[j]
      if (c === "\\") j += 2
      else {
        if (c === "[") inClass = true
        else if (c === "]") inClass = false
        else if (c === "/" && !inClass) break
        j++
      }
    }
    j++
    while (j < src.length && /[a-z]/.test(src[j]!)) j++
    return j
  }
  // Code inside `${...}` of a template: skipped up to the matching brace.
  const templateEnd = (i: number): number => {
    let j = i + 1
    while (j < src.length) {
      const c = src[j]
      if (c === "\\") j += 2
      else if (c === "`") return j + 1
      else if (c === "$" && src[j + 1] === "{") {
        j += 2
        let depth = 0
        while (j < src.length) {
          const d = src[j]
          if (d === "`") j = templateEnd(j)
          else if (d === "\"" || d === "'") j = stringEnd(j)
          else if (d === "/" && (src[j + 1] === "/" || src[j + 1] === "*")) j = commentEnd(j)
          else if (d === "{") {
            depth++
            j++
          } else if (d === "}") {
            j++
            if (depth-- === 0) break
          } else j++
        }
      } else j++
    }
    return j
  }
  let i = 0
  let last = "" // the last character of code that is not white space
  while (i < src.length) {
    const c = src[i]!
    if (c === "/" && (src[i + 1] === "/" || src[i + 1] === "*")) {
      const end = commentEnd(i)
      blank(i, end)
      i = end
    } else if (c === "\"" || c === "'") {
      const end = stringEnd(i)
      strings.set(i, src.slice(i + 1, end - 1))
      out.push(c)
      blank(i + 1, end - 1)
      out.push(src.slice(end - 1, end))
      i = end
      last = c
    } else if (c === "`") {
      const end = templateEnd(i)
      out.push("`")
      blank(i + 1, end - 1)
      out.push(src.slice(end - 1, end))
      i = end
      last = "`"
    } else if (
      c === "/" &&
      (last === "" || /[(,=:[!&|?{};+\-*%<>~^]/.test(last) ||
        /\b(?:return|typeof|case|yield|await)\s*$/.test(src.slice(Math.max(0, i - 12), i)))
    ) {
      const end = regexEnd(i)
      blank(i, end)
      i = end
      last = "/"
    } else {
      out.push(c)
      if (!/\s/.test(c)) last = c
      i++
    }
  }
  return { code: out.join(""), strings }
}

// Each pattern ends at the opening quote of the specifier.
const importPatterns: ReadonlyArray<RegExp> = [
  // import x from "a", import type { X } from "a", export * as X from "a", export { a } from "a"
  /(?<![\w$.])(?:import|export)\b[\s\w$*{},]*?\bfrom\s*["']/g,
  // import "a"
  /(?<![\w$.])import\s*["']/g,
  // import("a"), in code and in types
  /(?<![\w$.])import\s*\(\s*["']/g,
  // require("a"), require.resolve("a"), createRequire(...).resolve("a")
  /(?<![\w$.])require(?:\.resolve)?\s*\(\s*["']/g,
  /\bcreateRequire\s*\([^()]*\)\s*\.resolve\s*\(\s*["']/g
]

/**
 * The imports of a TypeScript or JavaScript source, in order, ignoring comments and strings.
 *
 * @example
 * ```ts
 * importsOf(`// import "a"\nimport { b } from "b"`) // [{ specifier: "b", line: 2 }]
 * ```
 */
export const importsOf = (source: string): Array<Import> => {
  const { code, strings } = scan(source)
  const found: Array<{ readonly at: number; readonly specifier: string }> = []
  for (const pattern of importPatterns) {
    for (const m of code.matchAll(pattern)) {
      const quote = m.index + m[0].length - 1
      const specifier = strings.get(quote)
      if (specifier !== undefined) found.push({ at: quote, specifier })
    }
  }
  const seen = new Set<number>()
  return found
    .filter((f) => !seen.has(f.at) && seen.add(f.at))
    .toSorted((a, b) => a.at - b.at)
    .map((f) => ({ specifier: f.specifier, line: source.slice(0, f.at).split("\n").length }))
}

/** `@scope/name/sub/path` -> `["@scope/name", "./sub/path"]`; `name` -> `["name", "."]`. */
const splitSpecifier = (specifier: string): readonly [string, string] => {
  const parts = specifier.split("/")
  const n = specifier.startsWith("@") ? 2 : 1
  const rest = parts.slice(n).join("/")
  return [parts.slice(0, n).join("/"), rest === "" ? "." : `./${rest}`]
}

/** The subpaths an `exports` field offers (`"."` for a plain string), or `undefined` when it has none. */
const exportedSubpaths = (exports: unknown): ReadonlySet<string> | undefined => {
  if (exports === undefined) return undefined
  if (typeof exports === "string" || Array.isArray(exports)) return new Set(["."])
  const keys = Object.keys(exports as object)
  return new Set(keys.some((k) => k.startsWith(".")) ? keys : ["."])
}

const subpathExported = (exports: ReadonlySet<string> | undefined, subpath: string): boolean =>
  exports === undefined || exports.has(subpath) ||
  [...exports].some((k) => k.includes("*") && subpath.startsWith(k.slice(0, k.indexOf("*"))))

const keysOf = (deps: { readonly [name: string]: string } | undefined): Array<string> => Object.keys(deps ?? {})

const list = (xs: ReadonlyArray<string>): string => (xs.length === 0 ? "nothing" : xs.join(", "))

/**
 * Every violation of the rules in a repository, in a stable order (by package, file, then line).
 *
 * @example
 * ```ts
 * const violations = check(loadRepo(process.cwd()))
 * violations.map((v) => v.message) // [] when the boundaries hold
 * ```
 */
export const check = (repo: Repo): Array<Violation> => {
  const out: Array<Violation> = []
  const scope = "@typegrad/"
  const byName = new Map(repo.packages.map((p) => [p.manifest.name ?? `${scope}${p.short}`, p] as const))
  const rootDeclared = new Set([
    ...keysOf(repo.rootManifest.dependencies),
    ...keysOf(repo.rootManifest.devDependencies)
  ])
  /** `tensor` -> `@typegrad/tensor` where such a workspace package exists; other names stay. */
  const fullName = (n: string): string => (byName.has(`${scope}${n}`) ? `${scope}${n}` : n)
  /** The reverse, for messages: `@typegrad/tensor` -> `tensor`. */
  const shortName = (n: string): string => (n.startsWith(scope) && byName.has(n) ? n.slice(scope.length) : n)

  const checkFile = (file: SourceFile, pkg: Package | undefined, used: Set<string>): void => {
    const owner = pkg?.dir ?? path.posix.dirname(file.path)
    for (const { specifier, line } of importsOf(file.text)) {
      const where = `${file.path}:${line}`
      const report = (rule: Rule, message: string) => out.push({ rule, file: file.path, specifier, message })
      if (specifier.startsWith(".")) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), specifier))
        const inside = pkg === undefined ? !target.startsWith("packages/") : target.startsWith(`${pkg.dir}/`)
        if (!inside) {
          const into = /^packages\/[^/]+/.exec(target)?.[0]
          report(
            "relative",
            `${where} imports ${specifier}, which reaches ${
              into === undefined ? `outside ${owner}` : `into ${into}`
            }; import another package by its name (${
              into === undefined ? "@typegrad/..." : `${scope}${into.slice("packages/".length)}`
            }, or a subpath it exports) (rule: no relative imports across packages)`
          )
        }
        continue
      }
      if (isBuiltin(specifier)) continue
      const [name, subpath] = splitSpecifier(specifier)
      used.add(name)
      const target = byName.get(name)
      if (target !== undefined && subpath !== ".") {
        const dev = exportedSubpaths(target.manifest.exports)
        const published = target.manifest.publishConfig === undefined
          ? undefined
          : exportedSubpaths(target.manifest.publishConfig.exports)
        if (!subpathExported(dev, subpath) || !subpathExported(published, subpath)) {
          report(
            "subpath",
            `${where} imports ${specifier}, but ${target.dir}/package.json does not export "${subpath}"${
              subpathExported(dev, subpath) ? " in publishConfig.exports" : ""
            }; add it to "exports" (and "publishConfig.exports") or import a subpath it exports`
          )
        }
      }
      const restricted = repo.rules.restrictedSubpaths[specifier]
      // A package may always use its own subpaths (its tests reach its own engine room).
      const own = target !== undefined && pkg !== undefined && target.short === pkg.short
      if (restricted !== undefined && pkg !== undefined && !own && !restricted.includes(pkg.short)) {
        report(
          "subpath",
          `${where} imports ${specifier}, but only ${list(restricted)} may import it (${repo.rulesFile})`
        )
      }
      if (pkg === undefined) {
        if (!rootDeclared.has(name)) {
          report("undeclared", `${where} imports ${name}, which the root package.json does not declare`)
        }
        continue
      }
      if (name === (pkg.manifest.name ?? `${scope}${pkg.short}`)) continue
      const allowed = repo.rules.packages[pkg.short]?.mayImport
      if (file.kind === "src" && allowed !== undefined && allowed !== "*" && !allowed.map(fullName).includes(name)) {
        report(
          "arrow",
          `${file.path} imports ${name}, but ${pkg.short} may depend only on ${list(allowed)} (${repo.rulesFile})`
        )
      }
      const deps = new Set([...keysOf(pkg.manifest.dependencies), ...keysOf(pkg.manifest.peerDependencies)])
      const declared = file.kind === "src"
        ? deps.has(name)
        : deps.has(name) || keysOf(pkg.manifest.devDependencies).includes(name) || rootDeclared.has(name)
      if (!declared) {
        report(
          "undeclared",
          `${where} imports ${name}, which ${pkg.dir}/package.json does not declare; add it to ${
            file.kind === "src" ? "dependencies" : "devDependencies (or the root package.json)"
          }`
        )
      }
    }
  }

  for (const pkg of repo.packages) {
    const usedBySrc = new Set<string>()
    const usedByAny = new Set<string>()
    for (const file of pkg.files) {
      const used = new Set<string>()
      checkFile(file, pkg, used)
      used.forEach((n) => usedByAny.add(n))
      if (file.kind === "src") used.forEach((n) => usedBySrc.add(n))
    }
    const manifest = `${pkg.dir}/package.json`
    for (const dep of [...keysOf(pkg.manifest.dependencies), ...keysOf(pkg.manifest.peerDependencies)]) {
      if (!usedBySrc.has(dep)) {
        out.push({
          rule: "unused",
          file: manifest,
          specifier: dep,
          message: `${manifest} declares ${dep}, but no file in ${pkg.dir}/src imports it; remove it${
            usedByAny.has(dep) ? " (its tests import it: declare it in devDependencies or the root package.json)" : ""
          }`
        })
      }
    }
    for (const dep of keysOf(pkg.manifest.devDependencies)) {
      if (!usedByAny.has(dep)) {
        out.push({
          rule: "unused",
          file: manifest,
          specifier: dep,
          message: `${manifest} declares ${dep} in devDependencies, but no file of ${pkg.dir} imports it; remove it`
        })
      }
    }
    const rule = repo.rules.packages[pkg.short]
    if (rule === undefined) {
      out.push({
        rule: "arrow",
        file: manifest,
        specifier: shortName(pkg.manifest.name ?? pkg.short),
        message: `${pkg.dir} has no entry in ${repo.rulesFile}; write down what it may depend on`
      })
    }
  }
  for (const file of repo.rootFiles) checkFile(file, undefined, new Set())
  return out
}

const sourceExtension = /\.(?:[cm]?ts|tsx|[cm]?js)$/

const walkFiles = (root: string, dir: string, kind: Kind): Array<SourceFile> => {
  const abs = path.join(root, dir)
  if (!fs.existsSync(abs)) return []
  return (fs.readdirSync(abs, { recursive: true, encoding: "utf8" }))
    .filter((f) => sourceExtension.test(f) && !f.split(path.sep).includes("node_modules"))
    .toSorted()
    .map((f) => {
      const rel = path.posix.join(dir, f.split(path.sep).join("/"))
      return { path: rel, kind, text: fs.readFileSync(path.join(root, rel), "utf8") }
    })
}

const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8")) as A

/**
 * Reads a repository from disk: the root `package.json`, every `packages/<name>` with the files of its
 * `src/` (kind `src`) and `test/`, `typetest/`, `typeperf/` (kind `test`), every `apps/<name>` with its
 * `src/` (kind `src`) and `test/`, `scripts/` and `*.config.ts` (kind `test`), the root `tests/`, and the rules.
 *
 * @example
 * ```ts
 * const repo = loadRepo("/path/to/typegrad", "tests/boundaries.json")
 * ```
 */
/** The folders under `parent` (`packages`, `apps`) that hold a `package.json`, sorted. */
const workspaceDirs = (root: string, parent: string): Array<string> =>
  fs.existsSync(path.join(root, parent))
    ? fs.readdirSync(path.join(root, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, parent, d.name, "package.json")))
      .map((d) => d.name)
      .toSorted()
    : []

/** The top-level config files of an app (`vite.config.ts`...), read like its tests. */
const configFiles = (root: string, dir: string): Array<SourceFile> =>
  fs.readdirSync(path.join(root, dir))
    .filter((f) => /\.config\.(?:[cm]?ts|[cm]?js)$/.test(f))
    .toSorted()
    .map((f) => ({
      path: `${dir}/${f}`,
      kind: "test" as const,
      text: fs.readFileSync(path.join(root, dir, f), "utf8")
    }))

export const loadRepo = (root: string, rulesFile = "tests/boundaries.json"): Repo => ({
  rootManifest: readJson<Manifest>(path.join(root, "package.json")),
  packages: [
    ...workspaceDirs(root, "packages").map((short) => {
      const dir = `packages/${short}`
      return {
        dir,
        short,
        manifest: readJson<Manifest>(path.join(root, dir, "package.json")),
        files: [
          ...walkFiles(root, `${dir}/src`, "src"),
          ...["test", "typetest", "typeperf"].flatMap((d) => walkFiles(root, `${dir}/${d}`, "test"))
        ]
      }
    }),
    // Applications (private, built from the packages' published entry points): their `src/` is held to the
    // arrows like a package's; their tests, scripts and config files may import what they declare.
    ...workspaceDirs(root, "apps").map((short) => {
      const dir = `apps/${short}`
      return {
        dir,
        short,
        manifest: readJson<Manifest>(path.join(root, dir, "package.json")),
        files: [
          ...walkFiles(root, `${dir}/src`, "src"),
          ...["test", "scripts"].flatMap((d) => walkFiles(root, `${dir}/${d}`, "test")),
          ...configFiles(root, dir)
        ]
      }
    })
  ],
  rootFiles: walkFiles(root, "tests", "test"),
  rules: readJson<Rules>(path.join(root, rulesFile)),
  rulesFile
})
