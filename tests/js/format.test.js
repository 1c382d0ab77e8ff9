// How the plane writes numbers (format.js) and q against p in words (panel.js's ratioWords).
import { test } from "node:test";
import assert from "node:assert/strict";

import { number, point, powerOfTen } from "../../explorer/component/format.js";
import { ratioWords } from "../../explorer/component/panel.js";

test("numbers carry a true minus sign, and a value that rounds to zero carries none", () => {
  assert.equal(number(-1.23456), "\u22121.235");
  assert.equal(number(2.5, 1), "2.5");
  assert.equal(number(-0.0004), "0.000");
  assert.equal(number(-0.004, 2), "0.00");
  assert.equal(point([-0.001, 0.004], 2), "(0.00, 0.00)");
  assert.equal(point([-1, 2]), "(\u22121.000, 2.000)");
});

test("powers of ten are written with superscript exponents", () => {
  assert.equal(powerOfTen(-40), "10\u207b\u2074\u2070");
  assert.equal(powerOfTen(300), "10\u00b3\u2070\u2070");
});

test("q against p reads as a ratio, a share, a power of ten, or past 10^300 as a bound", () => {
  assert.equal(ratioWords(Math.log(3.2)), "3.2 times");
  assert.equal(ratioWords(Math.log(0.005)), "0.5% of");
  assert.equal(ratioWords(-40 * Math.LN10), "about 10\u207b\u2074\u2070 times");
  assert.equal(ratioWords(-155565524 * Math.LN10), "less than 10\u207b\u00b3\u2070\u2070 of");
  assert.equal(ratioWords(2780 * Math.LN10), "more than 10\u00b3\u2070\u2070 times");
});
