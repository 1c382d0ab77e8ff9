// The latent grid behind the points: decodings of an n x n tiling of the visible range, made in
// slices of a few milliseconds so the page stays responsive, then drawn by the renderer.

import { paintGrey } from "./dom.js";

const SLICE_MS = 8;

export class GridLayer {
  constructor() {
    this.show = false;
    this.n = 0;
    this.image = null; // finished decodings, a canvas of n*W x n*H
    this.range = null; // ViewState the image covers
    this.job = null; // {cancelled, next} while decoding
  }

  /** @returns {{image: HTMLCanvasElement, range: ViewState}|null} what the renderer should tile */
  get layer() {
    return this.show && this.image ? { image: this.image, range: this.range } : null;
  }

  get ready() {
    return !!(this.image && !this.job);
  }

  /** Forget the decodings (new decoder, new setting). */
  clear() {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    this.image = null;
  }

  /** Decode the tiling of `range` with `decoder`; `done()` is called when the image is complete. */
  start(decoder, range, [h, w], done) {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    if (!this.show || this.n < 1) return;
    const n = this.n;
    const canvas = document.createElement("canvas");
    canvas.width = n * w;
    canvas.height = n * h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(n * w, n * h);
    const pixels = new Float32Array(h * w);
    const job = { cancelled: false, next: 0 };
    this.job = job;
    const [x0, x1] = range.x, [y0, y1] = range.y;
    const slice = () => {
      if (job.cancelled) return;
      const t0 = performance.now();
      while (job.next < n * n && performance.now() - t0 < SLICE_MS) {
        const r = (job.next / n) | 0, c = job.next % n; // row 0 = top = highest y; cell centres
        decoder.decodeInto(x0 + ((c + 0.5) / n) * (x1 - x0), y1 - ((r + 0.5) / n) * (y1 - y0), pixels);
        paintGrey(image, pixels, c * w, r * h, w, { inverted: true });
        job.next++;
      }
      if (job.next < n * n) { setTimeout(slice, 0); return; }
      ctx.putImageData(image, 0, 0);
      this.image = canvas;
      this.range = range;
      this.job = null;
      done();
    };
    setTimeout(slice, 0);
  }
}
