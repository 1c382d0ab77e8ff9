// Samples from the prior: z ~ N(0, I) from a seeded generator, decoded into a gallery (the
// decoder's mean image or one Bernoulli draw of every pixel), and the marks that samples and a
// drawn digit leave on the plane.

import { verdictTag, verdictText } from "./cnn.js";
import { el, ImageView } from "./dom.js";

const MARK_HIT = 7; // CSS px: a press this close to a mark is on it
const STREAM_Z = 0; // the generator's stream for z; stream 1 + i draws sample i's pixels
const SAMPLES_OFF = "Samples z ~ N(0, I) from the prior appear here, decoded, when they are switched on.";

// A counter-based generator: the k-th number of a stream is a hash of (seed, stream, k), so any
// number is made on its own and a seed always gives the same ones. The hash is mulberry32's
// output function (T. Ettinger) on the k-th step of its Weyl sequence, from a key made of the
// samples' seed number and the stream. Uniform on (0, 1), never 0, so ln u is finite.
function mix(a) {
  let t = Math.imul(a ^ (a >>> 15), a | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

export function uniform(seed, stream, k) {
  const key = mix((seed >>> 0) ^ mix((stream + 0x9e3779b9) >>> 0));
  return (mix((key + Math.imul(k + 1, 0x6d2b79f5)) >>> 0) + 0.5) / 4294967296;
}

/** n points of N(0, I) in 2-D from `seed`, by the Box-Muller transform (Box & Muller 1958). */
export function sampleZ(seed, n) {
  const zs = [];
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(uniform(seed, STREAM_Z, 2 * i)));
    const theta = 2 * Math.PI * uniform(seed, STREAM_Z, 2 * i + 1);
    zs.push([r * Math.cos(theta), r * Math.sin(theta)]);
  }
  return zs;
}

/** One draw of x ~ Bernoulli(p) per pixel for sample i of `seed`, into `out` (0 or 1). */
export function bernoulliInto(p, seed, i, out) {
  for (let k = 0; k < p.length; k++) out[k] = uniform(seed, 1 + i, k) < p[k] ? 1 : 0;
  return out;
}

// The gallery in the panel: one cell per sample, its decode (or pixel draw) large enough to read.
export class SampleGallery {
  constructor(shape, { pick }) {
    this.shape = shape;
    this.pick = pick; // (z) => void: a cell was clicked
    this.spec = null; // {n, seed, bernoulli} shown, or null
    this.zs = []; // Z per sample
    this.means = []; // Float32Array per sample: the decoder's pixel probabilities
    this.shown = []; // what each cell shows: the means, or their Bernoulli draws
    this.decodedBy = null; // the decoder the means come from
    this.judge = null; // the DigitCnn (cnn.js) that judges the means; null: none
    this.verdicts = []; // its verdict on each mean: {label, confidence, recognised}
    this.caption = el("div", { class: "lp-samples-caption", "data-testid": "samples-caption" }, SAMPLES_OFF);
    this.grid = el("div", { class: "lp-samples", "data-testid": "samples" });
    this.root = el("div", { class: "lp-samples-pane" }, this.caption, this.grid);
  }

  /** New settings from Python; true if they differ from those shown. */
  set(spec) {
    const same = (a, b) => (!a && !b) || (!!a && !!b && a.n === b.n && a.seed === b.seed && a.bernoulli === b.bernoulli);
    if (same(spec, this.spec)) return false;
    const newZ = !spec || !this.spec || spec.n !== this.spec.n || spec.seed !== this.spec.seed;
    this.spec = spec ? { n: spec.n, seed: spec.seed, bernoulli: !!spec.bernoulli } : null;
    if (newZ) {
      this.zs = spec ? sampleZ(spec.seed, spec.n) : [];
      this.decodedBy = null;
    }
    return true;
  }

  /** Decode the samples with `decoder` (again only if it or the settings changed) and paint them. */
  show(decoder) {
    if (!this.spec) {
      this.grid.replaceChildren();
      this.caption.textContent = SAMPLES_OFF;
      this.caption.hidden = false;
      return;
    }
    const pixels = this.shape[0] * this.shape[1];
    if (this.decodedBy !== decoder) {
      this.means = this.zs.map((z) => decoder.decodeInto(z[0], z[1], new Float32Array(pixels)));
      this.decodedBy = decoder;
    }
    const { seed, bernoulli } = this.spec;
    this.verdicts = this.judge ? this.means.map((p) => this.judge.judge(p)) : [];
    this.shown = bernoulli ? this.means.map((p, i) => bernoulliInto(p, seed, i, new Float32Array(pixels))) : this.means;
    this.grid.style.gridTemplateColumns = `repeat(${Math.ceil(Math.sqrt(this.zs.length))}, minmax(0, 64px))`;
    this.grid.replaceChildren(...this.shown.map((p, i) => {
      const view = new ImageView(this.shape, "lp-sample-image", "sample-image");
      view.showFloat(p, i);
      const v = this.verdicts[i];
      view.canvas.title = `z = (${this.zs[i][0].toFixed(2)}, ${this.zs[i][1].toFixed(2)})` + (v ? ` \u00b7 ${verdictText(v)}` : "");
      view.canvas.addEventListener("click", () => this.pick(this.zs[i]));
      if (!v) return view.canvas;
      const tag = el("span", { class: `lp-tag${v.recognised ? "" : " lp-tag-none"}`, "data-testid": "sample-tag" },
                     verdictTag(v));
      return el("div", { class: "lp-tagged" }, view.canvas, tag);
    }));
    this.caption.textContent = `${this.zs.length} samples z ~ N(0, I) (seed ${seed}), marked \u25c7 on the plane: ` +
      (bernoulli ? "one Bernoulli draw of every pixel, x ~ p(x|z)." : "the decoder's mean image, p(x|z)'s pixel probabilities.") +
      (this.judge ? ` A classifier recognises a digit in ${this.verdicts.filter((v) => v.recognised).length} of ` +
                    `${this.zs.length} means (hover one for its verdict).` : "");
    this.caption.hidden = false;
  }

  /** The means are judged by `judge` (a DigitCnn, or null) from now on. */
  setJudge(judge, decoder) {
    this.judge = judge;
    if (this.spec && decoder) this.show(decoder);
  }

  /** @returns {{z: Z, kind: string}[]} */
  marks() {
    return this.spec ? this.zs.map((z) => ({ z, kind: "sample" })) : [];
  }
}

/** The mark nearest canvas (sx, sy) within MARK_HIT, or null; the last drawn (on top) wins ties. */
export function hitMark(marks, view, sx, sy) {
  let best = null, bestD = MARK_HIT * MARK_HIT;
  for (const m of marks) {
    const [x, y] = view.toScreen(m.z[0], m.z[1]), d = (x - sx) ** 2 + (y - sy) ** 2;
    if (d <= bestD) { bestD = d; best = m; }
  }
  return best;
}

/**
 * Marks over the scatter: a sample is a small white diamond outlined in black (on top of any
 * digit's colour), the drawn digit a black star with a white rim.
 * @param {{z: Z, kind: ("sample"|"drawn"), label?: string}[]} marks
 */
export function drawMarks(ctx, view, marks) {
  for (const m of marks) {
    const [x, y] = view.toScreen(m.z[0], m.z[1]);
    ctx.beginPath();
    if (m.kind === "drawn") {
      for (let k = 0; k < 10; k++) {
        const r = k % 2 ? 2.8 : 7, a = -Math.PI / 2 + (k * Math.PI) / 5;
        ctx.lineTo(x + r * Math.cos(a), y + r * Math.sin(a));
      }
      ctx.closePath();
      ctx.fillStyle = "#000";
      ctx.strokeStyle = "#fff";
    } else {
      ctx.moveTo(x, y - 5.5);
      ctx.lineTo(x + 5.5, y);
      ctx.lineTo(x, y + 5.5);
      ctx.lineTo(x - 5.5, y);
      ctx.closePath();
      ctx.fillStyle = "#fff";
      ctx.strokeStyle = "#000";
    }
    ctx.lineWidth = 1.5;
    ctx.fill();
    ctx.stroke();
    if (m.label) {
      ctx.font = "bold 11px sans-serif";
      ctx.fillStyle = "#000";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(m.label, x + 9, y);
    }
  }
}
