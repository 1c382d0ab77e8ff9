// The layers that tell the VAE's story on the plane: which are on (PlaneData.layers), their key,
// and how each is drawn: the latent grid's tiles, what a classifier recognises in the decodes, the
// holes of the aggregate posterior, the prior's 1, 2 and 3 sigma contours, and the 1 and 2 sigma
// ellipses of q(z|x) (every visible digit's in the base, the hovered and selected digits' per frame).

import { DecodabilityLayer } from "./decodability.js";
import { HolesLayer } from "./density.js";
import { el } from "./dom.js";
import { GridLayer } from "./grid.js";

const PRIOR_SIGMAS = [1, 2, 3]; // contours of N(0, I): radius r holds 1 - exp(-r^2 / 2) of its mass
const MIN_RADIUS = 0.5; // CSS px: a posterior ellipse smaller than this is not drawn at all
export const DOT_RADIUS = 2.1; // CSS px: the scatter's dots; in the all-digits layer a ring inside its dot is left out
const ELLIPSE_ALPHA = [0.55, 0.3]; // 1 and 2 sigma rings of every visible digit
const KEY = {
  decodability: "Tinted: the digit a classifier recognises in the decode there (90% sure or more); hatched: no digit.",
  holes: "Shaded: holes, where the test digits' aggregate posterior q(z) is below 1% of the prior p(z) = N(0, I).",
  prior: "Dashed circles: the prior N(0, I) at 1, 2 and 3 \u03c3.",
  ellipses: "Rings: 1 and 2 \u03c3 of each digit's q(z|x).",
};

export class PlaneLayers {
  constructor() {
    this.grid = new GridLayer(); // .show, .n, .spacing: PlaneData.grid_*
    this.holes = new HolesLayer(); // .show: PlaneData.layers.holes
    this.decodability = new DecodabilityLayer(); // .show: PlaneData.layers.decodability
    this.ellipses = false;
    this.prior = false;
    this.key = el("div", { class: "lp-key", "data-testid": "layers-key", hidden: "" });
    this.keyLines = {}; // the key's line of each layer shown, by name
  }

  /** Apply the grid settings and PlaneData.layers; true if anything changed (the base must be redrawn). */
  set({ grid_show, grid_n, grid_spacing, layers = {} }) {
    const { ellipses = false, prior = false, holes = false, decodability = false } = layers || {}, grid = this.grid;
    const spacing = grid_spacing === "quantile" ? "quantile" : "even";
    let changed = false;
    if (!!grid_show !== grid.show || (grid_n | 0) !== grid.n || spacing !== grid.spacing) {
      [grid.show, grid.n, grid.spacing, changed] = [!!grid_show, grid_n | 0, spacing, true];
      grid.clear();
    }
    changed = changed || this.ellipses !== !!ellipses || this.prior !== !!prior || this.holes.show !== !!holes ||
      this.decodability.show !== !!decodability;
    this.ellipses = !!ellipses;
    this.prior = !!prior;
    this.holes.show = !!holes;
    if (!holes) this.holes.clear();
    this.decodability.show = !!decodability;
    if (!decodability) this.decodability.clear();
    const shown = (name) => (name === "holes" || name === "decodability" ? this[name].show : this[name]);
    const lines = Object.keys(KEY).filter(shown);
    this.keyLines = Object.fromEntries(lines.map((name) => [name, el("div", {}, KEY[name])]));
    this.key.replaceChildren(...Object.values(this.keyLines));
    this.key.hidden = lines.length === 0;
    return changed;
  }

  /** Forget what belongs to one model and view (a new model). */
  clear() {
    this.grid.clear();
    this.holes.clear();
    this.decodability.clear();
  }

  /**
   * Decode the grid, find the holes and judge the decodes (with `judge`, a DigitCnn or null) for
   * `model` over `range`, unless done or on their way.
   */
  start(model, range, shape, done, judge = null, palette = []) {
    this.grid.start(model.decoder, range, shape, done);
    if (!this.holes.covers(range)) this.holes.start(model.points, range, done);
    const key = model.dial ? `${model.key} ${model.dial.lam}` : model.key;
    if (this.decodability.covers(range, key)) return;
    // Judging the view's decodes takes seconds: its key line says how far it has got.
    const say = (share) => {
      const line = this.keyLines.decodability;
      if (line) line.textContent = KEY.decodability + (share < 1 ? ` Judging the decodes\u2026 ${Math.round(100 * share)}%` : "");
    };
    this.decodability.start(model.decoder, judge, range, shape, palette, key, () => { say(1); done(); }, say);
  }

  /** What the renderer's base draws. */
  get base() {
    return { decodability: this.decodability.layer, holes: this.holes.layer, prior: this.prior, ellipses: this.ellipses };
  }
}

/** Test digit i's q(z|x) as `drawEllipse` takes it. */
export function posteriorOf(points, i, palette) {
  const { mu, logvar, labels } = points;
  return { mu: [mu[2 * i], mu[2 * i + 1]], sigma: [Math.exp(0.5 * logvar[2 * i]), Math.exp(0.5 * logvar[2 * i + 1])],
           colour: palette[labels[i] % palette.length] };
}

/**
 * The 1 and 2 sigma ellipses of q(z|x) = N(mu, diag sigma^2), axis-aligned, at screen (sx, sy) with
 * radii (rx, ry) CSS px per sigma, added to path1 and path2, each only if a radius reaches `least`
 * CSS px; false if neither does.
 */
function addEllipses(path1, path2, sx, sy, rx, ry, least = MIN_RADIUS) {
  if (2 * rx < least && 2 * ry < least) return false;
  if (rx >= least || ry >= least) {
    path1.moveTo(sx + rx, sy);
    path1.ellipse(sx, sy, rx, ry, 0, 0, 2 * Math.PI);
  }
  path2.moveTo(sx + 2 * rx, sy);
  path2.ellipse(sx, sy, 2 * rx, 2 * ry, 0, 0, 2 * Math.PI);
  return true;
}

/** Grid decodings: over `range` evenly, or each tile into its own cell between `edges`. */
export function drawGrid(ctx, view, { image, range, edges }, alpha) {
  ctx.globalAlpha = alpha;
  if (edges) {
    const n = edges.x.length - 1, w = image.width / n, h = image.height / n;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const [x0, y0] = view.toScreen(edges.x[c], edges.y[n - r]);
        const [x1, y1] = view.toScreen(edges.x[c + 1], edges.y[n - 1 - r]);
        ctx.drawImage(image, c * w, r * h, w, h, x0, y0, x1 - x0, y1 - y0);
      }
    }
  } else {
    const [gx0, gy0] = view.toScreen(range.x[0], range.y[1]);
    const [gx1, gy1] = view.toScreen(range.x[1], range.y[0]);
    ctx.drawImage(image, gx0, gy0, gx1 - gx0, gy1 - gy0);
  }
  ctx.globalAlpha = 1;
}

/** The holes mask over its range, each cell a flat block: a hole is or is not. */
export function drawHoles(ctx, view, { image, range }) {
  const [x0, y0] = view.toScreen(range.x[0], range.y[1]), [x1, y1] = view.toScreen(range.x[1], range.y[0]);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, x0, y0, x1 - x0, y1 - y0);
  ctx.imageSmoothingEnabled = true;
}

/** The prior N(0, I) as thin dashed circles at 1, 2 and 3 sigma, each labelled. */
export function drawPrior(ctx, view, font) {
  const [ox, oy] = view.toScreen(0, 0);
  ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(0,0,0,0.6)";
  ctx.setLineDash([5, 3]);
  ctx.beginPath();
  for (const k of PRIOR_SIGMAS) {
    ctx.moveTo(ox + k * view.scale, oy);
    ctx.arc(ox, oy, k * view.scale, 0, 2 * Math.PI);
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = `11px ${font}`;
  ctx.textAlign = "left";
  ctx.textBaseline = "bottom";
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgba(255,255,255,0.9)";
  ctx.fillStyle = "#333";
  for (const k of PRIOR_SIGMAS) { // at 45 degrees, up and right, clear of the ring
    const x = ox + k * view.scale * Math.SQRT1_2 + 3, y = oy - k * view.scale * Math.SQRT1_2 - 3;
    ctx.strokeText(`${k}\u03c3`, x, y);
    ctx.fillText(`${k}\u03c3`, x, y);
  }
}

/**
 * 1 and 2 sigma ellipses of every shown digit in the plot rect `r`, one path per colour and ring
 * (20 strokes for 10,000 digits); a ring no bigger than the dot it circles is left out (it would
 * only darken the dot, and costs as much to draw). `at` holds the digits' screen positions and sigmas.
 * @returns {number} how many digits' ellipses were big enough to draw
 */
export function drawAllEllipses(ctx, view, points, at, hidden, palette, r) {
  const sigma = at.sigmas(points), s = view.scale, paths = palette.map(() => [new Path2D(), new Path2D()]);
  const x0 = r.left, x1 = r.left + r.width, y0 = r.top, y1 = r.top + r.height;
  let drawn = 0;
  for (let i = 0; i < points.n; i++) {
    const label = points.labels[i], x = at.sx[i], y = at.sy[i];
    const rx = sigma[2 * i] * s, ry = sigma[2 * i + 1] * s;
    if (hidden.has(label) || x + 2 * rx < x0 || x - 2 * rx > x1 || y + 2 * ry < y0 || y - 2 * ry > y1) continue;
    const [p1, p2] = paths[label % palette.length];
    if (addEllipses(p1, p2, x, y, rx, ry, DOT_RADIUS)) drawn++;
  }
  ctx.lineWidth = 1;
  palette.forEach((colour, k) => {
    ctx.strokeStyle = colour;
    for (const ring of [0, 1]) {
      ctx.globalAlpha = ELLIPSE_ALPHA[ring];
      ctx.stroke(paths[k][ring]);
    }
  });
  ctx.globalAlpha = 1;
  return drawn;
}

/** One digit's q(z|x): a solid 1 sigma ring and a dashed 2 sigma ring in its colour. */
export function drawEllipse(ctx, view, { mu, sigma, colour }) {
  const [sx, sy] = view.toScreen(mu[0], mu[1]), p1 = new Path2D(), p2 = new Path2D();
  if (!addEllipses(p1, p2, sx, sy, sigma[0] * view.scale, sigma[1] * view.scale)) return;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.stroke(p1);
  ctx.lineWidth = 1.5;
  ctx.setLineDash([4, 3]);
  ctx.stroke(p2);
  ctx.setLineDash([]);
}
