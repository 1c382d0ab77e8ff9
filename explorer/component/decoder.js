// The decoder in the browser: Linear layers, ReLU between, sigmoid after the last, in float32
// weights with float64 sums; a dial's hidden layers modulated by its FiLM network at the lambda
// set. It must match torch's decode to 1e-4 per pixel (tests/js/decoder.test.js checks it against
// torch's on random z, a dial's at several lambdas).

/**
 * The Linear layers in a file of float32 weights (out, in) and biases (out,), layer by layer
 * (protocol.js). Each weight is stored transposed, (in, out): one contiguous row per input, so an
 * input that is zero (most of the widest layer's units, which ReLU zeroes; a drawn digit's
 * blank background) is skipped whole.
 */
export function readLayers(buffer, sizes, name) {
  return readFilmed(buffer, sizes, [], name).layers;
}

/** The layers of `sizes` and then, in the same file, a dial's FiLM network of `filmSizes` ([]: none). */
export function readFilmed(buffer, sizes, filmSizes, name) {
  const flat = new Float32Array(buffer);
  const [layers, end] = linearLayers(flat, 0, sizes);
  const [film, total] = filmSizes.length ? linearLayers(flat, end, filmSizes) : [[], end];
  if (total !== flat.length) throw new Error(`${name} file has ${flat.length} floats, sizes need ${total}`);
  return { layers, film };
}

function linearLayers(flat, offset, sizes) {
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l], nOut = sizes[l + 1];
    const w = flat.subarray(offset, offset + nIn * nOut); // (out, in) row-major
    offset += nIn * nOut;
    const bias = flat.slice(offset, offset + nOut);
    offset += nOut;
    const wt = new Float32Array(nIn * nOut);
    if (w.length === nIn * nOut) for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) wt[i * nOut + o] = w[o * nIn + i];
    layers.push({ nIn, nOut, wt, bias, acc: new Float64Array(nOut), h: new Float64Array(nOut) });
  }
  return [layers, offset];
}

/**
 * A dial's FiLM network (explorer/model.py's FiLM; Perez et al. 2018): from t = ln(lambda) / logScale,
 * Linear, SiLU, Linear, SiLU, Linear give a scale and a shift of every hidden unit of one MLP,
 * applied before its ReLU as gamma * (W h + b) + beta, with gamma = 1 + scale.
 */
export class Film {
  /** @param {object[]} layers readFilmed's film  @param {number[]} widths the MLP's hidden layers' widths */
  constructor(layers, widths, logScale) {
    const units = widths.reduce((a, b) => a + b, 0);
    if (layers[layers.length - 1].nOut !== 2 * units) {
      throw new Error(`a FiLM network of ${layers[layers.length - 1].nOut} outputs cannot modulate ${units} units`);
    }
    this.layers = layers;
    this.widths = widths;
    this.logScale = logScale;
    this.gamma = widths.map((w) => new Float64Array(w));
    this.beta = widths.map((w) => new Float64Array(w));
    this.lam = null;
  }

  /** Compute gamma and beta of every hidden layer at `lam` (> 0). */
  set(lam) {
    if (lam === this.lam) return;
    this.lam = lam;
    let h = [Math.log(lam) / this.logScale];
    const last = this.layers.length - 1;
    this.layers.forEach(({ nIn, nOut, wt, bias, acc }, l) => {
      for (let o = 0; o < nOut; o++) acc[o] = bias[o];
      for (let i = 0; i < nIn; i++) for (let o = 0, v = h[i], row = i * nOut; o < nOut; o++) acc[o] += v * wt[row + o];
      if (l < last) for (let o = 0; o < nOut; o++) acc[o] = acc[o] / (1 + Math.exp(-acc[o])); // SiLU
      h = acc;
    });
    const units = h.length / 2;
    let at = 0;
    this.widths.forEach((w, k) => {
      for (let o = 0; o < w; o++) {
        this.gamma[k][o] = 1 + h[at + o];
        this.beta[k][o] = h[units + at + o];
      }
      at += w;
    });
  }
}

export class Decoder {
  /**
   * @param {ArrayBuffer} buffer the decoder file (protocol.js)  @param {number[]} sizes [latent_dim, hidden..., H*W]
   * @param {DialData|null} dial a dial's (protocol.js): its FiLM network follows the layers in the file
   */
  constructor(buffer, sizes, dial = null) {
    this.sizes = sizes;
    const { layers, film } = readFilmed(buffer, sizes, dial ? dial.decoder_film_sizes : [], "decoder");
    this.layers = layers;
    this.film = dial ? new Film(film, sizes.slice(1, -1), dial.log_lam_scale) : null;
    this.setLam(dial && dial.lam);
    this.input = new Float64Array(sizes[0]);
    this.active = new Int32Array(Math.max(...sizes));
  }

  /** A dial's decoder decodes at `lam` from now on (a plain one has its own lambda: ignored). */
  setLam(lam) { if (this.film) this.film.set(lam); }

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
        if (this.film) {
          const gamma = this.film.gamma[l], beta = this.film.beta[l];
          for (let o = 0; o < nOut; o++) { const v = acc[o] * gamma[o] + beta[o]; next[o] = v > 0 ? v : 0; }
        } else for (let o = 0; o < nOut; o++) next[o] = acc[o] > 0 ? acc[o] : 0;
        h = next;
      }
    }
    return out;
  }
}
