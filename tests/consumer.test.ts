/**
 * The consumer test: typegrad as a user gets it from npm. It builds every public package once (`pnpm build`),
 * packs each (`pnpm pack`, which applies `publishConfig`), installs the tarballs with npm into a blank
 * project in a temporary directory outside the workspace (no workspace links, no tsx), and checks there:
 * - the tarballs: published manifests with real versions, only `dist/`, `src/` and the README, a JS bin;
 * - npm's peer resolution, `publint` and `@arethetypeswrong/cli` (each shown to fail on a broken package);
 * - plain Node ESM: the README's CNN trains on random data (`tests/consumer/train.mjs`), the loss falls;
 * - TypeScript 7 (this repository's) and 5.9 (installed into the project), with `moduleResolution`
 *   `nodenext` and `bundler`, strict, library checks on: the README's ```ts examples type-check as written,
 *   every `// @ts-expect-error <message>` in them is exactly the compiler's message on the next line,
 *   `tests/consumer/shapes.ts` infers the same shapes as the sources, and `tests/consumer/library.ts`
 *   (a model exported from a file that never imports `Tensor`) emits its declarations; the same files
 *   compiled inside the repository against the sources give the same errors;
 * - the installed `typegrad` command trains a small MNIST slice and writes its three files; its checkpoint
 *   loads into the README's model in plain Node (`tests/consumer/checkpoint.mjs`) and predicts the test set
 *   with the job's accuracy, a misfit is a tagged error, and a user's own layer (`Layer.make`) trains;
 * - the user guides' ```ts examples (custom layers included) type-check with both compilers too.
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { autoImports, markdownBlocks, moduleOf, type Problem } from "./docs-blocks.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const fixtures = path.join(root, "tests", "consumer")
const execFileAsync = promisify(execFile)

interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly bin?: Readonly<Record<string, string>>
  readonly exports?: Readonly<Record<string, unknown>>
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly devDependencies?: Readonly<Record<string, string>>
}

const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8")) as A
const rootManifest = readJson<Manifest>(path.join(root, "package.json"))
const packages = fs.readdirSync(path.join(root, "packages")).toSorted()
  .map((dir) => ({ dir, manifest: readJson<Manifest>(path.join(root, "packages", dir, "package.json")) }))
  .filter((p) => p.manifest.private !== true)

/** The versions the consumer installs beside the tarballs: the ones this repository develops against. */
const versions = {
  effect: rootManifest.devDependencies?.["effect"] ?? "",
  fastCheck: rootManifest.devDependencies?.["fast-check"] ?? "",
  typescript7: rootManifest.devDependencies?.["typescript"] ?? "",
  // The guide on testing shows @typegrad/testing inside a vitest test, as its users write them.
  vitest: rootManifest.devDependencies?.["vitest"] ?? "",
  typescript5: "5.9.3"
}

/** Runs a command and returns its output; throws with the command, exit code and output when it fails. */
const must = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: process.env })
  if (r.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(" ")}\` failed in ${cwd} (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`
    )
  }
  return r.stdout
}

/** Runs a command asynchronously (so several can run at once); resolves with its exit code and output. */
const exec = async (command: string, args: ReadonlyArray<string>, cwd: string) => {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], { cwd, maxBuffer: 256 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string }
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(error) }
  }
}

let work = ""
let packs = ""
let project = ""
const tarballs = new Map<string, string>()

beforeAll(() => {
  for (const [name, version] of Object.entries(versions)) {
    if (version === "") throw new Error(`the root package.json must list ${name} in devDependencies`)
  }
  // `pnpm run build`, one build at a time (apps/mnist-web/test/web.test.ts builds too, in parallel)
  must(process.execPath, [path.join(root, "tools", "build-locked.mjs")], root)
  work = fs.mkdtempSync(path.join(os.tmpdir(), "typegrad-consumer-"))
  packs = path.join(work, "packs")
  project = path.join(work, "project")
  fs.mkdirSync(packs)
  fs.mkdirSync(project)
  for (const { dir, manifest } of packages) {
    const before = new Set(fs.readdirSync(packs))
    must("pnpm", ["pack", "--pack-destination", packs], path.join(root, "packages", dir))
    const made = fs.readdirSync(packs).filter((f) => !before.has(f) && f.endsWith(".tgz"))
    if (made.length !== 1) throw new Error(`pnpm pack of packages/${dir} made ${made.length} tarballs`)
    tarballs.set(manifest.name, path.join(packs, made[0]!))
  }
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "typegrad-consumer", private: true, type: "module" }, null, 2)
  )
  must("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    "--strict-peer-deps",
    ...tarballs.values(),
    `effect@${versions.effect}`,
    `fast-check@${versions.fastCheck}`,
    `vitest@${versions.vitest}`,
    `typescript@${versions.typescript5}`
  ], project)
}, 600_000)

afterAll(() => {
  if (work !== "" && process.env["TYPEGRAD_KEEP_CONSUMER"] === undefined) {
    fs.rmSync(work, { recursive: true, force: true })
  }
})

/** The files of a tarball (paths inside `package/`) and its published package.json. */
const unpack = (tarball: string) => {
  const into = fs.mkdtempSync(path.join(work, "unpacked-"))
  must("tar", ["-xzf", tarball, "-C", into], work)
  const dir = path.join(into, "package")
  const files = (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }))
    .map((f) => f.split(path.sep).join("/"))
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .toSorted()
  return { dir, files, manifest: readJson<Manifest>(path.join(dir, "package.json")) }
}

describe("the tarballs", () => {
  it("carry the published manifest: dist exports with types first, real versions, a JS bin", () => {
    expect([...tarballs.keys()].toSorted()).toEqual(packages.map((p) => p.manifest.name).toSorted())
    for (const { dir: pkgDir, manifest: dev } of packages) {
      const { dir, files, manifest } = unpack(tarballs.get(dev.name)!)
      const where = `${dev.name} (packages/${pkgDir})`
      expect(JSON.stringify(manifest), `${where}: workspace: ranges must be replaced`).not.toContain("workspace:")
      // Only the build, the sources its maps point to, the README and the manifest.
      const stray = files.filter((f) =>
        !/^(?:dist\/.+\.(?:js|d\.ts|js\.map|d\.ts\.map)|src\/.+\.ts|README\.md|package\.json)$/.test(f) ||
        /(?:^|\/)(?:test|typetest|typeperf)\//.test(f)
      )
      expect(stray, `${where}: unexpected files in the tarball`).toEqual([])
      expect(files, `${where}`).toContain("dist/index.js")
      // The same subpaths as in the repository, each with types then default, both in the tarball.
      const exportsMap = manifest.exports as Record<string, Record<string, string>>
      expect(Object.keys(exportsMap).toSorted(), `${where}`).toEqual(Object.keys(dev.exports ?? {}).toSorted())
      for (const [subpath, target] of Object.entries(exportsMap)) {
        expect(Object.keys(target), `${where} ${subpath}`).toEqual(["types", "default"])
        expect(files, `${where} ${subpath}`).toContain(target["types"]!.replace(/^\.\//, ""))
        expect(files, `${where} ${subpath}`).toContain(target["default"]!.replace(/^\.\//, ""))
      }
      // Sibling packages at this exact version.
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (dep.startsWith("@typegrad/")) expect(range, `${where} -> ${dep}`).toBe(dev.version)
      }
      if (dev.name === "@typegrad/cli") {
        expect(manifest.bin).toEqual({ typegrad: "./dist/bin.js" })
        expect(fs.readFileSync(path.join(dir, "dist/bin.js"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
        expect(manifest.dependencies?.["effect"], "the CLI is an application: effect is its own dependency")
          .toBeDefined()
      } else if (manifest.dependencies?.["effect"] !== undefined) {
        throw new Error(`${where}: effect must be a peer dependency of a library, not a dependency`)
      }
    }
  })

  it("install with npm, their peers satisfied by the versions this repository tests", () => {
    // `npm ls` exits non-zero on a missing or invalid (out of range) peer.
    const tree = JSON.parse(must("npm", ["ls", "--all", "--json"], project)) as {
      dependencies: Record<string, { version: string }>
    }
    expect(tree.dependencies["effect"]?.version).toBe(versions.effect)
    expect(tree.dependencies["fast-check"]?.version).toBe(versions.fastCheck)
    for (const name of tarballs.keys()) expect(tree.dependencies[name]?.version, `${name}`).toBe("0.1.0")
    const peers = packages.flatMap((p) => Object.keys(p.manifest.peerDependencies ?? {}))
    expect(new Set(peers)).toEqual(new Set(["effect", "fast-check"]))
  })

  it("pass publint (strict), which does report a broken package", async () => {
    const lint = async (tarball: string) => {
      const data = fs.readFileSync(tarball)
      const result = await publint({
        pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer },
        level: "suggestion",
        strict: true
      })
      return result.messages.map((m) => `${m.type}: ${formatMessage(m, result.pkg, { color: false })}`)
    }
    for (const [name, tarball] of tarballs) expect(await lint(tarball), `${name}`).toEqual([])
    expect((await lint(brokenTarball())).join("\n")).toMatch(/does not exist/)
  })

  it("pass @arethetypeswrong/cli (ESM-only profile), which does report a broken package", async () => {
    const attw = path.join(root, "node_modules", ".bin", "attw")
    const check = (tarball: string) => exec(attw, [tarball, "--profile", "esm-only", "--format", "ascii"], work)
    const results = await Promise.all([...tarballs].map(async ([name, tarball]) => ({ name, ...await check(tarball) })))
    for (const r of results) {
      expect(r.code, `attw ${r.name}:\n${r.stdout}\n${r.stderr}`).toBe(0)
      // Every entry point resolves to ESM with its types under node16 (from ESM) and bundler.
      const subpaths = Object.keys(packages.find((p) => p.manifest.name === r.name)!.manifest.exports ?? {})
      const entries = subpaths.map((s) => (s === "." ? r.name : `${r.name}/${s.slice(2)}`))
      for (const entry of entries) {
        const section = r.stdout.split("***").find((chunk) => chunk.includes(`"${entry}"`))
        expect(section, `attw ${r.name}: no report for ${entry}`).toBeDefined()
        expect(section, `${entry}`).toMatch(/node16 \(from ESM\): 🟢 \(ESM\)/)
        expect(section, `${entry}`).toMatch(/bundler: 🟢/)
      }
    }
    const broken = await check(brokenTarball())
    expect(broken.code).not.toBe(0)
    expect(broken.stdout).toContain("InternalResolutionError")
  })
})

/**
 * A broken package for the linters to reject: its root types re-export from a file that is not there
 * (attw: internal resolution error) and its `./extra` subpath points at files it does not ship (publint:
 * file does not exist).
 */
const brokenTarball = (): string => {
  const file = path.join(work, "broken-0.0.0.tgz")
  if (fs.existsSync(file)) return file
  const dir = fs.mkdtempSync(path.join(work, "broken-"))
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, "package", name), text)
  fs.mkdirSync(path.join(dir, "package"))
  write(
    "package.json",
    JSON.stringify({
      name: "broken",
      version: "0.0.0",
      type: "module",
      exports: {
        ".": { types: "./index.d.ts", default: "./index.js" },
        "./extra": { types: "./dist/extra.d.ts", default: "./dist/extra.js" }
      }
    })
  )
  write("index.js", "export const x = 1\n")
  write("index.d.ts", `export { x } from "./lib.js"\n`)
  must("tar", ["-czf", file, "-C", dir, "package"], work)
  return file
}

describe("plain Node ESM", () => {
  it("imports the libraries, builds the README's CNN and trains it on random data: the loss falls", () => {
    fs.copyFileSync(path.join(fixtures, "train.mjs"), path.join(project, "train.mjs"))
    const out = JSON.parse(must(process.execPath, ["train.mjs"], project)) as {
      losses: Array<number>
      outputShape: Array<number>
      parameterCount: number
      convShape: Array<number>
      gradCheckOk: boolean
    }
    expect(out.outputShape).toEqual([16, 10])
    expect(out.convShape).toEqual([1, 28, 28, 24])
    expect(out.gradCheckOk).toBe(true)
    expect(out.parameterCount).toBe(1_276_466)
    expect(out.losses).toHaveLength(6)
    expect(out.losses.every(Number.isFinite)).toBe(true)
    // Six Adam steps on one batch of 16: the loss falls by more than 5% from about ln(10).
    expect(out.losses[0]!).toBeGreaterThan(2)
    expect(out.losses.at(-1)!).toBeLessThan(out.losses[0]! * 0.95)
  })
})

/** The ```ts blocks of the README, in order. */
const readmeBlocks = (): Array<string> =>
  [...fs.readFileSync(path.join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)

/**
 * The ```ts blocks of the user guides (`docs/guide-*.md`: models and custom layers, shapes, testing), each
 * as the module the documentation test compiles (the public names it uses imported for it), so that a
 * user's compiler accepts exactly what the guides show.
 */
const guideBlocks = (): Array<{ readonly name: string; readonly text: string }> => {
  const problems: Array<Problem> = []
  const available = autoImports(root)
  const guides = fs.readdirSync(path.join(root, "docs")).filter((f) => /^guide-.*\.md$/.test(f)).toSorted()
  const blocks = guides.flatMap((f) =>
    markdownBlocks(root, `docs/${f}`, problems).filter((b) => b.lang === "ts").map((b, i) => ({
      name: `${f.replace(/\.md$/, "")}-${i}`,
      text: moduleOf(b, available).text
    }))
  )
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.source}:${p.line}: ${p.message}`).join("\n"))
  return blocks
}

interface Expectation {
  readonly file: string
  readonly line: number
  readonly message: string
}

/**
 * Writes the files every compiler run checks into the project: the README's blocks as written, the same
 * blocks with each `// @ts-expect-error <message>` turned into a plain comment (so the error shows and
 * its message can be compared), and the fixtures. Returns the expected errors (1-based lines).
 */
const writeTypeScriptFiles = (dir: string): Array<Expectation> => {
  const expected: Array<Expectation> = []
  const sources = [
    ...readmeBlocks().map((text, i) => ({ name: `readme-${i}`, text })),
    ...guideBlocks()
  ]
  sources.forEach(({ name, text: block }) => {
    fs.writeFileSync(path.join(dir, `${name}.ts`), block)
    const lines = block.split("\n")
    if (!lines.some((l) => l.trim().startsWith("// @ts-expect-error"))) return
    const file = `${name}-errors.ts`
    const stripped = lines.map((l, n) => {
      const m = /^(\s*)\/\/ @ts-expect-error (.+)$/.exec(l)
      if (m === null) return l
      expected.push({ file, line: n + 2, message: m[2]!.trim() })
      return `${m[1]}// expected: ${m[2]}`
    })
    fs.writeFileSync(path.join(dir, file), stripped.join("\n"))
  })
  for (const f of ["shapes.ts", "library.ts"]) fs.copyFileSync(path.join(fixtures, f), path.join(dir, f))
  return expected
}

/** Parses `tsc --pretty false` output into errors: file, line and the ShapeError message (or the text). */
const parseDiagnostics = (output: string): Array<Expectation> => {
  const out: Array<Expectation> = []
  for (const block of output.split(/\n(?=\S)/)) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+): ([\s\S]*)$/.exec(block.trim())
    if (m === null) continue
    const shapeError = /ShapeError<"((?:[^"\\]|\\.)*)">/.exec(m[4]!)
    out.push({
      file: m[1]!,
      line: Number(m[2]),
      message: shapeError === null ? `${m[3]}: ${m[4]}` : JSON.parse(`"${shapeError[1]}"`) as string
    })
  }
  return out
}

const byPlace = (a: Expectation, b: Expectation) => a.file.localeCompare(b.file) || a.line - b.line

describe("TypeScript against the installed declarations", () => {
  const compilers = [
    { name: `TypeScript ${versions.typescript7}`, tsc: () => path.join(root, "node_modules", ".bin", "tsc") },
    { name: `TypeScript ${versions.typescript5}`, tsc: () => path.join(project, "node_modules", ".bin", "tsc") }
  ]
  const resolutions = [
    { name: "nodenext", options: { module: "nodenext", moduleResolution: "nodenext" } },
    { name: "bundler", options: { module: "preserve", moduleResolution: "bundler" } }
  ]
  let expected: Array<Expectation> = []

  beforeAll(() => {
    expected = writeTypeScriptFiles(project)
  })

  it.concurrent("the sources give the same errors (TypeScript 7 in the repository, no build)", async () => {
    // The same files inside the workspace, resolved through the source-first exports to src/*.ts.
    const base = path.join(root, "tests", ".generated")
    fs.mkdirSync(base, { recursive: true })
    const dir = fs.mkdtempSync(path.join(base, "consumer-"))
    try {
      const same = writeTypeScriptFiles(dir)
      fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: path.relative(dir, path.join(root, "tsconfig.base.json")).split(path.sep).join("/"),
          compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
          include: ["*.ts"]
        })
      )
      const r = await exec(path.join(root, "node_modules", ".bin", "tsc"), ["-p", ".", "--pretty", "false"], dir)
      expect(parseDiagnostics(r.stdout + r.stderr).toSorted(byPlace)).toEqual(same.toSorted(byPlace))
      expect(same.length).toBeGreaterThanOrEqual(5)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)

  it("the README documents the four wrong wirings with their messages", () => {
    const messages = expected.filter((e) => e.file.startsWith("readme-")).map((e) => e.message)
    for (
      const pattern of [
        /^layer \d+ dense\(\d+\): expected input of rank 2 \[batch, features\], got \[.*\]; add Layer\.flatten\(\) before it$/,
        /^layer \d+ conv2d\(\d+\): kernel \d+ larger than padded input \d+$/,
        /^layer \d+ conv2d\(\d+\): strides must be positive integers, got 0$/,
        /^layer \d+ residual: the block maps \[.*\] to \[.*\]; a residual block must keep the shape$/
      ]
    ) {
      expect(messages.filter((m) => pattern.test(m)), `${pattern.source}`).toHaveLength(1)
    }
  })

  for (const compiler of compilers) {
    for (const resolution of resolutions) {
      it.concurrent(`${compiler.name}, moduleResolution ${resolution.name}`, async () => {
        const version = await exec(compiler.tsc(), ["--version"], project)
        expect(version.stdout.trim()).toBe(`Version ${compiler.name.replace("TypeScript ", "")}`)
        const tag = `${compiler.name.replace(/\W+/g, "-")}-${resolution.name}`
        const tsconfig = `tsconfig.${tag}.json`
        const outDir = `declarations-${tag}`
        fs.writeFileSync(
          path.join(project, tsconfig),
          JSON.stringify({
            compilerOptions: {
              target: "es2022",
              ...resolution.options,
              strict: true,
              skipLibCheck: false,
              types: [],
              declaration: true,
              emitDeclarationOnly: true,
              outDir
            },
            include: ["*.ts"]
          })
        )
        const r = await exec(compiler.tsc(), ["-p", tsconfig, "--pretty", "false"], project)
        const actual = parseDiagnostics(r.stdout + r.stderr).toSorted(byPlace)
        expect(actual).toEqual(expected.toSorted(byPlace))
        expect(expected.length).toBeGreaterThanOrEqual(5)
        // The model exported by a file that never imports Tensor: its declaration names the tensor types.
        const library = fs.readFileSync(path.join(project, outDir, "library.d.ts"), "utf8")
        expect(library).toMatch(/import\("@typegrad\/tensor\/Tensor"\)\.Tensor<readonly \[3\], "float32">/)
      }, 300_000)
    }
  }
})

describe("the installed CLI", () => {
  const out = () => path.join(work, "run")
  it("npx typegrad trains a small MNIST slice and writes metrics.json, model.safetensors and the plot", () => {
    const out = path.join(work, "run")
    must("npx", [
      "--no",
      "typegrad",
      "train",
      "mnist",
      "--epochs",
      "1",
      "--train-limit",
      "600",
      "--validation",
      "100",
      "--progress",
      "none",
      "--out",
      out
    ], project)
    const metrics = readJson<{ testAccuracy: number; trainImages: number; testImages: number }>(
      path.join(out, "metrics.json")
    )
    expect(metrics.trainImages).toBe(500)
    expect(metrics.testImages).toBe(10_000)
    // 500 images, one epoch: well above chance (10%), far from perfect.
    expect(metrics.testAccuracy).toBeGreaterThan(0.2)
    expect(metrics.testAccuracy).toBeLessThanOrEqual(1)
    const checkpoint = fs.readFileSync(path.join(out, "model.safetensors"))
    const headerLength = Number(checkpoint.readBigUInt64LE(0))
    const header = JSON.parse(checkpoint.subarray(8, 8 + headerLength).toString("utf8")) as Record<
      string,
      { shape?: Array<number> }
    >
    const parameters = Object.entries(header)
      .filter(([k]) => k.startsWith("params."))
      .reduce((n, [, t]) => n + (t.shape ?? []).reduce((a, d) => a * d, 1), 0)
    expect(parameters).toBe(1_276_466)
    const plots = fs.readdirSync(out).filter((f) => f.endsWith(".svg"))
    expect(plots).toHaveLength(1)
    expect(fs.readFileSync(path.join(out, plots[0]!), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\s*$/)
  }, 300_000)

  it(
    "its checkpoint loads into the README's model in plain Node (same test accuracy), a misfit is a tagged error, and a user's own layer trains",
    () => {
      const metrics = readJson<{ testAccuracy: number }>(path.join(out(), "metrics.json"))
      fs.copyFileSync(path.join(fixtures, "checkpoint.mjs"), path.join(project, "checkpoint.mjs"))
      const result = JSON.parse(must("node", ["checkpoint.mjs", out()], project)) as {
        seen: number
        correct: number
        mismatch: { tag: string; message: string }
        custom: { summary: string; outShape: Array<number>; scale: number; scaleGrad: number; denseOutputSum: number }
      }
      // Inference with the loaded params is the job's own evaluation, to the image.
      expect(result.seen).toBe(10_000)
      expect(result.correct / result.seen).toBe(metrics.testAccuracy)
      // A model the file does not fit: the tagged error names a tensor and what is wrong.
      expect(result.mismatch.tag).toBe("ParamsMismatchError")
      expect(result.mismatch.message).toMatch(/tensor params\.\S+ /)
      // The user's layer: in the summary, the shape it announces, its own params, and its gradient
      // (d/dscale of sum(dense(x) * scale) is sum(dense(x))).
      expect(result.custom.summary).toMatch(/scale/)
      expect(result.custom.outShape).toEqual([2, 3])
      expect(result.custom.scale).toBe(2)
      expect(result.custom.scaleGrad).toBeCloseTo(result.custom.denseOutputSum, 4)
      expect(Math.abs(result.custom.denseOutputSum)).toBeGreaterThan(0)
    },
    300_000
  )
})
