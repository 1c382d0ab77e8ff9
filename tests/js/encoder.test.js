// encoder.js against torch: VAE.encode of the shipped models on the first 300 MNIST test images
// (tests/js/oracles.py), 1e-4 as tests/browser/test_inputs.py holds the browser to.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Encoder } from "../../explorer/component/encoder.js";
import { assertClose, loadModel, loadOracles, mnistTest, unpack } from "./fixtures.js";

const TOL = 1e-4;

describe("encoder.js", () => {
  for (const lam of ["1", "0"]) {
    test(`encode matches torch's VAE.encode of lam-${lam} on MNIST test images to 1e-4`, (t) => {
      const { encode } = loadOracles().models[lam];
      const { encoder, points } = loadModel(lam);
      assert.deepEqual(encoder.sizes, [784, 512, 256, 4]);
      const net = new Encoder(encoder.buffer, encoder.sizes);
      assert.equal(net.latentDim, 2);
      const images = mnistTest(encode.n), out = images.map((x) => net.encode(x));
      const mu = out.flatMap((o) => o.mu), logvar = out.flatMap((o) => o.logvar);
      const e1 = assertClose(mu, unpack(encode.mu), { atol: TOL, label: `lam-${lam} mu` });
      const e2 = assertClose(logvar, unpack(encode.logvar), { atol: TOL, label: `lam-${lam} logvar` });
      t.diagnostic(`lam-${lam}: ${encode.n} images, worst |mu - torch| ${e1.maxAbs.toExponential(2)}, ` +
                   `|logvar - torch| ${e2.maxAbs.toExponential(2)}`);
      // The encoder is the one the shipped plane was made with: test digit 0's mu is its point.
      assertClose(out[0].mu, [points.mu[0], points.mu[1]], { atol: TOL, label: "test digit 0's code" });
    });
  }

  test("logvar is clamped to [-30, 10] as explorer/model.py does", () => {
    // One layer 1 -> 4 (mu, mu, logvar, logvar) of identity-like weights: logvar = +-1000 * x.
    const flat = Float32Array.of(1, 2, 1000, -1000, 0, 0, 0, 0);
    const net = new Encoder(flat.buffer, [1, 4]);
    assert.deepEqual(net.encode([1]), { mu: [1, 2], logvar: [10, -30] });
    assert.deepEqual(net.encode([0.001]), { mu: [0.001, 0.002], logvar: [1, -1] });
  });

  test("the encoder refuses a file of the wrong size", () => {
    const { encoder } = loadModel("1");
    assert.throws(() => new Encoder(encoder.buffer.slice(4), encoder.sizes), /^Error: encoder file has \d+ floats, sizes need \d+$/);
  });
});
