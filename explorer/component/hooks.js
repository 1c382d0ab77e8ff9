// Test hooks: window.__latentPlane, the most recent plane on the page (also on its root element
// [data-testid=latent-plane] as .latentPlane). Used by tests/browser and bench/; nothing in the app
// reads them. They are the plane's whole surface for those: named reads and a few named actions,
// never the plane object itself, so the plane's insides can change without touching a test.
// Its own elements are found through the DOM by data-testid; this is for what the DOM cannot tell.
//
// Reads (plain data, pixel arrays copied; `element` the one DOM node):
//   element                the root element [data-testid=latent-plane], to find the plane's own parts by
//                          data-testid from a page script (Streamlit puts it in a shadow root, out of
//                          reach of document.querySelector)
//   ready                  decoder and points loaded and the first frame painted
//   paintedAt              performance.now() of the first paint
//   trainReady             the training encodings (neighbours) have arrived
//   settings()             a copy of the data Python last sent (PlaneData, protocol.js), with any
//                          update() below merged in
//   showsModel(decoderUrl) the model drawn is the one settings() names (its decoder and points
//                          fetched and swapped in); given decoderUrl, also that its decoder is that file
//   idle()                 nothing shown is out of date or still on its way: every frame asked for drawn;
//                          the model, training encodings and encoder fetched (none in flight); the grid
//                          and holes (where shown) done for the view shown; the strip caught up; the
//                          selected test digit's image, its nearest training digits' and the strip
//                          ends' images drawn; a dial settled, its level estimated
//   toClient(x, y)         client px of latent (x, y);  toLatent(clientX, clientY) the reverse
//   view()                 the visible range {x: [x0, x1], y: [y0, y1]}
//   square()               the view as {cx, cy, span}: span latent units across the plot
//   scale()                CSS px per latent unit
//   plotRect()             the plot's square in client px {left, top, width, height}
//   point(i), nPoints()    test digit i's {z, label}; how many there are
//   decode(zs)             the in-browser decoder on a list of [x, y]: pixel arrays
//   live()                 {z, pixels} of the latest decode under the pointer, or null
//   selection()            {z, index, pixels} of the selected point and its decode, or null
//   neighboursShown()      the selection's nearest training digits are listed and every one's image drawn
//   strip()                [{z, pixels}] per strip frame
//   lastClick, lastDrag    the latest click {z, index, t} (t: its pointerup's timeStamp), finished drag
//   frameTimes(kind), resetTimes()   ms of work per animation frame, kind "drag" or "hover"; "dial":
//                          turning the dial and the frame drawn after; "strip": per task refreshing
//                          the strip's middle frames during a drag
//   dial()                 a dial's {lam, low, high, level, slider, playing}, or null for a model of one lambda
//   codes(indices)         [{mu, logvar}] of those test digits as the plane has them now
//   drawnCounts()          points drawn per label;  gridReady()  the latent grid is decoded
//   gridCells()            the quantile grid's {centres, edges}, or null
//   gridImage()            the grid's decodings as one image {width, height, data: RGBA}, or null
//   peerZ                  the pointer of a linked plane (compare view) as decoded here, or null
//   holes()                {cells, range, mask (row 0 on top, 1 = hole), ms} once the holes layer is done, else null
//   decodability()         {cells, range, labels (row 0 on top, -1 = no digit), confidence, ms} once done, else null
//   logDensity(zs)         log q(z) of the aggregate posterior at a list of [x, y] (density.js)
//   ndtri(ps)              Phi^-1 of each p
//   samples()              [{z, mean, shown, verdict}] per sample from the prior: its decode, what its cell shows
//                          and the classifier's verdict on the decode ({label, confidence, recognised} or null)
//   stripVerdicts()        the classifier's verdict on each frame of the finished strip
//   sampleZ(seed, n), bernoulli(p, seed, i)   the generator behind them, on its own
//   encoderReady, encode(images)   the in-browser encoder on a list of H*W pixel arrays in [0, 1]: [{mu, logvar}]
//   padInk()               {size, ink} the drawing pad's ink, row-major in [0, 1]
//   drawn()                {input, mu, logvar, sigma, kl, recon, penUp, ms} of the drawn digit, or null
//                          (ms: from its pen-up event to the end of the first frame drawing its mark)
//   overlays()             {marks, ellipses} the plane draws besides the scatter
//   tab()                  the panel's tab shown: "point", "samples" or "draw"
//   paneRect(name)         that tab's pane in client px {left, top, width, height, right, bottom}
//   dots()                 the scatter's dot sprites at this devicePixelRatio, one per palette colour:
//                          [{size, coverage (size*size alpha in [0, 1]), rgb}] (dots.js)
// Actions (each as a person or a rerun would cause it, without the pointer or Python):
//   update(data)           apply new data as a rerun would (a model switch without Python)
//   select(z, index)       select latent z (on test digit index, or -1) as a click there would
//   turnDial(lam, settled) turn the dial to lam as the slider would (settled: released)
//   setSquare({cx, cy, span})   show this square of latent space as a pan and zoom would (the
//                          layers follow it, Python hears the new range)
//   showTab(name)          show the panel's tab "point", "samples" or "draw" as a click on it would
//   clearPad()             clear the drawing pad as its Clear button would
//   redrawBase()           draw the base layer again now; its ms and the digits whose ellipses it drew
//   redrawBaseWith(drawDots)   the base layer of the scatter alone, its dots drawn by
//                          drawDots(ctx, {n, sx, sy, labels, dpr}) (ctx in device px, sx/sy in CSS px)
//                          instead of dots.js's blend: bench/redraw.py's baseline; its ms

import { logAggregatePosterior, ndtri } from "./density.js";
import { PAD } from "./drawpad.js";
import { ModelSource } from "./model.js";
import { bernoulliInto, sampleZ } from "./samples.js";

const sameRange = (a, b) => !!a && !!b && a.x[0] === b.x[0] && a.x[1] === b.x[1] && a.y[0] === b.y[0] && a.y[1] === b.y[1];

export function exposeHooks(plane) {
  const copy = (pixels) => Array.from(pixels);
  const { grid, holes, decodability } = plane.layers;
  const showsModel = () => !!plane.model && plane.model.key === ModelSource.keyOf(plane.data);
  const neighboursShown = () => {
    const panel = plane.panel;
    return !!plane.train && panel.cells.length > 0 && panel.cells.every((c, j) => c.view.shown === panel.shownIndices[j]);
  };
  const imagesShown = () => {
    const { panel, strip } = plane;
    const ends = [strip.startImage, strip.endImage].every((v, k) => strip.ends[k] < 0 || v.shown === strip.ends[k] ||
                                                                      v.shown === "own");
    return ends && (!panel.selected || ((panel.digitIndex < 0 || panel.digitImage.shown === panel.digitIndex) &&
                                        neighboursShown()));
  };
  const api = {
    element: plane.root,
    get ready() { return !!(plane.model && plane.painted); },
    get paintedAt() { return plane.paintedAt; },
    get trainReady() { return !!plane.train; },
    settings: () => JSON.parse(JSON.stringify(plane.data)),
    showsModel: (decoderUrl) => showsModel() && (decoderUrl === undefined || plane.data.decoder_url === decoderUrl),
    idle() {
      const range = plane.view.ready ? plane.view.range() : null;
      const gridDone = !grid.show || (grid.ready && (grid.spacing === "quantile" || sameRange(grid.range, range)));
      const holesDone = !holes.show || (holes.ready && sameRange(holes.range, range));
      // The classifier, where the page has one, loaded; its layer, where shown, done for the view.
      const judge = plane.data && plane.data.judge;
      const judged = !judge || (!!plane.panel.judge &&
        (!decodability.show || (decodability.ready && sameRange(decodability.range, range))));
      return showsModel() && plane.painted && !plane.framePending && !plane.source.wanted && !plane.source.trainWanted &&
        !plane.inputs.encoderWanted && gridDone && holesDone && judged && !plane.strip.refreshPending && imagesShown() &&
        plane.dialTimer === null && plane.levelJob === null && plane.strip.judgeTimer === null &&
        plane.panel.judgeTimer === null;
    },
    toClient(x, y) {
      const [sx, sy] = plane.view.toScreen(x, y), b = plane.canvas.getBoundingClientRect();
      return { x: b.left + sx, y: b.top + sy };
    },
    toLatent(clientX, clientY) {
      const b = plane.canvas.getBoundingClientRect();
      return plane.view.toLatent(clientX - b.left, clientY - b.top);
    },
    view: () => plane.view.range(),
    square: () => plane.link.square(),
    scale: () => plane.view.scale,
    plotRect() {
      const r = plane.view.rect(), b = plane.canvas.getBoundingClientRect();
      return { left: b.left + r.left, top: b.top + r.top, width: r.width, height: r.height };
    },
    point: (i) => ({ z: plane.pointZ(i), label: plane.model.points.labels[i] }),
    nPoints: () => plane.model.points.n,
    decode(zs) {
      const out = new Float32Array(plane.livePixels.length);
      return zs.map(([x, y]) => copy(plane.model.decoder.decodeInto(x, y, out)));
    },
    live: () => (plane.liveZ ? { z: plane.liveZ, pixels: copy(plane.livePixels) } : null),
    selection: () => (plane.panel.selected ? { ...plane.panel.selected, pixels: copy(plane.panel.selectedPixels) } : null),
    neighboursShown,
    strip: () => plane.strip.frames.map((f) => ({ z: f.z, pixels: f.z ? copy(f.pixels) : null })),
    get lastClick() { return plane.lastClick; },
    get lastDrag() { return plane.strip.done; },
    frameTimes: (kind) => plane.timings[kind].slice(),
    resetTimes() { plane.timings = { drag: [], hover: [], dial: [], strip: [] }; },
    dial() {
      const m = plane.model;
      return m && m.dial ? { lam: m.dial.lam, low: m.dial.grid.low, high: m.dial.grid.high, level: m.level,
                             slider: plane.lam.dialLam, playing: plane.lam.playing !== null } : null;
    },
    codes: (indices) => indices.map((i) => {
      const { mu, logvar } = plane.model.points;
      return { mu: [mu[2 * i], mu[2 * i + 1]], logvar: [logvar[2 * i], logvar[2 * i + 1]] };
    }),
    drawnCounts: () => plane.renderer.drawnCounts.slice(),
    gridReady: () => grid.ready,
    gridCells: () => grid.cells,
    gridImage() {
      if (!grid.ready) return null;
      const { width, height } = grid.image;
      return { width, height, data: copy(grid.image.getContext("2d").getImageData(0, 0, width, height).data) };
    },
    get peerZ() { return plane.link.peerZ; },
    holes: () => (holes.ready ? { cells: holes.cells, range: holes.range, mask: copy(holes.mask), ms: holes.ms } : null),
    decodability: () => (decodability.ready ? { cells: decodability.cells, range: decodability.range,
                                                 labels: copy(decodability.labels), confidence: copy(decodability.confidence),
                                                 ms: decodability.ms } : null),
    logDensity: (zs) => zs.map(([x, y]) => logAggregatePosterior(plane.model.points, x, y)),
    ndtri: (ps) => ps.map((p) => ndtri(p)),
    samples: () => plane.inputs.samples.zs.map((z, i) => ({ z, mean: copy(plane.inputs.samples.means[i]),
                                                            shown: copy(plane.inputs.samples.shown[i]),
                                                            verdict: plane.inputs.samples.verdicts[i] || null })),
    stripVerdicts: () => plane.strip.verdicts.map((v) => ({ ...v })),
    sampleZ: (seed, n) => sampleZ(seed, n),
    bernoulli: (p, seed, i) => copy(bernoulliInto(p, seed, i, new Float32Array(p.length))),
    get encoderReady() { return !!plane.inputs.encoder; },
    encode: (images) => images.map((x) => plane.inputs.encoder.net.encode(x)),
    padInk: () => ({ size: PAD, ink: copy(plane.inputs.pad.ink()) }),
    drawn() {
      const d = plane.inputs.drawn;
      return d && { ...d, input: copy(d.input), recon: copy(d.recon) };
    },
    overlays: () => ({ marks: plane.inputs.marks(), ellipses: plane.inputs.ellipses() }),
    tab: () => plane.inputs.tab,
    paneRect(name) {
      const { left, top, width, height, right, bottom } = plane.inputs.panes[name].getBoundingClientRect();
      return { left, top, width, height, right, bottom };
    },
    dots: () => plane.renderer.dots.map(({ size, coverage, rgb }) => ({ size, coverage: copy(coverage), rgb: [...rgb] })),

    update: (data) => plane.update({ ...plane.data, ...data }, plane.setStateValue, plane.setTriggerValue),
    turnDial: (lam, settled) => { plane.lam.turn(lam, settled); plane.lam.setPosition(lam); },
    select: (z, index) => plane.select(z, index),
    setSquare(square) {
      plane.view.setSquare(square);
      plane.viewChanged();
    },
    showTab: (name) => plane.inputs.show(name),
    clearPad: () => plane.inputs.pad.clear(),
    redrawBase() {
      plane.baseChanged();
      plane.frame();
      return { ms: plane.renderer.baseMs, ellipses: plane.renderer.ellipsesDrawn };
    },
    redrawBaseWith(drawDots) {
      const r = plane.renderer, view = plane.view, points = plane.model.points, rect = view.rect(), dpr = r.dpr;
      const ctx = r.baseCtx;
      const t0 = performance.now();
      r.project(view, points);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, r.base.width, r.base.height);
      ctx.save();
      ctx.beginPath();
      ctx.rect(rect.left * dpr, rect.top * dpr, rect.width * dpr, rect.height * dpr);
      ctx.clip();
      drawDots(ctx, { n: points.n, sx: r.sx, sy: r.sy, labels: points.labels, dpr });
      ctx.restore();
      r.drawAxes(ctx, view);
      r.baseDirty = true; // the next frame draws the plane's own base again
      return performance.now() - t0;
    },
  };
  plane.root.latentPlane = api;
  window.__latentPlane = api;
}

/** The plane is gone: its hooks go too, unless a newer plane's have replaced them. */
export function withdrawHooks(plane) {
  if (window.__latentPlane && window.__latentPlane === plane.root.latentPlane) delete window.__latentPlane;
}
