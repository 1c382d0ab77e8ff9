// The encoder in the browser, for a digit drawn on the pad: Linear layers with ReLU between, the
// last one `to_stats` giving mu and logvar side by side, logvar clamped as explorer/model.py does.
// float32 weights, float64 sums, like decoder.js; it must match torch's `VAE.encode` to 1e-4
// (tests/browser/test_inputs.py checks it on real test images).

import { Film, readFilmed } from "./decoder.js";

const LOGVAR_MIN = -30, LOGVAR_MAX = 10; // explorer/model.py: keeps exp(logvar) finite in float32

export class Encoder {
  /**
   * @param {ArrayBuffer} buffer the encoder file (protocol.js)  @param {number[]} sizes [H*W, hidden..., 2L]
   * @param {DialData|null} dial a dial's (protocol.js): its FiLM network follows the layers in the file
   */
  constructor(buffer, sizes, dial = null) {
    this.sizes = sizes;
    const { layers, film } = readFilmed(buffer, sizes, dial ? dial.encoder_film_sizes : [], "encoder");
    this.layers = layers;
    this.film = dial ? new Film(film, sizes.slice(1, -1), dial.log_lam_scale) : null;
    this.setLam(dial && dial.lam);
    this.latentDim = sizes[sizes.length - 1] / 2;
  }

  /** A dial's encoder encodes at `lam` from now on (a plain one has its own lambda: ignored). */
  setLam(lam) { if (this.film) this.film.set(lam); }

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
      if (l < last && this.film) {
        const gamma = this.film.gamma[l], beta = this.film.beta[l];
        for (let o = 0; o < nOut; o++) acc[o] = Math.max(0, acc[o] * gamma[o] + beta[o]);
      } else if (l < last) for (let o = 0; o < nOut; o++) if (acc[o] < 0) acc[o] = 0;
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
