// The drawing pad: strokes with a mouse, a pen or a finger (Pointer Events), each pen-up ending a
// stroke; and its ink made into an MNIST image the way MNIST was made (LeCun et al. 1998), step
// for step as explorer/drawing.py does (the reference tests/browser/test_inputs.py holds this to).

import { el } from "./dom.js";

export const PAD = 224; // ink pixels per side, whatever the screen's pixel ratio
// Pen width in ink pixels: a digit drawn 140-180 px tall is scaled by 20/160 or so, which makes
// strokes 2-3 px wide, as MNIST's are.
const PEN = 18;
const FIELD = 28; // MNIST's side
const BOX = 20; // the ink's bounding box is scaled to fit this box, keeping its aspect ratio
const CENTRE = 14; // where MNIST's own digits have their centre of mass (pixel indices)

/** Overlap of output pixel [o, o + 1) with [a, a + f). */
const overlap = (o, a, f) => Math.max(0, Math.min(o + 1, a + f) - Math.max(o, a));

/**
 * The pad's ink (size x size, values in [0, 1], row-major) as a 28 x 28 MNIST image in [0, 1],
 * or null if there is no ink: 1. the bounding box scaled to fit BOX x BOX by area averaging
 * (exact fractional coverage, so no aliasing), centred in the field; 2. moved by the sub-pixel
 * amount that puts its centre of mass at (CENTRE, CENTRE), bilinear, zero outside.
 * @returns {Float64Array|null}
 */
export function toMnist(ink, size) {
  let y0 = size, y1 = -1, x0 = size, x1 = -1;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    if (ink[y * size + x] > 0) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
  }
  if (y1 < 0) return null;
  const h = y1 - y0 + 1, w = x1 - x0 + 1, f = BOX / Math.max(h, w);
  const oy = (FIELD - h * f) / 2, ox = (FIELD - w * f) / 2;
  // Columns first: rows (h, FIELD), then rows: boxed (FIELD, FIELD).
  const rows = new Float64Array(h * FIELD), boxed = new Float64Array(FIELD * FIELD);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = ink[(y0 + y) * size + x0 + x];
    if (v === 0) continue;
    const a = ox + x * f;
    for (let c = Math.max(0, Math.floor(a)); c < Math.min(FIELD, Math.ceil(a + f)); c++) rows[y * FIELD + c] += v * overlap(c, a, f);
  }
  for (let y = 0; y < h; y++) {
    const a = oy + y * f;
    for (let r = Math.max(0, Math.floor(a)); r < Math.min(FIELD, Math.ceil(a + f)); r++) {
      const k = overlap(r, a, f);
      for (let c = 0; c < FIELD; c++) boxed[r * FIELD + c] += k * rows[y * FIELD + c];
    }
  }
  let mass = 0, my = 0, mx = 0;
  for (let r = 0; r < FIELD; r++) for (let c = 0; c < FIELD; c++) {
    const v = boxed[r * FIELD + c];
    mass += v; my += r * v; mx += c * v;
  }
  const dy = CENTRE - my / mass, dx = CENTRE - mx / mass;
  const at = (r, c) => (r >= 0 && r < FIELD && c >= 0 && c < FIELD ? boxed[r * FIELD + c] : 0);
  const out = new Float64Array(FIELD * FIELD);
  for (let r = 0; r < FIELD; r++) for (let c = 0; c < FIELD; c++) {
    const sy = r - dy, sx = c - dx, r0 = Math.floor(sy), c0 = Math.floor(sx), ty = sy - r0, tx = sx - c0;
    const v = (1 - ty) * ((1 - tx) * at(r0, c0) + tx * at(r0, c0 + 1)) + ty * ((1 - tx) * at(r0 + 1, c0) + tx * at(r0 + 1, c0 + 1));
    out[r * FIELD + c] = Math.min(1, Math.max(0, v));
  }
  return out;
}

export class DrawPad {
  /** @param {{stroke: (t: number) => void, clear: () => void}} on  t: the pen-up event's timeStamp */
  constructor(on) {
    this.on = on;
    this.canvas = el("canvas", { class: "lp-pad", "data-testid": "draw-pad", width: PAD, height: PAD });
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.clearButton = el("button", { class: "lp-button", type: "button", "data-testid": "draw-clear" }, "Clear");
    this.clearButton.addEventListener("click", () => this.clear());
    this.pen = null; // {id, x, y}: the pointer drawing the current stroke
    this.inked = false;
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.down(e));
    c.addEventListener("pointermove", (e) => this.move(e));
    c.addEventListener("pointerup", (e) => this.up(e));
    c.addEventListener("pointercancel", (e) => this.up(e));
    c.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  at(e) {
    const b = this.canvas.getBoundingClientRect();
    return [((e.clientX - b.left) * PAD) / b.width, ((e.clientY - b.top) * PAD) / b.height];
  }

  down(e) {
    if (this.pen || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    const [x, y] = this.at(e);
    this.pen = { id: e.pointerId, x, y };
    const g = this.ctx;
    g.fillStyle = "#000";
    g.beginPath();
    g.arc(x, y, PEN / 2, 0, 2 * Math.PI);
    g.fill();
    this.inked = true;
  }

  move(e) {
    if (!this.pen || e.pointerId !== this.pen.id) return;
    const [x, y] = this.at(e), g = this.ctx;
    g.strokeStyle = "#000";
    g.lineWidth = PEN;
    g.lineCap = g.lineJoin = "round";
    g.beginPath();
    g.moveTo(this.pen.x, this.pen.y);
    g.lineTo(x, y);
    g.stroke();
    this.pen.x = x;
    this.pen.y = y;
  }

  up(e) {
    if (!this.pen || e.pointerId !== this.pen.id) return;
    if (e.type === "pointerup") this.move(e);
    this.pen = null;
    this.on.stroke(e.timeStamp);
  }

  /** The ink, PAD x PAD values in [0, 1] (the canvas's alpha). */
  ink() {
    const rgba = this.ctx.getImageData(0, 0, PAD, PAD).data, ink = new Float64Array(PAD * PAD);
    for (let k = 0; k < ink.length; k++) ink[k] = rgba[4 * k + 3] / 255;
    return ink;
  }

  clear() {
    this.ctx.clearRect(0, 0, PAD, PAD);
    this.pen = null;
    this.inked = false;
    this.on.clear();
  }
}
