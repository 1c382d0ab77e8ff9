// The digit classifier in the browser: explorer/classifier.py's DigitCNN (two 3x3 convolutions,
// each zero-padded by one pixel and followed by ReLU and a 2x2 max-pool, then two Linear layers),
// run on a decode to judge whether it shows a digit. float32 weights, float64 sums, like decoder.js;
// tests/js/cnn.test.js holds it to torch's probabilities. About 1.1 M multiply-adds an image.

/**
 * Softmax probabilities over the digits, and the judge's verdict: recognised as `label` when the
 * largest probability reaches `confident` (explorer/classifier.py's rule), "no digit" otherwise.
 */
export class DigitCnn {
  /** @param {ArrayBuffer} buffer the judge file (protocol.js)  @param {JudgeData} judge its architecture and rule */
  constructor(buffer, judge) {
    const [h, w] = judge.image_shape, [c1, c2] = judge.channels, { hidden, classes } = judge;
    const flat = new Float32Array(buffer), sizes = [c1 * 9, c1, c2 * c1 * 9, c2, hidden * c2 * (h >> 2) * (w >> 2), hidden,
                                                   classes * hidden, classes];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (flat.length !== total) throw new Error(`judge file has ${flat.length} floats, its architecture needs ${total}`);
    let at = 0;
    const [w1, b1, w2, b2, wf1, bf1, wf2, bf2] = sizes.map((n) => flat.subarray(at, (at += n)));
    Object.assign(this, { h, w, c1, c2, hidden, classes, w1, b1, w2, b2, wf1, bf1, wf2, bf2, confident: judge.confident });
    this.a1 = new Float64Array(c1 * h * w);
    this.p1 = new Float64Array(c1 * (h >> 1) * (w >> 1));
    this.a2 = new Float64Array(c2 * (h >> 1) * (w >> 1));
    this.p2 = new Float64Array(c2 * (h >> 2) * (w >> 2));
    this.f1 = new Float64Array(hidden);
    this.out = new Float64Array(classes);
  }

  /** Probabilities (Float64Array of `classes`, reused by the next call) of an image, pixels in [0, 1]. */
  probabilities(pixels) {
    const { h, w, c1, c2 } = this;
    conv3x3(pixels, 1, h, w, this.w1, this.b1, c1, this.a1);
    maxPool(this.a1, c1, h, w, this.p1);
    conv3x3(this.p1, c1, h >> 1, w >> 1, this.w2, this.b2, c2, this.a2);
    maxPool(this.a2, c2, h >> 1, w >> 1, this.p2);
    linear(this.p2, this.wf1, this.bf1, this.f1, true);
    linear(this.f1, this.wf2, this.bf2, this.out, false);
    let top = -Infinity, sum = 0;
    for (const v of this.out) top = Math.max(top, v);
    for (let k = 0; k < this.out.length; k++) sum += (this.out[k] = Math.exp(this.out[k] - top));
    for (let k = 0; k < this.out.length; k++) this.out[k] /= sum;
    return this.out;
  }

  /** The verdict on an image: {label, confidence, recognised}; label is the likeliest class either way. */
  judge(pixels) {
    const p = this.probabilities(pixels);
    let label = 0;
    for (let k = 1; k < p.length; k++) if (p[k] > p[label]) label = k;
    return { label, confidence: p[label], recognised: p[label] >= this.confident };
  }
}

/** out (cout, h, w) = ReLU(b + W * input (cin, h, w)), W (cout, cin, 3, 3), zero padding of one pixel (torch's conv2d). */
function conv3x3(input, cin, h, w, weight, bias, cout, out) {
  for (let o = 0; o < cout; o++) {
    const plane = o * h * w;
    out.fill(bias[o], plane, plane + h * w);
    for (let i = 0; i < cin; i++) {
      const src = i * h * w, k = (o * cin + i) * 9;
      for (let dy = -1; dy <= 1; dy++) {
        const y0 = Math.max(0, -dy), y1 = Math.min(h, h - dy);
        for (let dx = -1; dx <= 1; dx++) {
          const wk = weight[k + (dy + 1) * 3 + dx + 1];
          if (wk === 0) continue;
          const x0 = Math.max(0, -dx), x1 = Math.min(w, w - dx);
          for (let y = y0; y < y1; y++) {
            const row = plane + y * w, from = src + (y + dy) * w + dx;
            for (let x = x0; x < x1; x++) out[row + x] += wk * input[from + x];
          }
        }
      }
    }
    for (let j = plane; j < plane + h * w; j++) if (out[j] < 0) out[j] = 0;
  }
}

/** out (c, h/2, w/2): the largest of each 2x2 block, an odd last row or column left out (torch's max_pool2d). */
function maxPool(input, c, h, w, out) {
  const ho = h >> 1, wo = w >> 1;
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const a = k * h * w + 2 * y * w + 2 * x;
        out[(k * ho + y) * wo + x] = Math.max(input[a], input[a + 1], input[a + w], input[a + w + 1]);
      }
    }
  }
}

/** out = b + W x, W (out, in) row-major; ReLU'd if `relu`. */
function linear(x, weight, bias, out, relu) {
  const n = x.length;
  for (let o = 0; o < out.length; o++) {
    let s = bias[o];
    for (let i = 0, row = o * n; i < n; i++) s += weight[row + i] * x[i];
    out[o] = relu && s < 0 ? 0 : s;
  }
}

/** A verdict in words: "a 7 (98%)", "no digit (likeliest 3, 54%)". */
export function verdictText(v) {
  const pct = `${Math.round(100 * v.confidence)}%`;
  return v.recognised ? `a ${v.label} (${pct})` : `no digit (likeliest ${v.label}, ${pct})`;
}

/** The verdict's short form for a small image's corner: its digit, or "\u2013" for none. */
export function verdictTag(v) {
  return v ? (v.recognised ? String(v.label) : "\u2013") : "";
}
