"""The aggregate posterior q(z) against the prior: explorer.density against brute-force scipy sums."""
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from explorer import density


def _brute_log_q(z, mu, logvar):
    sigma = np.exp(0.5 * np.asarray(logvar, np.float64))
    terms = stats.norm.logpdf(z[:, None, :], np.asarray(mu, np.float64)[None], sigma[None]).sum(-1)
    return logsumexp(terms, axis=1) - np.log(len(mu))


def _brute_mask(mu, logvar, x_range, y_range, cells, ratio=0.01):
    """Cell averages from every Gaussian's full mass (scipy's cdf, nothing truncated), row 0 on top."""
    mu, sigma = np.asarray(mu, np.float64), np.exp(0.5 * np.asarray(logvar, np.float64))
    ex, ey = np.linspace(*x_range, cells + 1), np.linspace(*y_range, cells + 1)
    px = np.diff(stats.norm.cdf(ex[None], mu[:, :1], sigma[:, :1]), axis=1)  # (N, cells)
    py = np.diff(stats.norm.cdf(ey[None], mu[:, 1:], sigma[:, 1:]), axis=1)
    q = px.T @ py / len(mu)
    p = np.diff(stats.norm.cdf(ex))[:, None] * np.diff(stats.norm.cdf(ey))[None]
    return (q < ratio * p).T[::-1]


@pytest.fixture(scope="module")
def blobs():
    """Two clusters with a gap between them, sigmas like a lambda = 1 model's."""
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal([-1.5, 0.0], 0.3, (300, 2)), rng.normal([1.5, 0.5], 0.3, (300, 2))])
    logvar = np.log(rng.uniform(0.05, 0.4, (600, 2)) ** 2)
    return mu.astype(np.float32), logvar.astype(np.float32)


def test_log_aggregate_posterior_is_the_exact_mixture_density(blobs):
    mu, logvar = blobs
    z = np.random.default_rng(1).normal(scale=2, size=(40, 2))
    np.testing.assert_allclose(density.log_aggregate_posterior(z, mu, logvar), _brute_log_q(z, mu, logvar),
                               rtol=1e-12)
    assert density.log_aggregate_posterior(z[3], mu, logvar) == pytest.approx(_brute_log_q(z[3:4], mu, logvar)[0])


def test_log_aggregate_posterior_stays_finite_for_collapsed_sigmas():
    """At lambda = 0 sigma is ~1e-7: q itself underflows a step off a point; its log does not."""
    mu = np.array([[0.0, 0.0], [50.0, -20.0]])
    logvar = np.full((2, 2), 2 * np.log(3e-7))
    z = np.array([[0.0, 0.0], [1e-6, 0.0], [25.0, -10.0]])
    log_q = density.log_aggregate_posterior(z, mu, logvar)
    assert np.isfinite(log_q).all() and log_q[0] > 25 > -1e12 > log_q[2]
    np.testing.assert_allclose(log_q, _brute_log_q(z, mu, logvar), rtol=1e-12)


def test_hole_mask_agrees_with_untruncated_cell_averages(blobs):
    mu, logvar = blobs
    mask = density.hole_mask(mu, logvar, (-3.0, 3.0), (-2.5, 3.5), 60)
    brute = _brute_mask(mu, logvar, (-3.0, 3.0), (-2.5, 3.5), 60)
    assert mask.shape == (60, 60) and mask.dtype == bool
    assert (mask == brute).mean() > 0.999
    assert 0.1 < mask.mean() < 0.9  # both kinds of cell are there to agree on
    # The gap between the clusters is a hole, their centres are not (row 0 is the top: y = 3.5).
    def cell(x, y):
        return mask[int((3.5 - y) / 0.1), int((x + 3.0) / 0.1)]
    assert cell(0.0, -2.0) and not cell(-1.5, 0.0) and not cell(1.5, 0.5)


def test_a_narrow_gaussian_between_cell_centres_still_fills_its_cell():
    """Point densities at cell centres would miss a sigma = 1e-7 code; the cell's mass does not."""
    mu = np.array([[0.23, -0.41]])
    logvar = np.full((1, 2), 2 * np.log(1e-7))
    mask = density.hole_mask(mu, logvar, (-1.0, 1.0), (-1.0, 1.0), 10)
    row, col = int((1.0 - -0.41) / 0.2), int((0.23 + 1.0) / 0.2)
    assert not mask[row, col] and mask.sum() == 99


def test_far_from_the_origin_the_prior_underflows_but_the_rule_holds():
    """exp(-80^2 / 2) is 0 in float64; log masses still say where the data is."""
    mu = np.array([[70.5, 70.5]])
    logvar = np.full((1, 2), 2 * np.log(1e-3))
    mask = density.hole_mask(mu, logvar, (60.0, 80.0), (60.0, 80.0), 20)
    assert mask.sum() == 399 and not mask[9, 10]


def test_hole_fraction_is_the_share_of_the_data_box(blobs):
    mu, logvar = blobs
    low, high = mu.min(0), mu.max(0)
    mask = density.hole_mask(mu, logvar, (low[0], high[0]), (low[1], high[1]), 50)
    assert density.hole_fraction(mu, logvar, cells=50) == pytest.approx(mask.mean())


def test_density_level_is_the_one_percent_quantile_of_log_q_under_q():
    """One standard Gaussian: |z|^2 is chi-square(2), so 99% of the mass has log q above
    -log(2 pi) - log(100)."""
    level = density.density_level(np.zeros((1, 2)), np.zeros((1, 2)), samples=200_000)
    assert level == pytest.approx(-np.log(2 * np.pi) - np.log(100), abs=0.05)
    # Fixed seed: the same level every time.
    mu, logvar = np.random.default_rng(2).normal(size=(50, 2)), np.full((50, 2), -2.0)
    assert density.density_level(mu, logvar) == density.density_level(mu, logvar)


def test_shipped_models_have_more_holes_at_lambda_0_than_at_lambda_1(shipped_arrays):
    fractions = {lam: density.hole_fraction(a.test_mu, a.test_logvar) for lam, a in shipped_arrays.items()}
    assert fractions["0"] > 0.9 and fractions["1"] < 0.6
