// The plane: holds what Python sent, the model it names and what the user did, and turns each
// change into updates of the parts (panel, strip, layers, view); drawing happens once per animation
// frame in frame(). A model's decoder and points are swapped in together, and everything derived
// from the old model (selection, strip, pointer decode, neighbours, view) follows at once.

import { el } from "./dom.js";
import { DigitCnn } from "./cnn.js";
import { Commands } from "./command.js";
import { estimateLevel } from "./dial.js";
import { CHROME, View, documentTop, layoutSizes, marginsAt } from "./geometry.js";
import { Inputs } from "./inputs.js";
import { LambdaControl, lamText, modelsAt } from "./lam.js";
import { PlaneLayers, posteriorOf } from "./layers.js";
import { Link } from "./link.js";
import { ModelSource } from "./model.js";
import { DecodePanel } from "./panel.js";
import { PointerInput } from "./pointer.js";
import { ImageStore, STATE_VIEW, TRIGGER_DRAG, TRIGGER_PICK, fetchOnce } from "./protocol.js";
import { Renderer } from "./render.js";
import { Strip } from "./strip.js";
import { Toolbar } from "./toolbar.js";
import { Tooltip } from "./tooltip.js";

const VIEW_DEBOUNCE_MS = 400;
const DIAL_SETTLE_MS = 150; // the dial still this long: the layers, the samples and the level follow it
const TIMING_CAPACITY = 4000;
/** Whether `choice` (ModelChoice) says the plane shows the library's dial. */
const dialShown = (choice) => !!choice.dial && choice.model_id === choice.dial.id;
/** Keep the latest TIMING_CAPACITY timings in `list`. */
const record = (list, ms) => { if (list.push(ms) > TIMING_CAPACITY) list.splice(0, list.length - TIMING_CAPACITY); };

export class Plane {
  /** @param {PlaneData} data the first rerun's data: sizes the parts */
  constructor(parent, data) {
    // What Python sent and the model it names.
    this.data = data;
    this.model = null; // Model: one model's decoder and test points, swapped in together
    this.train = null; // {url, points: TrainPoints} of the current model; null until fetched
    this.source = new ModelSource({ model: (m) => this.applyModel(m), train: (url, t) => this.applyTrain(url, t),
                                    error: (message) => { this.say(null); this.toolbar.say(message, true); } });
    this.testImages = this.trainImages = null; // ImageStore per images URL
    this.setStateValue = this.setTriggerValue = null;
    this.commands = new Commands(); // the page's commands, each applied once
    this.link = new Link(this); // planes sharing the pointer and, locked, the view
    // What the user did.
    this.lastClick = null; // {z, index, t} the latest click, for tests and the benchmark
    this.pointerFresh = false; // moved since the last click: the big decode follows the pointer
    // Drawing.
    this.view = new View();
    this.layers = new PlaneLayers(); // the latent grid, the holes, the prior, the ellipses
    this.top = null; // the component's document top, from the first layout until the window resizes
    this.laidOutWidth = 0; // the component's width at the last layout
    this.liveZ = null; // where livePixels were decoded
    this.livePixels = null; // the decode under the pointer
    this.framePending = this.painted = false;
    this.paintedAt = null; // performance.now() of the first paint
    // ms of work per animation frame (dial: turning it, and the frame drawn after); strip: per strip task
    this.timings = { drag: [], hover: [], dial: [], strip: [] };
    this.dialWork = null; // ms spent turning the dial since the last frame
    this.viewTimer = null;
    this.picked = null; // {lam, dial} last picked on the slider, until the page has answered it
    this.dialTimer = null;
    this.levelJob = null; // a dial's "within the data" level, estimated again where it settled
    // Parts.
    const shape = data.image_shape;
    this.lam = new LambdaControl((lam, dial) => this.pick(lam, dial), (lam, settled) => this.turnDial(lam, settled));
    this.toolbar = new Toolbar({ reset: () => this.resetView(), changed: () => this.baseChanged() });
    this.canvas = el("canvas", { class: "lp-canvas", "data-testid": "plane-canvas" });
    this.tooltip = new Tooltip(shape);
    // What the plane is waiting for, over the plot: a model on its way, a lambda with no model.
    this.busy = el("div", { class: "lp-busy", "data-testid": "plane-busy", role: "status", hidden: "" });
    this.stage = el("div", { class: "lp-stage" }, this.canvas, this.tooltip.root, this.layers.key, this.busy);
    this.stripRoot = el("div", { class: "lp-strip", "data-testid": "live-strip" });
    this.strip = new Strip(this.stripRoot, data.strip_frames, shape, (ms) => record(this.timings.strip, ms));
    this.panel = new DecodePanel(shape);
    this.inputs = new Inputs(shape, this.panel.root, this);
    this.left = el("div", { class: "lp-left" }, this.stage, this.stripRoot);
    this.root = el("div", { class: "lp-root", "data-testid": "latent-plane" }, this.lam.root, this.toolbar.root,
                   el("div", { class: "lp-body" }, this.left, this.inputs.root));
    parent.append(this.root);
    this.renderer = new Renderer(this.canvas, getComputedStyle(this.root).fontFamily || "sans-serif");
    this.input = new PointerInput(this.canvas, this, () => this.view.copy());
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(this.root);
    this.onWindowResize = () => this.layout(true);
    window.addEventListener("resize", this.onWindowResize);
  }

  destroy() {
    this.link.leave();
    this.strip.close();
    this.resizer.disconnect();
    window.removeEventListener("resize", this.onWindowResize);
    clearTimeout(this.viewTimer);
    clearTimeout(this.dialTimer);
    if (this.levelJob) this.levelJob.cancelled = true;
    this.lam.stop();
    this.layers.clear();
    this.root.remove();
  }

  // ------------------------------------------------------------------ data from Python
  /** Idempotent: Streamlit calls it on every rerun, often with the same data. */
  update(data, setStateValue, setTriggerValue) {
    const before = this.data;
    this.data = data;
    this.setStateValue = setStateValue;
    this.setTriggerValue = setTriggerValue;
    const [h, w] = data.image_shape;
    const store = (old, url, n) => (old && old.url === url ? old : new ImageStore(url, n, h * w));
    this.testImages = store(this.testImages, data.test_images_url, data.n_points);
    this.trainImages = store(this.trainImages, data.train_images_url, data.n_train);
    if (this.layers.set(data)) { this.startLayers(); this.baseChanged(); }
    this.inputs.setData(data);
    this.wantJudge(data.judge);
    this.link.update(data, before);
    this.root.classList.toggle("lp-present", !!data.present);
    if (!!data.compact !== !!before.compact || !!data.present !== !!before.present) this.layout(true);
    if (this.commands.receive(data.command)) this.requestFrame();
    this.lam.set(data.choice || null, data.dial);
    if (this.source.want(data)) {
      this.say(data.dial ? "Loading the dial\u2026" : data.choice ? `Loading the model of \u03bb = ${lamText(data.choice.lam)}\u2026`
        : "Loading the model\u2026");
    } else {
      if (this.model && before.neighbours_k !== data.neighbours_k) this.refreshSelection();
      this.answered(data.choice);
    }
    this.wantTrain();
  }

  /** Fetch the digit classifier `judge` names (JudgeData, or null: none), once; the panel judges decodes with it. */
  wantJudge(judge) {
    const url = judge ? judge.url : null;
    if (url === this.judgeUrl) return;
    this.judgeUrl = url;
    const use = (cnn) => {
      this.panel.setJudge(cnn);
      this.strip.judge = cnn;
      this.inputs.samples.setJudge(cnn, this.inputs.decoder);
    };
    if (!judge) { use(null); return; }
    fetchOnce(url).then((buffer) => {
      if (this.judgeUrl !== url) return;
      use(new DigitCnn(buffer, judge));
      this.refreshSelection();
      this.startLayers(); // the decodability layer waits for the judge
    }).catch(() => {}); // unjudged decodes: the page still works without the classifier
  }

  // ------------------------------------------------------------------ the lambda slider
  /** A lambda was picked, or the dial asked for or left: the plot says at once what the page will do,
   * then Python is told. */
  pick(lam, dial = false) {
    const choice = this.data.choice;
    if (!choice) return;
    this.picked = { lam, dial };
    if (dial) this.say("Switching to the dial\u2026");
    else if (lamText(lam) === lamText(choice.lam) && !dialShown(choice)) this.answered(choice);
    else if (modelsAt(choice, lam).length) this.say(`Switching to \u03bb = ${lamText(lam)}\u2026`);
    else this.say(`No model has \u03bb = ${lamText(lam)} yet: train one in the sidebar, or pick another \u03bb.`, false);
    // seq: when, in ms since the epoch: one number per pick, however often the plane is made anew.
    if (this.setTriggerValue) {
      this.setTriggerValue(TRIGGER_PICK, { lam, seq: Math.round(performance.timeOrigin + performance.now()), dial });
    }
  }

  /** The page's data answers the pick, if it sits where the pick asked: nothing is awaited then
   * (the model there is drawn, or none is, and the plot says so until another is picked). */
  answered(choice) {
    if (!choice) return;
    const p = this.picked;
    if (p !== null && (p.dial !== dialShown(choice) || (!p.dial && lamText(p.lam) !== lamText(choice.lam)))) return;
    this.picked = null;
    if (dialShown(choice)) { if (this.model && this.model.dial) this.say(null); return; }
    const none = !modelsAt(choice, choice.lam).some((m) => m.id === choice.model_id) && choice.model_id !== null;
    if (none) this.say(`No model has \u03bb = ${lamText(choice.lam)} yet: train one in the sidebar, or pick another \u03bb.`, false);
    else this.say(null);
  }

  /** What the plane waits for, over the plot (`blocking`: the plot dims), or nothing (null). */
  say(text, blocking = true) {
    this.busy.hidden = !text;
    this.busy.textContent = text || "";
    this.busy.classList.toggle("lp-busy-note", !blocking);
  }

  /** The training encodings, for a selection's neighbours: fetched once something is selected under
   * the model they belong to, so a visitor who never clicks never costs the server that file. */
  wantTrain() {
    if (this.panel.selected && this.model && this.model.key === ModelSource.keyOf(this.data)) {
      this.source.wantTrain(this.data);
    }
  }

  applyTrain(url, points) {
    if (url !== this.data.train_url) return;
    this.train = { url, points };
    this.refreshSelection();
  }

  applyModel(model) {
    const first = !this.model;
    if (this.levelJob) this.levelJob.cancelled = true;
    this.model = model;
    if (model.dial) this.setDial(this.lam.dialLam ?? model.dial.lam);
    this.livePixels = new Float32Array(this.data.image_shape[0] * this.data.image_shape[1]);
    this.liveZ = null;
    const labels = [...new Set(model.points.labels)].sort((a, b) => a - b);
    this.toolbar.setLabels(labels, this.data.palette);
    if (this.train && this.train.url !== this.data.train_url) this.train = null; // the old model's encodings
    // A test digit is where the new model encodes it; a free z stays where it is.
    this.panel.follow(model);
    this.inputs.setModel(model, this.data);
    const drag = this.strip.follow(model, this.testImages);
    if (drag) this.report(drag); // Python's downloads follow the strip
    this.layers.clear();
    if (this.view.side > 0 && !(this.data.keep_axes && !first)) this.fitView(!first);
    if (model.dial) this.startLevel(model);
    else { this.baseChanged(); this.startLayers(); } // the same view, the new model's points and layers
    this.toolbar.say("");
    this.answered(this.data.choice);
    this.refreshSelection();
    this.wantTrain();
    this.requestFrame();
  }

  // ------------------------------------------------------------------ the dial
  /** The dial's decoder and the test digits' codes at `lam`. */
  setDial(lam) {
    const { decoder, dial, points } = this.model;
    dial.lam = lam;
    decoder.setLam(lam);
    dial.grid.fill(lam, points);
  }

  /**
   * The dial turned to `lam`: the points, the selection, its decode and the strip follow at once,
   * on the same axes; the layers, the samples, a drawn digit and the "within the data" level follow
   * once it has been still for DIAL_SETTLE_MS (or at once, `settled`: released, or Play has stopped).
   */
  turnDial(lam, settled) {
    const model = this.model;
    if (!model || !model.dial) return;
    const t0 = performance.now();
    this.setDial(lam);
    this.liveZ = null;
    this.panel.follow(model);
    const drag = this.strip.follow(model, this.testImages);
    this.refreshSelection();
    this.baseChanged();
    this.dialWork = (this.dialWork || 0) + performance.now() - t0;
    clearTimeout(this.dialTimer);
    this.dialTimer = setTimeout(() => this.dialSettled(drag), settled ? 0 : DIAL_SETTLE_MS);
  }

  dialSettled(drag) {
    this.dialTimer = null;
    const model = this.model;
    if (!model || !model.dial) return;
    if (drag) this.report(drag); // Python's downloads follow the strip
    this.inputs.setModel(model, this.data);
    this.layers.clear();
    this.startLayers();
    this.reportView();
    this.startLevel(model);
  }

  /** Estimate a dial's "within the data" level where it is turned to, in slices. */
  startLevel(model) {
    if (this.levelJob) this.levelJob.cancelled = true;
    this.levelJob = estimateLevel(model.points, (level) => {
      this.levelJob = null;
      if (this.model !== model) return;
      model.level = level;
      this.refreshSelection();
    });
  }

  // ------------------------------------------------------------------ state changes
  pointZ(i) { const mu = this.model.points.mu; return [mu[2 * i], mu[2 * i + 1]]; }

  /** The selection's decode, its test digit's figures and its neighbours, from the current model. */
  refreshSelection() {
    const from = { model: this.model, train: this.train && this.train.points, data: this.data,
                   testImages: this.testImages, trainImages: this.trainImages };
    this.panel.refresh(from, this.pointerFresh && !!this.input.pointer);
  }

  select(z, index) {
    this.panel.select(z, index);
    this.wantTrain();
    this.inputs.show("point");
    this.pointerFresh = false;
    this.refreshSelection();
    this.requestFrame();
  }

  report(drag) { if (this.setTriggerValue) this.setTriggerValue(TRIGGER_DRAG, drag); }

  /** The drawn digit was encoded again, by a new model: a strip that starts at it starts at its new mu. */
  drawnMoved(mu) {
    if (!this.model) return;
    const drag = this.strip.moveDrawnStart(this.model, this.testImages, mu);
    if (drag) this.report(drag);
    this.requestFrame();
  }

  // ------------------------------------------------------------------ pointer intents (PointerHandlers)
  ready() { return !!this.model && this.view.ready; }

  moved() { this.pointerFresh = true; this.requestFrame(); }

  hit(sx, sy) {
    if (this.renderer.baseDirty) this.renderer.project(this.view, this.model.points);
    return this.renderer.hitTest(sx, sy, this.model.points.labels, this.toolbar.hidden);
  }

  /** What is at canvas (sx, sy): a mark (sample, drawn digit) over a test digit over empty space. */
  at(sx, sy) {
    const mark = this.inputs.hit(this.view, sx, sy), index = mark ? -1 : this.hit(sx, sy);
    return mark || { z: index >= 0 ? this.pointZ(index) : this.view.toLatent(sx, sy), index, pixels: null };
  }

  click(sx, sy, t) {
    const { z, index } = this.at(sx, sy);
    this.lastClick = { z, index, t };
    this.select(z, index);
  }

  dragStart(press) {
    const { z, index, pixels } = this.at(press.sx, press.sy);
    this.strip.begin(this.model, this.testImages, z, index, pixels);
  }

  dragEnd(press, sx, sy) {
    if (!this.strip.drag) return;
    const { z, index } = this.at(sx, sy);
    this.report(this.strip.end(this.model, this.testImages, z, index));
    this.select(z, index);
  }

  cancel() { this.strip.cancel(); this.requestFrame(); }

  pan(press, dx, dy) { this.view.panFrom(press.view, dx, dy); this.viewChanged(); }

  panEnd() { this.viewChanged(); }

  zoom(sx, sy, factor) { this.view.zoomAt(sx, sy, factor); this.viewChanged(); }

  resetView() { if (this.model) this.fitView(true); }

  // ------------------------------------------------------------------ view and layout
  fitView(report) {
    const { points, dial } = this.model;
    if (dial) { // fixed axes for the whole range: the codes at its low end, where they spread widest
      const rows = dial.grid.rows, n2 = 2 * points.n;
      this.view.fit(rows.mu.subarray(0, n2), points.n, rows.logvar.subarray(0, n2));
    } else this.view.fit(points.mu, points.n, points.logvar);
    if (this.data.lock_axes) this.link.widen();
    if (report || this.data.lock_axes) this.viewChanged(); else this.baseChanged();
  }

  baseChanged() { this.renderer.baseDirty = true; this.requestFrame(); }

  /** The view moved: redraw now; tell Python and redo the grid once it has settled. */
  viewChanged() {
    this.baseChanged();
    this.link.shareView();
    clearTimeout(this.viewTimer);
    this.viewTimer = setTimeout(() => { this.reportView(); this.startLayers(); }, VIEW_DEBOUNCE_MS);
  }

  reportView() {
    const range = this.view.range(), round = (v) => Math.round(v * 1e4) / 1e4;
    const lam = this.model && this.model.dial ? this.model.dial.lam : null;
    if (this.setStateValue) this.setStateValue(STATE_VIEW, { x: range.x.map(round), y: range.y.map(round), lam });
  }

  /** (Re)compute the latent grid's decodings, the holes and the decodability for this view and model, as they need. */
  startLayers() {
    if (!this.model || !this.view.ready) return;
    this.layers.start(this.model, this.view.range(), this.data.image_shape, () => this.baseChanged(), this.panel.judge,
                      this.data.palette);
  }

  /**
   * Size the parts from the room the page gives (geometry.js): the plot as large as the width and
   * the window allow, the strip under it, the panel beside it or, compact, under the strip. The
   * sizes of the parts around the plot are plane.css's (its custom properties, larger in
   * presentation mode). `moved`: the component's top may have moved (a window resize, a change of
   * layout); otherwise the top of the first layout holds, so that later changes above it do not
   * resize the plane.
   */
  layout(moved = false) {
    const width = Math.floor(this.root.clientWidth);
    if (width <= 0) return;
    if (moved || this.top === null) this.top = documentTop(this.root);
    const style = getComputedStyle(this.root);
    const css = (name, fallback) => parseFloat(style.getPropertyValue(name)) || fallback;
    const scale = css("--lp-canvas-scale", 1), margin = marginsAt(scale);
    const chrome = { above: css("--lp-lam-h", 36) + css("--lp-toolbar-h", 28), strip: css("--lp-strip-h", CHROME.strip),
                     panel: css("--lp-panel-min", CHROME.panel), compactPanel: css("--lp-compact-panel-h", CHROME.compactPanel),
                     gap: CHROME.gap };
    const { side, w, h, compact } = layoutSizes(width, this.top, window.innerHeight,
                                                { compact: !!this.data.compact, chrome, margin });
    const dpr = window.devicePixelRatio || 1;
    if (side === this.view.side && w === this.renderer.width && dpr === this.renderer.dpr && scale === this.renderer.scale &&
        compact === this.root.classList.contains("lp-compact") && width === this.laidOutWidth) return;
    this.laidOutWidth = width;
    this.root.classList.toggle("lp-compact", compact);
    this.view.margin = margin;
    this.renderer.scale = scale;
    this.renderer.resize(w, h, dpr);
    this.view.resize(side);
    this.stage.style.width = `${w}px`;
    this.stage.style.height = `${h}px`;
    // In presentation mode the strip spans the component, under the panel too, for larger frames.
    const wide = !!this.data.present && !compact;
    (wide ? this.root : this.left).append(this.stripRoot);
    this.stripRoot.style.width = `${wide ? width : w}px`;
    this.stripRoot.style.height = `${chrome.strip}px`;
    this.stripRoot.style.paddingLeft = `${margin.left}px`; // the strip starts under the plot
    Object.assign(this.busy.style, { left: `${margin.left}px`, top: `${margin.top}px`, width: `${side}px` });
    this.busy.style.setProperty("--lp-side", `${side}px`);
    Object.assign(this.layers.key.style, { left: `${margin.left + 6}px`, bottom: `${margin.bottom + 6}px` });
    this.inputs.setHeight(compact ? null : h + (wide ? 0 : chrome.strip), wide);
    if (this.model && !(this.view.scale > 0)) this.fitView(false);
    this.baseChanged();
  }

  // ------------------------------------------------------------------ drawing, once per animation frame
  requestFrame() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => { this.framePending = false; this.frame(); });
  }

  frame() {
    if (!this.model || !this.view.ready) return;
    this.commands.run(this, ModelSource.keyOf(this.data));
    const t0 = performance.now();
    const { decoder, points } = this.model, view = this.view, pointer = this.input.pointer;
    if (this.renderer.baseDirty) {
      this.renderer.drawBase(view, points, this.toolbar.hidden, this.data.palette, this.layers.grid.layer,
                             this.layers.base);
    }
    let kind = null, hover = -1;
    const over = pointer && view.contains(pointer.sx, pointer.sy);
    const drag = this.strip.drag, selected = this.panel.selected;
    if (drag && pointer) {
      kind = "drag";
      const z = view.toLatent(pointer.sx, pointer.sy);
      drag.end = z;
      this.decodeLive(z);
      this.strip.live(decoder, drag.start, z, this.livePixels);
    } else if (over && !this.input.press && this.pointerFresh) {
      kind = "hover";
      this.decodeLive(view.toLatent(pointer.sx, pointer.sy));
      hover = this.hit(pointer.sx, pointer.sy);
    } else if (this.link.peerZ) {
      kind = "linked";
      this.decodeLive(this.link.peerZ);
    } else if (selected && this.panel.decode.shown !== selected.z) {
      this.panel.showDecode(this.panel.selectedPixels, selected.z, false);
    } else if (!selected && !over && this.panel.decode.shown !== null) {
      this.panel.clearDecode();
    }
    if (hover >= 0) {
      const [sx, sy] = view.toScreen(...this.pointZ(hover)), label = points.labels[hover];
      this.tooltip.show(hover, label, this.data.palette[label % this.data.palette.length], sx, sy,
                        this.renderer.width, this.testImages);
    } else this.tooltip.hide();
    const ellipses = [selected ? selected.index : -1, hover].filter((i, k, all) => i >= 0 && all.indexOf(i) === k)
      .map((i) => posteriorOf(this.model.points, i, this.data.palette)).concat(this.inputs.ellipses());
    this.renderer.drawFrame(view, {
      selection: selected ? selected.z : null,
      hover: hover >= 0 ? this.pointZ(hover) : kind === "linked" ? this.link.peerZ : null,
      drag: this.strip.path(), ellipses,
      marks: this.inputs.marks(),
    });
    this.inputs.painted(performance.now());
    const own = kind === "drag" || kind === "hover";
    this.link.pointer(own ? this.liveZ : null);
    if (own) record(this.timings[kind], performance.now() - t0);
    if (this.dialWork !== null) {
      record(this.timings.dial, this.dialWork + performance.now() - t0);
      this.dialWork = null;
    }
    if (!this.painted) {
      this.painted = true;
      this.paintedAt = performance.now();
      this.root.dataset.painted = "true";
      this.reportView(); // at once: Python sends the rest of the page when the plane has painted
      this.startLayers();
    }
  }

  decodeLive(z) {
    this.liveZ = z;
    this.panel.showDecode(this.model.decoder.decodeInto(z[0], z[1], this.livePixels), z, true);
  }
}
