// Test hooks: window.__latentPlane, the most recent plane on the page (also on its root element
// as .latentPlane). Used by tests/browser and bench/interaction.py; nothing in the app reads them.
//   ready                  decoder and points loaded and the first frame painted
//   paintedAt              performance.now() of the first paint
//   trainReady             the training encodings (neighbours) have arrived
//   toClient(x, y)         client px of latent (x, y);  toLatent(clientX, clientY) the reverse
//   view()                 the visible range {x: [x0, x1], y: [y0, y1]}
//   plotRect()             the plot's square in client px {left, top, width, height}
//   point(i), nPoints()    test digit i's {z, label}; how many there are
//   decode(zs)             the in-browser decoder on a list of [x, y]: pixel arrays
//   live()                 {z, pixels} of the latest decode under the pointer, or null
//   selection()            {z, index, pixels} of the selected point and its decode, or null
//   strip()                [{z, pixels}] per strip frame
//   lastClick, lastDrag    the latest click {z, index, t} (t: its pointerup's timeStamp), finished drag
//   frameTimes(kind), resetTimes()   ms of work per animation frame, kind "drag" or "hover"; "strip":
//                          per task refreshing the strip's middle frames during a drag
//   drawnCounts()          points drawn per label;  gridReady()  the latent grid is decoded
//   update(data)           apply new data as a rerun would (a model switch without Python)
//   peerZ                  the pointer of a linked plane (compare view) as decoded here, or null
//   square()               the view as {cx, cy, span}: span latent units across the plot
//   holes()                {cells, range, mask (row 0 on top, 1 = hole), ms} once the holes layer is done, else null
//   logDensity(zs)         log q(z) of the aggregate posterior at a list of [x, y] (density.js)
//   ndtri(ps)              Phi^-1 of each p;  gridCells()  the quantile grid's {centres, edges}, or null
//   redrawBase()           draw the base layer again now; its ms and the digits whose ellipses it drew
//   samples()              [{z, mean, shown}] per sample from the prior: its decode, and what its cell shows
//   sampleZ(seed, n), bernoulli(p, seed, i)   the generator behind them, on its own
//   encoderReady, encode(images)   the in-browser encoder on a list of H*W pixel arrays in [0, 1]: [{mu, logvar}]
//   padInk()               {size, ink} the drawing pad's ink, row-major in [0, 1]
//   drawn()                {input, mu, logvar, sigma, kl, recon, penUp, ms} of the drawn digit, or null
//                          (ms: from its pen-up event to the end of the first frame drawing its mark)
//   overlays()             {marks, ellipses} the plane draws besides the scatter
//   tab()                  the panel's tab shown: "point", "samples" or "draw"

import { logAggregatePosterior, ndtri } from "./density.js";
import { PAD } from "./drawpad.js";
import { bernoulliInto, sampleZ } from "./samples.js";

export function exposeHooks(plane) {
  const copy = (pixels) => Array.from(pixels);
  const api = {
    plane,
    get ready() { return !!(plane.model && plane.painted); },
    get paintedAt() { return plane.paintedAt; },
    get trainReady() { return !!plane.train; },
    toClient(x, y) {
      const [sx, sy] = plane.view.toScreen(x, y), b = plane.canvas.getBoundingClientRect();
      return { x: b.left + sx, y: b.top + sy };
    },
    toLatent(clientX, clientY) {
      const b = plane.canvas.getBoundingClientRect();
      return plane.view.toLatent(clientX - b.left, clientY - b.top);
    },
    view: () => plane.view.range(),
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
    strip: () => plane.strip.frames.map((f) => ({ z: f.z, pixels: f.z ? copy(f.pixels) : null })),
    get lastClick() { return plane.lastClick; },
    get lastDrag() { return plane.strip.done; },
    frameTimes: (kind) => plane.timings[kind].slice(),
    resetTimes() { plane.timings = { drag: [], hover: [], strip: [] }; },
    drawnCounts: () => plane.renderer.drawnCounts.slice(),
    gridReady: () => plane.layers.grid.ready,
    get peerZ() { return plane.link.peerZ; },
    square: () => plane.link.square(),
    holes: () => (plane.layers.holes.ready ? { cells: plane.layers.holes.cells, range: plane.layers.holes.range,
                                        mask: Array.from(plane.layers.holes.mask), ms: plane.layers.holes.ms } : null),
    logDensity: (zs) => zs.map(([x, y]) => logAggregatePosterior(plane.model.points, x, y)),
    ndtri: (ps) => ps.map((p) => ndtri(p)),
    gridCells: () => plane.layers.grid.cells,
    redrawBase() {
      plane.baseChanged();
      plane.frame();
      return { ms: plane.renderer.baseMs, ellipses: plane.renderer.ellipsesDrawn };
    },
    update: (data) => plane.update({ ...plane.data, ...data }, plane.setStateValue, plane.setTriggerValue),
    samples: () => plane.inputs.samples.zs.map((z, i) => ({ z, mean: copy(plane.inputs.samples.means[i]),
                                                            shown: copy(plane.inputs.samples.shown[i]) })),
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
  };
  plane.root.latentPlane = api;
  window.__latentPlane = api;
}
