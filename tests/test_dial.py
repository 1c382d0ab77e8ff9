"""The lambda dial's pieces (explorer.dial): lambdas drawn log-uniformly, the code step between
two lambdas, and the grid refined where the codes move fast."""
import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from explorer.dial import DeltaCoded, log_uniform, mu_step, refine_grid, spread, start_from
from explorer.model import VAE, ModelConfig


def test_log_uniform_maps_unit_draws_onto_the_range_in_log():
    u = torch.tensor([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(log_uniform(u, (0.01, 100.0)).numpy(), [0.01, 0.1, 1.0, 100.0], rtol=1e-5)
    lams = log_uniform(torch.rand(200_000, generator=torch.Generator().manual_seed(0)), (0.5, 8.0))
    counts = np.histogram(lams.log2().numpy(), bins=4, range=(-1, 3))[0]  # one bin per octave
    assert np.all(np.abs(counts / 50_000 - 1) < 0.02), counts


def test_mu_step_is_the_median_move_in_units_of_the_spread():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(10_001, 2)) * [3.0, 5.0]
    assert spread(codes) == pytest.approx(math.sqrt((9 + 25) / 2), rel=0.02)
    moved = codes + [0.3, 0.4]  # every code moves by 0.5
    assert mu_step(codes, moved) == pytest.approx(0.5 / spread(codes))
    tight = codes / 100  # packed tighter than the prior: measured in the prior's units
    assert mu_step(tight, tight + [0.3, 0.4]) == pytest.approx(0.5)
    half = codes.copy()
    half[: 5_001] += [0.0, 2.0]  # the median digit moved by 2
    assert mu_step(codes, half) == pytest.approx(2 / spread(codes))


def test_a_dial_started_from_a_plain_model_is_that_model_at_every_lambda(small_checkpoint):
    plain = small_checkpoint.model
    dial = start_from(plain, dataclasses.replace(plain.config, film_hidden=8))
    x, z = torch.rand(5, plain.config.x_dim), torch.randn(5, 2)
    for lam in (0.01, 1.0, 100.0):
        torch.testing.assert_close(dial.encode(x, lam), plain.encode(x))
        torch.testing.assert_close(dial.decode(z, lam), plain.decode(z))
    dial.decoder[1].bias.data += 1  # its own weights, not the plain model's
    assert not torch.equal(dial.decoder[1].bias, plain.decoder[1].bias)


@pytest.mark.parametrize("start, config, message", [
    (ModelConfig(hidden=(16,)), ModelConfig(hidden=(32,), film_hidden=8), "layers (16,), 2-d, do not match"),
    (ModelConfig(hidden=(16, 8)), ModelConfig(hidden=(16,), film_hidden=8), "do not match the dial's (16,)"),
    (ModelConfig(hidden=(16,), film_hidden=4), ModelConfig(hidden=(16,), film_hidden=8), "trained at one lambda"),
    (ModelConfig(hidden=(16,)), ModelConfig(hidden=(16,)), "trained at one lambda"),
])
def test_a_dial_starts_only_from_a_plain_model_of_its_layers(start, config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        start_from(VAE(start), config)


def rotating_codes(rate: float, n: int = 2_000, window: tuple[float, float] | None = None):
    """Codes on a circle of radius 1 turning by `rate` radians per unit of ln(lambda), inside
    `window` (a range of lambdas) only if given; spread 1, so mu_step is the chord 2 sin(dtheta / 2)."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.stack([np.cos(angles), np.sin(angles)], -1)
    calls = []

    def mu_at(lams):
        calls.append(np.asarray(lams).copy())
        t = np.log(lams)
        if window is not None:
            t = np.clip(t, *np.log(window))
        theta = rate * t
        c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        return np.stack([c * points[..., 0] - s * points[..., 1], s * points[..., 0] + c * points[..., 1]], -1)

    return mu_at, calls


def test_a_uniform_motion_is_bisected_evenly_until_every_step_is_small():
    mu_at, calls = rotating_codes(rate=1.2)
    lams, mus = refine_grid(mu_at, (0.01, 100.0), start=64)
    assert len(calls) == 1 + 3 and sum(map(len, calls)) == len(lams)  # the start, 3 rounds; nothing encoded twice
    # each bisection halves dtheta; the oracle: the rounds r with 2 sin(rate h / 2^(r+1)) <= 0.04
    h = math.log(1e4) / 63
    rounds = next(r for r in range(10) if 2 * math.sin(1.2 * h / 2 ** (r + 1)) <= 0.04)
    assert rounds == 3 and len(lams) == 63 * 2 ** rounds + 1
    np.testing.assert_allclose(np.diff(np.log(lams)), h / 2 ** rounds, rtol=1e-9)  # geometric midpoints
    assert lams[0] == pytest.approx(0.01) and lams[-1] == pytest.approx(100.0)
    np.testing.assert_allclose(mus, mu_at(lams))
    assert max(mu_step(a, b) for a, b in zip(mus, mus[1:])) <= 0.04


def test_only_the_intervals_where_the_codes_move_are_refined():
    mu_at, _ = rotating_codes(rate=3.0, window=(1.0, 3.0))  # they turn only for lambda in [1, 3]
    lams, mus = refine_grid(mu_at, (0.01, 100.0), start=64)
    start = np.geomspace(0.01, 100.0, 64)
    assert np.isin(start, lams).all()
    added = lams[~np.isin(lams, start)]
    assert len(added) > 0 and added.min() > start[start < 1.0][-1] and added.max() < start[start > 3.0][0]
    steps = np.array([mu_step(a, b) for a, b in zip(mus, mus[1:])])
    assert steps.max() <= 0.04 and np.all(steps[(lams[1:] <= 1.0) | (lams[:-1] >= 3.0)] == 0)


def test_the_cap_stops_the_grid_with_the_largest_steps_bisected_first():
    mu_at, _ = rotating_codes(rate=3.0, window=(1.0, 3.0))
    lams, mus = refine_grid(mu_at, (0.01, 100.0), start=64, max_points=70)
    assert len(lams) == 70 and len(mus) == 70
    assert np.all(np.diff(lams) > 0)
    # the 6 points added lie in the moving window, where the steps were largest
    added = lams[~np.isin(lams, np.geomspace(0.01, 100.0, 64))]
    assert len(added) == 6 and np.all((added > 0.85) & (added < 3.6))
    with pytest.raises(ValueError, match="a grid starts from 2"):
        refine_grid(mu_at, (0.01, 100.0), start=80, max_points=70)


def test_delta_coding_keeps_every_row_within_half_a_step_and_never_drifts():
    rng = np.random.default_rng(1)
    # 300 rows of 5,000 points drifting by small random moves, with a few far jumps
    moves = rng.normal(scale=0.02, size=(300, 5_000, 2))
    moves[150, :10] += 3.0
    rows = np.cumsum(moves, axis=0) + rng.normal(scale=4, size=(1, 5_000, 2))
    coded = DeltaCoded.encode(rows)
    assert coded.steps.dtype == np.int8 and coded.steps.shape == (299, 5_000, 2) and coded.scales.shape == (299, 2)
    decoded = coded.decode()
    np.testing.assert_array_equal(decoded[0], rows[0].astype(np.float32))
    error = np.abs(decoded - rows).max(1)  # (G, L): the largest error in each row
    bound = np.concatenate([[[0, 0]], coded.scales / 2]) + 1e-5  # half a step, float32 rounding aside
    assert np.all(error <= bound), (error / bound).max()
    assert error[-1].max() < 0.002  # 300 rows on, no drift: open-loop coding would have summed the errors


def test_delta_coding_of_constant_rows_is_exact():
    rows = np.ones((4, 3, 2))
    coded = DeltaCoded.encode(rows)
    assert np.all(coded.scales == 0) and np.all(coded.steps == 0)
    np.testing.assert_array_equal(coded.decode(), rows)
