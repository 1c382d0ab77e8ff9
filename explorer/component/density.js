// The aggregate posterior q(z) = (1/N) sum_n N(z; mu_n, diag sigma_n^2) of the test digits against
// the prior p(z) = N(0, I), in the browser: log q at a point (the panel's verdict) and the holes
// layer, where the cell average of q is below 1% of p's. The same rules and constants as
// explorer/density.py, which the browser tests use as the oracle; also the normal distribution's
// functions they need (and the quantile grid needs: Phi^-1).

import { runSliced } from "./slices.js";

const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_PI = Math.sqrt(Math.PI);
export const HOLE_RATIO = 0.01; // a hole: q below this share of p
const TRUNCATE = 5; // a Gaussian's mass counts in the cells within this many sigma of its mean (per axis)
export const HOLE_CELLS = 160; // cells per side over the visible range: ~4 CSS px each
export const HOLE_RGBA = [88, 88, 150, 84]; // the holes' tint, drawn over the plot

// erfc(x) for x >= 2 is exp(-x^2) / (sqrt(pi) f(x)) with f the continued fraction
// x + (1/2)/(x + 1/(x + (3/2)/(x + ...))); these many terms keep it to ~1e-15 (fewer as x grows).
function erfcFraction(x) {
  let f = x;
  for (let k = x < 2.5 ? 60 : x < 3 ? 45 : x < 4 ? 30 : x < 6 ? 18 : 12; k > 0; k--) f = x + k / 2 / f;
  return f;
}

/** The complementary error function, to ~1e-13 relative. */
export function erfc(x) {
  if (x < 0) return 2 - erfc(-x);
  if (x >= 2) return x > 27 ? 0 : Math.exp(-x * x) / (SQRT_PI * erfcFraction(x));
  // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)): positive terms, no cancellation.
  let term = x, sum = x;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return 1 - (2 / SQRT_PI) * Math.exp(-x * x) * sum;
}

/** Phi(x), the standard normal CDF. */
export function ndtr(x) {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** log Phi(x), finite however far into the lower tail. */
export function logNdtr(x) {
  if (x > 0) return Math.log1p(-0.5 * erfc(x / Math.SQRT2));
  const t = -x / Math.SQRT2;
  return t < 2 ? Math.log(0.5 * erfc(t)) : -t * t - Math.log(2 * SQRT_PI * erfcFraction(t));
}

// Wichura 1988, Algorithm AS 241 (PPND16), Applied Statistics 37(3): 477-484: Phi^-1 to about
// 1 part in 1e16. Coefficients lowest order first.
const AS241 = {
  a: [3.3871328727963666080, 1.3314166789178437745e2, 1.9715909503065514427e3, 1.3731693765509461125e4,
      4.5921953931549871457e4, 6.7265770927008700853e4, 3.3430575583588128105e4, 2.5090809287301226727e3],
  b: [1, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4, 5.2264952788528545610e3],
  c: [1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550, 3.64784832476320460504,
      1.27045825245236838258, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4],
  d: [1, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9],
  e: [6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580, 2.96560571828504891230e-1,
      2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7],
  f: [1, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15],
};

const poly = (c, x) => c.reduceRight((acc, v) => acc * x + v, 0);

/** Phi^-1(p): the standard normal quantile, -Infinity at 0 and Infinity at 1. */
export function ndtri(p) {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(AS241.a, r)) / poly(AS241.b, r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let z;
  if (r <= 5) { r -= 1.6; z = poly(AS241.c, r) / poly(AS241.d, r); }
  else { r -= 5; z = poly(AS241.e, r) / poly(AS241.f, r); }
  return q < 0 ? -z : z;
}

/** log of the standard normal mass of [a, b], a < b, without underflow. */
export function logIntervalMass(a, b) {
  if (a > 0) [a, b] = [-b, -a];
  const la = logNdtr(a), lb = logNdtr(b);
  return lb + Math.log1p(-Math.exp(la - lb));
}

/** log p(z) for p = N(0, I). */
export function logPrior(x, y) {
  return -LOG_2PI - 0.5 * (x * x + y * y);
}

/**
 * log q(z) at (x, y) over the test digits' q(z|x), by log-sum-exp (exact: at lambda = 0 each term is
 * a Gaussian of sigma ~ 1e-7, so none can be dropped).
 * @param {TestPoints} points
 */
export function logAggregatePosterior(points, x, y) {
  const { mu, logvar, n } = points, terms = new Float64Array(n);
  let top = -Infinity;
  for (let i = 0; i < n; i++) {
    const lx = logvar[2 * i], ly = logvar[2 * i + 1], dx = x - mu[2 * i], dy = y - mu[2 * i + 1];
    const t = -0.5 * (dx * dx * Math.exp(-lx) + dy * dy * Math.exp(-ly)) + (-LOG_2PI - 0.5 * (lx + ly));
    terms[i] = t;
    if (t > top) top = t;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(terms[i] - top);
  return Math.log(sum) + top - Math.log(n);
}

/** cells + 1 edges from low to high, as explorer.density.cell_edges computes them. */
function cellEdges(low, high, cells) {
  const e = new Float64Array(cells + 1);
  for (let i = 0; i <= cells; i++) e[i] = low + ((high - low) * i) / cells;
  return e;
}

/**
 * One Gaussian's mass in each cell along one axis, for the cells within TRUNCATE sigma of its mean;
 * each cell's mass from the tail it lies nearer: Phi(-a) - Phi(-b) above the mean, Phi(b) - Phi(a)
 * below (explorer.density._interval_mass), so it keeps its relative precision far out.
 * @returns {number} the first such cell; out[0 ..] holds their masses, count in out.count
 */
function axisMass(edges, mean, sigma, out, upper) {
  const cells = edges.length - 1, width = edges[1] - edges[0];
  // A first guess from the arithmetic, then the exact rule (as in Python) decides at the ends.
  let lo = Math.max(0, Math.floor((mean - TRUNCATE * sigma - edges[0]) / width) - 1);
  let hi = Math.min(cells - 1, Math.floor((mean + TRUNCATE * sigma - edges[0]) / width) + 1);
  out.count = 0;
  if (!(lo <= hi)) return 0;
  while (lo <= hi && !((edges[lo + 1] - mean) / sigma > -TRUNCATE)) lo++;
  while (hi >= lo && !((edges[hi] - mean) / sigma < TRUNCATE)) hi--;
  for (let j = lo; j <= hi + 1; j++) { // Phi(-t) and Phi(t) at each edge, from one erfc
    const t = (edges[j] - mean) / sigma, e = 0.5 * erfc(Math.abs(t) / Math.SQRT2);
    upper[2 * (j - lo)] = t >= 0 ? e : 1 - e; // Phi(-t)
    upper[2 * (j - lo) + 1] = t >= 0 ? 1 - e : e; // Phi(t)
  }
  for (let j = lo; j <= hi; j++) {
    const k = 2 * (j - lo), a = (edges[j] - mean) / sigma;
    out[j - lo] = a > 0 ? upper[k] - upper[k + 2] : upper[k + 3] - upper[k + 1];
  }
  out.count = Math.max(0, hi - lo + 1);
  return lo;
}

// The holes layer: which cells of the visible range have q below HOLE_RATIO times p, comparing
// cell averages (so a sigma ~ 1e-7 code is not missed between cell centres) and p's in log space.
// Made in slices of a few milliseconds off the frame path, like the latent grid.
export class HolesLayer {
  constructor() {
    this.show = false;
    this.cells = HOLE_CELLS;
    this.mask = null; // Uint8Array cells x cells, row 0 at the top (highest y); 1 = hole
    this.range = null; // ViewState the mask covers
    this.image = null; // the mask as a tinted canvas, cells x cells
    this.ms = null; // how long the last mask took, slices included
    this.job = null; // {cancelled, next, range} while computing (slices.js)
  }

  /** Whether the mask of `range` is done or on its way. */
  covers(range) {
    const r = this.job ? this.job.range : this.mask && this.range;
    return !!r && r.x[0] === range.x[0] && r.x[1] === range.x[1] && r.y[0] === range.y[0] && r.y[1] === range.y[1];
  }

  /** @returns {{image: HTMLCanvasElement, range: ViewState}|null} what the renderer should draw */
  get layer() {
    return this.show && this.image ? { image: this.image, range: this.range } : null;
  }

  get ready() {
    return !!(this.mask && !this.job);
  }

  clear() {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    this.mask = this.image = null;
  }

  /** Compute the mask of `range` for the test digits `points`; `done()` when it is complete. */
  start(points, range, done) {
    if (this.job) this.job.cancelled = true;
    this.job = null;
    if (!this.show) return;
    const C = this.cells, ex = cellEdges(range.x[0], range.x[1], C), ey = cellEdges(range.y[0], range.y[1], C);
    const q = new Float64Array(C * C); // [x cell * C + y cell]: summed masses
    const px = new Float64Array(C + 2), py = new Float64Array(C + 2), edgeCdf = new Float64Array(2 * C + 4);
    const { mu, logvar, n } = points, t0 = performance.now();
    const step = (i) => {
      const x0 = axisMass(ex, mu[2 * i], Math.exp(0.5 * logvar[2 * i]), px, edgeCdf);
      if (!px.count) return;
      const y0 = axisMass(ey, mu[2 * i + 1], Math.exp(0.5 * logvar[2 * i + 1]), py, edgeCdf);
      for (let a = 0; a < px.count; a++) {
        const row = (x0 + a) * C + y0, m = px[a];
        for (let b = 0; b < py.count; b++) q[row + b] += m * py[b];
      }
    };
    this.job = runSliced(n, step, () => {
      this.finish(q, ex, ey, n, range);
      this.ms = performance.now() - t0;
      this.job = null;
      done();
    }, 256);
    this.job.range = range;
  }

  finish(q, ex, ey, n, range) {
    const C = this.cells, mask = new Uint8Array(C * C), logRatio = Math.log(HOLE_RATIO), logN = Math.log(n);
    const lpy = Array.from({ length: C }, (_, j) => logIntervalMass(ey[j], ey[j + 1]));
    for (let i = 0; i < C; i++) {
      const lpx = logIntervalMass(ex[i], ex[i + 1]);
      for (let j = 0; j < C; j++) {
        if (Math.log(q[i * C + j]) - logN < logRatio + lpx + lpy[j]) mask[(C - 1 - j) * C + i] = 1;
      }
    }
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = C;
    const ctx = canvas.getContext("2d"), image = ctx.createImageData(C, C);
    for (let k = 0; k < C * C; k++) if (mask[k]) image.data.set(HOLE_RGBA, 4 * k);
    ctx.putImageData(image, 0, 0);
    this.mask = mask;
    this.range = range;
    this.image = canvas;
  }
}
