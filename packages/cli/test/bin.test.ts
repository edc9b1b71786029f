// The `typegrad` command inside the repository: package.json's dev `bin` is a JS launcher that plain Node
// runs (it loads the TypeScript sources through tsx), so `pnpm exec typegrad` works without a build.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const cli = resolve(dirname(fileURLToPath(import.meta.url)), "..")

it("the dev bin is a JavaScript file that plain node runs: `typegrad --help` prints the usage", () => {
  const manifest = JSON.parse(readFileSync(join(cli, "package.json"), "utf8")) as {
    bin: Record<string, string>
    publishConfig: { bin: Record<string, string> }
  }
  expect(manifest.bin["typegrad"]).toMatch(/\.js$/)
  expect(manifest.publishConfig.bin["typegrad"]).toBe("./dist/bin.js")
  const r = spawnSync(process.execPath, [join(cli, manifest.bin["typegrad"]!), "--help"], { encoding: "utf8" })
  expect(r.stderr).toBe("")
  expect(r.status).toBe(0)
  expect(r.stdout).toMatch(/^usage: typegrad train mnist/)
})
