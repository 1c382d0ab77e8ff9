// The decoder in the browser: Linear layers, ReLU between, sigmoid after the last, in float32
// weights with float64 sums. It must match torch's decode to 1e-4 per pixel
// (tests/browser/test_plane.py checks it against torch on random z).

/**
 * The Linear layers in a file of float32 weights (out, in) and biases (out,), layer by layer
 * (protocol.js). Each weight is stored transposed, (in, out): one contiguous row per input, so an
 * input that is zero (most of the widest layer's units, which ReLU zeroes; a drawn digit's
 * blank background) is skipped whole.
 */
export function readLayers(buffer, sizes, name) {
  const flat = new Float32Array(buffer), layers = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l], nOut = sizes[l + 1];
    const w = flat.subarray(offset, offset + nIn * nOut); // (out, in) row-major
    offset += nIn * nOut;
    const bias = flat.slice(offset, offset + nOut);
    offset += nOut;
    const wt = new Float32Array(nIn * nOut);
    for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) wt[i * nOut + o] = w[o * nIn + i];
    layers.push({ nIn, nOut, wt, bias, acc: new Float64Array(nOut), h: new Float64Array(nOut) });
  }
  if (offset !== flat.length) throw new Error(`${name} file has ${flat.length} floats, sizes need ${offset}`);
  return layers;
}

export class Decoder {
  constructor(buffer, sizes) {
    this.sizes = sizes;
    this.layers = readLayers(buffer, sizes, "decoder");
    this.input = new Float64Array(sizes[0]);
    this.active = new Int32Array(Math.max(...sizes));
  }

  // Decode z = (x, y) into `out` (Float32Array of H*W), pixel probabilities in [0, 1].
  // float32 weights, float64 sums (no rounding per add, and faster in V8 than float32 stores);
  // the active inputs go four at a time, so each accumulator is loaded and stored once per four.
  decodeInto(x, y, out) {
    let h = this.input;
    h[0] = x;
    h[1] = y;
    const active = this.active, last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { nIn, nOut, wt, bias, acc } = this.layers[l];
      for (let o = 0; o < nOut; o++) acc[o] = bias[o];
      let m = 0;
      for (let i = 0; i < nIn; i++) if (h[i] !== 0) active[m++] = i;
      let j = 0;
      for (; j + 3 < m; j += 4) {
        const i0 = active[j], i1 = active[j + 1], i2 = active[j + 2], i3 = active[j + 3];
        const v0 = h[i0], v1 = h[i1], v2 = h[i2], v3 = h[i3];
        const r0 = i0 * nOut, r1 = i1 * nOut, r2 = i2 * nOut, r3 = i3 * nOut;
        for (let o = 0; o < nOut; o++) acc[o] += v0 * wt[r0 + o] + v1 * wt[r1 + o] + v2 * wt[r2 + o] + v3 * wt[r3 + o];
      }
      for (; j < m; j++) {
        const i0 = active[j], v0 = h[i0], r0 = i0 * nOut;
        for (let o = 0; o < nOut; o++) acc[o] += v0 * wt[r0 + o];
      }
      if (l === last) {
        for (let o = 0; o < nOut; o++) out[o] = 1 / (1 + Math.exp(-acc[o]));
      } else {
        const next = this.layers[l].h;
        for (let o = 0; o < nOut; o++) next[o] = acc[o] > 0 ? acc[o] : 0;
        h = next;
      }
    }
    return out;
  }
}
