#!/usr/bin/env node
/**
 * Entry point of the `typegrad` command.
 *
 * @example
 * ```sh
 * pnpm typegrad train mnist --epochs 1 --train-limit 2000
 * ```
 */
import { Backend } from "@typegrad/tensor"
import { main } from "./Cli.ts"

// Fused multiply-add in the kernels where the engine has it only behind a flag (Node 20).
Backend.enableRelaxedSimd()

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const debug = process.env["TYPEGRAD_DEBUG"] === "1"
    const text = error instanceof Error ? (debug ? error.stack ?? error.message : error.message) : String(error)
    process.stderr.write(
      `typegrad: unexpected error: ${text}\n` +
        (debug ? "" : "this is a bug in typegrad: please report it with the output of TYPEGRAD_DEBUG=1\n")
    )
    process.exitCode = 1
  }
)
