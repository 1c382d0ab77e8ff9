// The card beside a hovered test point: its real image, label and index.

import { el, ImageView } from "./dom.js";

export class Tooltip {
  constructor(shape) {
    this.image = new ImageView(shape, "lp-tooltip-image", "tooltip-image");
    this.text = el("div", { class: "lp-tooltip-text" });
    this.root = el("div", { class: "lp-tooltip", "data-testid": "plane-tooltip" }, this.image.canvas, this.text);
    this.index = -1; // the point shown, -1 when hidden
  }

  /** Show test digit i at canvas (sx, sy) within a stage `width` px wide. */
  show(i, label, colour, sx, sy, width, images) {
    if (this.index !== i) {
      this.index = i;
      this.text.textContent = `digit ${label} \u00b7 test #${i}`;
      this.root.style.borderColor = colour;
      this.root.dataset.index = String(i);
      this.root.dataset.label = String(label);
      this.image.clear();
      const paint = () => { if (this.index === i && images.get(i)) this.image.showBytes(images.get(i), i); };
      paint();
      images.load([i]).then(paint, () => {});
    }
    this.root.style.left = `${sx + 12 + 110 > width ? sx - 12 - 100 : sx + 12}px`;
    this.root.style.top = `${Math.max(0, sy - 50)}px`;
    this.root.classList.add("lp-visible");
  }

  hide() {
    if (this.index < 0) return;
    this.index = -1;
    this.root.classList.remove("lp-visible");
  }
}
