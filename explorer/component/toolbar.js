// The row above the plot: Reset view, the legend (one toggle per digit, in the palette's colour;
// double-click shows that digit alone), and a status line for loading and errors.

import { el } from "./dom.js";

export class Toolbar {
  constructor({ reset, changed }) {
    this.changed = changed; // called after the hidden set changes
    this.hidden = new Set(); // labels switched off
    this.labels = []; // labels the legend offers
    this.reset = el("button", { class: "lp-button", type: "button", "data-testid": "reset-view",
                                title: "Fit the view to the data" }, "Reset view");
    this.reset.addEventListener("click", reset);
    this.legend = el("div", { class: "lp-legend", "data-testid": "plane-legend" });
    this.status = el("span", { class: "lp-status", "data-testid": "plane-status" }, "loading\u2026");
    this.root = el("div", { class: "lp-toolbar" }, this.reset, this.legend, this.status);
  }

  /** One toggle per label; labels switched off stay off if the new model has them too. */
  setLabels(labels, palette) {
    if (labels.length === this.labels.length && labels.every((l, i) => l === this.labels[i])) return;
    this.labels = labels;
    for (const l of [...this.hidden]) if (!labels.includes(l)) this.hidden.delete(l);
    this.legend.replaceChildren(el("span", { class: "lp-legend-title" }, "digit"), ...labels.map((label) => {
      const item = el("button", { class: "lp-legend-item", type: "button", "data-testid": "legend-item",
                                  "data-label": String(label), title: "show / hide this digit; double-click: only this" },
                      el("span", { class: "lp-swatch", style: `background:${palette[label % palette.length]}` }),
                      el("span", {}, String(label)));
      item.addEventListener("click", () => this.toggle(label));
      item.addEventListener("dblclick", () => this.isolate(label));
      return item;
    }));
    this.sync();
  }

  toggle(label) {
    if (this.hidden.has(label)) this.hidden.delete(label);
    else this.hidden.add(label);
    this.sync();
  }

  isolate(label) {
    const onlyThis = this.hidden.size === this.labels.length - 1 && !this.hidden.has(label);
    this.hidden = new Set(onlyThis ? [] : this.labels.filter((l) => l !== label));
    this.sync();
  }

  sync() {
    for (const item of this.legend.querySelectorAll(".lp-legend-item")) {
      const off = this.hidden.has(Number(item.dataset.label));
      item.classList.toggle("lp-off", off);
      item.setAttribute("aria-pressed", String(!off));
    }
    this.changed();
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("lp-error", isError);
  }
}
