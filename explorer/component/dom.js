// Small DOM helpers: elements, and canvases that show one image large with crisp pixels.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

/**
 * Grey levels into an ImageData at (offsetX, offsetY): `pixels` float in [0, 1] or, with
 * `bytes`, uint8 in [0, 255]; ink white on black as MNIST is stored, or dark on white (`inverted`).
 */
export function paintGrey(imageData, pixels, offsetX, offsetY, width, { inverted = false, bytes = false } = {}) {
  const d = imageData.data, stride = imageData.width, scale = bytes ? 1 : 255;
  for (let p = 0; p < pixels.length; p++) {
    const r = (p / width) | 0, c = p - r * width;
    const v = inverted ? 255 - pixels[p] * scale : pixels[p] * scale;
    const k = ((offsetY + r) * stride + offsetX + c) * 4;
    d[k] = d[k + 1] = d[k + 2] = v;
    d[k + 3] = 255;
  }
}

// One H x W image on a canvas of that size; CSS scales it up (image-rendering: pixelated).
export class ImageView {
  constructor([height, width], cssClass, testId) {
    this.canvas = el("canvas", { class: cssClass, "data-testid": testId, width, height });
    this.ctx = this.canvas.getContext("2d");
    this.image = this.ctx.createImageData(width, height);
    this.width = width;
    this.shown = null; // what it shows, for tests and for skipping repaints: a key chosen by the caller
  }

  /** Decoder output, float pixels in [0, 1]. */
  showFloat(pixels, key = null) {
    paintGrey(this.image, pixels, 0, 0, this.width);
    this.ctx.putImageData(this.image, 0, 0);
    this.shown = key;
  }

  /** A dataset image, uint8. */
  showBytes(bytes, key = null) {
    paintGrey(this.image, bytes, 0, 0, this.width, { bytes: true });
    this.ctx.putImageData(this.image, 0, 0);
    this.shown = key;
  }

  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.shown = null;
  }
}
