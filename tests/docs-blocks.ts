/**
 * The extractor behind `tests/docs.test.ts`: finds the code blocks of the documentation and turns each
 * ```ts block into a module that `tsc` can check.
 *
 * Where blocks come from (the written rules; nothing else is excluded):
 * - `README.md` and every `docs/*.md`: every fenced block. A fence must name its language, one of
 *   `fenceLanguages`; ```ts blocks are checked, the others (```sh, ```text, ```json) are counted and left
 *   alone.
 * - JSDoc comments of the public modules: every `.ts` file under `packages/<name>/src/`, except files
 *   under `src/internal/` (not exported) and packages whose `package.json` says `"private": true` (the
 *   benchmarks). Every fenced block inside a `/** ... *\/` comment is taken, ```ts blocks are checked; an
 *   `@example` tag whose text holds no fence is reported as an error (write the fence).
 *
 * How a block becomes a module (`moduleOf`): the block's text is kept line for line, after a header of
 * `import` lines for the public names it uses but does not import or declare itself (`autoImports`, derived
 * from the packages' `index.ts` files, plus a short list from `effect`); `export {}` at the end makes it a
 * module. `// @ts-expect-error <message>` directives are replaced by a marker comment (same line count)
 * and remembered: the line below must then have an error containing `<message>`, and no other line may
 * have one (`TypeCheck.check` of `@typegrad/testing`).
 *
 * A block is run (with tsx) when its first line is `// runs`; a line `... // => text` in a run block means
 * that `text` must appear in what the program prints.
 *
 * @since 0.1.0
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

/** One fenced block, with where it came from (1-based line of its first code line). */
export interface Block {
  readonly source: string
  readonly line: number
  readonly lang: string
  readonly kind: "markdown" | "jsdoc"
  /** The code, without the fence, the indentation of the fence and the JSDoc ` * ` prefix. */
  readonly code: ReadonlyArray<string>
}

/** A rule the documentation breaks (an unnamed fence, an `@example` with no fence, an unclosed fence). */
export interface Problem {
  readonly source: string
  readonly line: number
  readonly message: string
}

const fence = /^(\s*)```(.*)$/

/**
 * The fence languages the documentation may use: `ts` is checked, the others are not code that runs
 * here. Any other language is reported, so that TypeScript cannot slip past the check as ```tsx or
 * ```typescript; a new language is added here on purpose.
 */
export const fenceLanguages: ReadonlyArray<string> = ["ts", "sh", "text", "json"]

/** The fenced blocks of a list of lines (markdown text, or a JSDoc comment's text without ` * `). */
const fencedBlocks = (
  lines: ReadonlyArray<string>,
  source: string,
  firstLine: number,
  kind: Block["kind"],
  problems: Array<Problem>
): Array<Block> => {
  const blocks: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]!)
    if (open === null) continue
    const indent = open[1]!
    const lang = open[2]!.trim()
    const at = firstLine + i
    if (lang === "") {
      problems.push({ source, line: at, message: "a fence without a language: write ```ts, ```sh or ```text" })
    } else if (!fenceLanguages.includes(lang)) {
      problems.push({
        source,
        line: at,
        message: `a fence of language "${lang}": use one of ${fenceLanguages.join(", ")}`
      })
    }
    const end = lines.findIndex((l, j) => j > i && l.trim() === "```")
    if (end < 0) {
      problems.push({ source, line: at, message: "an unclosed fence" })
      return blocks
    }
    const code = lines.slice(i + 1, end).map((l) => l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())
    blocks.push({ source, line: at + 1, lang, kind, code })
    i = end
  }
  return blocks
}

/** The blocks of a markdown file. */
export const markdownBlocks = (root: string, file: string, problems: Array<Problem>): Array<Block> =>
  fencedBlocks(readFileSync(join(root, file), "utf8").split("\n"), file, 1, "markdown", problems)

/** The blocks of the JSDoc comments of a TypeScript file. */
export const jsdocBlocks = (root: string, file: string, problems: Array<Problem>): Array<Block> => {
  const lines = readFileSync(join(root, file), "utf8").split("\n")
  const blocks: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trim().startsWith("/**")) continue
    const start = i
    while (i < lines.length && !lines[i]!.includes("*/")) i++
    // The comment's text: ` * ` stripped; the opening and closing lines keep what follows `/**` / precedes `*/`.
    const text = lines.slice(start, i + 1).map((l, k) => {
      let t = l
      if (k === 0) t = t.slice(t.indexOf("/**") + 3)
      if (t.includes("*/")) t = t.slice(0, t.indexOf("*/"))
      const m = /^\s*\* ?(.*)$/.exec(t)
      return m === null ? t.trim() : m[1]!
    })
    blocks.push(...fencedBlocks(text, file, start + 1, "jsdoc", problems))
    // Every `@example` must hold a fence before the next tag.
    text.forEach((t, k) => {
      if (!/^\s*@example\b/.test(t)) return
      const rest = text.slice(k + 1)
      const next = rest.findIndex((r) => /^\s*@\w+/.test(r))
      const body = next < 0 ? rest : rest.slice(0, next)
      if (!/```/.test(t) && !body.some((r) => fence.test(r))) {
        problems.push({ source: file, line: start + 1 + k, message: "an @example without a fenced block" })
      }
    })
  }
  return blocks
}

const walk = (dir: string): Array<string> =>
  readdirSync(dir).toSorted().flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

/** The public packages: folders under `packages/` whose `package.json` is not `"private": true`. */
export const publicPackages = (root: string): Array<string> =>
  readdirSync(join(root, "packages")).toSorted().filter((name) => {
    try {
      const manifest = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")) as {
        readonly private?: boolean
      }
      return manifest.private !== true
    } catch {
      return false
    }
  })

/** The documented files: the markdown files and the public source modules, by path from `root`. */
export const documentedFiles = (root: string) => ({
  markdown: [
    "README.md",
    ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).toSorted().map((f) => `docs/${f}`)
  ],
  sources: publicPackages(root).flatMap((pkg) =>
    walk(join(root, "packages", pkg, "src"))
      .map((p) => relative(root, p))
      .filter((p) => p.endsWith(".ts") && !p.split("/").includes("internal"))
  )
})

/** Every block of the documentation, and the rules it breaks. */
export const allBlocks = (root: string) => {
  const problems: Array<Problem> = []
  const { markdown, sources } = documentedFiles(root)
  const blocks = [
    ...markdown.flatMap((f) => markdownBlocks(root, f, problems)),
    ...sources.flatMap((f) => jsdocBlocks(root, f, problems))
  ]
  return { blocks, problems, markdown, sources }
}

/** A name a block may use without importing it, and the import line that brings it. */
export interface AutoImport {
  readonly name: string
  readonly from: string
  readonly default?: boolean
}

/**
 * The packages whose public names are imported for the blocks, in priority order (the first package
 * that exports a name wins: `Pytree` and `ShapeError` come from `@typegrad/tensor`). `@typegrad/cli` is
 * the application, not a library: its `Mnist` job would clash with `@typegrad/data`'s `Mnist`.
 */
export const autoImportPackages = ["tensor", "autodiff", "nn", "optim", "data", "train", "testing", "shape", "onnx"]

/**
 * Names from `effect` (and `fast-check`'s `fc`, vitest's `expect`) that blocks may use without importing them. A list, not all of
 * `effect`'s exports: those include `Layer` (here the `@typegrad/nn` one), `Array`, `Number`... which
 * would hide the globals.
 */
export const effectImports: ReadonlyArray<AutoImport> = [
  ...[
    "Cause",
    "Console",
    "Context",
    "Data",
    "Duration",
    "Effect",
    "Exit",
    "Fiber",
    "Option",
    "Random",
    "Result",
    "Schema",
    "Scope",
    "Stream"
  ].map((name) => ({ name, from: "effect" })),
  { name: "pipe", from: "effect/Function" },
  { name: "expect", from: "vitest" },
  { name: "fc", from: "fast-check", default: true }
]

/** The names exported by a package's `src/index.ts` (`export * as X`, `export { a, b as c }`). */
export const indexExports = (root: string, pkg: string): Array<string> => {
  const text = readFileSync(join(root, "packages", pkg, "src", "index.ts"), "utf8")
  const names: Array<string> = []
  for (const m of text.matchAll(/^export \* as (\w+) from/gm)) names.push(m[1]!)
  for (const m of text.matchAll(/^export (?:type )?\{([^}]*)\} from/gm)) {
    for (const part of m[1]!.split(",")) {
      const name = part.trim().split(/\s+as\s+/).pop()!.replace(/^type\s+/, "").trim()
      if (name !== "") names.push(name)
    }
  }
  return names
}

/** Every auto-import, derived from the `index.ts` files of `autoImportPackages` and `effectImports`. */
export const autoImports = (root: string): Array<AutoImport> => {
  const seen = new Set<string>()
  const out: Array<AutoImport> = []
  for (const pkg of autoImportPackages) {
    for (const name of indexExports(root, pkg)) {
      if (seen.has(name)) continue
      seen.add(name)
      out.push({ name, from: `@typegrad/${pkg}` })
    }
  }
  for (const i of effectImports) if (!seen.has(i.name)) out.push(i)
  return out
}

/** The code without comments and string contents (roughly: enough to see which names it uses). */
const codeOnly = (code: string): string =>
  code
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/.*$/gm, " ")
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, "\"\"")

/** Whether the block imports or declares `name` itself. */
const bindsItself = (code: string, name: string): boolean => {
  // The local names of `import A, { b, c as d, type E } from`, `import * as F from`: A, b, d, E, F.
  const imported = [...code.matchAll(/^\s*import\s+(?:type\s+)?([\s\S]*?)\s+from\s/gm)].flatMap((m) =>
    m[1]!.replace(/[{}]/g, ",").split(",").map((part) => part.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop()!)
  )
  if (imported.includes(name)) return true
  return new RegExp(`\\b(?:const|let|var|function\\*?|class|type|interface|namespace|enum)\\s+${name}\\b`).test(code)
}

/** The import lines a block needs: the auto-imported names it uses (not after a `.`) and does not bind. */
export const importsFor = (code: ReadonlyArray<string>, available: ReadonlyArray<AutoImport>): Array<string> => {
  const text = code.join("\n")
  const bare = codeOnly(text)
  const needed = available.filter((i) =>
    new RegExp(`(^|[^\\w$.])${i.name}(?![\\w$])`).test(bare) && !bindsItself(text, i.name)
  )
  const byModule = new Map<string, Array<string>>()
  const lines: Array<string> = []
  for (const i of needed) {
    if (i.default === true) {
      lines.push(`import ${i.name} from "${i.from}"`)
      continue
    }
    byModule.set(i.from, [...(byModule.get(i.from) ?? []), i.name])
  }
  for (const [from, names] of byModule) lines.unshift(`import { ${names.join(", ")} } from "${from}"`)
  return lines
}

/** Whether a block is to be run: its first non-empty line is `// runs`. */
export const isRunnable = (block: Block): boolean => block.code.find((l) => l.trim() !== "")?.trim() === "// runs"

/** The outputs a run block promises: the text after `// =>` on its lines. */
export const expectedOutputs = (block: Block): Array<string> =>
  block.code.flatMap((l) => {
    const m = /\/\/ => (.+)$/.exec(l)
    return m === null ? [] : [m[1]!.trim()]
  })

/** The module a block becomes, and the number of header lines before the block's first line. */
export const moduleOf = (block: Block, available: ReadonlyArray<AutoImport>) => {
  const header = importsFor(block.code, available)
  return { header: header.length, text: [...header, ...block.code, "export {}", ""].join("\n") }
}
