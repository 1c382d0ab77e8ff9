// grid.js's quantileCells against explorer.latent.quantile_centres and quantile_edges (scipy's
// ndtri), as tests/browser/test_layers.py compares the browser with them (atol 1e-9 there).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { quantileCells } from "../../explorer/component/grid.js";
import { assertClose, loadOracles } from "./fixtures.js";

describe("grid.js: quantileCells", () => {
  test("centres and edges are explorer.latent's for n = 1 .. 12 and 30, to 1e-12", (t) => {
    let worst = 0;
    for (const [n, expected] of Object.entries(loadOracles().quantile)) {
      const { centres, edges } = quantileCells(Number(n));
      assert.equal(centres.length, Number(n));
      assert.equal(edges.length, Number(n) + 1);
      worst = Math.max(worst, assertClose(centres, expected.centres, { atol: 1e-12, label: `centres of ${n}` }).maxAbs,
                       assertClose(edges, expected.edges, { atol: 1e-12, label: `edges of ${n}` }).maxAbs);
      for (let i = 0; i < Number(n); i++) assert.ok(edges[i] < centres[i] && centres[i] < edges[i + 1]);
    }
    t.diagnostic(`worst difference ${worst.toExponential(2)}`);
  });

  test("one cell spans one sigma either side of 0; the outer cells reach as far out as in", () => {
    assert.deepEqual(quantileCells(1), { centres: [0], edges: [-1, 1] });
    const { centres, edges } = quantileCells(7);
    assert.equal(centres[3], 0);
    assert.ok(Math.abs((edges[7] - centres[6]) - (centres[6] - edges[6])) < 1e-15);
    assert.ok(Math.abs(edges[0] + edges[7]) < 1e-15, "symmetric");
  });
});
