import { DatasetFileError } from "@typegrad/data"
import { Effect, Result } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect } from "vitest"

/** A temp dir removed after the file's tests. */
export const tempDir = (): (name: string, bytes: Uint8Array) => string => {
  const dir = mkdtempSync(join(tmpdir(), "typegrad-data-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return (name, bytes) => {
    const path = join(dir, name)
    writeFileSync(path, bytes)
    return path
  }
}

/** Runs `effect` and returns its failure, which must be a DatasetFileError. */
export const failureOf = async <A>(effect: Effect.Effect<A, DatasetFileError>): Promise<DatasetFileError> => {
  const r = await Effect.runPromise(Effect.result(effect))
  if (Result.isSuccess(r)) throw new Error("expected a failure, got a success")
  expect(r.failure).toBeInstanceOf(DatasetFileError)
  expect(r.failure).toHaveProperty("_tag", "DatasetFileError")
  return r.failure
}
