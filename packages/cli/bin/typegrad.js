#!/usr/bin/env node
// The `typegrad` command inside this repository, where packages run from their TypeScript sources (no
// build step): registers tsx's loader, then runs src/bin.ts. An installed package runs dist/bin.js instead
// (`publishConfig.bin`), with plain Node.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
