// decoder.js against torch: VAE.decode + sigmoid of the shipped lambda = 1 and lambda = 0 models on
// random z (tests/js/oracles.py), 1e-4 per pixel as tests/browser/test_plane.py holds the browser to.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Decoder, readLayers } from "../../explorer/component/decoder.js";
import { assertClose, loadModel, loadOracles, unpack } from "./fixtures.js";

const PIXEL_TOL = 1e-4;

describe("decoder.js", () => {
  for (const lam of ["1", "0"]) {
    test(`decodeInto matches torch's decode of lam-${lam} on random z to 1e-4 per pixel`, (t) => {
      const { decode } = loadOracles().models[lam];
      const { decoder } = loadModel(lam);
      assert.deepEqual(decoder.sizes, [2, 256, 512, 784]);
      const net = new Decoder(decoder.buffer, decoder.sizes), pixels = unpack(decode.pixels), P = 784;
      const out = new Float32Array(P);
      let worst = 0;
      decode.z.forEach(([x, y], i) => {
        const r = net.decodeInto(x, y, out);
        assert.equal(r, out, "decodeInto returns the array it filled");
        worst = Math.max(worst, assertClose(out, pixels.subarray(i * P, (i + 1) * P),
                                            { atol: PIXEL_TOL, label: `lam-${lam} z = (${x}, ${y})` }).maxAbs);
        for (const v of out) assert.ok(v >= 0 && v <= 1);
      });
      t.diagnostic(`lam-${lam}: ${decode.z.length} z, worst pixel difference from torch ${worst.toExponential(2)}`);
    });
  }

  test("decoding the same z twice, with other z between, gives the same pixels", () => {
    const { decoder } = loadModel("1");
    const net = new Decoder(decoder.buffer, decoder.sizes);
    const first = Float32Array.from(net.decodeInto(0.3, -1.2, new Float32Array(784)));
    net.decodeInto(5, 5, new Float32Array(784));
    assert.deepEqual(net.decodeInto(0.3, -1.2, new Float32Array(784)), first);
  });

  test("readLayers transposes each weight to (in, out) and keeps the biases", () => {
    // One layer 2 -> 3: weight (3, 2) row-major, then bias (3,).
    const flat = Float32Array.of(1, 2, 3, 4, 5, 6, 0.5, -0.5, 0.25);
    const [layer] = readLayers(flat.buffer, [2, 3], "decoder");
    assert.equal(layer.nIn, 2);
    assert.equal(layer.nOut, 3);
    assert.deepEqual(Array.from(layer.wt), [1, 3, 5, 2, 4, 6]);
    assert.deepEqual(Array.from(layer.bias), [0.5, -0.5, 0.25]);
  });

  test("readLayers refuses a file of the wrong size", () => {
    const { decoder } = loadModel("1");
    const floats = decoder.buffer.byteLength / 4;
    const longer = new Float32Array(floats + 1);
    longer.set(new Float32Array(decoder.buffer));
    assert.throws(() => readLayers(longer.buffer, decoder.sizes, "decoder"),
                  { message: `decoder file has ${floats + 1} floats, sizes need ${floats}` });
    assert.throws(() => new Decoder(decoder.buffer.slice(0, 4 * (floats - 784)), decoder.sizes),
                  { message: `decoder file has ${floats - 784} floats, sizes need ${floats}` });
    assert.throws(() => readLayers(decoder.buffer, [2, 256, 512, 783], "decoder"), /decoder file has \d+ floats, sizes need \d+/);
  });
});
