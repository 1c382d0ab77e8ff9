// The lambda slider above the plot: the KL weight's stops, evenly spaced (so a log scale above 0),
// a tick at each lambda the library has a model for, and the model shown with its test figures.
// A lambda is picked when the slider is released or stepped with the keys; the plane reports it
// to Python, which explores the model there or offers to train one. Where the pointer is headed (the
// thumb moving, the slider focused: the stops beside it) the models' files are fetched ahead.
// With a dial on the plane (one network for a range of lambdas) the slider turns it instead,
// continuously and with no round trip, and Play sweeps it across its range.

import { curveAt, lamAt, positionOf } from "./dial.js";
import { el } from "./dom.js";
import { number } from "./format.js";
import { fetchOnce } from "./protocol.js";

let lists = 0; // datalist ids, unique on the page (two planes in the compare view)

/** How a lambda is written: "0.5", "100". */
export const lamText = (lam) => `${+lam.toPrecision(6)}`;

/** The models of `choice` at lambda `lam` (the same lambda to 10 significant digits), in library order. */
export function modelsAt(choice, lam) {
  const key = lamText(lam);
  return choice ? choice.models.filter((m) => lamText(m.lam) === key) : [];
}

/** "−ELBO 133.7 · recon 126.4 · KL 7.33 nats" */
export function figuresText(f) {
  return f ? `\u2212ELBO ${number(f.neg_elbo, 1)} \u00b7 recon ${number(f.recon, 1)} \u00b7 KL ${number(f.kl, 2)} nats` : "";
}

const DIAL_STEPS = 1000; // the dial's slider positions, even in ln(lambda)
const PLAY_MS = 12000; // a Play sweep across the whole range

export class LambdaControl {
  /**
   * @param {(lam: number, dial: boolean) => void} onPick  a lambda picked (the model there), or the dial asked for or left
   * @param {(lam: number, settled: boolean) => void} onDial  the dial turned; `settled`: released, or Play has stopped
   */
  constructor(onPick, onDial) {
    this.onPick = onPick;
    this.onDial = onDial;
    this.choice = null; // ModelChoice (protocol.js) last received
    this.dial = null; // the DialData of the dial on the plane; null when a model of one lambda is
    this.dialLam = null; // the lambda the dial is turned to
    this.playing = null; // requestAnimationFrame id while Play sweeps
    const list = `lp-lam-ticks-${++lists}`;
    this.ticks = el("datalist", { id: list });
    this.input = el("input", { type: "range", class: "lp-lam-input", min: "0", max: "0", step: "1", value: "0",
                               list, disabled: "", "aria-label": "KL weight \u03bb", "data-testid": "lam-slider" });
    this.value = el("span", { class: "lp-lam-value", "data-testid": "lam-value" }, "\u03bb");
    this.title = el("span", { class: "lp-model-title", "data-testid": "model-title" });
    this.figures = el("span", { class: "lp-model-figures", "data-testid": "model-figures" });
    this.dialButton = el("button", { type: "button", class: "lp-dial-toggle", "data-testid": "dial-toggle", hidden: "",
                                     "aria-pressed": "false",
                                     title: "One network for every \u03bb of its range: the plane morphs as the slider moves" },
                         "Dial");
    this.play = el("button", { type: "button", class: "lp-dial-play", "data-testid": "dial-play", hidden: "",
                               title: "Sweep \u03bb across the dial's range on fixed axes" }, "\u25b6 Play");
    this.root = el("div", { class: "lp-lam-row", "data-testid": "lam-row" }, this.input, this.ticks, this.value,
                   this.dialButton, this.play, el("span", { class: "lp-model" }, this.title, this.figures));
    this.input.addEventListener("input", () => {
      if (this.dial) { this.stop(); this.turn(this.positionLam(), false); return; }
      this.showAt(this.picked());
      this.prefetch(0);
    });
    this.input.addEventListener("change", () => {
      if (this.dial) { this.turn(this.positionLam(), true); return; }
      this.onPick(this.picked(), false);
      this.prefetch(1);
    });
    this.input.addEventListener("focus", () => this.prefetch(1));
    this.dialButton.addEventListener("click", () => this.toggleDial());
    for (const event of ["pointerenter", "focus"]) {
      this.dialButton.addEventListener(event, () => {
        if (this.choice && this.choice.dial) this.choice.dial.urls.forEach((url) => fetchOnce(url).catch(() => {}));
      });
    }
    this.play.addEventListener("click", () => (this.playing === null ? this.start() : this.stop(true)));
  }

  /** Fetch the published files of the models at the slider's stop and, with `around`, at the stops beside it. */
  prefetch(around) {
    if (!this.choice || this.dial) return;
    const i = Number(this.input.value), stops = this.choice.stops;
    for (let k = Math.max(0, i - around); k <= Math.min(stops.length - 1, i + around); k++) {
      for (const m of modelsAt(this.choice, stops[k])) m.urls.forEach((url) => fetchOnce(url).catch(() => {}));
    }
  }

  /** The lambda the slider is on, among the models' stops. */
  picked() {
    return this.choice.stops[Number(this.input.value)];
  }

  /** The lambda the slider is on, on the dial. */
  positionLam() {
    return lamAt(this.low, this.high, Number(this.input.value) / DIAL_STEPS);
  }

  get low() { return this.dial.lams[0]; }

  get high() { return this.dial.lams[this.dial.lams.length - 1]; }

  /**
   * New data from Python (null: the library has not been read yet). `dial`: the plane's model is the
   * library's dial (its DialData), which the slider then turns.
   */
  set(choice, dial) {
    this.choice = choice;
    this.input.disabled = !choice;
    if (!choice) return;
    const dialShown = !!dial && !!choice.dial && choice.model_id === choice.dial.id;
    this.dialButton.hidden = !choice.dial;
    this.dialButton.setAttribute("aria-pressed", String(dialShown));
    this.play.hidden = !dialShown;
    if (dialShown) {
      const fresh = !this.dial;
      this.dial = dial;
      if (fresh || this.dialLam === null) this.dialLam = Math.min(this.high, Math.max(this.low, choice.lam || dial.lam));
      this.input.max = String(DIAL_STEPS);
      this.ticks.replaceChildren(...choice.models.filter((m) => m.lam >= this.low && m.lam <= this.high)
        .map((m) => el("option", { value: String(Math.round(positionOf(this.low, this.high, m.lam) * DIAL_STEPS)) })));
      this.setPosition(this.dialLam);
      this.showDial(this.dialLam);
      return;
    }
    this.stop();
    this.dial = null;
    this.dialLam = null;
    const stops = choice.stops;
    this.input.max = String(stops.length - 1);
    this.ticks.replaceChildren(...stops.map((lam, i) => (modelsAt(choice, lam).length ? el("option", { value: String(i) }) : null))
      .filter(Boolean));
    this.input.value = String(Math.max(0, stops.findIndex((lam) => lamText(lam) === lamText(choice.lam))));
    this.showAt(choice.lam);
  }

  setPosition(lam) {
    this.input.value = String(Math.round(positionOf(this.low, this.high, lam) * DIAL_STEPS));
  }

  /** The dial turned to `lam`, by the slider or Play. */
  turn(lam, settled) {
    this.dialLam = lam;
    this.showDial(lam);
    this.onDial(lam, settled);
  }

  /** The dial on: the library's model nearest its lambda; off: the dial, turned to the slider's lambda within its range. */
  toggleDial() {
    const c = this.choice;
    if (!c || !c.dial) return;
    if (this.dial) {
      this.stop();
      const lam = this.dialLam, far = (m) => Math.abs(Math.log((m.lam || 1e-9) / lam));
      if (c.models.length) this.onPick(c.models.reduce((best, m) => (far(m) < far(best) ? m : best)).lam, false);
    } else {
      this.onPick(this.picked(), true);
    }
  }

  /** Play: sweep from here (the low end, if at the high end) to the high end, on fixed axes. */
  start() {
    let u0 = positionOf(this.low, this.high, this.dialLam);
    if (u0 > 0.999) u0 = 0;
    const t0 = performance.now(), ms = PLAY_MS * (1 - u0);
    this.play.textContent = "\u275a\u275a Pause";
    const step = (now) => {
      const u = Math.min(1, u0 + (1 - u0) * ((now - t0) / ms));
      const lam = lamAt(this.low, this.high, u);
      this.setPosition(lam);
      if (u >= 1) { this.stop(); this.turn(lam, true); return; }
      this.turn(lam, false);
      this.playing = requestAnimationFrame(step);
    };
    this.playing = requestAnimationFrame(step);
  }

  /** Stop a Play sweep; `settle`: the dial settles where it stopped. */
  stop(settle = false) {
    if (this.playing === null) return;
    cancelAnimationFrame(this.playing);
    this.playing = null;
    this.play.textContent = "\u25b6 Play";
    if (settle) this.turn(this.dialLam, true);
  }

  /** The dial's lambda and its test figures there (its curve's, interpolated). */
  showDial(lam) {
    const c = this.choice, curve = this.dial.curve;
    this.value.textContent = `\u03bb = ${+lam.toPrecision(3)}`;
    this.title.textContent = `dial \u00b7 ${c.dial.title} \u00b7 one network for \u03bb ${lamText(this.low)}\u2013${lamText(this.high)}`;
    const recon = curveAt(curve.lams, curve.recon, lam), kl = curveAt(curve.lams, curve.kl, lam);
    this.figures.textContent = figuresText({ recon, kl, neg_elbo: recon + kl });
  }

  /** The value and the model at `lam`: the model shown, another at that lambda, or none. */
  showAt(lam) {
    const c = this.choice, shown = modelsAt(c, lam).find((m) => m.id === c.model_id);
    this.value.textContent = `\u03bb = ${lamText(lam)}`;
    if (shown || lamText(lam) === lamText(c.lam) && c.model_id === null) {
      this.title.textContent = c.title;
      this.figures.textContent = figuresText(c.figures);
    } else {
      const there = modelsAt(c, lam);
      this.title.textContent = there.length ? there[0].title : "no model yet";
      this.figures.textContent = "";
    }
  }
}
