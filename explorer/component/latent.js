// What the panel says about a latent point: q(z|x) of a test digit, its KL to the prior, and the
// nearest training encodings (whether it is within the data is density.js's). The same figures as
// explorer.latent (point_stats, NeighbourIndex), which the browser tests use as the oracle.

/**
 * mu, sigma and KL(q(z|x) || N(0, I)) in nats of one test digit, in closed form for a diagonal
 * Gaussian (Kingma & Welling 2014, appendix B): 1/2 |mu|^2 + 1/2 sum(sigma^2 - ln sigma^2 - 1).
 * @param {TestPoints} points
 */
export function pointStats(points, i) {
  const mu = [points.mu[2 * i], points.mu[2 * i + 1]];
  const logvar = [points.logvar[2 * i], points.logvar[2 * i + 1]];
  let kl = 0;
  for (let d = 0; d < 2; d++) kl += 0.5 * (mu[d] * mu[d] + Math.exp(logvar[d]) - logvar[d] - 1);
  return { mu, sigma: logvar.map((v) => Math.exp(0.5 * v)), kl };
}

/**
 * The k nearest of n points (xy interleaved) to z, closest first, by exact Euclidean distance.
 * z is rounded to float32 first, as explorer.latent.NeighbourIndex does; a scan of 60,000
 * points takes well under a millisecond, so no index is built.
 * @returns {{indices: number[], distances: number[]}}
 */
export function nearest(xy, n, z, k) {
  const zx = Math.fround(z[0]), zy = Math.fround(z[1]);
  k = Math.max(1, Math.min(k, n));
  const best = new Float64Array(k).fill(Infinity), at = new Int32Array(k).fill(-1); // squared, ascending
  for (let i = 0; i < n; i++) {
    const dx = xy[2 * i] - zx, dy = xy[2 * i + 1] - zy, d = dx * dx + dy * dy;
    if (d >= best[k - 1]) continue;
    let j = k - 1;
    for (; j > 0 && best[j - 1] > d; j--) { best[j] = best[j - 1]; at[j] = at[j - 1]; }
    best[j] = d;
    at[j] = i;
  }
  return { indices: Array.from(at), distances: Array.from(best, Math.sqrt) };
}
