// Part of `pnpm test`: apps/mnist-web/test/web.test.ts drives the web page in Debian's Chromium
// (/usr/bin/chromium, through playwright-core, which downloads no browser). Installs it with apt when it is
// missing and this is a Debian machine where apt can run (root, as CI); otherwise says what to install.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"

const chromium = "/usr/bin/chromium"
if (!existsSync(chromium)) {
  const root = process.getuid?.() === 0
  if (root && existsSync("/usr/bin/apt-get")) {
    process.stderr.write("pnpm test: installing Debian's chromium for the web page test (apt-get install chromium)...\n")
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" })
    execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit" })
  } else {
    process.stderr.write(
      `pnpm test: the web page test needs Chromium at ${chromium}: install it (Debian: sudo apt-get install -y chromium), then run the tests again\n`
    )
    process.exit(1)
  }
}
