/**
 * The memory group in a process of its own (spawned by `main.ts`), so that the RSS it samples is
 * typegrad's alone, not the peers' (jax-js and TensorFlow.js WebAssembly heaps, buffers of earlier
 * workloads). Usage: `node --expose-gc --import tsx src/memoryMain.ts STEPS`; progress on stderr, the
 * `MemoryResult` as JSON on stdout.
 */
import { memoryBench } from "./memory.ts"

const steps = Number(process.argv[2] ?? "10000")
if (!Number.isInteger(steps) || steps < 1) {
  throw new Error(`memoryMain: steps must be a positive integer, got ${process.argv[2]}`)
}
const result = memoryBench(steps, (line) => process.stderr.write(line + "\n"))
process.stdout.write(JSON.stringify(result) + "\n")
