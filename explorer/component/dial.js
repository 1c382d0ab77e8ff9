// A lambda dial in the browser: one network for a range of lambdas (explorer/dial.py). Its test
// digits' codes are published on a grid of lambdas, fine where they move fast; between two grid
// lambdas mu and logvar are interpolated linearly in ln(lambda), per frame, into the plane's
// points. Its test curve (recon and KL along the range) is interpolated the same way, and the
// "within the data" level is estimated again once the dial settles.

import { logAggregatePosterior } from "./density.js";
import { runSliced } from "./slices.js";
import { uniform } from "./samples.js";

const LEVEL_MASS = 0.99; // explorer/density.py's LEVEL_MASS: "within the data" holds 99% of q's mass
const LEVEL_SAMPLES = 2000; // ... and its LEVEL_SAMPLES: z ~ q drawn for the level
const LEVEL_SEED = 7; // the generator's seed for them (samples.js's uniform)

/** Where lam lies among ascending `lams`: rows k and k + 1 and the weight w of row k + 1, in ln(lambda); clamped to the ends. */
export function bracket(lams, lam) {
  const last = lams.length - 1;
  if (!(lam > lams[0])) return { k: 0, w: 0 };
  if (lam >= lams[last]) return { k: last - 1, w: 1 };
  let lo = 0, hi = last; // lams[lo] < lam < lams[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (lams[mid] <= lam) lo = mid; else hi = mid;
  }
  return { k: lo, w: Math.log(lam / lams[lo]) / Math.log(lams[lo + 1] / lams[lo]) };
}

/** A curve's value at lam, linear in ln(lambda) between its points. */
export function curveAt(lams, values, lam) {
  const { k, w } = bracket(lams, lam);
  return values[k] + w * (values[k + 1] - values[k]);
}

/** The slider's position u in [0, 1] of lam over the range [low, high], even in ln(lambda), and back. */
export const positionOf = (low, high, lam) => Math.log(lam / low) / Math.log(high / low);
export const lamAt = (low, high, u) => low * Math.exp(u * Math.log(high / low));

export class DialGrid {
  /**
   * @param {{mu: Float32Array, logvar: Float32Array, g: number, n: number}} rows readDialGrid's
   * @param {number[]} lams the grid's lambdas
   */
  constructor(rows, lams) {
    if (lams.length !== rows.g) throw new Error(`a dial grid of ${rows.g} rows for ${lams.length} lambdas`);
    this.rows = rows;
    this.lams = lams;
  }

  get low() { return this.lams[0]; }

  get high() { return this.lams[this.lams.length - 1]; }

  /** Write the test digits' mu and logvar at lam into `points` (TestPoints of this grid's N). */
  fill(lam, points) {
    const { k, w } = bracket(this.lams, lam), n2 = 2 * this.rows.n, a = k * n2, b = a + n2;
    for (const [rows, out] of [[this.rows.mu, points.mu], [this.rows.logvar, points.logvar]]) {
      for (let i = 0; i < n2; i++) out[i] = rows[a + i] + w * (rows[b + i] - rows[a + i]);
    }
  }
}

/**
 * The log q level that LEVEL_MASS of q's own mass lies above, for the codes in `points` now
 * (explorer/density.py's density_level, with samples of this generator): a digit drawn uniformly,
 * then z from its q(z|x). Computed in slices; `done(level)` is called unless the job is cancelled.
 */
export function estimateLevel(points, done) {
  const n = points.n, values = new Float64Array(LEVEL_SAMPLES);
  // A copy: the dial may turn meanwhile.
  const copy = { mu: Float32Array.from(points.mu), logvar: Float32Array.from(points.logvar), n }, { mu, logvar } = copy;
  return runSliced(LEVEL_SAMPLES, (s) => {
    const i = Math.min(n - 1, Math.floor(uniform(LEVEL_SEED, 0, s) * n));
    const r = Math.sqrt(-2 * Math.log(uniform(LEVEL_SEED, 1, s))), theta = 2 * Math.PI * uniform(LEVEL_SEED, 2, s);
    const x = mu[2 * i] + Math.exp(0.5 * logvar[2 * i]) * r * Math.cos(theta);
    const y = mu[2 * i + 1] + Math.exp(0.5 * logvar[2 * i + 1]) * r * Math.sin(theta);
    values[s] = logAggregatePosterior(copy, x, y);
  }, () => done(quantile(values, 1 - LEVEL_MASS)));
}

/** numpy.quantile's default (linear) of `values` at q. */
export function quantile(values, q) {
  const sorted = Float64Array.from(values).sort(), at = q * (sorted.length - 1), lo = Math.floor(at);
  return lo + 1 < sorted.length ? sorted[lo] + (at - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}
