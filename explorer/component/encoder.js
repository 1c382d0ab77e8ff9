// The encoder in the browser, for a digit drawn on the pad: Linear layers with ReLU between, the
// last one `to_stats` giving mu and logvar side by side, logvar clamped as explorer/model.py does.
// float32 weights, float64 sums, like decoder.js; it must match torch's `VAE.encode` to 1e-4
// (tests/browser/test_inputs.py checks it on real test images).

const LOGVAR_MIN = -30, LOGVAR_MAX = 10; // explorer/model.py: keeps exp(logvar) finite in float32

export class Encoder {
  /** @param {ArrayBuffer} buffer the encoder file (protocol.js)  @param {number[]} sizes [H*W, hidden..., 2L] */
  constructor(buffer, sizes) {
    const flat = new Float32Array(buffer);
    this.sizes = sizes;
    this.layers = [];
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const nIn = sizes[l], nOut = sizes[l + 1];
      const w = flat.subarray(offset, offset + nIn * nOut); // (out, in) row-major
      offset += nIn * nOut;
      const bias = flat.slice(offset, offset + nOut);
      offset += nOut;
      // Stored (in, out), so each input that is zero (most of a digit's background and about
      // half the hidden units after ReLU) is skipped whole.
      const wt = new Float32Array(nIn * nOut);
      for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) wt[i * nOut + o] = w[o * nIn + i];
      this.layers.push({ nIn, nOut, wt, bias, h: new Float64Array(nOut) });
    }
    if (offset !== flat.length) throw new Error(`encoder file has ${flat.length} floats, sizes need ${offset}`);
    this.latentDim = sizes[sizes.length - 1] / 2;
  }

  /**
   * q(z|x) of one image, pixels in [0, 1] (H*W, row-major).
   * @returns {{mu: number[], logvar: number[]}}
   */
  encode(pixels) {
    let h = pixels;
    const last = this.layers.length - 1;
    this.layers.forEach(({ nIn, nOut, wt, bias, h: acc }, l) => {
      for (let o = 0; o < nOut; o++) acc[o] = bias[o];
      for (let i = 0; i < nIn; i++) {
        const v = h[i];
        if (v === 0) continue;
        const row = i * nOut;
        for (let o = 0; o < nOut; o++) acc[o] += v * wt[row + o];
      }
      if (l < last) for (let o = 0; o < nOut; o++) if (acc[o] < 0) acc[o] = 0;
      h = acc;
    });
    const L = this.latentDim, mu = [], logvar = [];
    for (let d = 0; d < L; d++) {
      mu.push(h[d]);
      logvar.push(Math.min(LOGVAR_MAX, Math.max(LOGVAR_MIN, h[L + d])));
    }
    return { mu, logvar };
  }
}
