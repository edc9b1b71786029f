#!/usr/bin/env node
/**
 * Entry point of the `typegrad` command.
 *
 * @example
 * ```sh
 * pnpm typegrad train mnist --epochs 1 --train-limit 2000
 * ```
 */
import { main } from "./Cli.ts"

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`typegrad: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exitCode = 1
  }
)
