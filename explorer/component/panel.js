// The decode panel beside the plot: the decoder's image large (at the pointer while it is over
// the plot, else at the selected point), and what is known about the selected point: z, for a
// test digit its label, q(z|x) and KL, the verdict whether the point sits within the data (by the
// aggregate posterior's density there), and the nearest training digits. Its size is fixed by
// CSS, so filling it moves nothing.

import { verdictText } from "./cnn.js";
import { HOLE_RATIO, logAggregatePosterior, logPrior } from "./density.js";
import { el, ImageView } from "./dom.js";
import { number, point, powerOfTen } from "./format.js";
import { nearest, pointStats } from "./latent.js";


const POWER_LIMIT = 300; // beyond 10^±300 an exponent says nothing a person can use

/** q/p = exp(logRatio) in words: "3.2 times", "0.5% of", "about 10⁻⁴⁰ times", "less than 10⁻³⁰⁰ of". */
export function ratioWords(logRatio) {
  const r = Math.exp(logRatio), power = Math.round(logRatio / Math.LN10);
  if (power > POWER_LIMIT) return `more than ${powerOfTen(POWER_LIMIT)} times`;
  if (power < -POWER_LIMIT) return `less than ${powerOfTen(-POWER_LIMIT)} of`;
  if (logRatio > Math.log(1e4) || logRatio < Math.log(1e-4)) return `about ${powerOfTen(power)} times`;
  if (r >= 1) return `${r.toFixed(r < 10 ? 1 : 0)} times`;
  const percent = 100 * r;
  return `${percent.toPrecision(percent < 1 ? 1 : 2)}% of`;
}

export class DecodePanel {
  constructor(shape) {
    this.shape = shape;
    this.title = el("div", { class: "lp-panel-title", "data-testid": "decode-title" }, "Decoder output");
    this.decode = new ImageView(shape, "lp-decode", "decode");
    this.decodeZ = el("div", { class: "lp-decode-z", "data-testid": "decode-z" }, "\u00a0");
    this.verdictLine = el("div", { class: "lp-judge", "data-testid": "decode-judge",
                                   title: "A small CNN trained on MNIST's training digits judges the decode: a digit " +
                                          "when it gives one class 90% or more, \u201cno digit\u201d otherwise" });
    this.judge = null; // the DigitCnn (cnn.js) decodes are judged by; null: none
    this.judgeTimer = null; // a pointer decode's verdict waits for the frame to be drawn
    this.z = el("div", { class: "lp-panel-z", "data-testid": "panel-z" });
    this.digitImage = new ImageView(shape, "lp-digit-image", "digit-image");
    this.digitText = el("div", { class: "lp-digit-text", "data-testid": "panel-digit" });
    this.digit = el("div", { class: "lp-digit" }, this.digitImage.canvas, this.digitText);
    this.neighboursTitle = el("div", { class: "lp-neighbours-title" });
    this.neighbours = el("div", { class: "lp-neighbours", "data-testid": "neighbours" });
    this.verdict = el("div", { class: "lp-verdict", "data-testid": "verdict" });
    this.cells = []; // [{view, caption}] one per neighbour shown
    this.kind = null; // whose images the cells show: "training" or "test" digits
    this.shownIndices = []; // training images the cells show, to paint them when they arrive
    this.digitIndex = -1; // the test digit selected, to paint its image when it arrives
    this.selected = null; // {z, index}: the clicked point; index of its test digit, or -1
    this.selectedPixels = null; // its decode
    this.hint = el("div", { class: "lp-panel-hint", "data-testid": "panel-hint" },
                   "Click a point or empty space to decode it here. Drag from one digit to another to " +
                   "interpolate. Wheel: zoom; shift-drag or right-drag: pan.");
    this.selection = el("div", { class: "lp-selection", "data-testid": "selection" }, this.z, this.digit,
                        this.neighboursTitle, this.neighbours, this.verdict);
    this.root = el("div", { class: "lp-panel", "data-testid": "decode-panel" }, this.title, this.decode.canvas,
                   this.decodeZ, this.verdictLine, this.hint, this.selection);
    this.clearSelection();
  }

  /** A new selection: z, on test digit index or -1. */
  select(z, index) {
    this.selected = { z, index };
  }

  /** A new model: a selected test digit moves to where it encodes it; a free z stays. */
  follow(model) {
    const s = this.selected;
    if (!s) return;
    const i = s.index < model.points.n ? s.index : -1;
    this.selected = { z: i >= 0 ? [model.points.mu[2 * i], model.points.mu[2 * i + 1]] : s.z, index: i };
  }

  /**
   * Show the selection as the model sees it: its decode (in the big image too unless `pointerShown`),
   * its test digit's figures, and its neighbours among `train` (null: still loading).
   * @param {{model: Model, train: TrainPoints|null, data: PlaneData, testImages: ImageStore, trainImages: ImageStore}} from
   */
  refresh({ model, train, data, testImages, trainImages }, pointerShown) {
    const sel = this.selected;
    if (!sel || !model) { this.clearSelection(); return; }
    const { decoder, points } = model;
    if (!this.selectedPixels || this.selectedPixels.length !== this.shape[0] * this.shape[1]) {
      this.selectedPixels = new Float32Array(this.shape[0] * this.shape[1]);
    }
    decoder.decodeInto(sel.z[0], sel.z[1], this.selectedPixels);
    if (!pointerShown) this.showDecode(this.selectedPixels, sel.z, false);
    const stats = sel.index >= 0 ? pointStats(points, sel.index) : null;
    this.showSelection(sel.z, sel.index, sel.index >= 0 ? points.labels[sel.index] : null, stats, testImages);
    this.showVerdict(logAggregatePosterior(points, sel.z[0], sel.z[1]), logPrior(sel.z[0], sel.z[1]), model.level);
    const k = data.neighbours_k;
    if (model.dial) { // a dial's training codes are at one lambda only: the neighbours are test digits, at this one
      const found = nearest(points.mu, points.n, sel.z, k + 1), keep = found.indices.map((i) => i !== sel.index);
      const pick = (a) => a.filter((_, j) => keep[j]).slice(0, k);
      this.showNeighbours({ indices: pick(found.indices), distances: pick(found.distances) }, points.labels, testImages,
                          "test");
      return;
    }
    if (!train) { this.neighboursLoading(k); return; }
    this.showNeighbours(nearest(train.mu, train.n, sel.z, k), train.labels, trainImages, "training");
  }

  /**
   * Within the data when log q(z) is above the level 99% of q's own mass lies above (its 99%
   * highest-density region), and q against the prior there in words: a hole when q < 1% of p.
   */
  showVerdict(logQ, logP, level) {
    const within = logQ >= level, hole = logQ - logP < Math.log(HOLE_RATIO);
    this.verdict.dataset.within = String(within);
    this.verdict.dataset.hole = String(hole);
    this.verdict.dataset.logQ = String(logQ);
    const lead = within ? "Within the data: the test digits' codes are dense here, so the decoder was trained on " +
                          "codes like this one. "
                        : "Off the data: outside the region that holds 99% of the test digits' codes (their " +
                          "aggregate posterior q(z)), so the decode is the decoder's own invention. ";
    const ratio = `q(z) is ${ratioWords(logQ - logP)} the prior's density p(z)`;
    // The short form is what presentation mode shows (plane.css), where the panel's text is large.
    this.verdict.replaceChildren(
      el("span", { class: "lp-verdict-long" }, lead + `Here ${ratio}` + (hole ? ": a hole, where samples from the " +
                                                "prior decode to what the encoder never produces." : ".")),
      el("span", { class: "lp-verdict-short" }, `${within ? "Within" : "Off"} the data${hole ? ", a hole" : ""}: ${ratio}.`));
  }

  /** The big image: `pixels` decoded at z, `atPointer` or at the selection. */
  showDecode(pixels, z, atPointer) {
    this.decode.showFloat(pixels, z);
    const title = atPointer ? "Decoder at the pointer" : "Decoder at the selected point";
    if (this.title.textContent !== title) this.title.textContent = title; // unchanged text: no relayout
    this.decodeZ.textContent = `z = ${point(z)}`;
    clearTimeout(this.judgeTimer);
    this.judgeTimer = null;
    if (!this.judge) return;
    // The verdict once the frame is drawn, the latest only, so the classifier (a few ms) never
    // lengthens a frame of a hover, a drag or a turning dial.
    const copy = Float32Array.from(pixels);
    this.judgeTimer = setTimeout(() => { this.judgeTimer = null; this.showVerdictOf(copy); }, 0);
  }

  /** The classifier's verdict on a decode, in words. */
  showVerdictOf(pixels) {
    const v = this.judge.judge(pixels);
    this.verdictLine.textContent = `Classifier: ${verdictText(v)}`;
    this.verdictLine.classList.toggle("lp-judge-none", !v.recognised);
  }

  /** Decodes are judged by `judge` (a DigitCnn) from now on; null: not judged. */
  setJudge(judge) {
    this.judge = judge;
    if (!judge) this.verdictLine.textContent = "";
  }

  clearDecode() {
    this.decode.clear();
    this.title.textContent = "Decoder output";
    this.decodeZ.textContent = "\u00a0";
    clearTimeout(this.judgeTimer);
    this.judgeTimer = null;
    this.verdictLine.textContent = "";
  }

  /**
   * The selected point; for a test digit (index >= 0) also its label and q(z|x).
   * @param {{mu: number[], sigma: number[], kl: number}|null} stats
   */
  showSelection(z, index, label, stats, testImages) {
    this.hint.hidden = true;
    this.selection.hidden = false;
    this.z.textContent = `Selected z = ${point(z)}`;
    this.digit.hidden = index < 0;
    if (index < 0) return;
    this.digitText.replaceChildren(
      el("div", {}, el("b", {}, `digit ${label}`), ` \u00b7 test #${index}`),
      el("div", {}, `q(z|x): \u03bc = ${point(stats.mu)}, \u03c3 = ${point(stats.sigma)}`),
      el("div", {}, "KL(q(z|x) \u2016 N(0, I)) = ", el("b", { "data-testid": "panel-kl" }, `${number(stats.kl, 2)} nats`)));
    this.digitImage.clear();
    this.digitIndex = index;
    const paint = () => {
      const bytes = testImages.get(index);
      if (bytes && this.digitIndex === index) this.digitImage.showBytes(bytes, index);
    };
    paint();
    testImages.load([index]).then(paint, () => {});
  }

  clearSelection() {
    this.hint.hidden = false;
    this.selection.hidden = true;
    this.digitIndex = -1;
  }

  /** Neighbours not known yet: the training encodings are still on their way. */
  neighboursLoading(k) {
    this.neighboursTitle.textContent = `${k} nearest training digits`;
    this.neighbours.replaceChildren(el("div", { class: "lp-loading" }, "loading the training encodings\u2026"));
    this.cells = [];
    this.neighbours.dataset.ready = "false";
  }

  /**
   * The k nearest training (or test) digits (label \u00b7 latent distance), closest first.
   * @param {{indices: number[], distances: number[]}} found
   * @param {"training"|"test"} kind
   */
  showNeighbours(found, labels, images, kind) {
    const k = found.indices.length;
    if (this.cells.length !== k || this.kind !== kind) { // a cell shows image i of one kind's file
      this.kind = kind;
      this.cells = found.indices.map(() => ({ view: new ImageView(this.shape, "lp-neighbour-image", "neighbour-image"),
                                             caption: el("div", { class: "lp-neighbour-caption" }) }));
      this.neighbours.replaceChildren(...this.cells.map((c) => el("div", { class: "lp-neighbour",
                                                                        "data-testid": "neighbour" },
                                                                     c.view.canvas, c.caption)));
    }
    this.neighboursTitle.textContent = `${k} nearest ${kind} digits (digit \u00b7 latent distance)`;
    found.indices.forEach((i, j) => {
      const cell = this.cells[j];
      cell.caption.textContent = `${labels[i]} \u00b7 ${found.distances[j].toFixed(3)}`;
      cell.caption.parentElement.dataset.index = String(i);
      if (cell.view.shown !== i) cell.view.clear();
    });
    this.shownIndices = found.indices;
    const paint = () => this.cells.forEach((c, j) => {
      const i = this.shownIndices[j], bytes = images.get(i);
      if (bytes && c.view.shown !== i) c.view.showBytes(bytes, i);
    });
    paint();
    images.load(found.indices).then(paint, () => {});
    this.neighbours.dataset.ready = "true";
  }
}
