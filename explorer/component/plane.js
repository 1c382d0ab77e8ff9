// The latent plane: the test-set embedding drawn as a figure, decoded live under the pointer.
//
// Python sends small JSON `data` (URLs of static binary files, the grid setting); the heavy
// arrays (decoder weights, points, test images) are fetched once per URL and cached. The
// function below is called again whenever `data` changes, without a cleanup in between, so all
// state lives on one Plane object per parentElement and listeners are attached only once.
//
// Out to Python: trigger 'click' {z, index}, trigger 'drag' {start, end, start_index,
// end_index}, state 'view' {x: [x0, x1], y: [y0, y1]} (debounced).

// matplotlib's tab10 (Tableau 10): distinguishable for the common colour-vision deficiencies.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const MARGIN = { left: 50, right: 10, top: 10, bottom: 40 }; // CSS px around the plot area
const HIT_RADIUS = 6; // CSS px: a press or click this close to a point is on that point
const DRAG_THRESHOLD = 4; // CSS px of movement before a press becomes a drag
const STRIP_BUDGET_MS = 1.0; // per frame, for refreshing interpolation frames after the live decode
const GRID_SLICE_MS = 8; // per slice of the background-grid decode, so the page stays responsive
const VIEW_DEBOUNCE_MS = 400;
const DOT_RADIUS = 2.1;
const DOT_ALPHA = 0.75;
const TIMING_CAPACITY = 4000;

const PLANES = new WeakMap(); // parentElement -> Plane
const FETCHES = new Map(); // url -> Promise<ArrayBuffer>, shared by every plane on the page

function fetchOnce(url) {
  if (!FETCHES.has(url)) {
    const absolute = new URL(url, document.baseURI).href;
    const p = fetch(absolute).then((r) => {
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return r.arrayBuffer();
    });
    p.catch(() => FETCHES.delete(url)); // let a later call retry
    FETCHES.set(url, p);
  }
  return FETCHES.get(url);
}

// ---------------------------------------------------------------------------------------------
// The decoder: Linear layers, ReLU between, sigmoid after the last, in float32.

export class Decoder {
  constructor(buffer, sizes) {
    const flat = new Float32Array(buffer);
    this.sizes = sizes;
    this.layers = [];
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const nIn = sizes[l], nOut = sizes[l + 1];
      const w = flat.subarray(offset, offset + nIn * nOut); // (out, in) row-major
      offset += nIn * nOut;
      const bias = flat.slice(offset, offset + nOut);
      offset += nOut;
      // Stored transposed, (in, out): one contiguous row per input, so the inputs that ReLU made
      // zero (about 80% of the widest layer's) are skipped whole.
      const wt = new Float32Array(nIn * nOut);
      for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) wt[i * nOut + o] = w[o * nIn + i];
      this.layers.push({ nIn, nOut, wt, bias, acc: new Float64Array(nOut), h: new Float64Array(nOut) });
    }
    if (offset !== flat.length) throw new Error(`decoder blob has ${flat.length} floats, sizes need ${offset}`);
    this.input = new Float64Array(sizes[0]);
    this.active = new Int32Array(Math.max(...sizes));
  }

  // Decode z = (x, y) into `out` (Float32Array of H*W), pixel probabilities in [0, 1].
  // float32 weights, float64 sums (no rounding per add, and faster in V8 than float32 stores);
  // the active inputs go four at a time, so each accumulator is loaded and stored once per four.
  decodeInto(x, y, out) {
    let h = this.input;
    h[0] = x;
    h[1] = y;
    const active = this.active, last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { nIn, nOut, wt, bias, acc } = this.layers[l];
      for (let o = 0; o < nOut; o++) acc[o] = bias[o];
      let m = 0;
      for (let i = 0; i < nIn; i++) if (h[i] !== 0) active[m++] = i;
      let j = 0;
      for (; j + 3 < m; j += 4) {
        const i0 = active[j], i1 = active[j + 1], i2 = active[j + 2], i3 = active[j + 3];
        const v0 = h[i0], v1 = h[i1], v2 = h[i2], v3 = h[i3];
        const r0 = i0 * nOut, r1 = i1 * nOut, r2 = i2 * nOut, r3 = i3 * nOut;
        for (let o = 0; o < nOut; o++) acc[o] += v0 * wt[r0 + o] + v1 * wt[r1 + o] + v2 * wt[r2 + o] + v3 * wt[r3 + o];
      }
      for (; j < m; j++) {
        const i0 = active[j], v0 = h[i0], r0 = i0 * nOut;
        for (let o = 0; o < nOut; o++) acc[o] += v0 * wt[r0 + o];
      }
      if (l === last) {
        for (let o = 0; o < nOut; o++) out[o] = 1 / (1 + Math.exp(-acc[o]));
      } else {
        const next = this.layers[l].h;
        for (let o = 0; o < nOut; o++) next[o] = acc[o] > 0 ? acc[o] : 0;
        h = next;
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Small drawing helpers.

function niceStep(span, targetTicks) {
  const raw = span / Math.max(1, targetTicks);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

function formatTick(v, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = v.toFixed(decimals);
  return s === "-0" || /^-0\.0*$/.test(s) ? s.slice(1) : s.replace("-", "\u2212");
}

// Grey levels into an ImageData: ink white on black (as MNIST is stored), or dark on white.
function paintGrey(imageData, pixels, offsetX, offsetY, width, inverted) {
  const d = imageData.data, stride = imageData.width;
  const n = pixels.length;
  for (let p = 0; p < n; p++) {
    const r = (p / width) | 0, c = p - r * width;
    const v = inverted ? 255 - pixels[p] * 255 : pixels[p] * 255;
    const k = ((offsetY + r) * stride + offsetX + c) * 4;
    d[k] = d[k + 1] = d[k + 2] = v;
    d[k + 3] = 255;
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// A 28x28 (H x W) canvas shown large with crisp pixels.
class ImageView {
  constructor(height, width, cssClass, testId) {
    this.canvas = el("canvas", { class: cssClass, "data-testid": testId, width, height });
    this.ctx = this.canvas.getContext("2d");
    this.image = this.ctx.createImageData(width, height);
    this.width = width;
  }
  showFloat(pixels) {
    paintGrey(this.image, pixels, 0, 0, this.width, false);
    this.ctx.putImageData(this.image, 0, 0);
  }
  showBytes(bytes) {
    const d = this.image.data;
    for (let p = 0; p < bytes.length; p++) {
      d[4 * p] = d[4 * p + 1] = d[4 * p + 2] = bytes[p];
      d[4 * p + 3] = 255;
    }
    this.ctx.putImageData(this.image, 0, 0);
  }
  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
  }
}

// ---------------------------------------------------------------------------------------------

class Plane {
  constructor(parent) {
    this.parent = parent;
    this.generation = 0;
    this.data = null;
    this.decoder = null;
    this.points = null; // {xy: Float32Array(2N), labels: Uint8Array(N), n}
    this.images = null; // Uint8Array(N*H*W), loaded on first hover
    this.hidden = new Set();
    this.view = null; // {cx, cy, scale}: centre in latent units, CSS px per latent unit
    this.size = { w: 0, h: 0, dpr: 1 };
    this.baseDirty = true;
    this.framePending = false;
    this.pointer = null; // {sx, sy} CSS px in the canvas, or null when outside
    this.press = null; // {sx, sy, index, button, mode: 'press'|'drag'|'pan', ...}
    this.selection = null; // {z: [x, y], index}
    this.drag = null; // {start: [x, y], startIndex, end: [x, y]}
    this.hover = -1;
    this.timings = { drag: [], hover: [] };
    this.lastClick = null;
    this.lastDrag = null;
    this.painted = false;
    this.grid = { show: false, n: 0, image: null, rect: null, job: null };
    this.viewTimer = null;
    this.build();
    this.listen();
  }

  // ------------------------------------------------------------------ DOM, once
  build() {
    this.root = el("div", { class: "lp-root", "data-testid": "latent-plane" });
    this.resetButton = el("button", { class: "lp-button", type: "button", "data-testid": "reset-view",
                                       title: "Fit the view to the data" }, "Reset view");
    this.hint = el("span", { class: "lp-hint" },
      "click: decode \u00b7 drag between digits: interpolate \u00b7 wheel: zoom \u00b7 shift-drag or right-drag: pan");
    this.status = el("span", { class: "lp-status", "data-testid": "plane-status" }, "loading\u2026");
    const toolbar = el("div", { class: "lp-toolbar" }, this.resetButton, this.hint, this.status);

    this.canvas = el("canvas", { class: "lp-canvas", "data-testid": "plane-canvas" });
    this.ctx = this.canvas.getContext("2d");
    this.base = document.createElement("canvas"); // scatter + axes, redrawn only when the view changes
    this.baseCtx = this.base.getContext("2d");
    this.tooltip = el("div", { class: "lp-tooltip", "data-testid": "plane-tooltip" });
    this.tooltipImage = new ImageView(28, 28, "lp-tooltip-image", "tooltip-image");
    this.tooltipText = el("div", { class: "lp-tooltip-text" });
    this.tooltip.append(this.tooltipImage.canvas, this.tooltipText);
    this.stage = el("div", { class: "lp-stage" }, this.canvas, this.tooltip);

    this.legend = el("div", { class: "lp-legend", "data-testid": "plane-legend" });
    this.live = new ImageView(28, 28, "lp-live", "live-decode");
    this.liveCaption = el("div", { class: "lp-live-caption", "data-testid": "live-z" }, "point at the plane");
    const side = el("div", { class: "lp-side" }, this.legend,
                    el("div", { class: "lp-live-title" }, "Decoder at pointer"), this.live.canvas, this.liveCaption);
    this.stripRow = el("div", { class: "lp-strip", "data-testid": "live-strip" });
    this.stripTitle = el("div", { class: "lp-strip-title" }, "Interpolation (drag from one digit to another)");
    this.root.append(toolbar, el("div", { class: "lp-body" }, this.stage, side), this.stripTitle, this.stripRow);
    this.parent.append(this.root);
  }

  buildLegend(labels) {
    this.legend.replaceChildren(el("div", { class: "lp-legend-title" }, "digit"));
    for (const label of labels) {
      const item = el("button", { class: "lp-legend-item", type: "button", "data-testid": "legend-item",
                                  "data-label": String(label), title: "show / hide this digit" },
                      el("span", { class: "lp-swatch", style: `background:${PALETTE[label % 10]}` }),
                      el("span", {}, String(label)));
      item.addEventListener("click", () => this.toggleClass(label, item));
      item.addEventListener("dblclick", () => this.isolateClass(label));
      this.legend.append(item);
    }
  }

  buildStrip(n) {
    this.strip = [];
    this.stripRow.replaceChildren();
    for (let k = 0; k < n; k++) {
      const view = new ImageView(28, 28, "lp-strip-frame", "strip-frame");
      this.stripRow.append(view.canvas);
      this.strip.push({ view, z: null, decodedFor: null, pixels: null });
    }
  }

  listen() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.onDown(e));
    c.addEventListener("pointermove", (e) => this.onMove(e));
    c.addEventListener("pointerup", (e) => this.onUp(e));
    c.addEventListener("pointercancel", () => { this.press = null; this.drag = null; this.requestFrame(); });
    c.addEventListener("pointerleave", () => { if (!this.press) { this.pointer = null; this.requestFrame(); } });
    c.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    this.resetButton.addEventListener("click", () => { this.fitView(); this.viewChanged(); });
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(this.root);
  }

  destroy() {
    this.resizer.disconnect();
    clearTimeout(this.viewTimer);
    if (this.grid.job) this.grid.job.cancelled = true;
    this.root.remove();
    if (window.__latentPlane && window.__latentPlane.plane === this) delete window.__latentPlane;
  }

  // ------------------------------------------------------------------ data from Python
  // Idempotent: Streamlit may call this again with the same content on any rerun, even while an
  // earlier call is still fetching; each file is claimed by URL so it is loaded once.
  async update(data, setStateValue, setTriggerValue) {
    this.setStateValue = setStateValue;
    this.setTriggerValue = setTriggerValue;
    this.data = data;
    const stripN = data.strip_frames || 10;
    if (!this.strip || this.strip.length !== stripN) this.buildStrip(stripN);
    const gridShow = !!data.grid_show, gridN = data.grid_n | 0;
    const gridChanged = gridShow !== this.grid.show || gridN !== this.grid.n;
    this.grid.show = gridShow;
    this.grid.n = gridN;
    const pointsUrl = data.points_url, decoderUrl = data.decoder_url;
    const newPoints = pointsUrl !== this.pointsUrl, newDecoder = decoderUrl !== this.decoderUrl;
    this.pointsUrl = pointsUrl;
    this.decoderUrl = decoderUrl;
    const pointsFetch = newPoints ? fetchOnce(pointsUrl) : null; // both requests in flight at once
    const decoderFetch = newDecoder ? fetchOnce(decoderUrl) : null;
    if (newPoints) {
      this.status.textContent = "loading\u2026";
      const buffer = await pointsFetch;
      if (this.pointsUrl !== pointsUrl) return; // a different model arrived meanwhile
      const n = data.n_points;
      const xy = new Float32Array(buffer, 0, 2 * n);
      const labels = new Uint8Array(buffer, 8 * n, n);
      this.points = { xy, labels, n, sx: new Float32Array(n), sy: new Float32Array(n) };
      this.buildLegend([...new Set(labels)].sort((a, b) => a - b));
      this.images = null;
      this.hidden.clear();
      this.selection = null;
      // A new model's codes can sit at a very different scale (small λ spreads them far): refit.
      const refit = !!this.view;
      this.fitView();
      if (refit) this.viewChanged();
      this.baseDirty = true;
      this.requestFrame();
    }
    if (newDecoder) {
      const buffer = await decoderFetch;
      if (this.decoderUrl !== decoderUrl) return;
      this.decoder = new Decoder(buffer, data.layer_sizes);
      this.pixels = data.image_shape[0] * data.image_shape[1];
      this.liveBuffer = new Float32Array(this.pixels);
      this.lastLive = null;
      for (const f of this.strip) f.decodedFor = null;
      this.grid.image = null;
      this.status.textContent = "";
      this.baseDirty = true;
      this.startGrid();
      if (this.selection) this.showLive(this.selection.z);
      setTimeout(() => this.loadImages(), 300); // for hover tooltips, after the first paint
    } else if (gridChanged) {
      this.grid.image = null;
      this.baseDirty = true;
      this.startGrid();
    }
    this.requestFrame();
  }

  loadImages() {
    if (this.images || this.imagesLoading || !this.data) return;
    this.imagesLoading = true;
    const url = this.data.images_url;
    fetchOnce(url).then((b) => {
      if (this.data && this.data.images_url === url) this.images = new Uint8Array(b);
    }).catch(() => {}).finally(() => { this.imagesLoading = false; this.requestFrame(); });
  }

  // ------------------------------------------------------------------ geometry
  layout() {
    const width = Math.floor(this.stage.clientWidth);
    if (width <= 0) return;
    const dpr = window.devicePixelRatio || 1;
    const plot = Math.max(120, Math.min(width - MARGIN.left - MARGIN.right, 640));
    const w = width, h = plot + MARGIN.top + MARGIN.bottom;
    if (w === this.size.w && h === this.size.h && dpr === this.size.dpr) return;
    this.size = { w, h, dpr, plot };
    for (const canvas of [this.canvas, this.base]) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.dots = null;
    this.baseDirty = true;
    this.requestFrame();
  }

  plotRect() {
    const { w, plot } = this.size;
    const left = MARGIN.left + Math.max(0, (w - MARGIN.left - MARGIN.right - plot) / 2);
    return { left, top: MARGIN.top, width: plot, height: plot };
  }

  toScreen(x, y) {
    const r = this.plotRect(), v = this.view;
    return [r.left + r.width / 2 + (x - v.cx) * v.scale, r.top + r.height / 2 - (y - v.cy) * v.scale];
  }

  toLatent(sx, sy) {
    const r = this.plotRect(), v = this.view;
    return [v.cx + (sx - r.left - r.width / 2) / v.scale, v.cy - (sy - r.top - r.height / 2) / v.scale];
  }

  visibleRange() {
    const r = this.plotRect();
    const [x0, y1] = this.toLatent(r.left, r.top);
    const [x1, y0] = this.toLatent(r.left + r.width, r.top + r.height);
    return { x: [x0, x1], y: [y0, y1] };
  }

  fitView() {
    if (!this.points) return;
    const { xy, n } = this.points;
    const xs = [], ys = [];
    for (let i = 0; i < n; i++) { xs.push(xy[2 * i]); ys.push(xy[2 * i + 1]); }
    xs.sort((a, b) => a - b);
    ys.sort((a, b) => a - b);
    const q = (a, f) => a[Math.min(a.length - 1, Math.max(0, Math.round(f * (a.length - 1))))];
    const x0 = q(xs, 0.002), x1 = q(xs, 0.998), y0 = q(ys, 0.002), y1 = q(ys, 0.998);
    const span = Math.max(x1 - x0, y1 - y0, 1e-3) * 1.08;
    const plot = this.size.plot || 500;
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: plot / span };
    this.baseDirty = true;
    this.requestFrame();
  }

  viewChanged() {
    this.baseDirty = true;
    this.requestFrame();
    clearTimeout(this.viewTimer);
    this.viewTimer = setTimeout(() => {
      const range = this.visibleRange();
      const round = (v) => Math.round(v * 1e4) / 1e4;
      if (this.setStateValue) this.setStateValue("view", { x: range.x.map(round), y: range.y.map(round) });
      this.startGrid();
    }, VIEW_DEBOUNCE_MS);
  }

  // Nearest visible point within HIT_RADIUS of a canvas position, or -1.
  hitTest(sx, sy) {
    if (!this.points || this.baseDirty) this.projectPoints();
    const { sx: px, sy: py, labels, n } = this.points;
    let best = -1, bestD = HIT_RADIUS * HIT_RADIUS;
    for (let i = 0; i < n; i++) {
      const dx = px[i] - sx, dy = py[i] - sy;
      const d = dx * dx + dy * dy;
      if (d <= bestD && !this.hidden.has(labels[i])) { bestD = d; best = i; }
    }
    return best;
  }

  projectPoints() {
    if (!this.points || !this.view) return;
    const { xy, sx, sy, n } = this.points;
    const r = this.plotRect(), v = this.view;
    const ox = r.left + r.width / 2, oy = r.top + r.height / 2;
    for (let i = 0; i < n; i++) {
      sx[i] = ox + (xy[2 * i] - v.cx) * v.scale;
      sy[i] = oy - (xy[2 * i + 1] - v.cy) * v.scale;
    }
  }

  pointZ(i) {
    return [this.points.xy[2 * i], this.points.xy[2 * i + 1]];
  }

  // ------------------------------------------------------------------ input
  canvasXY(e) {
    const b = this.canvas.getBoundingClientRect();
    return [e.clientX - b.left, e.clientY - b.top];
  }

  onDown(e) {
    if (!this.view || !this.points) return;
    const [sx, sy] = this.canvasXY(e);
    const pan = e.button === 1 || e.button === 2 || e.shiftKey;
    if (!pan && e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.press = { sx, sy, mode: pan ? "pan" : "press", index: pan ? -1 : this.hitTest(sx, sy),
                   view: { ...this.view } };
    this.pointer = { sx, sy };
  }

  onMove(e) {
    const [sx, sy] = this.canvasXY(e);
    this.pointer = { sx, sy };
    const p = this.press;
    if (p && p.mode === "pan") {
      this.view = { ...p.view, cx: p.view.cx - (sx - p.sx) / p.view.scale, cy: p.view.cy + (sy - p.sy) / p.view.scale };
      this.viewChanged();
      return;
    }
    if (p && p.mode === "press" && Math.hypot(sx - p.sx, sy - p.sy) > DRAG_THRESHOLD && this.decoder) {
      p.mode = "drag";
      const start = p.index >= 0 ? this.pointZ(p.index) : this.toLatent(p.sx, p.sy);
      this.drag = { start, startIndex: p.index, end: start };
      this.stripTitle.textContent = "Interpolation: start \u2192 pointer";
      for (const f of this.strip) f.decodedFor = null;
    }
    this.requestFrame();
  }

  onUp(e) {
    const p = this.press;
    this.press = null;
    if (!p) return;
    const [sx, sy] = this.canvasXY(e);
    if (p.mode === "pan") { this.viewChanged(); return; }
    if (p.mode === "press") {
      const index = p.index;
      const z = index >= 0 ? this.pointZ(index) : this.toLatent(sx, sy);
      this.selection = { z, index };
      this.lastClick = { z, index, t: performance.now() };
      if (this.setTriggerValue) this.setTriggerValue("click", { z, index: index >= 0 ? index : null });
      this.showLive(z);
    } else if (p.mode === "drag" && this.drag) {
      const endIndex = this.hitTest(sx, sy);
      const end = endIndex >= 0 ? this.pointZ(endIndex) : this.toLatent(sx, sy);
      const d = this.drag;
      d.end = end;
      this.finishStrip(d.start, end);
      this.selection = { z: end, index: endIndex };
      this.showLive(end);
      this.lastDrag = { start: d.start, end, start_index: d.startIndex >= 0 ? d.startIndex : null,
                        end_index: endIndex >= 0 ? endIndex : null, t: performance.now() };
      this.drag = null;
      this.stripTitle.textContent = "Interpolation: start \u2192 end (sent to Python)";
      if (this.setTriggerValue) {
        const { t, ...payload } = this.lastDrag;
        this.setTriggerValue("drag", payload);
      }
    }
    this.requestFrame();
  }

  onWheel(e) {
    if (!this.view) return;
    e.preventDefault();
    const [sx, sy] = this.canvasXY(e);
    const [zx, zy] = this.toLatent(sx, sy);
    const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
    const scale = Math.min(1e5, Math.max(1, this.view.scale * factor));
    // Keep the latent point under the cursor where it is.
    const r = this.plotRect();
    this.view = { scale, cx: zx - (sx - r.left - r.width / 2) / scale, cy: zy + (sy - r.top - r.height / 2) / scale };
    this.viewChanged();
  }

  toggleClass(label, item) {
    if (this.hidden.has(label)) this.hidden.delete(label);
    else this.hidden.add(label);
    item.classList.toggle("lp-off", this.hidden.has(label));
    item.setAttribute("aria-pressed", String(!this.hidden.has(label)));
    this.baseDirty = true;
    this.requestFrame();
  }

  isolateClass(label) {
    const items = [...this.legend.querySelectorAll(".lp-legend-item")];
    const onlyThis = this.hidden.size === items.length - 1 && !this.hidden.has(label);
    this.hidden.clear();
    for (const item of items) {
      const l = Number(item.dataset.label);
      if (!onlyThis && l !== label) this.hidden.add(l);
      item.classList.toggle("lp-off", this.hidden.has(l));
    }
    this.baseDirty = true;
    this.requestFrame();
  }

  // ------------------------------------------------------------------ decoding shown in the side panel
  showLive(z) {
    if (!this.decoder) return;
    this.decoder.decodeInto(z[0], z[1], this.liveBuffer);
    this.live.showFloat(this.liveBuffer);
    this.lastLive = { z: [z[0], z[1]], pixels: this.liveBuffer };
    this.liveCaption.textContent = `z = (${z[0].toFixed(3)}, ${z[1].toFixed(3)})`;
  }

  stripTargets(start, end) {
    const n = this.strip.length;
    return this.strip.map((_, k) => {
      const t = k / (n - 1);
      return k === n - 1 ? [end[0], end[1]] : [start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])];
    });
  }

  decodeFrame(frame, z) {
    if (!frame.pixels) frame.pixels = new Float32Array(this.pixels);
    this.decoder.decodeInto(z[0], z[1], frame.pixels);
    frame.view.showFloat(frame.pixels);
    frame.decodedFor = z;
  }

  // Per frame during a drag: the live point is decoded first; the first frame (the fixed start)
  // once; the last copies the live decode; the middle ones are refreshed, stalest first, while
  // the frame's budget lasts (at least one per frame, so the strip always catches up).
  updateStrip(start, end, t0) {
    const targets = this.stripTargets(start, end);
    const n = this.strip.length;
    const same = (a, b) => a && a[0] === b[0] && a[1] === b[1];
    if (!same(this.strip[0].decodedFor, targets[0])) this.decodeFrame(this.strip[0], targets[0]);
    const last = this.strip[n - 1];
    if (!last.pixels) last.pixels = new Float32Array(this.pixels);
    last.pixels.set(this.liveBuffer);
    last.view.showFloat(last.pixels);
    last.decodedFor = targets[n - 1];
    this.stripCursor = this.stripCursor || 1;
    let done = 0;
    for (let tries = 0; tries < n - 2; tries++) {
      const k = 1 + ((this.stripCursor - 1 + tries) % (n - 2));
      if (same(this.strip[k].decodedFor, targets[k])) continue;
      if (done > 0 && performance.now() - t0 > STRIP_BUDGET_MS) break;
      this.decodeFrame(this.strip[k], targets[k]);
      this.stripCursor = 1 + (k % (n - 2));
      done++;
    }
  }

  finishStrip(start, end) {
    this.stripTargets(start, end).forEach((z, k) => this.decodeFrame(this.strip[k], z));
  }

  // ------------------------------------------------------------------ the latent grid background
  startGrid() {
    if (this.grid.job) this.grid.job.cancelled = true;
    this.grid.job = null;
    if (!this.grid.show || !this.decoder || !this.view || this.grid.n < 1) {
      if (!this.grid.show && this.grid.image) { this.grid.image = null; this.baseDirty = true; this.requestFrame(); }
      return;
    }
    const n = this.grid.n, [h, w] = this.data.image_shape;
    const range = this.visibleRange();
    const canvas = document.createElement("canvas");
    canvas.width = n * w;
    canvas.height = n * h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(n * w, n * h);
    const pixels = new Float32Array(h * w);
    const job = { cancelled: false, next: 0 };
    this.grid.job = job;
    const [x0, x1] = range.x, [y0, y1] = range.y;
    const slice = () => {
      if (job.cancelled) return;
      const t0 = performance.now();
      while (job.next < n * n && performance.now() - t0 < GRID_SLICE_MS) {
        const r = (job.next / n) | 0, c = job.next % n; // row 0 = top = highest y
        const zx = x0 + ((c + 0.5) / n) * (x1 - x0), zy = y1 - ((r + 0.5) / n) * (y1 - y0);
        this.decoder.decodeInto(zx, zy, pixels);
        paintGrey(image, pixels, c * w, r * h, w, true);
        job.next++;
      }
      if (job.next < n * n) { setTimeout(slice, 0); return; }
      ctx.putImageData(image, 0, 0);
      this.grid.image = canvas;
      this.grid.rect = range;
      this.grid.job = null;
      this.baseDirty = true;
      this.requestFrame();
    };
    setTimeout(slice, 0);
  }

  // ------------------------------------------------------------------ drawing
  requestFrame() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => { this.framePending = false; this.frame(); });
  }

  frame() {
    if (!this.size.w || !this.view || !this.points) return;
    const t0 = performance.now();
    if (this.baseDirty) this.renderBase();
    const ctx = this.ctx, { dpr } = this.size;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.base, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    let kind = null;
    const r = this.plotRect();
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.left, r.top, r.width, r.height);
    ctx.clip();
    if (this.drag && this.pointer && this.decoder) {
      kind = "drag";
      const z = this.toLatent(this.pointer.sx, this.pointer.sy);
      this.drag.end = z;
      this.showLive(z);
      this.updateStrip(this.drag.start, z, t0);
      this.drawDragOverlay(ctx, this.drag.start, z);
      this.hideTooltip();
    } else if (this.pointer && !this.press && this.decoder) {
      kind = "hover";
      const z = this.toLatent(this.pointer.sx, this.pointer.sy);
      const inside = this.pointer.sx >= r.left && this.pointer.sx <= r.left + r.width &&
                     this.pointer.sy >= r.top && this.pointer.sy <= r.top + r.height;
      if (inside) {
        this.showLive(z);
        this.hover = this.hitTest(this.pointer.sx, this.pointer.sy);
        if (this.hover >= 0) this.showTooltip(this.hover); else this.hideTooltip();
      } else {
        kind = null;
        this.hideTooltip();
      }
    } else {
      this.hideTooltip();
      if (!this.pointer && this.selection && this.decoder) {
        const s = this.selection.z, l = this.lastLive && this.lastLive.z;
        if (!l || l[0] !== s[0] || l[1] !== s[1]) this.showLive(s);
      }
    }
    if (this.selection) this.drawSelection(ctx, this.selection);
    if (kind === "hover" && this.hover >= 0) this.drawRing(ctx, this.pointZ(this.hover), "#000", 5);
    ctx.restore();
    if (kind) {
      const list = this.timings[kind];
      list.push(performance.now() - t0);
      if (list.length > TIMING_CAPACITY) list.splice(0, list.length - TIMING_CAPACITY);
    }
    if (!this.painted) {
      this.painted = true;
      this.paintedAt = performance.now();
      this.root.dataset.painted = "true";
      this.viewChanged(); // report the first view to Python
    }
  }

  drawRing(ctx, z, colour, radius) {
    const [sx, sy] = this.toScreen(z[0], z[1]);
    ctx.beginPath();
    ctx.arc(sx, sy, radius, 0, 2 * Math.PI);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = colour;
    ctx.stroke();
  }

  drawSelection(ctx, sel) {
    const [sx, sy] = this.toScreen(sel.z[0], sel.z[1]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#111";
    ctx.beginPath();
    for (const [dx, dy] of [[-9, 0], [-4, 0], [4, 0], [9, 0]]) {
      if (dx === -9 || dx === 4) ctx.moveTo(sx + dx, sy + dy); else ctx.lineTo(sx + dx, sy + dy);
    }
    ctx.moveTo(sx, sy - 9); ctx.lineTo(sx, sy - 4);
    ctx.moveTo(sx, sy + 4); ctx.lineTo(sx, sy + 9);
    ctx.stroke();
  }

  drawDragOverlay(ctx, start, end) {
    const [ax, ay] = this.toScreen(start[0], start[1]);
    const [bx, by] = this.toScreen(end[0], end[1]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "rgba(0,0,0,0.8)";
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(ax, ay);
    ctx.lineTo(bx, by);
    ctx.stroke();
    ctx.setLineDash([]);
    const n = this.strip.length;
    ctx.fillStyle = "#000";
    for (let k = 0; k < n; k++) {
      const t = k / (n - 1);
      ctx.beginPath();
      ctx.arc(ax + t * (bx - ax), ay + t * (by - ay), k === 0 || k === n - 1 ? 3.5 : 2, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  showTooltip(i) {
    this.loadImages();
    const label = this.points.labels[i];
    this.tooltipText.textContent = `digit ${label} \u00b7 test #${i}`;
    if (this.images) {
      const [h, w] = this.data.image_shape;
      this.tooltipImage.showBytes(this.images.subarray(i * h * w, (i + 1) * h * w));
      this.tooltipImage.canvas.style.display = "";
    } else {
      this.tooltipImage.canvas.style.display = "none";
    }
    const [sx, sy] = this.toScreen(...this.pointZ(i));
    const left = sx + 12 + 110 > this.size.w ? sx - 12 - 100 : sx + 12;
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${Math.max(0, sy - 50)}px`;
    this.tooltip.style.borderColor = PALETTE[label % 10];
    this.tooltip.dataset.index = String(i);
    this.tooltip.dataset.label = String(label);
    this.tooltip.classList.add("lp-visible");
  }

  hideTooltip() {
    if (this.tooltip.classList.contains("lp-visible")) this.tooltip.classList.remove("lp-visible");
  }

  makeDots() {
    const { dpr } = this.size;
    const size = Math.ceil((DOT_RADIUS + 1) * 2 * dpr);
    this.dots = PALETTE.map((colour) => {
      const c = document.createElement("canvas");
      c.width = c.height = size;
      const g = c.getContext("2d");
      g.globalAlpha = DOT_ALPHA;
      g.fillStyle = colour;
      g.beginPath();
      g.arc(size / 2, size / 2, DOT_RADIUS * dpr, 0, 2 * Math.PI);
      g.fill();
      return c;
    });
    this.dotSize = size;
  }

  renderBase() {
    this.baseDirty = false;
    if (!this.dots) this.makeDots();
    this.projectPoints();
    const ctx = this.baseCtx, { w, h, dpr } = this.size;
    const r = this.plotRect();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.left, r.top, r.width, r.height);
    ctx.clip();
    if (this.grid.show && this.grid.image && this.grid.rect) {
      const g = this.grid.rect;
      const [gx0, gy0] = this.toScreen(g.x[0], g.y[1]);
      const [gx1, gy1] = this.toScreen(g.x[1], g.y[0]);
      ctx.globalAlpha = 0.55;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.grid.image, gx0, gy0, gx1 - gx0, gy1 - gy0);
      ctx.globalAlpha = 1;
    }
    // Points in the data's own (shuffled) order, so no digit is always drawn on top.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const { sx, sy, labels, n } = this.points;
    const half = this.dotSize / 2, counts = new Array(10).fill(0);
    const minX = r.left - 4, maxX = r.left + r.width + 4, minY = r.top - 4, maxY = r.top + r.height + 4;
    for (let i = 0; i < n; i++) {
      const label = labels[i];
      if (this.hidden.has(label)) continue;
      const x = sx[i], y = sy[i];
      if (x < minX || x > maxX || y < minY || y > maxY) continue;
      ctx.drawImage(this.dots[label % 10], Math.round(x * dpr - half), Math.round(y * dpr - half));
      counts[label % 10]++;
    }
    this.drawnCounts = counts;
    ctx.restore();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawAxes(ctx, r);
  }

  drawAxes(ctx, r) {
    const font = getComputedStyle(this.root).fontFamily || "sans-serif";
    ctx.strokeStyle = "#222";
    ctx.fillStyle = "#222";
    ctx.lineWidth = 1;
    ctx.strokeRect(Math.round(r.left) + 0.5, Math.round(r.top) + 0.5, Math.round(r.width), Math.round(r.height));
    ctx.font = `11px ${font}`;
    const range = this.visibleRange();
    const step = niceStep(range.x[1] - range.x[0], r.width / 70);
    const tick = 4;
    ctx.beginPath();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let v = Math.ceil(range.x[0] / step) * step; v <= range.x[1] + 1e-9; v += step) {
      const x = Math.round(this.toScreen(v, 0)[0]) + 0.5;
      ctx.moveTo(x, r.top + r.height);
      ctx.lineTo(x, r.top + r.height + tick);
      ctx.fillText(formatTick(v, step), x, r.top + r.height + tick + 2);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = Math.ceil(range.y[0] / step) * step; v <= range.y[1] + 1e-9; v += step) {
      const y = Math.round(this.toScreen(0, v)[1]) + 0.5;
      ctx.moveTo(r.left, y);
      ctx.lineTo(r.left - tick, y);
      ctx.fillText(formatTick(v, step), r.left - tick - 3, y);
    }
    ctx.stroke();
    ctx.font = `italic 13px ${font}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    ctx.fillText("z\u2081", r.left + r.width / 2, r.top + r.height + 36);
    ctx.save();
    ctx.translate(r.left - 36, r.top + r.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("z\u2082", 0, 0);
    ctx.restore();
  }
}

// ---------------------------------------------------------------------------------------------
// Hooks for tests and the benchmark: window.__latentPlane (the most recent plane on the page).

function exposeHooks(plane) {
  const api = {
    plane,
    get ready() { return !!(plane.decoder && plane.points && plane.painted); },
    get paintedAt() { return plane.paintedAt; },
    toClient(x, y) {
      const [sx, sy] = plane.toScreen(x, y);
      const b = plane.canvas.getBoundingClientRect();
      return { x: b.left + sx, y: b.top + sy };
    },
    toLatent(clientX, clientY) {
      const b = plane.canvas.getBoundingClientRect();
      return plane.toLatent(clientX - b.left, clientY - b.top);
    },
    view: () => plane.visibleRange(),
    plotRect() {
      const r = plane.plotRect(), b = plane.canvas.getBoundingClientRect();
      return { left: b.left + r.left, top: b.top + r.top, width: r.width, height: r.height };
    },
    point: (i) => ({ z: plane.pointZ(i), label: plane.points.labels[i] }),
    nPoints: () => plane.points.n,
    decode(zs) {
      const out = new Float32Array(plane.pixels);
      return zs.map(([x, y]) => Array.from(plane.decoder.decodeInto(x, y, out)));
    },
    live: () => (plane.lastLive ? { z: plane.lastLive.z, pixels: Array.from(plane.lastLive.pixels) } : null),
    strip: () => plane.strip.map((f) => ({ z: f.decodedFor, pixels: f.pixels ? Array.from(f.pixels) : null })),
    frameTimes: (kind) => plane.timings[kind].slice(),
    resetTimes() { plane.timings = { drag: [], hover: [] }; },
    get lastClick() { return plane.lastClick; },
    get lastDrag() { return plane.lastDrag; },
    drawnCounts: () => plane.drawnCounts.slice(),
    gridReady: () => !!(plane.grid.image && !plane.grid.job),
  };
  plane.root.latentPlane = api;
  window.__latentPlane = api;
}

// Python sends its JSON as bytes (see __init__.py); accept a parsed object too.
function parseData(data) {
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(data));
  return data || {};
}

export default function (component) {
  const { parentElement, setStateValue, setTriggerValue } = component;
  const data = parseData(component.data);
  let plane = PLANES.get(parentElement);
  if (!plane) {
    plane = new Plane(parentElement);
    PLANES.set(parentElement, plane);
    exposeHooks(plane);
  }
  const generation = ++plane.generation;
  plane.update(data, setStateValue, setTriggerValue).catch((err) => {
    plane.status.textContent = `could not load the plane: ${err.message}`;
    plane.status.classList.add("lp-error");
  });
  // Streamlit calls this on unmount only; a stale call's cleanup must not tear down a newer one.
  return () => {
    if (plane.generation === generation && PLANES.get(parentElement) === plane) {
      plane.destroy();
      PLANES.delete(parentElement);
    }
  };
}
