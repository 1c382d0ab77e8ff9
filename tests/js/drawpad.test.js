// drawpad.js's toMnist against explorer/drawing.py's to_mnist on the same ink (tests/js/oracles.py
// draws the browser tests' 7, 1 and 4 with an anti-aliased round pen, and a few harder shapes),
// to 1e-9 as tests/browser/test_inputs.py holds the browser to.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { PAD, toMnist } from "../../explorer/component/drawpad.js";
import { assertClose, inflateBytes, loadOracles, unpack } from "./fixtures.js";

describe("drawpad.js: toMnist", () => {
  const inks = () => Object.entries(loadOracles().drawing);

  test("the ink of each drawing is made into drawing.to_mnist's 28 x 28 image, to 1e-9", (t) => {
    for (const [name, d] of inks()) {
      assert.equal(d.size, PAD);
      const ink = Float64Array.from(inflateBytes(d.ink), (v) => v / 255); // the canvas's alpha, as DrawPad.ink
      assert.equal(ink.length, PAD * PAD);
      const got = toMnist(ink, d.size);
      if (d.mnist === null) {
        assert.equal(got, null, `${name}: no ink, no digit`);
        continue;
      }
      assert.equal(got.length, 28 * 28);
      const { maxAbs } = assertClose(got, unpack(d.mnist), { atol: 1e-9, label: name });
      const sum = got.reduce((a, b) => a + b, 0);
      t.diagnostic(`${name}: ink ${sum.toFixed(1)}, worst difference from Python ${maxAbs.toExponential(2)}`);
      assert.ok(got.every((v) => v >= 0 && v <= 1));
    }
  });

  test("where on the pad it was drawn does not matter (tests/test_drawing.py's case)", () => {
    const ink = new Float64Array(PAD * PAD), moved = new Float64Array(PAD * PAD);
    for (let y = 40; y < 120; y++) for (let x = 50; x < 60; x++) ink[y * PAD + x] = 1;
    for (let y = 40; y < 50; y++) for (let x = 50; x < 110; x++) ink[y * PAD + x] = 0.5;
    for (let y = 0; y < PAD; y++) for (let x = 0; x < PAD; x++) moved[((y + 70) % PAD) * PAD + (x + 37) % PAD] = ink[y * PAD + x];
    assertClose(toMnist(moved, PAD), toMnist(ink, PAD), { atol: 1e-12, label: "moved" });
  });

  test("a tall bar fits 20 px high and keeps its area scaled by (20 / 160)^2", () => {
    const ink = new Float64Array(PAD * PAD);
    for (let y = 30; y < 190; y++) for (let x = 100; x < 140; x++) ink[y * PAD + x] = 1; // 160 x 40
    const out = toMnist(ink, PAD);
    assert.ok(Math.abs(out.reduce((a, b) => a + b) - 100) < 1e-9);
    let rows = 0;
    for (let r = 0; r < 28; r++) if (out.subarray(r * 28, r * 28 + 28).some((v) => v > 1e-9)) rows++;
    assert.ok(rows >= 20 && rows <= 22, `${rows} rows`);
  });
});
