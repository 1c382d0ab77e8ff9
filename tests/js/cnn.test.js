// cnn.js against torch: the shipped digit classifier's probabilities on MNIST test images and on
// decodes of the lambda = 1 model (tests/js/oracles.py), and its verdicts by the same rule.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { DigitCnn } from "../../explorer/component/cnn.js";
import { Decoder } from "../../explorer/component/decoder.js";
import { assertClose, loadJudge, loadModel, loadOracles, mnistTest, unpack } from "./fixtures.js";

const TOL = 1e-5; // probabilities; float32 weights, float64 sums here, float32 throughout in torch

describe("cnn.js", () => {
  test("the classifier's probabilities match torch's on test images and on decodes", (t) => {
    const oracle = loadOracles().judge, { buffer, data } = loadJudge(), net = new DigitCnn(buffer, data);
    const images = mnistTest(oracle.n), want = unpack(oracle.probs), classes = data.classes;
    let worst = 0;
    images.forEach((x, i) => {
      worst = Math.max(worst, assertClose(net.probabilities(x), want.subarray(i * classes, (i + 1) * classes),
                                          { atol: TOL, label: `test image ${i}` }).maxAbs);
    });
    const { decoder } = loadModel("1"), dec = new Decoder(decoder.buffer, decoder.sizes);
    const decodes = unpack(oracle.decode_probs), pixels = new Float32Array(784);
    oracle.z.forEach(([x, y], i) => {
      dec.decodeInto(x, y, pixels);
      worst = Math.max(worst, assertClose(net.probabilities(pixels), decodes.subarray(i * classes, (i + 1) * classes),
                                          { atol: TOL, label: `decode at (${x}, ${y})` }).maxAbs);
    });
    t.diagnostic(`${oracle.n} test images and ${oracle.z.length} decodes: worst probability difference from torch ` +
                 `${worst.toExponential(2)}`);
  });

  test("the verdict follows the rule: recognised where the largest probability reaches the threshold", () => {
    const oracle = loadOracles().judge, { buffer, data } = loadJudge(), net = new DigitCnn(buffer, data);
    const decodes = unpack(oracle.decode_probs), classes = data.classes, pixels = new Float32Array(784);
    const { decoder } = loadModel("1"), dec = new Decoder(decoder.buffer, decoder.sizes);
    let recognised = 0, not = 0;
    oracle.z.forEach(([x, y], i) => {
      const p = Array.from(decodes.subarray(i * classes, (i + 1) * classes)), top = Math.max(...p);
      const verdict = net.judge(dec.decodeInto(x, y, pixels));
      assert.equal(verdict.label, p.indexOf(top));
      assert.ok(Math.abs(verdict.confidence - top) < TOL);
      if (Math.abs(top - oracle.confident) > TOL) assert.equal(verdict.recognised, top >= oracle.confident);
      if (verdict.recognised) recognised++; else not++;
    });
    // The oracle's z reach far off the data: some decodes are recognised and some are not.
    assert.ok(recognised > 0 && not > 0, `${recognised} recognised, ${not} not`);
  });

  test("the classifier refuses a file of the wrong size", () => {
    const { buffer, data } = loadJudge();
    assert.throws(() => new DigitCnn(buffer.slice(4), data), /judge file has \d+ floats, its architecture needs \d+/);
    assert.throws(() => new DigitCnn(buffer, { ...data, hidden: 65 }), /its architecture needs/);
  });
});
