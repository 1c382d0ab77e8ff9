// The latent grid behind the points: decodings of an n x n grid, made in slices of a few
// milliseconds so the page stays responsive, then drawn by the renderer. "even": a tiling of the
// visible range, each tile decoded at its centre. "quantile": z = Phi^-1(u) for u at the centres of a
// uniform n x n grid on the unit square (Kingma & Welling 2014, figure 4), each tile drawn in its
// cell between Phi^-1(i/n) and Phi^-1((i+1)/n); it stays put when the view moves.

import { ndtri } from "./density.js";
import { paintGrey } from "./dom.js";
import { runSliced } from "./slices.js";

/** Centres and cell bounds of the quantile grid on one axis, ascending (explorer.latent.quantile_edges). */
export function quantileCells(n) {
  const centres = Array.from({ length: n }, (_, i) => ndtri((i + 0.5) / n));
  if (n === 1) return { centres, edges: [-1, 1] };
  const edges = Array.from({ length: n + 1 }, (_, i) => ndtri(i / n));
  // The outer bounds would be infinite: each outer cell reaches as far out from its centre as in.
  edges[0] = 2 * centres[0] - edges[1];
  edges[n] = 2 * centres[n - 1] - edges[n - 1];
  return { centres, edges };
}

export class GridLayer {
  constructor() {
    this.show = false;
    this.n = 0;
    this.spacing = "even"; // "even" | "quantile"
    this.image = null; // finished decodings, a canvas of n*W x n*H
    this.range = null; // ViewState the image covers (even spacing)
    this.cells = null; // {centres, edges} per axis, ascending (quantile spacing)
    this.job = null; // {cancelled, next} while decoding (slices.js)
  }

  /** @returns {{image: HTMLCanvasElement, range: ViewState|null, edges: {x: number[], y: number[]}|null}|null} */
  get layer() {
    if (!this.show || !this.image) return null;
    const edges = this.cells ? { x: this.cells.edges, y: this.cells.edges } : null;
    return { image: this.image, range: this.range, edges };
  }

  get ready() {
    return !!(this.image && !this.job);
  }

  /** Forget the decodings (new decoder, new setting). */
  clear() {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    this.image = this.cells = null;
  }

  /** Decode the tiling of `range` with `decoder`; `done()` is called when the image is complete. */
  start(decoder, range, [h, w], done) {
    if (this.spacing === "quantile" && (this.image || this.job)) return; // its tiles do not follow the view
    if (this.job) this.job.cancelled = true;
    this.job = null;
    if (!this.show || this.n < 1) return;
    const n = this.n, quantile = this.spacing === "quantile", cells = quantile ? quantileCells(n) : null;
    const canvas = document.createElement("canvas");
    canvas.width = n * w;
    canvas.height = n * h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(n * w, n * h);
    const pixels = new Float32Array(h * w);
    const [x0, x1] = range.x, [y0, y1] = range.y;
    this.job = runSliced(n * n, (k) => {
      const r = (k / n) | 0, c = k % n; // row 0 = top = highest y; cell centres
      if (quantile) decoder.decodeInto(cells.centres[c], cells.centres[n - 1 - r], pixels);
      else decoder.decodeInto(x0 + ((c + 0.5) / n) * (x1 - x0), y1 - ((r + 0.5) / n) * (y1 - y0), pixels);
      paintGrey(image, pixels, c * w, r * h, w, { inverted: true });
    }, () => {
      ctx.putImageData(image, 0, 0);
      this.image = canvas;
      this.range = quantile ? null : range;
      this.cells = cells;
      this.job = null;
      done();
    });
  }
}
