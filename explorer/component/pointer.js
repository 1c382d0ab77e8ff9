// Pointer input on the plot, turned into intents: hover, click, drag (from a press on a point or
// in empty space), pan (shift-, middle- or right-drag) and zoom (wheel). What an intent does is
// the plane's business; this only tells them apart.

const DRAG_THRESHOLD = 4; // CSS px of movement before a press becomes a drag
const WHEEL_PER_PIXEL = 0.0015; // zoom exponent per wheel delta unit
const WHEEL_PER_LINE = 0.05;

/**
 * @typedef {Object} PointerHandlers
 * @property {() => boolean} ready               whether a press can start (points and view exist)
 * @property {() => void} moved                  the pointer moved or left: redraw
 * @property {(sx: number, sy: number, t: number) => void} click
 * @property {(press: Press) => void} dragStart
 * @property {(press: Press, sx: number, sy: number) => void} dragEnd
 * @property {(press: Press, dx: number, dy: number) => void} pan
 * @property {() => void} panEnd
 * @property {(sx: number, sy: number, factor: number) => void} zoom
 * @property {() => void} cancel                 a drag was interrupted
 */
/** @typedef {{sx: number, sy: number, mode: ("press"|"drag"|"pan"), view: Object|null}} Press */

export class PointerInput {
  /** @param {PointerHandlers} handlers */
  constructor(canvas, handlers, viewCopy) {
    this.canvas = canvas;
    this.handlers = handlers;
    this.viewCopy = viewCopy; // () => the view at the press, for panning from it
    /** @type {{sx: number, sy: number}|null} canvas CSS px, null while the pointer is elsewhere */
    this.pointer = null;
    /** @type {Press|null} */
    this.press = null;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", () => this.cancel());
    canvas.addEventListener("pointerleave", () => {
      if (!this.press) { this.pointer = null; handlers.moved(); }
    });
    canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  at(e) {
    const b = this.canvas.getBoundingClientRect();
    return [e.clientX - b.left, e.clientY - b.top];
  }

  get dragging() {
    return !!this.press && this.press.mode === "drag";
  }

  down(e) {
    if (!this.handlers.ready()) return;
    const pan = e.button === 1 || e.button === 2 || e.shiftKey;
    if (!pan && e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    const [sx, sy] = this.at(e);
    this.press = { sx, sy, mode: pan ? "pan" : "press", view: pan ? this.viewCopy() : null };
    this.pointer = { sx, sy };
  }

  move(e) {
    const [sx, sy] = this.at(e);
    this.pointer = { sx, sy };
    const p = this.press;
    if (p && p.mode === "pan") {
      this.handlers.pan(p, sx - p.sx, sy - p.sy);
      return;
    }
    if (p && p.mode === "press" && Math.hypot(sx - p.sx, sy - p.sy) > DRAG_THRESHOLD) {
      p.mode = "drag";
      this.handlers.dragStart(p);
    }
    this.handlers.moved();
  }

  up(e) {
    const p = this.press;
    this.press = null;
    if (!p) return;
    const [sx, sy] = this.at(e);
    this.pointer = { sx, sy };
    if (p.mode === "pan") this.handlers.panEnd();
    else if (p.mode === "press") this.handlers.click(p.sx, p.sy, e.timeStamp);
    else this.handlers.dragEnd(p, sx, sy);
  }

  cancel() {
    const p = this.press;
    this.press = null;
    if (p && p.mode === "drag") this.handlers.cancel();
    if (p && p.mode === "pan") this.handlers.panEnd();
  }

  wheel(e) {
    if (!this.handlers.ready()) return;
    e.preventDefault();
    const [sx, sy] = this.at(e);
    this.handlers.zoom(sx, sy, Math.exp(-e.deltaY * (e.deltaMode === 1 ? WHEEL_PER_LINE : WHEEL_PER_PIXEL)));
  }
}
