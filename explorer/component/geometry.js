// Where things are: the plot's square in the canvas, the map between latent units and CSS
// pixels, and how big the plot is given the room the page leaves the component.

export const MARGIN = { left: 50, right: 12, top: 8, bottom: 36 }; // CSS px around the plot at scale 1: tick labels
export const PLOT_LEAST = 400; // CSS px: the plot is never smaller while the width allows it (the page scrolls)
const PLOT_FLOOR = 240; // CSS px: a narrower component still gets this much, its panel under the plot
const PLOT_MAX = 900;
// Room the component keeps above, beside and under the plot (CSS px at scale 1, matched by
// plane.css), fixed from the first layout so that nothing moves when the panel or the strip fill in.
export const CHROME = {
  above: 64, // the lambda row and the toolbar
  strip: 70, // the interpolation strip and its caption
  panel: 280, // the decode panel's least width beside the plot
  compactPanel: 124, // the decode under the strip in a compact layout (plane.css .lp-compact)
  gap: 16, // between the plot's column and the panel
};
const BOTTOM_PAD = 8; // kept free under the strip, inside the window
const FIT_QUANTILE = 0.002; // the view fits the central 99.6% of points, so a few strays do not shrink it
const FIT_PADDING = 1.08;

/** The margins around the plot at a text scale (presentation mode draws larger tick labels). */
export function marginsAt(scale) {
  const m = {};
  for (const [k, v] of Object.entries(MARGIN)) m[k] = Math.round(v * scale);
  return m;
}

/** Top of `node` in its scrolled document, however far the page has been scrolled. */
export function documentTop(node) {
  let top = node.getBoundingClientRect().top;
  for (let n = node.parentNode; n; n = n.parentNode || n.host) if (n.scrollTop) top += n.scrollTop;
  return top;
}

/**
 * Sizes for a component `width` px wide whose top is `top` px down the document, in a window
 * `viewportHeight` px tall: the plot's side, as wide as leaves the panel its room and as tall as
 * keeps the strip in the window, but never under PLOT_LEAST for want of height (the page scrolls
 * instead), and the canvas around it. `compact` (two planes side by side), or a component too
 * narrow for the plot and the panel side by side: the panel goes under the strip, and the plot
 * leaves room for its decode in the window.
 * @returns {{side: number, w: number, h: number, compact: boolean}}
 */
export function layoutSizes(width, top, viewportHeight, { compact = false, chrome = CHROME, margin = MARGIN } = {}) {
  const around = margin.left + margin.right;
  const narrow = !compact && width - chrome.panel - chrome.gap - around < PLOT_LEAST;
  compact = compact || narrow;
  const byWidth = width - (compact ? 0 : chrome.panel + chrome.gap) - around;
  const byHeight = viewportHeight - BOTTOM_PAD - top - chrome.above - margin.top - margin.bottom - chrome.strip -
    (compact ? chrome.compactPanel : 0);
  // Too narrow, the plot is held at PLOT_LEAST, not grown to the width, so it never shrinks as the
  // component widens past the point where the panel fits beside it.
  const most = narrow ? PLOT_LEAST : PLOT_MAX;
  const side = Math.floor(Math.max(PLOT_FLOOR, Math.min(byWidth, Math.max(PLOT_LEAST, byHeight), most)));
  return { side, w: side + around, h: side + margin.top + margin.bottom, compact };
}

// The visible square of latent space: its centre (cx, cy) and scale (CSS px per latent unit),
// drawn into a plot of side `side` at (margin.left, margin.top) of the canvas.
export class View {
  constructor(margin = MARGIN) {
    this.margin = margin; // CSS px around the plot in the canvas
    this.side = 0; // CSS px
    this.cx = 0;
    this.cy = 0;
    this.scale = 0; // 0 until fitted to points: nothing can be drawn or picked before that
  }

  get ready() {
    return this.side > 0 && this.scale > 0;
  }

  /** The plot's rectangle in canvas CSS px. */
  rect() {
    return { left: this.margin.left, top: this.margin.top, width: this.side, height: this.side };
  }

  contains(sx, sy) {
    return sx >= this.margin.left && sx <= this.margin.left + this.side && sy >= this.margin.top && sy <= this.margin.top + this.side;
  }

  /** @returns {[number, number]} canvas CSS px of latent (x, y) */
  toScreen(x, y) {
    const h = this.side / 2;
    return [this.margin.left + h + (x - this.cx) * this.scale, this.margin.top + h - (y - this.cy) * this.scale];
  }

  /** @returns {Z} latent point at canvas CSS px (sx, sy) */
  toLatent(sx, sy) {
    const h = this.side / 2;
    return [this.cx + (sx - this.margin.left - h) / this.scale, this.cy - (sy - this.margin.top - h) / this.scale];
  }

  /** @returns {ViewState} */
  range() {
    const [x0, y1] = this.toLatent(this.margin.left, this.margin.top);
    const [x1, y0] = this.toLatent(this.margin.left + this.side, this.margin.top + this.side);
    return { x: [x0, x1], y: [y0, y1] };
  }

  /** Keep the same latent square when the plot is resized. */
  resize(side) {
    if (this.scale > 0 && this.side > 0) this.scale *= side / this.side;
    this.side = side;
  }

  /**
   * Centre on where n codes' posteriors lie (xy and logvar interleaved): the central quantiles of
   * mu - 2 sigma and mu + 2 sigma on each axis, with a little padding. Where sigma is tiny this is
   * the means' extent; a collapsed model's means all sit within 1e-4 of 0 but its sigmas are 1, so
   * it is shown at the prior's scale, not as a magnified speck.
   */
  fit(xy, n, logvar = null) {
    const ends = [0, 1, 2, 3].map(() => new Float32Array(n)); // x - 2 sigma, x + 2 sigma, y - .., y + ..
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < 2; d++) {
        const mu = xy[2 * i + d], spread = logvar ? 2 * Math.exp(0.5 * logvar[2 * i + d]) : 0;
        ends[2 * d][i] = mu - spread;
        ends[2 * d + 1][i] = mu + spread;
      }
    }
    for (const a of ends) a.sort();
    const q = (a, f) => a[Math.min(n - 1, Math.max(0, Math.round(f * (n - 1))))];
    const x0 = q(ends[0], FIT_QUANTILE), x1 = q(ends[1], 1 - FIT_QUANTILE);
    const y0 = q(ends[2], FIT_QUANTILE), y1 = q(ends[3], 1 - FIT_QUANTILE);
    this.cx = (x0 + x1) / 2;
    this.cy = (y0 + y1) / 2;
    this.scale = this.side / (Math.max(x1 - x0, y1 - y0, 1e-3) * FIT_PADDING);
  }

  /** Zoom by `factor`, keeping the latent point under canvas (sx, sy) where it is. */
  zoomAt(sx, sy, factor) {
    const [zx, zy] = this.toLatent(sx, sy);
    this.scale = Math.min(1e5, Math.max(1, this.scale * factor));
    const h = this.side / 2;
    this.cx = zx - (sx - this.margin.left - h) / this.scale;
    this.cy = zy + (sy - this.margin.top - h) / this.scale;
  }

  /** Pan so that `from` (a copy taken at the press) moves by (dx, dy) CSS px. */
  panFrom(from, dx, dy) {
    this.cx = from.cx - dx / from.scale;
    this.cy = from.cy + dy / from.scale;
  }

  copy() {
    return { cx: this.cx, cy: this.cy, scale: this.scale };
  }

  /** The visible square in units that do not depend on the plot's size: centre and span across. */
  square() {
    return { cx: this.cx, cy: this.cy, span: this.side / this.scale };
  }

  /** Show the square {cx, cy, span}, whatever the plot's size. */
  setSquare({ cx, cy, span }) {
    this.cx = cx;
    this.cy = cy;
    this.scale = this.side / span;
  }
}
