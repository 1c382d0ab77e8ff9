// The decodability layer: over the view, cell by cell, what a digit classifier (cnn.js) sees in the
// decoder's image at the cell's centre. A cell is tinted with the colour of the digit recognised
// there (largest probability at least the judge's threshold, explorer/classifier.py's rule) and
// grey where no digit is: where the decoder draws something a reader would call a digit, and where
// it does not, whatever the density of the codes says. Computed in slices after the view settles.

import { runSliced } from "./slices.js";

export const DECODABILITY_CELLS = 32; // per side: 1,024 decodes and verdicts, about 2 s in slices
const PROGRESS_EVERY = 64; // cells between progress reports
const TINT_ALPHA = 0.28; // a recognised digit's colour, under the points
const CELL_PX = 8; // texture pixels per cell: room for the hatching that tells "no digit" from a grey digit colour
const HATCH_RGBA = [40, 40, 40, 0.55]; // "no digit": dark diagonal lines on a light wash
const WASH_RGBA = [255, 255, 255, 0.5];

export class DecodabilityLayer {
  constructor() {
    this.show = false;
    this.cells = DECODABILITY_CELLS;
    this.labels = null; // Int8Array cells x cells, row 0 at the top (highest y): the digit recognised, -1 none
    this.confidence = null; // Float32Array: the largest probability
    this.range = null; // ViewState the cells cover
    this.image = null; // cells x cells canvas
    this.ms = null; // how long the last layer took, slices included
    this.job = null; // {cancelled, next, range, model} while computing (slices.js)
    this.model = null; // the model (and a dial's lambda) the cells are of
  }

  /** Whether the layer of `range` for `key` (the model, a dial's lambda) is done or on its way. */
  covers(range, key) {
    const r = this.job ? this.job.range : this.labels && this.range, k = this.job ? this.job.key : this.key;
    return !!r && k === key && r.x[0] === range.x[0] && r.x[1] === range.x[1] && r.y[0] === range.y[0] &&
      r.y[1] === range.y[1];
  }

  /** @returns {{image: HTMLCanvasElement, range: ViewState}|null} what the renderer should draw */
  get layer() {
    return this.show && this.image ? { image: this.image, range: this.range } : null;
  }

  get ready() {
    return !!(this.labels && !this.job);
  }

  clear() {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    this.labels = this.confidence = this.image = null;
  }

  /**
   * Judge the decodes at the cells' centres of `range` with `judge` (a DigitCnn), the decoder as it is
   * now; `key` names what they are of (the model, and a dial's lambda); `progress(share)` as cells
   * are judged, `done()` when complete.
   */
  start(decoder, judge, range, [h, w], palette, key, done, progress = () => {}) {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    if (!this.show || !judge) return;
    const C = this.cells, labels = new Int8Array(C * C), confidence = new Float32Array(C * C);
    const pixels = new Float32Array(h * w), t0 = performance.now();
    const [x0, x1] = range.x, [y0, y1] = range.y;
    this.job = runSliced(C * C, (k) => {
      const r = Math.floor(k / C), c = k % C;
      decoder.decodeInto(x0 + ((c + 0.5) / C) * (x1 - x0), y1 - ((r + 0.5) / C) * (y1 - y0), pixels);
      const v = judge.judge(pixels);
      labels[k] = v.recognised ? v.label : -1;
      confidence[k] = v.confidence;
      if (k % PROGRESS_EVERY === 0) progress(k / (C * C));
    }, () => {
      Object.assign(this, { labels, confidence, range, key, job: null, ms: performance.now() - t0 });
      this.image = paint(labels, C, palette);
      done();
    });
    this.job.range = range;
    this.job.key = key;
  }
}

/** The cells as a canvas, CELL_PX texture pixels each: the colour of its digit, or hatched for none. */
function paint(labels, C, palette) {
  const canvas = document.createElement("canvas"), side = C * CELL_PX;
  canvas.width = canvas.height = side;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(side, side);
  const rgba = ([r, g, b, a]) => [r, g, b, Math.round(255 * a)];
  const tints = palette.map((hex) => rgba([...[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)), TINT_ALPHA]));
  const hatch = rgba(HATCH_RGBA), wash = rgba(WASH_RGBA);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const label = labels[Math.floor(y / CELL_PX) * C + Math.floor(x / CELL_PX)];
      image.data.set(label >= 0 ? tints[label % tints.length] : (x + y) % 4 === 0 ? hatch : wash, 4 * (y * side + x));
    }
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}
