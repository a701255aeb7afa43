/**
 * A small ONNX graph builder over onnx-proto: named inputs and outputs, float initializers (optionally stored as
 * float16 and cast back to float32 in the graph, so the arithmetic stays float32), int64 constants and nodes. Opset
 * 17, the newest whose ReduceMean still takes `axes` as an attribute; every op used by the exporters runs on
 * onnxruntime-web's wasm and WebGPU backends.
 */
import onnxProto from 'onnx-proto';
import * as E from '../../engine/index.js';

const { onnx } = onnxProto;
/** An attribute: int, ints, string, or a float written as { float: x }. */
export type Attr = number | number[] | string | { float: number };
const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

export const OPSET = 17;

/** The optional parts of a node: its attributes and the name of its output. */
export interface NodeOptions {
  attrs?: Record<string, Attr>;
  out?: string;
}

/** A dimension: a fixed size or a symbolic one (the batch). */
export type Dim = number | string;

/** float32 → IEEE half bits, round to nearest even (through libtorch, which rounds as every other framework). */
export function toHalfBits(data: Float32Array): Uint16Array {
  return E.tidy(() => E.fromTypedArray(data, [data.length]).to('float16').toTypedArray() as Uint16Array);
}

function valueInfo(name: string, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if (typeof v === 'number') return { name, type: AttrType.INT, i: v };
  return { name, type: AttrType.FLOAT, f: v.float };
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class OnnxGraph {
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #names = new Set<string>();
  #counter = 0;

  /** `fp16`: weights are stored as float16 (half the file) and cast to float32 on load. */
  constructor(readonly name: string, readonly fp16 = false) {}

  private fresh(base: string): string {
    let name = base;
    while (this.#names.has(name)) name = `${base}_${++this.#counter}`;
    this.#names.add(name);
    return name;
  }

  input(name: string, dims: readonly Dim[]): string {
    this.#inputs.push(valueInfo(this.fresh(name), dims));
    return name;
  }

  /** Makes `value` the graph output `name` (through an Identity node when it has another name). */
  output(name: string, value: string, dims: readonly Dim[]): void {
    if (value !== name) this.node('Identity', [value], { out: name });
    this.#outputs.push(valueInfo(name, dims));
  }

  /** A float weight; with fp16 it is stored as float16 and cast back, so the result is always float32. */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`ONNX weight ${name}: ${data.length} values for [${dims.join(', ')}]`);
    if (!this.fp16) {
      const id = this.fresh(name);
      this.#initializers.push({ name: id, dims: [...dims], dataType: DataType.FLOAT, rawData: bytesOf(data) });
      return id;
    }
    const half = this.fresh(`${name}_fp16`);
    this.#initializers.push({ name: half, dims: [...dims], dataType: DataType.FLOAT16, rawData: bytesOf(toHalfBits(data)) });
    return this.node('Cast', [half], { attrs: { to: DataType.FLOAT }, out: name });
  }

  /** A float constant kept in float32 (small: scalars, resize scales). */
  scalars(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const id = this.fresh(name);
    this.#initializers.push({ name: id, dims: [...dims], dataType: DataType.FLOAT, rawData: bytesOf(new Float32Array(values)) });
    return id;
  }

  /** An int64 constant (shapes, indices, axes). */
  ints(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const id = this.fresh(name);
    this.#initializers.push({ name: id, dims: [...dims], dataType: DataType.INT64, rawData: bytesOf(BigInt64Array.from(values, BigInt)) });
    return id;
  }

  /**
   * Adds a node with one output and returns the output's name. Inputs may be '' for an omitted optional input;
   * `attrs` are the node's attributes, `out` names its output (default `${op}_${index}`).
   */
  node(op: string, inputs: readonly string[], { attrs = {}, out: outName }: NodeOptions = {}): string {
    const out = this.fresh(outName ?? `${op}_${this.#nodes.length}`);
    this.#nodes.push({
      opType: op, name: `${op}_${this.#nodes.length}`, input: [...inputs], output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** The serialized ModelProto. */
  encode(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8, producerName: 'stylegan-ts', docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: this.name, node: this.#nodes, initializer: this.#initializers, input: this.#inputs, output: this.#outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
