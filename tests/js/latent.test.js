// latent.js against explorer.latent: point_stats (torch's KL) and NeighbourIndex (scikit-learn's
// k-d tree) on the shipped models' codes (tests/js/oracles.py), as tests/browser/test_plane.py
// compares the panel with them; nearest also against a brute-force sort here.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { nearest, pointStats } from "../../explorer/component/latent.js";
import { assertClose, loadModel, loadOracles } from "./fixtures.js";

/** Every training code by distance to z (z rounded to float32, as NeighbourIndex does), closest first. */
function bruteForce(xy, n, z, k) {
  const zx = Math.fround(z[0]), zy = Math.fround(z[1]);
  const d = Array.from({ length: n }, (_, i) => [Math.hypot(xy[2 * i] - zx, xy[2 * i + 1] - zy), i]);
  d.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return d.slice(0, k);
}

describe("latent.js", () => {
  for (const lam of ["1", "0"]) {
    test(`pointStats of lam-${lam}'s test digits: mu, sigma, and KL as explorer.latent.point_stats`, (t) => {
      const { points } = loadModel(lam);
      let worst = 0;
      for (const s of loadOracles().models[lam].stats) {
        const got = pointStats(points, s.i);
        assert.deepEqual(got.mu, s.mu, "mu is the stored code");
        assertClose(got.sigma, s.sigma, { rtol: 1e-6, label: `sigma of ${s.i}` }); // Python's exp is float32
        // torch sums in float32 (rtol 1e-6); the closed form in float64 agrees to rounding.
        assertClose([got.kl], [s.kl], { rtol: 1e-6, atol: 1e-6, label: `KL of ${s.i} vs torch` });
        worst = Math.max(worst, assertClose([got.kl], [s.klFloat64], { rtol: 1e-13, label: `KL of ${s.i} in float64` }).maxRel);
      }
      t.diagnostic(`KLs ${loadOracles().models[lam].stats.map((s) => s.kl.toFixed(2))} nats; worst relative error ` +
                   `against the float64 closed form ${worst.toExponential(2)}`);
    });

    test(`nearest on lam-${lam}'s 60,000 training codes is NeighbourIndex's, and a brute-force sort's`, (t) => {
      const { train } = loadModel(lam), queries = loadOracles().models[lam].nearest, sorted = new Map();
      const kMax = Math.max(...queries.map((q) => q.k));
      for (const q of queries) {
        const got = nearest(train.mu, train.n, q.z, q.k);
        assert.deepEqual(got.indices, q.indices, `indices of the ${q.k} nearest to (${q.z})`);
        assertClose(got.distances, q.distances, { rtol: 1e-12, atol: 1e-15, label: `distances to (${q.z})` });
        const key = String(q.z);
        if (!sorted.has(key)) sorted.set(key, bruteForce(train.mu, train.n, q.z, kMax));
        const brute = sorted.get(key).slice(0, q.k);
        assert.deepEqual(got.indices, brute.map((b) => b[1]));
        assertClose(got.distances, brute.map((b) => b[0]), { rtol: 1e-14, label: "distances, brute force" });
      }
      t.diagnostic(`${queries.length} queries (k = ${[...new Set(queries.map((q) => q.k))]}) agree`);
    });
  }

  test("nearest rounds z to float32, clamps k to [1, n], and breaks ties by the lower index", () => {
    const xy = Float32Array.of(0, 0, 1, 0, -1, 0, 0, 2);
    assert.deepEqual(nearest(xy, 4, [0.1, 0], 10).indices, [0, 1, 2, 3]);
    assert.deepEqual(nearest(xy, 4, [0.1, 0], 0).indices, [0]);
    assert.deepEqual(nearest(xy, 4, [0, 0], 3), { indices: [0, 1, 2], distances: [0, 1, 1] });
    const z = [0.1, 0.3]; // not float32 numbers: the distances are from their float32 rounding
    const got = nearest(xy, 4, z, 1);
    assert.equal(got.distances[0], Math.sqrt(Math.fround(0.1) ** 2 + Math.fround(0.3) ** 2));
    assert.notEqual(got.distances[0], Math.sqrt(0.1 ** 2 + 0.3 ** 2));
  });
});
