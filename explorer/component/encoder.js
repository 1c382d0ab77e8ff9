// The encoder in the browser, for a digit drawn on the pad: Linear layers with ReLU between, the
// last one `to_stats` giving mu and logvar side by side, logvar clamped as explorer/model.py does.
// float32 weights, float64 sums, like decoder.js; it must match torch's `VAE.encode` to 1e-4
// (tests/browser/test_inputs.py checks it on real test images).

import { readLayers } from "./decoder.js";

const LOGVAR_MIN = -30, LOGVAR_MAX = 10; // explorer/model.py: keeps exp(logvar) finite in float32

export class Encoder {
  /** @param {ArrayBuffer} buffer the encoder file (protocol.js)  @param {number[]} sizes [H*W, hidden..., 2L] */
  constructor(buffer, sizes) {
    this.sizes = sizes;
    this.layers = readLayers(buffer, sizes, "encoder");
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
