// The interpolation strip under the plot: decodings at evenly spaced points of the line from the
// drag's start to the pointer, between the real test images nearest the two ends.

import { verdictTag, verdictText } from "./cnn.js";
import { el, ImageView } from "./dom.js";
import { point } from "./format.js";
import { nearest } from "./latent.js";

const BUDGET_MS = 1; // per task of middle-frame decodes, after which the rest wait for the next task

const same = (a, b) => !!a && !!b && a[0] === b[0] && a[1] === b[1];
/** Test digit i if the point is one, else the test digit encoded nearest z. */
const nearestTest = (points, z, i) => (i >= 0 ? i : nearest(points.mu, points.n, z, 1).indices[0]);

const JUDGE_AFTER_MS = 120; // a finished strip still this long is judged (a dial may be turning it)

export class Strip {
  /** @param {(ms: number) => void} onTask told the work of each task that refreshed middle frames */
  constructor(root, frames, shape, onTask = () => {}) {
    this.shape = shape; // [H, W]
    this.frames = Array.from({ length: frames }, () => ({
      view: new ImageView(shape, "lp-strip-frame", "strip-frame"), z: null, pixels: new Float32Array(shape[0] * shape[1]),
      tag: el("span", { class: "lp-tag", "data-testid": "strip-tag" }),
    }));
    this.startImage = new ImageView(shape, "lp-strip-end", "strip-start");
    this.endImage = new ImageView(shape, "lp-strip-end", "strip-end");
    this.ends = [-1, -1]; // test digits shown at the two ends
    this.drag = null; // {start, startIndex, end} while a drag is in progress
    this.done = null; // DragEvent of the finished drag the strip shows
    this.doneStartPixels = null; // its start's own image (a drawn digit's), if it has one
    this.cursor = 1; // the middle frame to refresh next during a live drag
    this.decoder = null; // the live drag's decoder; null once the model changes, until the next frame
    this.refreshPending = false;
    this.onTask = onTask;
    this.judge = null; // the DigitCnn (cnn.js) that judges a finished strip's frames; null: none
    this.judgeTimer = null; // set while the finished strip waits to be judged
    this.verdicts = []; // its verdict on each frame of the finished strip
    // Middle frames are decoded in tasks of their own, posted after the animation frame that moved
    // the pointer: that frame paints the pointer's decode without waiting for them. A channel's
    // message runs as soon as the thread is free; nested timeouts would wait 4 ms each.
    this.channel = new MessageChannel();
    this.channel.port1.onmessage = () => this.refreshMiddle();
    this.caption = el("div", { class: "lp-strip-caption", "data-testid": "strip-caption" },
                      "Drag from one digit to another to interpolate between them.");
    // Each frame with the classifier's verdict in its corner, once the strip is finished.
    const framed = this.frames.map((f) => el("div", { class: "lp-tagged" }, f.view.canvas, f.tag));
    root.replaceChildren(el("div", { class: "lp-strip-row" }, this.startImage.canvas, ...framed, this.endImage.canvas),
                         this.caption);
  }

  get length() {
    return this.frames.length;
  }

  /** The line the strip decodes, live or finished, as the renderer draws it; null before any drag. */
  path() {
    const line = this.drag || this.done;
    return line ? { start: line.start, end: line.end, frames: this.frames.length, live: !!this.drag } : null;
  }

  /**
   * A drag starts at z, on test digit startIndex or -1; the end's digit is known on release.
   * `startPixels` (H*W in [0, 1]): the start's own image, shown instead of the nearest test digit's.
   */
  begin(model, images, start, startIndex, startPixels = null) {
    this.drag = { start, startIndex, end: start, startPixels };
    this.invalidate();
    this.showEnds(nearestTest(model.points, start, startIndex), -1, images, startPixels);
    this.caption.textContent = "Interpolation from the drag's start to the pointer";
  }

  /** The drag ends at z (test digit endIndex or -1): every frame decoded; returns the DragEvent. */
  end(model, images, end, endIndex) {
    const { start, startIndex, startPixels } = this.drag;
    this.drag = null;
    return this.show(model, images, start, startIndex, end, endIndex, startPixels);
  }

  cancel() {
    this.drag = null;
  }

  close() {
    this.channel.port1.close();
  }

  /**
   * A new model: a drag's test digits move to where it encodes them, free ends stay; the strip
   * is decoded again. Returns the finished drag as it now is, or null if there is none.
   */
  follow(model, images) {
    const n = model.points.n, mu = model.points.mu;
    const index = (i) => (i !== null && i >= 0 && i < n ? i : -1);
    const at = (z, i) => (i >= 0 ? [mu[2 * i], mu[2 * i + 1]] : z);
    if (this.drag) {
      this.drag.startIndex = index(this.drag.startIndex);
      this.drag.start = at(this.drag.start, this.drag.startIndex);
      this.invalidate();
    }
    if (!this.done) return null;
    const d = this.done, si = index(d.start_index), ei = index(d.end_index);
    return this.show(model, images, at(d.start, si), si, at(d.end, ei), ei, this.doneStartPixels);
  }

  /** The drawn digit the finished strip starts at has a new mu (a new model encoded it): the strip
   * starts there now. Returns the finished drag as it now is, or null if the strip does not start
   * at a drawn digit. */
  moveDrawnStart(model, images, mu) {
    const d = this.done;
    if (!d || !this.doneStartPixels) return null;
    const endIndex = d.end_index === null ? -1 : d.end_index;
    return this.show(model, images, [mu[0], mu[1]], -1, d.end, endIndex, this.doneStartPixels);
  }

  /** Decode start -> end and show the real test digits at (or nearest) the ends; the DragEvent. */
  show(model, images, start, startIndex, end, endIndex, startPixels = null) {
    this.finish(model.decoder, start, end, !!startPixels);
    this.showEnds(nearestTest(model.points, start, startIndex), nearestTest(model.points, end, endIndex), images,
                  startPixels);
    this.doneStartPixels = startPixels;
    this.done = { start, end, start_index: startIndex >= 0 ? startIndex : null, end_index: endIndex >= 0 ? endIndex : null };
    return this.done;
  }

  targets(start, end) {
    const n = this.frames.length;
    return this.frames.map((_, k) => {
      const t = k / (n - 1);
      return k === n - 1 ? [end[0], end[1]] : [start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])];
    });
  }

  decodeFrame(decoder, frame, z) {
    decoder.decodeInto(z[0], z[1], frame.pixels);
    frame.view.showFloat(frame.pixels);
    frame.z = z;
  }

  /**
   * One animation frame of a drag, after the pointer's decode (`livePixels`, at `end`): the first
   * frame once and the last a copy of the live decode; the middle ones follow in their own tasks.
   */
  live(decoder, start, end, livePixels) {
    const first = this.frames[0], last = this.frames[this.frames.length - 1];
    if (!same(first.z, start)) this.decodeFrame(decoder, first, [start[0], start[1]]);
    last.pixels.set(livePixels);
    last.view.showFloat(last.pixels);
    last.z = [end[0], end[1]];
    this.decoder = decoder;
    this.requestRefresh();
  }

  requestRefresh() {
    if (this.refreshPending) return;
    this.refreshPending = true;
    this.channel.port2.postMessage(null);
  }

  /** The middle frames of the drag's line as it is now, stalest first, for at most BUDGET_MS (at
   * least one); another task follows while any is stale, so the strip always catches up. */
  refreshMiddle() {
    this.refreshPending = false;
    if (!this.drag || !this.decoder) return;
    const t0 = performance.now(), targets = this.targets(this.drag.start, this.drag.end), n = this.frames.length;
    const first = this.cursor;
    let stale = false;
    for (let tries = 0; tries < n - 2; tries++) {
      const k = 1 + ((first - 1 + tries) % (n - 2));
      if (same(this.frames[k].z, targets[k])) continue;
      if (performance.now() - t0 > BUDGET_MS) {
        stale = true;
        break;
      }
      this.decodeFrame(this.decoder, this.frames[k], targets[k]);
      this.cursor = 1 + (k % (n - 2));
    }
    this.onTask(performance.now() - t0);
    if (stale) this.requestRefresh();
  }

  /** Every frame decoded on the line from start to end; `drawn`: the start is a drawn digit's code. */
  finish(decoder, start, end, drawn = false) {
    this.targets(start, end).forEach((z, k) => this.decodeFrame(decoder, this.frames[k], z));
    // Judged once the strip has been still for JUDGE_AFTER_MS, never while it follows a drag or a
    // turning dial: ten verdicts cost about ten milliseconds, a frame's budget is a few.
    this.verdicts = [];
    for (const f of this.frames) { f.view.canvas.title = ""; f.tag.textContent = ""; }
    clearTimeout(this.judgeTimer);
    this.judgeTimer = this.judge ? setTimeout(() => this.judgeFrames(), JUDGE_AFTER_MS) : null;
    const ends = drawn ? "from your drawn digit to the real test digit nearest the end"
                       : "between the real test digits nearest the ends";
    this.caption.textContent = `${this.frames.length} decodings from z = ${point(start, 2)} to ${point(end, 2)}, ${ends}`;
  }

  /** The classifier's verdict on each frame, in its corner and its tooltip. */
  judgeFrames() {
    this.judgeTimer = null;
    this.verdicts = this.frames.map((f) => this.judge.judge(f.pixels));
    this.frames.forEach((f, k) => {
      const v = this.verdicts[k];
      f.view.canvas.title = verdictText(v);
      f.tag.textContent = verdictTag(v);
      f.tag.classList.toggle("lp-tag-none", !v.recognised);
    });
  }

  /** The real test images at the ends, shown once the store has them. */
  showEnds(startIndex, endIndex, images, startPixels = null) {
    this.ends = [startIndex, endIndex];
    const paint = () => {
      if (this.ends[0] !== startIndex || this.ends[1] !== endIndex) return; // newer ends are shown
      for (const [view, i] of [[this.startImage, startIndex], [this.endImage, endIndex]]) {
        const bytes = images.get(i);
        if (view === this.startImage && startPixels) view.showFloat(startPixels, "own");
        else if (bytes) view.showBytes(bytes, i); else view.clear();
      }
    };
    paint();
    images.load([startIndex, endIndex]).then(paint, () => {});
  }

  /** Forget what is drawn so the next live frame decodes everything again (a new drag, a new decoder). */
  invalidate() {
    for (const f of this.frames) f.z = null;
    this.decoder = null;
  }
}
