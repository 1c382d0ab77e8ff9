// A tiny reader of the safetensors format, for the Node tests: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} (plus an optional
// "__metadata__"), then the tensors' raw little-endian bytes, offsets counted from the header's end.

import { readFileSync } from "node:fs";

const DTYPES = {
  F64: { bytes: 8, read: (v, o) => v.getFloat64(o, true), Array: Float64Array },
  F32: { bytes: 4, read: (v, o) => v.getFloat32(o, true), Array: Float32Array },
  I64: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)), Array: Float64Array },
  I32: { bytes: 4, read: (v, o) => v.getInt32(o, true), Array: Int32Array },
  U8: { bytes: 1, read: (v, o) => v.getUint8(o), Array: Uint8Array },
  I8: { bytes: 1, read: (v, o) => v.getInt8(o), Array: Int8Array },
};

export class SafeTensors {
  /** @param {string|URL} path */
  constructor(path) {
    const file = readFileSync(path);
    this.bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const n = view.getBigUint64(0, true);
    if (n > BigInt(this.bytes.length - 8)) throw new Error(`${path}: header of ${n} bytes in a file of ${this.bytes.length}`);
    this.dataStart = 8 + Number(n);
    const header = JSON.parse(new TextDecoder().decode(this.bytes.subarray(8, this.dataStart)));
    this.metadata = header.__metadata__ ?? {};
    delete header.__metadata__;
    this.header = header;
    this.view = view;
  }

  keys() {
    return Object.keys(this.header);
  }

  /** @returns {{dtype: string, shape: number[], data: Float32Array|Float64Array|Int32Array|Uint8Array}} */
  tensor(name) {
    const spec = this.header[name];
    if (!spec) throw new Error(`no tensor ${name}`);
    const type = DTYPES[spec.dtype];
    if (!type) throw new Error(`${name}: dtype ${spec.dtype} not supported here`);
    const [begin, end] = spec.data_offsets, count = spec.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * type.bytes) throw new Error(`${name}: ${end - begin} bytes for shape ${spec.shape}`);
    if (this.dataStart + end > this.bytes.length) throw new Error(`${name}: data runs past the end of the file`);
    const data = new type.Array(count);
    for (let k = 0, o = this.dataStart + begin; k < count; k++, o += type.bytes) data[k] = type.read(this.view, o);
    return { dtype: spec.dtype, shape: spec.shape, data };
  }
}
