// samples.js: the seeded generator of z ~ N(0, I) and of Bernoulli pixels, held to what
// tests/browser/test_inputs.py asks of them in Chromium (the same seed gives the same numbers, a
// Kolmogorov-Smirnov test against N(0, 1) at p > 1e-3, Bernoulli draws averaging to the decoder's
// pixel probabilities), and hitMark. There is no Python counterpart of the generator to compare with.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Decoder } from "../../explorer/component/decoder.js";
import { ndtr } from "../../explorer/component/density.js";
import { View } from "../../explorer/component/geometry.js";
import { bernoulliInto, hitMark, sampleZ, uniform } from "../../explorer/component/samples.js";
import { loadModel } from "./fixtures.js";

/** Kolmogorov-Smirnov statistic of xs against N(0, 1), and its asymptotic p-value (Stephens 1970's
 * small-sample correction, as in Numerical Recipes' probks). Phi is density.js's ndtr, which
 * density.test.js holds to scipy. */
function ksNormal(xs) {
  const s = Float64Array.from(xs).sort(), n = s.length;
  let d = 0;
  s.forEach((x, i) => { const f = ndtr(x); d = Math.max(d, (i + 1) / n - f, f - i / n); });
  const lambda = (Math.sqrt(n) + 0.12 + 0.11 / Math.sqrt(n)) * d;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
  return { d, p: Math.min(1, Math.max(0, p)) };
}

function correlation(a, b) {
  const n = a.length, ma = a.reduce((s, v) => s + v) / n, mb = b.reduce((s, v) => s + v) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

describe("samples.js", () => {
  test("a seed always gives the same z, another seed others, and fewer samples are a prefix", () => {
    const a = sampleZ(5, 64);
    assert.equal(a.length, 64);
    assert.ok(a.every((z) => z.length === 2 && z.every(Number.isFinite)));
    assert.deepEqual(sampleZ(5, 64), a);
    assert.notDeepEqual(sampleZ(6, 64), a);
    assert.deepEqual(sampleZ(5, 16), a.slice(0, 16));
    assert.deepEqual(sampleZ(5, 0), []);
  });

  test("10,000 z from 200 seeds look standard normal: KS p > 1e-3 per axis, |correlation| < 0.05", (t) => {
    const z = Array.from({ length: 200 }, (_, seed) => sampleZ(seed, 50)).flat();
    assert.equal(z.length, 10_000);
    const x = z.map((p) => p[0]), y = z.map((p) => p[1]);
    const ks = [ksNormal(x), ksNormal(y)], r = correlation(x, y);
    const moments = [x, y].map((v) => {
      const m = v.reduce((s, u) => s + u) / v.length;
      return [m, v.reduce((s, u) => s + (u - m) ** 2, 0) / (v.length - 1)];
    });
    t.diagnostic(`KS D ${ks.map((k) => k.d.toFixed(4))}, p ${ks.map((k) => k.p.toFixed(3))}; correlation ${r.toFixed(4)}; ` +
                 `mean, variance ${moments.map((m) => m.map((v) => v.toFixed(3)).join(", ")).join(" / ")}`);
    for (const k of ks) assert.ok(k.p > 1e-3, `KS p = ${k.p}`);
    assert.ok(Math.abs(r) < 0.05, `correlation ${r}`);
    for (const [m, v] of moments) {
      assert.ok(Math.abs(m) < 4 / Math.sqrt(10_000), `mean ${m}`); // 4 standard errors
      assert.ok(Math.abs(v - 1) < 4 * Math.sqrt(2 / 10_000), `variance ${v}`);
    }
  });

  test("uniform is in (0, 1), never 0 (ln u is finite), and a function of (seed, stream, k) alone", () => {
    let lo = 1, hi = 0, sum = 0;
    const n = 100_000;
    for (let k = 0; k < n; k++) {
      const u = uniform(3, 1, k);
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      sum += u;
    }
    assert.ok(lo > 0 && hi < 1);
    assert.ok(Math.abs(sum / n - 0.5) < 4 * Math.sqrt(1 / 12 / n), `mean ${sum / n}`);
    assert.equal(uniform(0, 0, 0), uniform(0, 0, 0));
    assert.ok(uniform(1, 0, 0) !== uniform(2, 0, 0) && uniform(1, 0, 0) !== uniform(1, 1, 0) && uniform(1, 0, 0) !== uniform(1, 0, 1));
    assert.ok(uniform(2 ** 32 - 1, 0, 0) > 0 && Number.isFinite(Math.log(uniform(0xffffffff, 7, 2 ** 31))));
  });

  test("Bernoulli draws are 0 or 1, repeat for a seed, and average over 2,000 seeds to the decode", (t) => {
    const { decoder } = loadModel("1"), net = new Decoder(decoder.buffer, decoder.sizes);
    const [z] = sampleZ(7, 16), p = net.decodeInto(z[0], z[1], new Float32Array(784));
    const once = bernoulliInto(p, 7, 0, new Float32Array(784));
    assert.ok(once.every((v) => v === 0 || v === 1) && once.some((v) => v === 1));
    assert.deepEqual(bernoulliInto(p, 7, 0, new Float32Array(784)), once);
    assert.notDeepEqual(bernoulliInto(p, 7, 1, new Float32Array(784)), once, "sample 1 draws its own pixels");
    const k = 2000, mean = new Float64Array(784), out = new Float32Array(784);
    for (let seed = 0; seed < k; seed++) bernoulliInto(p, seed, 0, out).forEach((v, j) => { mean[j] += v / k; });
    let worst = 0, total = 0;
    p.forEach((pj, j) => {
      const err = Math.abs(mean[j] - pj);
      assert.ok(err <= 5 * Math.sqrt(pj * (1 - pj) / k) + 1e-3, `pixel ${j}: mean ${mean[j]}, p ${pj}`);
      worst = Math.max(worst, err);
      total += err;
    });
    t.diagnostic(`mean |draws - p| ${(total / 784).toFixed(4)}, worst ${worst.toFixed(4)}`);
    assert.ok(total / 784 < 0.01);
    // Certain pixels are certain.
    assert.deepEqual(Array.from(bernoulliInto([0, 1, 0, 1], 3, 2, new Float32Array(4))), [0, 1, 0, 1]);
  });

  test("hitMark picks the mark within 7 px, the last drawn among equals", () => {
    const view = new View();
    Object.assign(view, { side: 400, cx: 0, cy: 0, scale: 100 });
    const a = { z: [0, 0], kind: "sample" }, b = { z: [0, 0], kind: "drawn" }, c = { z: [1, 1], kind: "sample" };
    const [sx, sy] = view.toScreen(0, 0), [cx, cy] = view.toScreen(1, 1);
    assert.equal(hitMark([a, b, c], view, sx + 2, sy - 1), b);
    assert.equal(hitMark([a, c], view, sx + 7, sy), a);
    assert.equal(hitMark([a, c], view, sx + 5, sy + 5), null);
    assert.equal(hitMark([a, c], view, cx - 3, cy + 3), c);
    assert.equal(hitMark([], view, sx, sy), null);
  });
});
