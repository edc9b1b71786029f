/**
 * The page is built from typegrad's published entry points: every `@typegrad/*` import resolves through the
 * package's `publishConfig.exports` (what npm users get) to its `dist/*.js`, built by `pnpm build`, never
 * to the `src/*.ts` that the workspace's `exports` point at. A missing build is an error that says to run
 * `pnpm build`. Any Node built-in (`node:fs`, `path`...) reaching the bundle's module graph fails the build,
 * naming the importer: the page and its worker must stay Node-free.
 */
import * as fs from "node:fs"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig, type Plugin } from "vite"

const here = path.dirname(fileURLToPath(import.meta.url))
const packages = path.resolve(here, "..", "..", "packages")

interface Manifest {
  readonly name: string
  readonly publishConfig?: { readonly exports?: Readonly<Record<string, { readonly default?: string }>> }
}

/** `@typegrad/<pkg>[/<sub>]` to the `dist` file that the published package's `exports` name. */
export const typegradDist = (): Plugin => ({
  name: "typegrad-dist",
  enforce: "pre",
  resolveId(source) {
    const m = /^@typegrad\/([\w-]+)(\/.+)?$/.exec(source)
    if (m === null) return null
    const dir = path.join(packages, m[1]!)
    const manifestFile = path.join(dir, "package.json")
    if (!fs.existsSync(manifestFile)) return null
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Manifest
    const subpath = `.${m[2] ?? ""}`
    const target = manifest.publishConfig?.exports?.[subpath]?.default
    if (target === undefined) {
      this.error(`${source}: ${manifest.name} publishes no "${subpath}" (publishConfig.exports of ${manifestFile})`)
    }
    const file = path.join(dir, target)
    if (!fs.existsSync(file)) this.error(`${source} resolves to ${file}, which is missing: run \`pnpm build\` first`)
    return file
  }
})

const builtins = new Set(builtinModules)

/** Fails the build when a Node built-in enters the module graph of the page or its worker. */
export const noNodeBuiltins = (): Plugin => ({
  name: "no-node-builtins",
  enforce: "pre",
  resolveId(source, importer) {
    if (source.startsWith("node:") || builtins.has(source) || builtins.has(source.split("/")[0]!)) {
      this.error(
        `${importer ?? "the page"} imports the Node built-in "${source}": the browser bundle must not pull ` +
          "Node modules; import the Node-free subpaths (e.g. @typegrad/train/TrainCore, not @typegrad/train)"
      )
    }
    return null
  }
})

/** Cross-origin isolation (SharedArrayBuffer, WebAssembly threads) for the dev server and `vite preview`. */
export const isolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp"
} as const

export default defineConfig({
  root: here,
  base: "./",
  plugins: [noNodeBuiltins(), typegradDist()],
  worker: { format: "es", plugins: () => [noNodeBuiltins(), typegradDist()] },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { host: "127.0.0.1", headers: isolationHeaders },
  preview: { host: "127.0.0.1", headers: isolationHeaders }
})
