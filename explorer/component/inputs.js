// What a person brings to the plane besides the test digits, in tabs over the panel beside the
// plot: "Point" (the decode panel), "Samples" (z ~ N(0, I), decoded) and "Draw" (a digit drawn by
// hand, encoded here at each pen-up and shown with q(z|x), its KL, its reconstruction, and on the
// plane as a mark with its 1 and 2 sigma ellipse, from which a drag can start).

import { el, ImageView } from "./dom.js";
import { Encoder } from "./encoder.js";
import { DrawPad, PAD, toMnist } from "./drawpad.js";
import { number, point } from "./format.js";
import { fetchOnce } from "./protocol.js";
import { SampleGallery, hitMark } from "./samples.js";

export const TABS_H = 30; // CSS px of the tab row, matched by plane.css
const DRAWN_COLOUR = "#000";

export class Inputs {
  /** @param {{requestFrame: () => void, select: (z: Z, index: number) => void, drawnMoved: (mu: Z) => void}} plane */
  constructor(shape, pointPane, plane) {
    this.shape = shape;
    this.plane = plane;
    this.decoder = null; // the model's, for samples and the reconstruction
    this.encoderFile = null; // {url, sizes, dial} of the shown model's encoder
    this.lam = null; // a dial's lambda, which its encoder encodes at
    this.encoder = null; // {url, net: Encoder} made from it, once fetched
    this.encoderWanted = null; // the URL being fetched
    this.drawn = null; // {input, mu, logvar, sigma, kl, recon, penUp, ms}: the drawn digit, encoded
    this.tab = "point"; // the pane shown
    this.samples = new SampleGallery(shape, { pick: (z) => plane.select(z, -1) });
    this.pad = new DrawPad({ stroke: (t) => this.encodeDrawn(t), clear: () => this.clearDrawn() });
    this.input = new ImageView(shape, "lp-draw-image", "draw-input");
    this.recon = new ImageView(shape, "lp-draw-image", "draw-recon");
    this.stats = el("div", { class: "lp-draw-stats", "data-testid": "draw-stats" });
    const figure = (view, caption) => el("figure", { class: "lp-draw-figure" }, view.canvas, el("figcaption", {}, caption));
    const drawPane = el("div", { class: "lp-draw-pane" }, this.pad.canvas,
                        el("div", { class: "lp-draw-row" }, this.pad.clearButton,
                           el("span", { class: "lp-draw-hint" }, "Draw a digit: it is encoded at each pen-up.")),
                        el("div", { class: "lp-draw-row" }, figure(this.input, "28\u00d728 input"),
                           figure(this.recon, "decode of \u03bc"), this.stats));
    this.panes = { point: pointPane, samples: this.samples.root, draw: drawPane };
    this.buttons = {};
    const bar = el("div", { class: "lp-tab-row", role: "tablist" }, ...Object.keys(this.panes).map((name) => {
      const b = el("button", { class: "lp-tab", type: "button", role: "tab", "data-testid": `tab-${name}` },
                   name[0].toUpperCase() + name.slice(1));
      b.addEventListener("click", () => this.show(name));
      this.buttons[name] = b;
      return b;
    }));
    this.root = el("div", { class: "lp-panel lp-tabs", "data-testid": "panel-tabs" }, bar, ...Object.values(this.panes));
    this.clearDrawn();
    this.show("point");
  }

  show(name) {
    for (const [n, pane] of Object.entries(this.panes)) {
      pane.hidden = n !== name;
      this.buttons[n].setAttribute("aria-selected", String(n === name));
    }
    this.tab = name;
    if (name === "draw") this.wantEncoder();
  }

  /**
   * The tabs' height in px beside the plot, fixed so that switching tabs moves nothing; null: as
   * tall as their content (compact, under the plot). `grow`: at least that tall, taller if their
   * content needs it (presentation mode, whose large text must not be cut off).
   */
  setHeight(total, grow = false) {
    const px = (v) => (total === null ? "" : `${v}px`);
    Object.assign(this.root.style, { height: grow ? "" : px(total), minHeight: grow ? px(total) : "" });
    for (const pane of Object.values(this.panes)) {
      Object.assign(pane.style, { height: grow ? "" : px(total - TABS_H), minHeight: grow ? px(total - TABS_H) : "" });
    }
  }

  /** Python's settings for the samples: a new set is decoded and shown. */
  setData(data) {
    if (!this.samples.set(data.samples || null)) return;
    if (this.decoder) this.samples.show(this.decoder);
    if (data.samples) this.show("samples");
    this.plane.requestFrame();
  }

  /** A new model (`data` names its files), or a dial turned: its decoder now; the drawn digit waits
   * for its encoder. */
  setModel(model, data) {
    this.decoder = model.decoder;
    this.lam = model.dial ? model.dial.lam : null;
    this.samples.show(this.decoder);
    const url = data.encoder_url;
    this.encoderFile = url ? { url, sizes: data.encoder_sizes, dial: data.dial } : null;
    if (this.encoder && this.encoder.url !== url) this.encoder = null;
    if (this.encoderWanted !== url) this.encoderWanted = null; // an old model's encoder on its way
    if (this.tab === "draw" || this.pad.inked) this.wantEncoder();
    this.encodeDrawn(null);
  }

  /** Fetch the shown model's encoder: when the Draw tab first opens, as only a drawn digit needs it. */
  wantEncoder() {
    const file = this.encoderFile, url = file && file.url;
    if (!url || (this.encoder && this.encoder.url === url) || this.encoderWanted === url) return;
    this.encoderWanted = url;
    fetchOnce(url).then((buffer) => {
      if (this.encoderWanted !== url) return;
      this.encoderWanted = null;
      this.encoder = { url, net: new Encoder(buffer, file.sizes, file.dial) };
      if (this.pad.inked) this.encodeDrawn(null);
      else this.warmUp();
    }, (err) => {
      if (this.encoderWanted !== url) return;
      this.encoderWanted = null;
      this.stats.textContent = `could not load the encoder: ${err.message}`;
    });
  }

  /** Run the pen-up's work once on made-up ink while nobody waits, so that the first real
   * pen-up does not also pay for compiling it. */
  warmUp() {
    const ink = new Float64Array(PAD * PAD);
    for (let y = 40; y < 180; y++) for (let x = 100; x < 118; x++) ink[y * PAD + x] = 1;
    this.encoder.net.setLam(this.lam);
    const { mu } = this.encoder.net.encode(toMnist(ink, PAD));
    this.decoder.decodeInto(mu[0], mu[1], new Float32Array(this.shape[0] * this.shape[1]));
  }

  /** Encode what the pad holds; `penUp` is the event time that asked for it (null: a new model). */
  encodeDrawn(penUp) {
    const input = this.pad.inked ? toMnist(this.pad.ink(), PAD) : null;
    if (!input) { this.clearDrawn(); return; }
    this.input.showFloat(input, "drawn");
    if (!this.encoder || !this.decoder) {
      this.drawn = null;
      this.stats.textContent = this.encoderFile ? "loading the encoder\u2026" : "this model file has no encoder";
      this.wantEncoder();
      this.plane.requestFrame();
      return;
    }
    this.encoder.net.setLam(this.lam);
    const { mu, logvar } = this.encoder.net.encode(input);
    const sigma = logvar.map((v) => Math.exp(0.5 * v));
    let kl = 0;
    for (let d = 0; d < mu.length; d++) kl += 0.5 * (mu[d] * mu[d] + Math.exp(logvar[d]) - logvar[d] - 1);
    const recon = this.decoder.decodeInto(mu[0], mu[1], new Float32Array(this.shape[0] * this.shape[1]));
    this.recon.showFloat(recon, "drawn");
    this.drawn = { input, mu, logvar, sigma, kl, recon, penUp, ms: null };
    if (penUp === null) this.plane.drawnMoved(mu); // encoded again, by a new model
    this.stats.replaceChildren(el("div", {}, `q(z|x): \u03bc = ${point(mu)}`), el("div", {}, `\u03c3 = ${point(sigma)}`),
                               el("div", {}, "KL = ", el("b", { "data-testid": "draw-kl" }, `${number(kl, 2)} nats`)));
    this.plane.requestFrame();
  }

  clearDrawn() {
    this.drawn = null;
    this.input.clear();
    this.recon.clear();
    this.stats.textContent = "";
    this.plane.requestFrame();
  }

  /** @returns {{z: Z, kind: string, label?: string}[]} what to mark on the plane */
  marks() {
    const marks = this.samples.marks();
    if (this.drawn) marks.push({ z: this.drawn.mu, kind: "drawn", label: "drawn" });
    return marks;
  }

  /** The drawn digit's q(z|x), for the renderer's 1 and 2 sigma ellipses. */
  ellipses() {
    return this.drawn ? [{ mu: this.drawn.mu, sigma: this.drawn.sigma, colour: DRAWN_COLOUR }] : [];
  }

  /** The mark at canvas (sx, sy) as {z, index: -1, pixels} (the drawn digit's image for its mark), or null. */
  hit(view, sx, sy) {
    const mark = hitMark(this.marks(), view, sx, sy);
    if (!mark) return null;
    return { z: [mark.z[0], mark.z[1]], index: -1,
             pixels: mark.kind === "drawn" ? Float32Array.from(this.drawn.input) : null };
  }

  /** A frame was drawn at `now` with the marks: the first one after a pen-up times it. */
  painted(now) {
    const d = this.drawn;
    if (d && d.penUp !== null && d.ms === null) d.ms = now - d.penUp;
  }
}
