// geometry.js: the map between latent units and the canvas (no Python counterpart: checked by its
// own promises: a round trip, zoom about the cursor, a fit to the codes of the shipped models) and
// the layout's bounds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CHROME, MARGIN, PLOT_LEAST, View, layoutSizes, marginsAt } from "../../explorer/component/geometry.js";
import { loadModel } from "./fixtures.js";

const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** A deterministic stream of numbers in [0, 1) for the property loops. */
function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function view(side, cx, cy, scale) {
  const v = new View();
  Object.assign(v, { side, cx, cy, scale });
  return v;
}

describe("geometry.js: View", () => {
  test("is not ready until it has a side and a scale", () => {
    const v = new View();
    assert.equal(v.ready, false);
    v.side = 600;
    assert.equal(v.ready, false);
    v.scale = 10;
    assert.equal(v.ready, true);
  });

  test("toScreen and toLatent invert each other; the centre is the plot's middle; y points up", () => {
    const rand = lcg(1);
    for (let k = 0; k < 200; k++) {
      const v = view(240 + 660 * rand(), 200 * (rand() - 0.5), 200 * (rand() - 0.5), 10 ** (5 * rand()));
      const x = v.cx + (rand() - 0.5) * 3 * v.side / v.scale, y = v.cy + (rand() - 0.5) * 3 * v.side / v.scale;
      const [sx, sy] = v.toScreen(x, y), [bx, by] = v.toLatent(sx, sy);
      close(bx, x, 1e-12, "x round trip");
      close(by, y, 1e-12, "y round trip");
      const [zx, zy] = v.toLatent(...v.toScreen(...v.toLatent(sx, sy)));
      close(zx, bx, 1e-12, "x again");
      close(zy, by, 1e-12, "y again");
    }
    const v = view(500, 1.5, -2, 40);
    assert.deepEqual(v.toScreen(1.5, -2), [MARGIN.left + 250, MARGIN.top + 250]);
    const [ax, ay] = v.toScreen(2.5, -1);
    assert.equal(ax, MARGIN.left + 250 + 40);
    assert.equal(ay, MARGIN.top + 250 - 40, "higher y is higher on the screen");
  });

  test("range is the latent square under the plot, rect and contains its pixels", () => {
    const v = view(400, 3, -1, 50);
    assert.deepEqual(v.range(), { x: [-1, 7], y: [-5, 3] });
    assert.deepEqual(v.rect(), { left: MARGIN.left, top: MARGIN.top, width: 400, height: 400 });
    const [sx0, sy1] = v.toScreen(-1, 3), [sx1, sy0] = v.toScreen(7, -5);
    assert.deepEqual([sx0, sy1, sx1, sy0], [MARGIN.left, MARGIN.top, MARGIN.left + 400, MARGIN.top + 400]);
    assert.ok(v.contains(MARGIN.left, MARGIN.top) && v.contains(MARGIN.left + 400, MARGIN.top + 400));
    assert.ok(!v.contains(MARGIN.left - 1, MARGIN.top + 10) && !v.contains(MARGIN.left + 10, MARGIN.top + 401));
  });

  test("zoomAt keeps the latent point under the cursor, within scales 1 to 1e5", () => {
    const rand = lcg(2);
    for (let k = 0; k < 200; k++) {
      const v = view(600, 10 * (rand() - 0.5), 10 * (rand() - 0.5), 1 + 1000 * rand());
      const sx = MARGIN.left + 600 * rand(), sy = MARGIN.top + 600 * rand(), factor = 2 ** (8 * (rand() - 0.5));
      const before = v.toLatent(sx, sy), scale = v.scale;
      v.zoomAt(sx, sy, factor);
      const after = v.toLatent(sx, sy);
      close(after[0], before[0], 1e-12, "x under the cursor");
      close(after[1], before[1], 1e-12, "y under the cursor");
      close(v.scale, Math.min(1e5, Math.max(1, scale * factor)), 1e-15, "scale");
    }
    const v = view(600, 0, 0, 100), at = v.toLatent(100, 200);
    v.zoomAt(100, 200, 1e9);
    assert.equal(v.scale, 1e5);
    close(v.toLatent(100, 200)[0], at[0], 1e-12, "clamped zoom in keeps x");
    v.zoomAt(100, 200, 1e-12);
    assert.equal(v.scale, 1);
    close(v.toLatent(100, 200)[1], at[1], 1e-12, "clamped zoom out keeps y");
  });

  test("panFrom moves the point under the press with the pointer; resize keeps the latent square", () => {
    const v = view(500, 0.5, 0.25, 80), from = v.copy(), grabbed = v.toLatent(200, 300);
    v.panFrom(from, 37, -12);
    const now = v.toLatent(200 + 37, 300 - 12);
    close(now[0], grabbed[0], 1e-12, "x");
    close(now[1], grabbed[1], 1e-12, "y");
    assert.deepEqual(from, { cx: 0.5, cy: 0.25, scale: 80 }, "the press's copy is untouched");
    const range = v.range();
    v.resize(731);
    const resized = v.range();
    for (const a of ["x", "y"]) for (const i of [0, 1]) close(resized[a][i], range[a][i], 1e-12, `range ${a}[${i}]`);
  });

  for (const lam of ["1", "0"]) {
    test(`fit frames the central 99.6% of lam-${lam}'s mu +- 2 sigma, padded by 8%`, (t) => {
      const { points } = loadModel(lam), { mu, logvar, n } = points;
      const v = view(600, 0, 0, 0);
      v.fit(mu, n, logvar);
      const { x, y } = v.range();
      close(x[1] - x[0], y[1] - y[0], 1e-12, "a square");
      const ends = [0, 1].map((d) => ({
        low: Array.from({ length: n }, (_, i) => mu[2 * i + d] - 2 * Math.exp(0.5 * logvar[2 * i + d])),
        high: Array.from({ length: n }, (_, i) => mu[2 * i + d] + 2 * Math.exp(0.5 * logvar[2 * i + d])),
      }));
      const out = [x, y].map(([lo, hi], d) => [ends[d].low.filter((v) => v < lo).length, ends[d].high.filter((v) => v > hi).length]);
      t.diagnostic(`range x [${x.map((v) => v.toFixed(2))}], y [${y.map((v) => v.toFixed(2))}]; ` +
                   `mu - 2 sigma below / mu + 2 sigma above it: x ${out[0]}, y ${out[1]} of ${n}`);
      for (const o of out) for (const c of o) assert.ok(c <= 0.002 * n + 1, `${c} of ${n} outside the view`);
      // Not loose either: the view shrunk by its padding (and 1% more) about its centre leaves more
      // than 0.2% of the codes' ends outside along the axis that set its scale.
      const past = [x, y].map(([lo, hi], d) => {
        const c = (lo + hi) / 2, half = (hi - lo) / 2 / (1.08 * 1.01);
        return ends[d].low.filter((v) => v < c - half).length + ends[d].high.filter((v) => v > c + half).length;
      });
      assert.ok(Math.max(...past) > 0.002 * n, `only ${past} ends of ${n} codes outside the unpadded view`);
    });
  }

  test("fit shows a collapsed model at the prior's scale, and without logvar the means' extent", () => {
    const n = 1000, rand = lcg(3), mu = new Float32Array(2 * n), logvar = new Float32Array(2 * n);
    for (let k = 0; k < 2 * n; k++) mu[k] = (rand() - 0.5) * 2e-4; // all within 1e-4 of 0, sigma = 1
    const v = view(540, 9, 9, 0);
    v.fit(mu, n, logvar);
    close(v.cx, 0, 2e-4, "cx");
    close(v.cy, 0, 2e-4, "cy");
    close(v.scale, 540 / (4 * 1.08), 1e-3, "scale: +-2 sigma of the prior, padded");
    const w = view(540, 0, 0, 0);
    w.fit(mu, n);
    close(w.scale, 540 / (1e-3 * 1.08), 1e-12, "an extent under 1e-3 is shown 1e-3 wide");
    const u = view(300, 0, 0, 0);
    u.fit(Float32Array.of(-1, 0, 3, 2, 1, 1), 3);
    assert.deepEqual([u.cx, u.cy], [1, 1]);
    close(u.scale, 300 / (4 * 1.08), 1e-15, "scale");
  });
});

describe("geometry.js: layoutSizes", () => {
  const bottom = 8; // BOTTOM_PAD
  test("the plot is an integer side in [240, 900] with its margins; it fits the window, or stays at least PLOT_LEAST", () => {
    for (const scale of [1, 1.4]) {
      const margin = marginsAt(scale);
      for (const asked of [false, true]) {
        for (let width = 200; width <= 2600; width += 50) {
          for (let vh = 300; vh <= 1600; vh += 50) {
            for (const top of [0, 80, 240]) {
              const { side, w, h, compact } = layoutSizes(width, top, vh, { compact: asked, margin });
              assert.ok(Number.isInteger(side) && side >= 240 && side <= 900, `side ${side}`);
              assert.equal(w, side + margin.left + margin.right);
              assert.equal(h, side + margin.top + margin.bottom);
              assert.ok(compact || !asked, "a compact layout asked for is kept");
              const panel = compact ? 0 : CHROME.panel + CHROME.gap;
              if (side > 240) assert.ok(w + panel <= width, `${width} wide: plot ${w} + panel ${panel}`);
              const fits = top + CHROME.above + h + CHROME.strip + (compact ? CHROME.compactPanel : 0) + bottom <= vh;
              assert.ok(fits || side === PLOT_LEAST || w + panel >= width - 1, `${vh} tall, top ${top}: ${side}`);
            }
          }
        }
      }
    }
  });

  test("too narrow for the plot and the panel side by side, the panel goes under the plot", () => {
    const narrow = layoutSizes(600, 100, 2000);
    assert.ok(narrow.compact && narrow.side >= PLOT_LEAST, JSON.stringify(narrow));
    assert.ok(!layoutSizes(1400, 100, 900).compact);
  });

  test("grows with the room it is given, and a compact layout trades the panel's width for height", () => {
    let last = 0;
    for (let width = 200; width <= 2000; width += 10) {
      const { side } = layoutSizes(width, 100, 5000);
      assert.ok(side >= last);
      last = side;
    }
    assert.equal(last, 900);
    const laptop = layoutSizes(1400, 120, 900); // tests/browser/test_plane.py holds the plot to >= 560 here
    assert.ok(laptop.side >= 560, `${laptop.side}`);
    assert.ok(layoutSizes(900, 0, 5000, { compact: true }).side > layoutSizes(900, 0, 5000).side, "narrow: compact is wider");
    assert.ok(layoutSizes(3000, 0, 900, { compact: true }).side < layoutSizes(3000, 0, 900).side, "short: compact is shorter");
    assert.equal(layoutSizes(3000, 0, 300).side, PLOT_LEAST, "a short window scrolls rather than shrink the plot");
  });
});
