#!/usr/bin/env node
/**
 * `pnpm run build` (tsc -b of every package), one at a time on this checkout: the test files that need the
 * packages' `dist/` (tests/consumer.test.ts, apps/mnist-web/test/web.test.ts) run in parallel under vitest,
 * and two `tsc -b` writing the same `dist/` at once could let one of them read (pack, bundle) a file the
 * other is still writing. The lock is a directory (`mkdir` is atomic) in `node_modules/`; a lock older than
 * ten minutes is a crashed build's and is taken over. The second build then finds everything up to date.
 *
 *     node tools/build-locked.mjs
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const lock = path.join(root, "node_modules", ".typegrad-build.lock")
const stale = 10 * 60 * 1000
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

const started = Date.now()
for (;;) {
  try {
    fs.mkdirSync(lock)
    break
  } catch (error) {
    if (error.code !== "EEXIST") throw error
    const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
    if (age > stale) fs.rmSync(lock, { recursive: true, force: true })
    else if (Date.now() - started > stale) throw new Error(`${lock} held for ten minutes; is a build hanging?`)
    else sleep(200)
  }
}
try {
  const r = spawnSync("pnpm", ["run", "build"], { cwd: root, stdio: "inherit" })
  process.exitCode = r.status ?? 1
} finally {
  fs.rmSync(lock, { recursive: true, force: true })
}
