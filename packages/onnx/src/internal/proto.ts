/**
 * A protobuf writer for the few ONNX messages the exporter emits (onnx.proto, proto2): varints, lengths,
 * strings, bytes and floats, and the message shapes as plain objects. About 2 KB minified, no codegen
 * (docs/design.md, "ONNX export" explains why it is not `@bufbuild/protobuf`).
 *
 * @internal
 */

const encoder = new TextEncoder()

/** A growable byte buffer with protobuf's wire primitives. */
class Writer {
  private buf = new Uint8Array(256)
  private len = 0

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.len++] = b
  }

  /** A varint; negative numbers as 10-byte two's complement, as protobuf writes int64. */
  varint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`onnx: ${v} is not an integer that a varint can hold`)
    if (v < 0) {
      let big = BigInt.asUintN(64, BigInt(v))
      while (big >= 0x80n) {
        this.byte(Number(big & 0x7fn) | 0x80)
        big >>= 7n
      }
      this.byte(Number(big))
      return
    }
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    this.byte(v)
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint(field * 8 + wire)
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2)
    this.varint(data.length)
    this.ensure(data.length)
    this.buf.set(data, this.len)
    this.len += data.length
  }

  string(field: number, s: string): void {
    this.bytes(field, encoder.encode(s))
  }

  int(field: number, v: number): void {
    this.tag(field, 0)
    this.varint(v)
  }

  float(field: number, v: number): void {
    this.tag(field, 5)
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, v, true)
    this.ensure(4)
    this.buf.set(b, this.len)
    this.len += 4
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer()
    write(inner)
    this.bytes(field, inner.finish())
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

/** `TensorProto.DataType`: FLOAT and DOUBLE (and INT64 for shapes). */
export type ElemType = 1 | 7 | 11

/** An attribute of a node (`AttributeProto`): an int, a float, a string or a list of ints. */
export type Attribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly ints: ReadonlyArray<number> }
  | { readonly name: string; readonly string: string }

/** `NodeProto`. */
export interface Node {
  readonly opType: string
  readonly name: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly attributes?: ReadonlyArray<Attribute>
}

/** `TensorProto` with its values as little-endian `raw_data`. */
export interface Initializer {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly elemType: ElemType
  readonly raw: Uint8Array
}

/** `ValueInfoProto` of a tensor: a dimension is a size or a symbolic name (`dim_param`). */
export interface ValueInfo {
  readonly name: string
  readonly elemType: ElemType
  readonly dims: ReadonlyArray<number | string>
}

/** `ModelProto` with one graph and the default-domain opset. */
export interface ModelSpec {
  readonly irVersion: number
  readonly opset: number
  readonly producerName: string
  readonly producerVersion: string
  readonly graphName: string
  readonly nodes: ReadonlyArray<Node>
  readonly initializers: ReadonlyArray<Initializer>
  readonly inputs: ReadonlyArray<ValueInfo>
  readonly outputs: ReadonlyArray<ValueInfo>
}

const writeAttribute = (w: Writer, a: Attribute): void => {
  w.string(1, a.name)
  if ("int" in a) {
    w.int(3, a.int)
    w.int(20, 2)
  } else if ("float" in a) {
    w.float(2, a.float)
    w.int(20, 1)
  } else if ("ints" in a) {
    for (const i of a.ints) w.int(8, i)
    w.int(20, 7)
  } else {
    w.bytes(4, encoder.encode(a.string))
    w.int(20, 3)
  }
}

const writeNode = (w: Writer, n: Node): void => {
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  w.string(3, n.name)
  w.string(4, n.opType)
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a))
}

const writeInitializer = (w: Writer, t: Initializer): void => {
  for (const d of t.dims) w.int(1, d)
  w.int(2, t.elemType)
  w.string(8, t.name)
  w.bytes(9, t.raw)
}

const writeValueInfo = (w: Writer, v: ValueInfo): void => {
  w.string(1, v.name)
  // TypeProto { tensor_type = 1: { elem_type = 1, shape = 2: { dim = 1: { dim_value = 1 | dim_param = 2 } } } }
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType)
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)))
        }
      })
    }))
}

/** The `ModelProto` bytes of a model. */
export const encodeModel = (m: ModelSpec): Uint8Array => {
  const w = new Writer()
  w.int(1, m.irVersion)
  w.string(2, m.producerName)
  w.string(3, m.producerVersion)
  w.message(7, (g) => {
    for (const n of m.nodes) g.message(1, (x) => writeNode(x, n))
    g.string(2, m.graphName)
    for (const t of m.initializers) g.message(5, (x) => writeInitializer(x, t))
    for (const v of m.inputs) g.message(11, (x) => writeValueInfo(x, v))
    for (const v of m.outputs) g.message(12, (x) => writeValueInfo(x, v))
  })
  w.message(8, (o) => {
    o.string(1, "")
    o.int(2, m.opset)
  })
  return w.finish()
}
