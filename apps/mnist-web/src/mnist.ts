/**
 * The MNIST slice shipped with the page (gzipped IDX files written by `scripts/slice-mnist.ts`), read in the
 * browser. IDX is a 4-byte magic (0, 0, type 8 = unsigned byte, rank), the dims as big-endian uint32, then
 * the bytes; 15 lines, so written here rather than taken from `@typegrad/data/Idx`, whose readers open files.
 */

/** The dims and bytes of an unsigned-byte IDX file. */
export const parseIdx = (bytes: Uint8Array): { readonly dims: ReadonlyArray<number>; readonly data: Uint8Array } => {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 8) {
    throw new Error("not an unsigned-byte IDX file")
  }
  const rank = bytes[3]!
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const dims = Array.from({ length: rank }, (_, k) => view.getUint32(4 + 4 * k))
  const size = dims.reduce((a, b) => a * b, 1)
  const start = 4 + 4 * rank
  if (bytes.length !== start + size) throw new Error(`IDX: ${bytes.length - start} data bytes, expected ${size}`)
  return { dims, data: bytes.subarray(start) }
}

/** Fetches a file, gunzipping it when it is gzip (a server may also have decoded it already). */
export const fetchBytes = async (url: string): Promise<Uint8Array> => {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
  const raw = new Uint8Array(await response.arrayBuffer())
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return raw
  const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip"))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** Images as `[0, 1]` floats (`N * 784`) and their labels. */
export interface Split {
  readonly count: number
  readonly images: Float32Array
  readonly labels: Uint8Array
}

/** One split of the slice: `train` or `t10k`. */
export const loadSplit = async (dataUrl: string, split: "train" | "t10k"): Promise<Split> => {
  const [images, labels] = await Promise.all([
    fetchBytes(new URL(`${split}-images-idx3-ubyte.gz`, dataUrl).href).then(parseIdx),
    fetchBytes(new URL(`${split}-labels-idx1-ubyte.gz`, dataUrl).href).then(parseIdx)
  ])
  const count = images.dims[0]!
  if (labels.dims[0] !== count) throw new Error(`${split}: ${count} images but ${labels.dims[0]} labels`)
  return { count, images: Float32Array.from(images.data, (b) => b / 255), labels: labels.data }
}
