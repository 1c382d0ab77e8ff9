// The dial in the browser against torch (tests/js/oracles.py): its FiLM-conditioned decoder and
// encoder at several lambdas, its grid of test codes as explorer/dial.py's DeltaCoded decodes it,
// the codes interpolated between grid lambdas against the network's own, and the "within the
// data" level estimated from them against explorer/density.py's.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Decoder } from "../../explorer/component/decoder.js";
import { bracket, curveAt, DialGrid, estimateLevel, lamAt, positionOf, quantile } from "../../explorer/component/dial.js";
import { Encoder } from "../../explorer/component/encoder.js";
import { readDialGrid } from "../../explorer/component/protocol.js";
import { assertClose, loadDial, loadOracles, mnistTest, unpack } from "./fixtures.js";

const TOL = 1e-4; // what tests/browser/test_plane.py holds a plain decoder to
const P = 784;

function median(values) {
  const s = Float64Array.from(values).sort(), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

describe("dial.js and the conditioned networks", () => {
  test("the dial's decoder matches torch's decode at every lambda to 1e-4 per pixel", (t) => {
    const { decode } = loadOracles().dial, d = loadDial();
    const net = new Decoder(d.decoder.buffer, d.decoder.sizes, d.data), pixels = unpack(decode.pixels);
    const out = new Float32Array(P), n = decode.z.length;
    let worst = 0;
    decode.lams.forEach((lam, k) => {
      net.setLam(lam);
      decode.z.forEach(([x, y], i) => {
        const at = (k * n + i) * P;
        net.decodeInto(x, y, out);
        worst = Math.max(worst, assertClose(out, pixels.subarray(at, at + P),
                                            { atol: TOL, label: `lambda ${lam}, z = (${x}, ${y})` }).maxAbs);
      });
    });
    t.diagnostic(`${decode.lams.length} lambdas x ${n} z, worst pixel difference from torch ${worst.toExponential(2)}`);
  });

  test("the decode at a fixed z changes with lambda, and comes back when lambda does", () => {
    const d = loadDial(), net = new Decoder(d.decoder.buffer, d.decoder.sizes, d.data);
    const at = (lam) => { net.setLam(lam); return Float32Array.from(net.decodeInto(0.5, -0.5, new Float32Array(P))); };
    const low = at(0.01), high = at(100);
    const change = low.reduce((s, v, i) => s + Math.abs(v - high[i]), 0) / P;
    assert.ok(change > 0.01, `mean pixel change between lambda 0.01 and 100 is ${change}`);
    assert.deepEqual(at(0.01), low);
  });

  test("the dial's encoder matches torch's encode at several lambdas to 1e-4", (t) => {
    const { encode } = loadOracles().dial, d = loadDial();
    const net = new Encoder(d.encoder.buffer, d.encoder.sizes, d.data), images = mnistTest(encode.n);
    const mu = [], logvar = [];
    for (const lam of encode.lams) {
      net.setLam(lam);
      for (const x of images) {
        const q = net.encode(x);
        mu.push(...q.mu);
        logvar.push(...q.logvar);
      }
    }
    const e1 = assertClose(mu, unpack(encode.mu), { atol: TOL, label: "mu" });
    const e2 = assertClose(logvar, unpack(encode.logvar), { atol: TOL, label: "logvar" });
    t.diagnostic(`${encode.lams.length} lambdas x ${encode.n} images: worst |mu - torch| ${e1.maxAbs.toExponential(2)}, ` +
                 `|logvar - torch| ${e2.maxAbs.toExponential(2)}`);
  });

  test("readDialGrid gives the rows explorer/dial.py's DeltaCoded decodes", () => {
    const { grid } = loadOracles().dial, d = loadDial(), g = d.data.lams.length;
    const rows = readDialGrid(d.grid, g, d.n), n = grid.n, mu = unpack(grid.mu), logvar = unpack(grid.logvar);
    assert.equal(rows.g, g);
    assert.equal(rows.n, d.n);
    grid.rows.forEach((r, k) => {
      const take = (a) => a.subarray(2 * r * d.n, 2 * r * d.n + 2 * n);
      assertClose(take(rows.mu), mu.subarray(2 * k * n, 2 * (k + 1) * n), { atol: 1e-5, label: `mu row ${r}` });
      assertClose(take(rows.logvar), logvar.subarray(2 * k * n, 2 * (k + 1) * n), { atol: 1e-5, label: `logvar row ${r}` });
    });
    assert.throws(() => readDialGrid(d.grid.slice(1), g, d.n), /dial/);
  });

  test("between grid lambdas the interpolated codes stay within 1% of the spread of the network's own", (t) => {
    const { between } = loadOracles().dial, d = loadDial(), g = d.data.lams.length, n = between.n;
    const dial = new DialGrid(readDialGrid(d.grid, g, d.n), d.data.lams);
    const truth = unpack(between.mu), points = { mu: new Float32Array(2 * d.n), logvar: new Float32Array(2 * d.n), n: d.n };
    between.lams.forEach((lam, k) => {
      dial.fill(lam, points);
      const want = truth.subarray(2 * k * n, 2 * (k + 1) * n), xs = [], ys = [], off = [];
      for (let i = 0; i < n; i++) {
        xs.push(want[2 * i]);
        ys.push(want[2 * i + 1]);
        off.push(Math.hypot(points.mu[2 * i] - want[2 * i], points.mu[2 * i + 1] - want[2 * i + 1]));
      }
      const spread = (v) => quantile(v, 0.95) - quantile(v, 0.05);
      const scale = Math.max(spread(xs), spread(ys), 1), share = median(off) / scale;
      t.diagnostic(`lambda ${lam}: median |interpolated - network| ${median(off).toFixed(4)}, ${(100 * share).toFixed(2)}% of the spread`);
      assert.ok(share < 0.01, `lambda ${lam}: ${share}`);
    });
  });

  test("the level estimated in the browser is the one explorer/density.py finds, within 0.5 nats", (t, done) => {
    const { level } = loadOracles().dial, d = loadDial(), g = d.data.lams.length;
    const dial = new DialGrid(readDialGrid(d.grid, g, d.n), d.data.lams);
    const points = { mu: new Float32Array(2 * d.n), logvar: new Float32Array(2 * d.n), n: d.n };
    dial.fill(d.data.lam, points);
    estimateLevel(points, (got) => {
      t.diagnostic(`level ${got.toFixed(3)} against density.py's ${level.toFixed(3)}`);
      assert.ok(Math.abs(got - level) < 0.5, `${got} vs ${level}`);
      done();
    });
  });

  test("bracket, curveAt, positionOf and lamAt work in ln(lambda) and clamp at the ends", () => {
    const lams = [0.01, 0.1, 1, 10, 100];
    assert.deepEqual(bracket(lams, 0.001), { k: 0, w: 0 });
    assert.deepEqual(bracket(lams, 1000), { k: 3, w: 1 });
    const { k, w } = bracket(lams, Math.sqrt(10));
    assert.equal(k, 2);
    assert.ok(Math.abs(w - 0.5) < 1e-12);
    assert.ok(Math.abs(curveAt(lams, [0, 1, 2, 3, 4], Math.sqrt(10)) - 2.5) < 1e-12);
    assert.equal(curveAt(lams, [0, 1, 2, 3, 4], 1), 2);
    assert.ok(Math.abs(positionOf(0.01, 100, 1) - 0.5) < 1e-12);
    assert.ok(Math.abs(lamAt(0.01, 100, positionOf(0.01, 100, 3.3)) - 3.3) < 1e-12);
    assert.throws(() => new DialGrid({ mu: new Float32Array(0), logvar: new Float32Array(0), g: 4, n: 0 }, lams),
                  /a dial grid of 4 rows for 5 lambdas/);
  });

  test("quantile is numpy's linear quantile", () => {
    assert.equal(quantile([3, 1, 2, 4], 0), 1);
    assert.equal(quantile([3, 1, 2, 4], 1), 4);
    assert.ok(Math.abs(quantile([3, 1, 2, 4], 0.01) - 1.03) < 1e-12);
  });
});
