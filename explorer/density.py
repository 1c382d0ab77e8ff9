"""The aggregate posterior against the prior on the 2-D latent plane: where the data lives, and its holes.

The aggregate posterior is q(z) = (1/N) sum_n N(z; mu_n, diag sigma_n^2), the average of the test
digits' q(z|x) (Kingma & Welling 2014 define q(z|x); the KL term of the ELBO pulls this average
toward the prior p(z) = N(0, I)). Where q(z) is far below p(z), sampling the prior asks the decoder
about codes the encoder never gives: a hole. A point z is "within the data" when log q(z) is above
the level that 99% of q's own mass lies above (its 99% highest-density region).

Densities are compared cell by cell as cell averages (each Gaussian's probability mass in the cell,
separable in x and y, divided by the cell's area), so a narrow Gaussian (sigma ~ 1e-7 at lambda = 0)
counts in its cell even when it falls between cell centres; the prior's mass is taken in log space,
where it underflows far from the origin. explorer/component/density.js computes the same in the
browser and the browser tests compare the two. Torch-free (numpy/scipy).
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr

HOLE_RATIO = 0.01  # a hole: q(z) below this share of p(z)
TRUNCATE = 5.0  # a Gaussian's mass is counted in the cells within this many sigma of its mean (per axis)
LEVEL_MASS = 0.99  # "within the data": the highest-density region holding this share of q's mass
LEVEL_SAMPLES = 2000  # z ~ q drawn for that level: 20 fall below it (2e7 Gaussian terms at publish time)
LEVEL_SEED = 0
_CHUNK = 2**21  # (z, Gaussian) pairs per block of log_aggregate_posterior: 2 x 16 MB of float64


def _as_float64(mu, logvar) -> tuple[np.ndarray, np.ndarray]:
    mu, logvar = np.asarray(mu, np.float64).reshape(-1, 2), np.asarray(logvar, np.float64).reshape(-1, 2)
    if mu.shape != logvar.shape or len(mu) == 0:
        raise ValueError(f"mu {mu.shape} and logvar {logvar.shape} must be the same non-empty (N, 2)")
    return mu, logvar


def log_aggregate_posterior(z, mu, logvar) -> np.ndarray | float:
    """log q(z) at points z (K, 2) -> (K,), or one point (2,) -> float; exact, by log-sum-exp
    (no term dropped: at lambda = 0 a term is a Gaussian of sigma ~ 1e-7)."""
    mu, logvar = _as_float64(mu, logvar)
    z = np.asarray(z, np.float64)
    single = z.ndim == 1
    z = z.reshape(-1, 2)
    inv_var = np.exp(-logvar)
    log_norm = -np.log(2 * np.pi) - 0.5 * logvar.sum(1)  # (N,)
    out = np.empty(len(z))
    step = max(1, _CHUNK // len(mu))
    for s in range(0, len(z), step):
        zs = z[s: s + step]
        e = zs[:, :1] - mu[None, :, 0]  # (k, N), in place from here: memory traffic is the cost
        e *= e
        e *= inv_var[None, :, 0]
        dy = zs[:, 1:] - mu[None, :, 1]
        dy *= dy
        dy *= inv_var[None, :, 1]
        e += dy
        e *= -0.5
        e += log_norm
        top = e.max(1, keepdims=True)
        e -= top
        np.exp(e, out=e)
        out[s: s + step] = np.log(e.sum(1)) + top[:, 0]
    out -= np.log(len(mu))
    return float(out[0]) if single else out


def log_prior(z) -> np.ndarray | float:
    """log p(z) for p = N(0, I) on the plane."""
    z = np.asarray(z, np.float64)
    return -np.log(2 * np.pi) - 0.5 * (z * z).sum(-1)


def cell_edges(low: float, high: float, cells: int) -> np.ndarray:
    """cells + 1 edges from low to high, computed as the browser computes them."""
    return low + (high - low) * np.arange(cells + 1, dtype=np.float64) / cells


def _interval_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Standard normal mass of [a, b] (a <= b), from the tail each interval lies nearer, so it
    keeps its relative precision far out."""
    return np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))


def _log_interval_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log of the standard normal mass of [a, b] (a < b), without underflow: an interval in the
    upper tail is mirrored into the lower one, where log Phi(b) + log(1 - Phi(a) / Phi(b)) holds."""
    flip = a > 0
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    la, lb = log_ndtr(a), log_ndtr(b)
    return lb + np.log1p(-np.exp(la - lb))


def _axis_mass(edges: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(N, cells): each Gaussian's mass in each cell along one axis, 0 beyond TRUNCATE sigma."""
    t = (edges[None, :] - mu[:, None]) / sigma[:, None]  # (N, cells + 1)
    a, b = t[:, :-1], t[:, 1:]
    return np.where((b > -TRUNCATE) & (a < TRUNCATE), _interval_mass(a, b), 0.0)


def hole_mask(mu, logvar, x_range, y_range, cells: int, ratio: float = HOLE_RATIO) -> np.ndarray:
    """(cells, cells) bool over the rectangle, row 0 at the top (highest y): True where the cell
    average of q is below `ratio` times the cell average of p."""
    mu, logvar = _as_float64(mu, logvar)
    sigma = np.exp(0.5 * logvar)
    ex, ey = cell_edges(*x_range, cells), cell_edges(*y_range, cells)
    q = _axis_mass(ex, mu[:, 0], sigma[:, 0]).T @ _axis_mass(ey, mu[:, 1], sigma[:, 1])  # (x cell, y cell)
    log_px, log_py = _log_interval_mass(ex[:-1], ex[1:]), _log_interval_mass(ey[:-1], ey[1:])
    with np.errstate(divide="ignore"):
        log_q = np.log(q / len(mu))
    hole = log_q < np.log(ratio) + log_px[:, None] + log_py[None, :]  # the cell area cancels
    return hole.T[::-1]


def hole_fraction(mu, logvar, cells: int = 200, ratio: float = HOLE_RATIO) -> float:
    """Share of the cells of the data's bounding box (test mu, min to max) that are holes."""
    mu, logvar = _as_float64(mu, logvar)
    low, high = mu.min(0), mu.max(0)
    return float(hole_mask(mu, logvar, (low[0], high[0]), (low[1], high[1]), cells, ratio).mean())


def density_level(mu, logvar, mass: float = LEVEL_MASS, samples: int = LEVEL_SAMPLES,
                  seed: int = LEVEL_SEED) -> float:
    """The log q level that `mass` of q's own mass lies above: its (1 - mass) quantile of log q(z)
    for z ~ q (a digit drawn uniformly, then z from its q(z|x)), with a fixed seed."""
    mu, logvar = _as_float64(mu, logvar)
    rng = np.random.default_rng(seed)
    n = rng.integers(len(mu), size=samples)
    z = mu[n] + np.exp(0.5 * logvar[n]) * rng.standard_normal((samples, 2))
    return float(np.quantile(log_aggregate_posterior(z, mu, logvar), 1 - mass))
