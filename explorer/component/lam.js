// The lambda slider above the plot: the KL weight's stops, evenly spaced (so a log scale above 0),
// a tick at each lambda the library has a model for, and the model shown with its test figures.
// A lambda is picked when the slider is released or stepped with the keys; the plane reports it
// to Python, which explores the model there or offers to train one. Where the pointer is headed (the
// thumb moving, the slider focused: the stops beside it) the models' files are fetched ahead.

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

export class LambdaControl {
  /** @param {(lam: number) => void} onPick */
  constructor(onPick) {
    this.onPick = onPick;
    this.choice = null; // ModelChoice (protocol.js) last received
    const list = `lp-lam-ticks-${++lists}`;
    this.ticks = el("datalist", { id: list });
    this.input = el("input", { type: "range", class: "lp-lam-input", min: "0", max: "0", step: "1", value: "0",
                               list, disabled: "", "aria-label": "KL weight \u03bb", "data-testid": "lam-slider" });
    this.value = el("span", { class: "lp-lam-value", "data-testid": "lam-value" }, "\u03bb");
    this.title = el("span", { class: "lp-model-title", "data-testid": "model-title" });
    this.figures = el("span", { class: "lp-model-figures", "data-testid": "model-figures" });
    this.root = el("div", { class: "lp-lam-row", "data-testid": "lam-row" }, this.input, this.ticks, this.value,
                   el("span", { class: "lp-model" }, this.title, this.figures));
    this.input.addEventListener("input", () => { this.showAt(this.picked()); this.prefetch(0); });
    this.input.addEventListener("change", () => { this.onPick(this.picked()); this.prefetch(1); });
    this.input.addEventListener("focus", () => this.prefetch(1));
  }

  /** Fetch the published files of the models at the slider's stop and, with `around`, at the stops beside it. */
  prefetch(around) {
    if (!this.choice) return;
    const i = Number(this.input.value), stops = this.choice.stops;
    for (let k = Math.max(0, i - around); k <= Math.min(stops.length - 1, i + around); k++) {
      for (const m of modelsAt(this.choice, stops[k])) m.urls.forEach((url) => fetchOnce(url).catch(() => {}));
    }
  }

  /** The lambda the slider is on. */
  picked() {
    return this.choice.stops[Number(this.input.value)];
  }

  /** New data from Python (null: the library has not been read yet). */
  set(choice) {
    this.choice = choice;
    this.input.disabled = !choice;
    if (!choice) return;
    const stops = choice.stops;
    this.input.max = String(stops.length - 1);
    this.ticks.replaceChildren(...stops.map((lam, i) => (modelsAt(choice, lam).length ? el("option", { value: String(i) }) : null))
      .filter(Boolean));
    this.input.value = String(Math.max(0, stops.findIndex((lam) => lamText(lam) === lamText(choice.lam))));
    this.showAt(choice.lam);
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
