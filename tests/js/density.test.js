// density.js against scipy.special (erfc, ndtr, log_ndtr, ndtri) and explorer/density.py (log q,
// log interval masses, the holes mask) on the shipped lambda = 1 and lambda = 0 models
// (tests/js/oracles.py), as tests/browser/test_layers.py compares the browser with them.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  HOLE_CELLS, HOLE_RATIO, HOLE_RGBA, HolesLayer, erfc, logAggregatePosterior, logIntervalMass, logNdtr, logPrior,
  ndtr, ndtri,
} from "../../explorer/component/density.js";
import { assertClose, loadModel, loadOracles, unpack, unpackBits } from "./fixtures.js";

const normal = () => loadOracles().normal;

describe("density.js: the normal distribution's functions against scipy.special", () => {
  test("erfc to 1e-12 relative (its comment claims ~1e-13), across both of its methods", (t) => {
    const { x, y } = normal().erfc, xs = unpack(x);
    const { maxRel } = assertClose(Array.from(xs, erfc), unpack(y), { rtol: 1e-12, label: "erfc" });
    t.diagnostic(`${xs.length} points in [-26, 26.5]: worst relative error ${maxRel.toExponential(2)}`);
    assert.equal(erfc(27.5), 0);
    assert.equal(erfc(Infinity), 0);
    assert.equal(erfc(-Infinity), 2);
    assert.equal(erfc(0), 1);
  });

  test("ndtr to 1e-12 relative, far into the lower tail", (t) => {
    const { x, y } = normal().ndtr;
    const { maxRel } = assertClose(Array.from(unpack(x), ndtr), unpack(y), { rtol: 1e-12, label: "ndtr" });
    t.diagnostic(`worst relative error ${maxRel.toExponential(2)}`);
  });

  test("logNdtr to 1e-12 relative, finite however far into the lower tail", (t) => {
    const { x, y } = normal().logNdtr;
    const { maxRel } = assertClose(Array.from(unpack(x), logNdtr), unpack(y), { rtol: 1e-12, label: "logNdtr" });
    t.diagnostic(`worst relative error ${maxRel.toExponential(2)} (x down to -1e8)`);
  });

  test("ndtri to 1e-13 relative (the browser test asks 1e-9), with its ends", (t) => {
    const { p, y } = normal().ndtri;
    const { maxRel } = assertClose(Array.from(unpack(p), ndtri), unpack(y), { rtol: 1e-13, atol: 1e-15, label: "ndtri" });
    t.diagnostic(`worst relative error ${maxRel.toExponential(2)}`);
    assert.equal(ndtri(0), -Infinity);
    assert.equal(ndtri(1), Infinity);
    assert.ok(Number.isNaN(ndtri(-0.1)) && Number.isNaN(ndtri(1.5)) && Number.isNaN(ndtri(NaN)));
  });

  test("logIntervalMass matches explorer.density._log_interval_mass", (t) => {
    const { a, b, y } = normal().logIntervalMass, as = unpack(a), bs = unpack(b), ys = unpack(y);
    // log(Phi(b) - Phi(a)) turns an absolute error of ~1e-16 in log Phi into one of ~1e-16 / (b - a)
    // (for both implementations): that, or 1e-12 relative, whichever is larger.
    as.forEach((ak, k) => {
      const got = logIntervalMass(ak, bs[k]), allowed = Math.max(1e-12 * Math.abs(ys[k]), 1e-15 / (bs[k] - ak));
      assert.ok(Math.abs(got - ys[k]) <= allowed, `[${ak}, ${bs[k]}]: ${got}, scipy ${ys[k]}`);
    });
    t.diagnostic(`${as.length} intervals, from [-80, -79.9] to [40, 40.5]`);
  });

  test("logPrior is explorer.density.log_prior, and HOLE_RATIO its HOLE_RATIO", () => {
    const { z, y } = normal().logPrior;
    assertClose(z.map(([x, v]) => logPrior(x, v)), y, { rtol: 1e-14, label: "logPrior" });
    assert.equal(HOLE_RATIO, normal().holeRatio);
  });
});

describe("density.js: log q(z) against explorer.density.log_aggregate_posterior", () => {
  for (const lam of ["1", "0"]) {
    test(`lam-${lam}: near the data and far from it, to 1e-12 relative (the browser test asks 1e-6)`, (t) => {
      const { logq } = loadOracles().models[lam], { points } = loadModel(lam);
      const { maxRel } = assertClose(logq.z.map(([x, y]) => logAggregatePosterior(points, x, y)), logq.y,
                                     { rtol: 1e-12, label: `lam-${lam} log q` });
      t.diagnostic(`${logq.z.length} z over ${points.n} test codes: worst relative error ${maxRel.toExponential(2)}`);
    });
  }

  test("stays finite for collapsed sigmas (tests/test_density.py's case)", () => {
    const s = 2 * Math.log(3e-7);
    const points = { mu: Float64Array.of(0, 0, 50, -20), logvar: Float64Array.of(s, s, s, s), n: 2 };
    const q = [[0, 0], [1e-6, 0], [25, -10]].map(([x, y]) => logAggregatePosterior(points, x, y));
    assert.ok(q.every(Number.isFinite) && q[0] > 25 && -1e12 > q[2], `${q}`);
    // One Gaussian: log q is its log density less log 2, in closed form.
    const expected = -Math.log(2 * Math.PI) - s - 0.5 * (1e-12 / 9e-14) - Math.log(2);
    assert.ok(Math.abs(q[1] - expected) < 1e-12 * Math.abs(expected), `${q[1]} vs ${expected}`);
  });
});

// HolesLayer.finish paints its mask into a canvas from `document`: a minimal stand-in for the one
// call it makes (createElement("canvas") -> getContext("2d") -> createImageData / putImageData).
function fakeDocument() {
  return {
    createElement(tag) {
      assert.equal(tag, "canvas");
      const canvas = {
        width: 0, height: 0, put: null,
        getContext: (kind) => {
          assert.equal(kind, "2d");
          return {
            createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) }),
            putImageData: (image, x, y) => { canvas.put = { image, x, y }; },
          };
        },
      };
      return canvas;
    },
  };
}

/** The finished holes layer of `points` over `range`. */
async function holes(points, range, cells = HOLE_CELLS) {
  const layer = new HolesLayer();
  layer.show = true;
  layer.cells = cells;
  await new Promise((done) => layer.start(points, range, done));
  return layer;
}

describe("density.js: the holes layer against explorer.density.hole_mask", () => {
  let saved;
  before(() => { saved = globalThis.document; globalThis.document = fakeDocument(); });
  after(() => { globalThis.document = saved; });

  for (const lam of ["1", "0"]) {
    test(`lam-${lam}: the mask of ${HOLE_CELLS} x ${HOLE_CELLS} cells is Python's (the browser test asks 99%)`, async (t) => {
      const { points } = loadModel(lam);
      for (const h of loadOracles().models[lam].holes) {
        const range = { x: h.x, y: h.y }, layer = await holes(points, range, h.cells);
        const expected = unpackBits(h.mask, h.cells * h.cells), mask = layer.mask;
        assert.equal(mask.length, expected.length);
        let differ = 0, count = 0;
        for (let k = 0; k < mask.length; k++) { differ += mask[k] !== expected[k]; count += mask[k]; }
        t.diagnostic(`${h.name}: ${differ} of ${mask.length} cells differ from Python, ${(count / mask.length * 100).toFixed(1)}% holes ` +
                     `(Python ${(h.share * 100).toFixed(1)}%), ${layer.ms.toFixed(0)} ms`);
        assert.ok(differ <= 0.001 * mask.length, `${h.name}: ${differ} cells differ`);
        // What the renderer draws: the tint in each hole's pixel, nothing elsewhere, over the range asked.
        const { image } = layer.image.put;
        for (let k = 0; k < mask.length; k++) {
          assert.deepEqual(Array.from(image.data.subarray(4 * k, 4 * k + 4)), mask[k] ? HOLE_RGBA : [0, 0, 0, 0]);
        }
        assert.equal(layer.image.width, h.cells);
        assert.equal(layer.range, range);
        assert.ok(layer.ready && layer.covers(range));
      }
    });
  }

  test("a narrow Gaussian between cell centres still fills its cell (tests/test_density.py's case)", async () => {
    const s = 2 * Math.log(1e-7);
    const layer = await holes({ mu: Float64Array.of(0.23, -0.41), logvar: Float64Array.of(s, s), n: 1 },
                              { x: [-1, 1], y: [-1, 1] }, 10);
    const row = Math.trunc((1.0 - -0.41) / 0.2), col = Math.trunc((0.23 + 1.0) / 0.2);
    assert.equal(layer.mask[row * 10 + col], 0);
    assert.equal(layer.mask.reduce((a, b) => a + b), 99);
  });

  test("far from the origin the prior underflows but the rule holds (tests/test_density.py's case)", async () => {
    const s = 2 * Math.log(1e-3);
    const layer = await holes({ mu: Float64Array.of(70.5, 70.5), logvar: Float64Array.of(s, s), n: 1 },
                              { x: [60, 80], y: [60, 80] }, 20);
    assert.equal(layer.mask.reduce((a, b) => a + b), 399);
    assert.equal(layer.mask[9 * 20 + 10], 0);
  });

  test("hidden it computes nothing; a new start cancels the job under way; clear forgets the mask", async () => {
    const { points } = loadModel("1"), a = { x: [-3, 3], y: [-3, 3] }, b = { x: [-2, 2], y: [-2, 2] };
    const layer = new HolesLayer();
    layer.start(points, a, () => assert.fail("hidden, it must not compute"));
    assert.equal(layer.job, null);
    assert.equal(layer.layer, null);
    layer.show = true;
    layer.start(points, a, () => assert.fail("cancelled, it must not finish"));
    assert.ok(layer.covers(a) && !layer.ready);
    await new Promise((done) => layer.start(points, b, done));
    assert.ok(layer.ready && layer.covers(b) && !layer.covers(a));
    assert.deepEqual(layer.layer, { image: layer.image, range: b });
    await new Promise((r) => setTimeout(r, 50)); // the cancelled job's slices, had they run on
    layer.clear();
    assert.ok(!layer.ready && layer.layer === null && !layer.covers(b));
  });
});
