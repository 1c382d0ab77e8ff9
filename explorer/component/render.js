// Drawing the figure: a base layer (grid decodings, the holes, the prior's contours, the scatter,
// every visible digit's posterior ellipses, the axes) redrawn only when the view or the data
// change, and per frame the base blitted with the overlays (posterior ellipses of the hovered and
// selected digits and of a drawn digit, selection, hover ring, drag line, marks of samples and a
// drawn digit) on top. Nothing here changes what the plane knows; it only draws it.

import { blendDots, makeSprites } from "./dots.js";
import { DOT_RADIUS, drawAllEllipses, drawEllipse, drawGrid, drawHoles, drawPrior } from "./layers.js";
import { drawMarks } from "./samples.js";

const DOT_ALPHA = 0.75;
const GRID_ALPHA = 0.55;
const HIT_RADIUS = 6; // CSS px: a press this close to a point is on that point
function niceStep(span, targetTicks) {
  const raw = span / Math.max(1, targetTicks);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

function formatTick(v, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = v.toFixed(decimals);
  return s === "-0" || /^-0\.0*$/.test(s) ? s.slice(1) : s.replace("-", "\u2212");
}

export class Renderer {
  constructor(canvas, font) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.base = document.createElement("canvas");
    this.baseCtx = this.base.getContext("2d", { willReadFrequently: true }); // the dots are blended in its pixels
    this.font = font;
    this.scale = 1; // of the axes' text and its room (larger in presentation mode)
    this.width = 0; // CSS px
    this.height = 0;
    this.dpr = 1;
    this.dots = null; // one dot sprite per palette colour, at this dpr (dots.js)
    this.dotsFor = null; // the palette they were drawn with
    this.sx = null; // projected points, canvas CSS px (Float32Array N)
    this.sy = null;
    this.baseDirty = true;
    this.drawnCounts = []; // points drawn per label in the last base
    this.ellipsesDrawn = 0; // visible digits whose ellipses the last base drew
    this.baseMs = null; // how long the last base took to draw
    this.sigma = null; // sigma of q(z|x) per test digit (Float32Array 2N), for `sigmaOf`
    this.sigmaOf = null;
  }

  /** sigma = exp(logvar / 2) of every test digit, computed once per model. */
  sigmas(points) {
    if (this.sigmaOf !== points) {
      this.sigma = new Float32Array(2 * points.n);
      for (let k = 0; k < 2 * points.n; k++) this.sigma[k] = Math.exp(0.5 * points.logvar[k]);
      this.sigmaOf = points;
    }
    return this.sigma;
  }

  resize(width, height, dpr) {
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    for (const c of [this.canvas, this.base]) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
    }
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.dots = null;
    this.baseDirty = true;
  }

  /** Screen positions of every point under this view (kept for hit tests). */
  project(view, points) {
    if (!this.sx || this.sx.length !== points.n) {
      this.sx = new Float32Array(points.n);
      this.sy = new Float32Array(points.n);
    }
    for (let i = 0; i < points.n; i++) [this.sx[i], this.sy[i]] = view.toScreen(points.mu[2 * i], points.mu[2 * i + 1]);
  }

  /** The nearest shown point within HIT_RADIUS of canvas (sx, sy), or -1. */
  hitTest(sx, sy, labels, hidden) {
    let best = -1, bestD = HIT_RADIUS * HIT_RADIUS;
    for (let i = 0; i < labels.length; i++) {
      const dx = this.sx[i] - sx, dy = this.sy[i] - sy, d = dx * dx + dy * dy;
      if (d <= bestD && !hidden.has(labels[i])) { bestD = d; best = i; }
    }
    return best;
  }

  makeDots(palette) {
    this.dots = makeSprites(palette, DOT_RADIUS, DOT_ALPHA, this.dpr);
    this.dotsFor = palette;
  }

  /**
   * @param {{image: HTMLCanvasElement, range: ViewState|null, edges: {x: number[], y: number[]}|null}|null} grid
   *   decodings to tile behind the points: over `range` evenly, or cell by cell between `edges`
   * @param {{decodability: {image: HTMLCanvasElement, range: ViewState}|null,
   *          holes: {image: HTMLCanvasElement, range: ViewState}|null, prior: boolean, ellipses: boolean}} layers
   */
  drawBase(view, points, hidden, palette, grid, layers = { decodability: null, holes: null, prior: false, ellipses: false }) {
    const t0 = performance.now();
    this.baseDirty = false;
    if (!this.dots || this.dotsFor !== palette) this.makeDots(palette);
    this.project(view, points);
    const ctx = this.baseCtx, dpr = this.dpr, r = view.rect();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.left, r.top, r.width, r.height);
    ctx.clip();
    if (grid) drawGrid(ctx, view, grid, GRID_ALPHA);
    if (layers.decodability) drawHoles(ctx, view, layers.decodability); // flat cells too
    if (layers.holes) drawHoles(ctx, view, layers.holes);
    if (layers.prior) drawPrior(ctx, view, this.font);
    // Points in the data's own (shuffled) order, so no digit is always drawn on top.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.drawnCounts = blendDots(ctx, r, dpr, this.dots, points, this.sx, this.sy, hidden);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.ellipsesDrawn = layers.ellipses ? drawAllEllipses(ctx, view, points, this, hidden, palette, r) : 0;
    ctx.restore();
    this.drawAxes(ctx, view);
    this.baseMs = performance.now() - t0;
  }

  drawAxes(ctx, view) {
    const r = view.rect(), range = view.range(), k = this.scale, tick = 4 * k;
    ctx.strokeStyle = ctx.fillStyle = "#222";
    ctx.lineWidth = 1;
    ctx.strokeRect(Math.round(r.left) + 0.5, Math.round(r.top) + 0.5, Math.round(r.width), Math.round(r.height));
    ctx.font = `${Math.round(11 * k)}px ${this.font}`;
    const step = niceStep(range.x[1] - range.x[0], r.width / (70 * k));
    ctx.beginPath();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let v = Math.ceil(range.x[0] / step) * step; v <= range.x[1] + 1e-9; v += step) {
      const x = Math.round(view.toScreen(v, 0)[0]) + 0.5;
      ctx.moveTo(x, r.top + r.height);
      ctx.lineTo(x, r.top + r.height + tick);
      ctx.fillText(formatTick(v, step), x, r.top + r.height + tick + 2 * k);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = Math.ceil(range.y[0] / step) * step; v <= range.y[1] + 1e-9; v += step) {
      const y = Math.round(view.toScreen(0, v)[1]) + 0.5;
      ctx.moveTo(r.left, y);
      ctx.lineTo(r.left - tick, y);
      ctx.fillText(formatTick(v, step), r.left - tick - 3 * k, y);
    }
    ctx.stroke();
    ctx.font = `italic ${Math.round(13 * k)}px ${this.font}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    ctx.fillText("z\u2081", r.left + r.width / 2, r.top + r.height + 32 * k);
    ctx.save();
    ctx.translate(r.left - 36 * k, r.top + r.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("z\u2082", 0, 0);
    ctx.restore();
  }

  /**
   * The base with this frame's overlays.
   * @param {{selection: Z|null, hover: Z|null, drag: {start: Z, end: Z, frames: number, live: boolean}|null,
   *          ellipses: {mu: Z, sigma: Z, colour: string}[], marks?: {z: Z, kind: ("sample"|"drawn"), label?: string}[]}}
   *          overlays  ellipses: 1 and 2 sigma, axis-aligned
   */
  drawFrame(view, { selection, hover, drag, ellipses = [], marks }) {
    const ctx = this.ctx, dpr = this.dpr, r = view.rect();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.base, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.left, r.top, r.width, r.height);
    ctx.clip();
    for (const e of ellipses) drawEllipse(ctx, view, e);
    if (drag) this.drawDrag(ctx, view, drag);
    if (marks) drawMarks(ctx, view, marks);
    if (selection) this.drawCross(ctx, view.toScreen(selection[0], selection[1]));
    if (hover) {
      const [sx, sy] = view.toScreen(hover[0], hover[1]);
      ctx.beginPath();
      ctx.arc(sx, sy, 5, 0, 2 * Math.PI);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "#000";
      ctx.stroke();
    }
    ctx.restore();
  }

  drawCross(ctx, [sx, sy]) {
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#111";
    ctx.beginPath();
    for (const [ax, ay, bx, by] of [[-9, 0, -4, 0], [4, 0, 9, 0], [0, -9, 0, -4], [0, 4, 0, 9]]) {
      ctx.moveTo(sx + ax, sy + ay);
      ctx.lineTo(sx + bx, sy + by);
    }
    ctx.stroke();
  }

  /** The strip's line with a dot per frame: dashed while the drag is live, solid once it is done. */
  drawDrag(ctx, view, { start, end, frames, live }) {
    const [ax, ay] = view.toScreen(start[0], start[1]);
    const [bx, by] = view.toScreen(end[0], end[1]);
    ctx.lineWidth = live ? 1.5 : 2;
    ctx.strokeStyle = "rgba(0,0,0,0.8)";
    if (!live) {
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.lineWidth = 4;
      ctx.stroke();
      ctx.strokeStyle = "rgba(0,0,0,0.85)";
      ctx.lineWidth = 2;
    }
    ctx.setLineDash(live ? [4, 3] : []);
    ctx.beginPath();
    ctx.moveTo(ax, ay);
    ctx.lineTo(bx, by);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#000";
    for (let k = 0; k < frames; k++) {
      const t = k / (frames - 1);
      ctx.beginPath();
      ctx.arc(ax + t * (bx - ax), ay + t * (by - ay), k === 0 || k === frames - 1 ? 3.5 : 2, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}
