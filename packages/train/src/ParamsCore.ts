/**
 * Typed parameters to and from safetensors bytes, with no file system: `toBytes(model, params)` encodes a
 * model's parameters (checked against the model) and `fromBytes(bytes, model)` decodes them into the typed
 * pytree of `model` (`Model.ParamsOf<typeof model>`), every tensor checked (names, shapes, dtypes, finite
 * values). This module imports nothing from Node, so a browser or a Web Worker can load the
 * `model.safetensors` that `typegrad train` writes (from a file picker or `fetch`) and save its own.
 * `Params` re-exports everything here and adds the file halves (`save`, `load`, `read`).
 *
 * Tensors are named by their dotted path with the prefix `params.` (`params.0.kernel`), the layout that
 * `Train.fit` and `typegrad train mnist` write; a training checkpoint's `optimizer.*` tensors are ignored by
 * `fromBytes` and returned by `fromContents`.
 *
 * @example
 * ```ts
 * import * as ParamsCore from "@typegrad/train/ParamsCore"
 * const cnn = Reference.mnistCnn
 * const program = Effect.gen(function*() {
 *   const params = yield* cnn.init
 *   const bytes = yield* ParamsCore.toBytes(cnn, params)
 *   return yield* ParamsCore.fromBytes(bytes, cnn) // Model.ParamsOf<typeof cnn>
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Pytree, Tensor } from "@typegrad/tensor"
import { Data, Effect, Random } from "effect"
import { nonFiniteReason } from "./internal/finite.ts"
import * as Safetensors from "./SafetensorsCore.ts"

/**
 * What `save` and `load` need of a model: its `init`, whose output gives the parameters' structure, shapes
 * and dtype. Every `Model` of `@typegrad/nn` is one (so is `Train.Trainable`), and `P` is then
 * `Model.ParamsOf<typeof model>`.
 *
 * @example
 * ```ts
 * const template: Params.Template<{ readonly w: Tensor.Tensor<readonly [3]> }> = {
 *   init: Effect.sync(() => ({ w: Tensor.zeros([3]) }))
 * }
 * ```
 */
export interface Template<P extends Pytree.Pytree> {
  readonly init: Effect.Effect<P>
}

/**
 * The shape and dtype of a tensor, as a model expects it or as a file holds it.
 *
 * @example
 * ```ts
 * const spec: Params.TensorSpec = { shape: [2352, 512], dtype: "float32" }
 * ```
 */
export interface TensorSpec {
  readonly shape: ReadonlyArray<number>
  readonly dtype: Tensor.DType
}

/**
 * One way a file (or a params value) does not fit a model, for the tensor named `tensor` (its name in the
 * file, prefix included):
 * - `"missing"`: the model has the tensor, the file does not (`expected` is set);
 * - `"extra"`: the file has a tensor under the prefix that the model does not (`found` is set);
 * - `"shape"`: both have it, with different shapes;
 * - `"dtype"`: both have it, with different dtypes (and `cast` was not asked for).
 *
 * @example
 * ```ts
 * const m: Params.Mismatch = {
 *   tensor: "params.2.kernel",
 *   kind: "shape",
 *   expected: { shape: [2352, 512], dtype: "float32" },
 *   found: { shape: [784, 512], dtype: "float32" }
 * }
 * ```
 */
export type Mismatch =
  | {
    readonly tensor: string
    readonly kind: "missing"
    readonly expected: TensorSpec
    readonly found: undefined
  }
  | {
    readonly tensor: string
    readonly kind: "extra"
    readonly expected: undefined
    readonly found: TensorSpec
  }
  | {
    readonly tensor: string
    readonly kind: "shape" | "dtype"
    readonly expected: TensorSpec
    readonly found: TensorSpec
  }

const spec = (s: TensorSpec): string => `[${s.shape.join(", ")}] ${s.dtype}`

const describeMismatch = (m: Mismatch): string => {
  switch (m.kind) {
    case "missing":
      return `tensor ${m.tensor} (${spec(m.expected)}) is missing`
    case "extra":
      return `tensor ${m.tensor} (${spec(m.found)}) is not a parameter of the model`
    case "shape":
      return `tensor ${m.tensor} has shape [${m.found.shape.join(", ")}] but the model needs [${
        m.expected.shape.join(", ")
      }]`
    case "dtype":
      return `tensor ${m.tensor} is ${m.found.dtype} but the model is ${m.expected.dtype}`
  }
}

/**
 * Parameters that do not fit the model: on `load`, a file from another model (or another dtype); on
 * `save`, a params value that is not the model's. `mismatches` lists every problem, `tensor` names the
 * first, and the message says what to do.
 *
 * @example
 * ```ts
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * const program = Params.load("out/params.safetensors", model).pipe(
 *   Effect.catchTag("ParamsMismatchError", (e) => Effect.fail(`${e.tensor}: ${e.mismatches[0]?.kind}`))
 * )
 * ```
 */
export class ParamsMismatchError extends Data.TaggedError("ParamsMismatchError")<{
  /** The file (or `"<bytes>"`, or `"<params>"` when `save` was given params that are not the model's). */
  readonly path: string
  /** Every mismatch, in the order of the model's parameters, then the extra tensors. Never empty. */
  readonly mismatches: ReadonlyArray<Mismatch>
  /** The prefix under which the parameters were looked for. */
  readonly prefix: string
  /** How many tensors of the file are under the prefix (0: the parameters are not where they were looked for). */
  readonly underPrefix: number
}> {
  /** The name of the first mismatching tensor. */
  get tensor(): string {
    return this.mismatches[0]?.tensor ?? ""
  }

  override get message(): string {
    const shown = this.mismatches.slice(0, 5).map(describeMismatch).join("; ")
    const more = this.mismatches.length > 5 ? `; and ${this.mismatches.length - 5} more` : ""
    const onlyDtype = this.mismatches.every((m) => m.kind === "dtype")
    const hint = onlyDtype
      ? "build the model with the file's dtype, or pass { cast: true } to convert the values"
      : this.underPrefix === 0 && this.prefix !== ""
      ? `if the file was written by another tool with bare tensor names, pass { prefix: "" }; otherwise load it ` +
        `into the model it was saved from (same layers, sizes and dtype)`
      : "load it into the model it was saved from (same layers, sizes and dtype)"
    if (this.path === "<params>") {
      return `params do not fit the model: ${shown}${more}; pass the params from model.init or from load`
    }
    return `checkpoint ${this.path} does not fit the model: ${shown}${more}; ${hint}`
  }
}

/**
 * Options of `save` and `toBytes`.
 *
 * @example
 * ```ts
 * const options: Params.SaveOptions = { metadata: { epoch: "3" } }
 * ```
 */
export interface SaveOptions {
  /** String metadata stored in the file's `__metadata__` (`format` is set to `typegrad-params/1`). */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** Prepended to every tensor's path (default `"params."`, the layout of training checkpoints). */
  readonly prefix?: string | undefined
}

/**
 * Options of `load`, `read`, `fromBytes` and `fromContents`.
 *
 * @example
 * ```ts
 * const options: Params.LoadOptions = { prefix: "", cast: true }
 * ```
 */
export interface LoadOptions {
  /**
   * Where the parameters are in the file: the tensor of path `0.kernel` is read from `${prefix}0.kernel`
   * (default `"params."`). Tensors whose names do not start with the prefix are not parameters (a training
   * checkpoint's `optimizer.*` state): `load` ignores them, `read` returns them. With `""` every tensor of
   * the file must be a parameter.
   */
  readonly prefix?: string | undefined
  /**
   * Convert tensors stored in the other float dtype (float32 <-> float64) to the model's dtype. Default
   * false: a dtype mismatch is a `ParamsMismatchError`.
   */
  readonly cast?: boolean | undefined
}

/**
 * What `read` and `fromContents` return: the typed parameters, the file's metadata, and its tensors that
 * are not parameters (those whose names do not start with the prefix), by name.
 *
 * @example
 * ```ts
 * declare const loaded: Params.Loaded<readonly [{ readonly w: Tensor.Tensor<readonly [3]> }]>
 * const optimizerStep = loaded.metadata["optimizerStep"]
 * const adamFirstMoment = loaded.rest.get("optimizer.0.0.w")
 * ```
 */
export interface Loaded<P> {
  readonly params: P
  readonly metadata: Readonly<Record<string, string>>
  readonly rest: ReadonlyMap<string, Tensor.AnyTensor>
}

/** The `format` metadata of files written by `save`. */
const FORMAT = "typegrad-params/1"
const DEFAULT_PREFIX = "params."

/**
 * The model's parameters as `init` makes them, drawn with a fixed seed so that neither the result nor the
 * caller's `Random` depends on it (only the structure, shapes and dtypes are used).
 */
const templateOf = <P extends Pytree.Pytree>(model: Template<P>): Effect.Effect<P> =>
  model.init.pipe(Random.withSeed(0))

const specOf = (t: Tensor.AnyTensor): TensorSpec => ({ shape: [...t.shape], dtype: t.dtype })

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i])

/**
 * The pytree of `template`'s structure with each leaf taken from `tensors` by `${prefix}${path}`, or the
 * mismatches. `extra` lists the names under the prefix that the template lacks.
 */
const match = <P extends Pytree.Pytree>(
  template: P,
  tensors: ReadonlyMap<string, Tensor.AnyTensor>,
  prefix: string,
  cast: boolean
): { readonly params: P; readonly mismatches: ReadonlyArray<Mismatch>; readonly used: ReadonlySet<string> } => {
  const mismatches: Array<Mismatch> = []
  const used = new Set<string>()
  const params = Pytree.mapWithPath(template, (t, p) => {
    const name = `${prefix}${Pytree.pathString(p)}`
    const got = tensors.get(name)
    const expected = specOf(t)
    if (got === undefined) {
      mismatches.push({ tensor: name, kind: "missing", expected, found: undefined })
      return t
    }
    used.add(name)
    const found = specOf(got)
    if (!sameShape(got.shape, t.shape)) {
      mismatches.push({ tensor: name, kind: "shape", expected, found })
      return t
    }
    if (got.dtype !== t.dtype) {
      if (!cast) {
        mismatches.push({ tensor: name, kind: "dtype", expected, found })
        return t
      }
      return Tensor.cast(got, t.dtype)
    }
    return got
  })
  for (const [name, t] of tensors) {
    if (name.startsWith(prefix) && !used.has(name)) {
      mismatches.push({ tensor: name, kind: "extra", expected: undefined, found: specOf(t) })
    }
  }
  return { params, mismatches, used }
}

/**
 * Builds the typed parameters of `model` from decoded safetensors contents (`Safetensors.read` or
 * `Safetensors.decode`), with the metadata and the tensors outside the prefix. The core of `load`, `read`
 * and `fromBytes`. Parameters that hold NaN or infinite values fail with `CheckpointError` naming the
 * tensors (the tensors outside the prefix are not checked).
 *
 * @example
 * ```ts
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * const program = Effect.gen(function*() {
 *   const contents = yield* Safetensors.read("runs/mnist/model.safetensors")
 *   const { params, metadata } = yield* Params.fromContents(contents, model)
 *   return [params[0].bias.shape, metadata["epochsDone"]] as const
 * })
 * ```
 */
export const fromContents = <P extends Pytree.Pytree>(
  contents: Safetensors.Contents,
  model: Template<P>,
  options?: LoadOptions & { readonly path?: string | undefined }
): Effect.Effect<Loaded<P>, ParamsMismatchError | Safetensors.CheckpointError> =>
  Effect.gen(function*() {
    const prefix = options?.prefix ?? DEFAULT_PREFIX
    const template = yield* templateOf(model)
    const { mismatches, params, used } = match(template, contents.tensors, prefix, options?.cast ?? false)
    if (mismatches.length > 0) {
      const underPrefix = [...contents.tensors.keys()].filter((name) => name.startsWith(prefix)).length
      return yield* new ParamsMismatchError({ path: options?.path ?? "<bytes>", mismatches, prefix, underPrefix })
    }
    // NaN or infinite parameters are refused (the tensors outside the prefix are the caller's to check)
    const damaged = nonFiniteReason([...used].map((name) => [name, contents.tensors.get(name)!] as const))
    if (damaged !== undefined) {
      return yield* new Safetensors.CheckpointError({ path: options?.path ?? "<bytes>", reason: damaged })
    }
    const rest = new Map([...contents.tensors].filter(([name]) => !name.startsWith(prefix)))
    return { params, metadata: contents.metadata, rest }
  })

/** The named tensors and metadata `save` and `toBytes` write, after checking `params` against the model. */
const checked = <P extends Pytree.Pytree>(
  model: Template<P>,
  params: P,
  options: SaveOptions | undefined
): Effect.Effect<
  { readonly tensors: ReadonlyMap<string, Tensor.AnyTensor>; readonly metadata: Record<string, string> },
  ParamsMismatchError
> =>
  Effect.gen(function*() {
    const prefix = options?.prefix ?? DEFAULT_PREFIX
    const template = yield* templateOf(model)
    const tensors = new Map<string, Tensor.AnyTensor>()
    for (const [p, t] of Pytree.paths(params)) tensors.set(`${prefix}${p}`, t)
    const { mismatches } = match(template, tensors, prefix, false)
    if (mismatches.length > 0) {
      return yield* new ParamsMismatchError({ path: "<params>", mismatches, prefix, underPrefix: tensors.size })
    }
    return { tensors, metadata: { ...options?.metadata, format: FORMAT } }
  })

/**
 * Encodes parameters as safetensors bytes after checking them against the model (a params value that is
 * not the model's fails with `ParamsMismatchError`, path `"<params>"`).
 *
 * @example
 * ```ts
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * declare const params: Model.ParamsOf<typeof model>
 * const bytes: Effect.Effect<Uint8Array, Params.ParamsMismatchError> = Params.toBytes(model, params)
 * ```
 */
export const toBytes = <P extends Pytree.Pytree>(
  model: Template<P>,
  params: P,
  options?: SaveOptions
): Effect.Effect<Uint8Array, ParamsMismatchError> =>
  Effect.map(checked(model, params, options), ({ metadata, tensors }) => Safetensors.encode(tensors, metadata))

/**
 * Decodes safetensors bytes into the typed parameters of `model` (see `load`).
 *
 * @example
 * ```ts
 * declare const model: Model.Model<readonly [number, 4], readonly [number, 2], readonly [{ readonly kernel: Tensor.Tensor<readonly [4, 2]>; readonly bias: Tensor.Tensor<readonly [2]> }]>
 * declare const bytes: Uint8Array
 * const params = Effect.runSync(Params.fromBytes(bytes, model))
 * ```
 */
export const fromBytes = <P extends Pytree.Pytree>(
  bytes: Uint8Array,
  model: Template<P>,
  options?: LoadOptions
): Effect.Effect<P, Safetensors.CheckpointError | ParamsMismatchError> =>
  Effect.gen(function*() {
    const contents = yield* Effect.fromResult(Safetensors.decode(bytes))
    const { params } = yield* fromContents(contents, model, options)
    return params
  })
