"""The lambda dial: one network conditioned on the KL weight lambda for a whole range of lambdas
(`TrainConfig.lam_range`; loss-conditional training, Dosovitskiy & Djolonga 2020; Bae et al.
2023, "Multi-Rate VAE").

Here: how training draws each image's lambda, and the arrays a dial's checkpoint holds beside
every checkpoint's (`Dial`): the test digits' q(z|x) on a grid of lambdas fine enough that the
codes move little between neighbours (`refine_grid`), delta-coded in one byte per value
(`DeltaCoded`), and the test set's rate-distortion curve.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .evaluate import evaluate_images
from .model import VAE, ModelConfig

GRID_START = 64  # log-spaced lambdas the grid starts from
GRID_MAX_STEP = 0.04  # the largest code step `mu_step` allowed between neighbouring grid lambdas
GRID_MAX_POINTS = 512
CURVE_POINTS = 65  # log-spaced lambdas of the test curve, both ends included
STEP_LEVELS = 127  # int8 steps of a DeltaCoded row: -127..127


def start_from(plain: VAE, config: ModelConfig) -> VAE:
    """A dial of `config` whose encoder and decoder start as `plain`'s (a model trained at one
    lambda, of the same widths) and whose FiLM networks start at the identity: at every lambda it
    begins as that model. ValueError if `plain` is itself a dial or its layers differ."""
    if plain.conditioned or not config.film_hidden:
        raise ValueError("a dial starts from a model trained at one lambda (film_hidden = 0)")
    dial = VAE(config)
    try:
        missing, unexpected = dial.load_state_dict(plain.state_dict(), strict=False)
    except RuntimeError:  # a weight of another shape
        missing, unexpected = ["(shapes)"], []
    if unexpected or any(not k.endswith("_film") and "_film." not in k for k in missing):
        raise ValueError(f"the starting model's layers {plain.config.hidden}, {plain.config.latent_dim}-d, "
                         f"do not match the dial's {config.hidden}, {config.latent_dim}-d")
    return dial


def log_uniform(u: torch.Tensor, lam_range: tuple[float, float]) -> torch.Tensor:
    """Uniform draws u in [0, 1) as lambdas log-uniform over [low, high]: every octave of the range
    gets the same share of training, as in the Multi-Rate VAE's sampling of its rates."""
    low, high = math.log(lam_range[0]), math.log(lam_range[1])
    return torch.exp(low + (high - low) * u)


def spread(mu: np.ndarray) -> float:
    """sqrt of the mean over axes of the variance of the codes over digits: the codes' scale (the prior's is 1)."""
    return float(np.sqrt(mu.astype(np.float64).var(0).mean()))


def mu_step(mu_a: np.ndarray, mu_b: np.ndarray) -> float:
    """How far the codes (N, L) move from one lambda to the next: the median over digits of
    |mu_b - mu_a|, in units of the codes' spread at the first (or of the prior's scale, 1, once
    they are packed tighter than the prior, so that a collapsing cloud is not measured in units of
    nothing)."""
    moved = np.linalg.norm(mu_b.astype(np.float64) - mu_a.astype(np.float64), axis=-1)
    return float(np.median(moved) / max(spread(mu_a), 1.0))


def refine_grid(mu_at: Callable[[np.ndarray], np.ndarray], lam_range: tuple[float, float],
                start: int = GRID_START, max_step: float = GRID_MAX_STEP,
                max_points: int = GRID_MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Lambdas over the range and the codes at each: `start` log-spaced ones, then every interval
    whose `mu_step` is over `max_step` bisected at its geometric midpoint, round after round, until
    none is or the grid has `max_points` (the largest steps are bisected first when the cap binds).

    `mu_at(lams (n,))` gives the codes at each, (n, N, L). Returns lams (G,) ascending, codes (G, N, L).
    """
    if not 2 <= start <= max_points:
        raise ValueError(f"a grid starts from 2 to max_points ({max_points}) lambdas, got {start}")
    lams = np.geomspace(*lam_range, start)
    mus = list(mu_at(lams))
    while len(lams) < max_points:
        steps = np.array([mu_step(a, b) for a, b in zip(mus, mus[1:])])
        over = np.flatnonzero(steps > max_step)
        if over.size == 0:
            break
        over = over[np.argsort(-steps[over], kind="stable")][: max_points - len(lams)]
        new = np.sqrt(lams[over] * lams[over + 1])
        new_mus = mu_at(new)
        lams, mus = np.concatenate([lams, new]), mus + list(new_mus)
        order = np.argsort(lams, kind="stable")
        lams, mus = lams[order], [mus[i] for i in order]
    return lams, np.stack(mus)


@dataclass(frozen=True)
class DeltaCoded:
    """Rows of values (G, N, L), neighbours alike, in one byte per value: the first row as it is,
    then each row as int8 steps from the row before, row k = row k-1 + scales[k-1] * steps[k-1]
    (per axis), decoded by a running sum. Coded in closed loop (each step is taken from the
    decoded row before, as in DPCM: Cutler 1952), so errors never accumulate: every decoded
    value is within scales[k-1] / 2 of the true one, a step's scale being the largest move of
    the N values from the row before / 127. Rows refined to move little (`refine_grid`) thus cost
    half the bytes of float16, which a browser would also have to decode bit by bit.
    """

    first: np.ndarray  # (N, L) float32
    steps: np.ndarray  # (G - 1, N, L) int8
    scales: np.ndarray  # (G - 1, L) float32

    @classmethod
    def encode(cls, rows: np.ndarray) -> DeltaCoded:
        first = rows[0].astype(np.float32)
        decoded = first.astype(np.float64)
        steps, scales = [], []
        for row in rows[1:].astype(np.float64):
            move = row - decoded
            scale = (np.abs(move).max(0) / STEP_LEVELS).astype(np.float32)  # (L,)
            step = np.clip(np.rint(move / np.where(scale > 0, scale, 1)), -STEP_LEVELS, STEP_LEVELS).astype(np.int8)
            decoded = decoded + scale.astype(np.float64) * step  # what `decode` will compute, in the same order
            steps.append(step)
            scales.append(scale)
        n, dims = first.shape
        return cls(first, np.array(steps, np.int8).reshape(-1, n, dims), np.array(scales, np.float32).reshape(-1, dims))

    def decode(self) -> np.ndarray:
        """The rows, float32 (G, N, L): a running sum in float64, as a browser's JS numbers add them."""
        moves = self.scales[:, None, :].astype(np.float64) * self.steps
        return np.cumsum(np.concatenate([self.first[None].astype(np.float64), moves]), axis=0).astype(np.float32)


@dataclass(frozen=True)
class Dial:
    """What a dial's checkpoint holds beyond every checkpoint's embedding and figures (which are
    taken at its config's `lam`)."""

    lams: np.ndarray  # (G,) float32, ascending: the grid (`refine_grid`)
    mu: DeltaCoded  # (G, N_test, L): mu of q(z|x) of each test digit at each grid lambda
    logvar: DeltaCoded  # (G, N_test, L): its logvar
    curve_lams: np.ndarray  # (C,) float32, ascending
    curve_recon: np.ndarray  # (C,) float32: E_q[-ln p(x|z)], nats per test image, at each
    curve_kl: np.ndarray  # (C,) float32: KL(q(z|x) || N(0, I)), nats per test image


@torch.inference_mode()
def encode_at(model: VAE, x: torch.Tensor, lams: np.ndarray, batch_size: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """mu and logvar of q(z|x) of each row of x at each lambda, float32 (n, N, L) each, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    out = [[torch.cat(t) for t in zip(*(model.encode(xb.to(device), float(lam)) for xb in x.split(batch_size)))]
           for lam in lams]
    return tuple(np.stack([o[i].float().cpu().numpy() for o in out]) for i in (0, 1))


def curve(model: VAE, x: torch.Tensor, lams: np.ndarray, elbo_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The test set's mean recon and KL (nats per image) at each lambda, as `explorer.evaluate`
    computes them (same samples of z: at the config's lambda they are the checkpoint's figures)."""
    figures = [evaluate_images(model, x, iwae_k=1, elbo_k=elbo_k, lam=float(lam)) for lam in lams]
    return tuple(np.array([getattr(f, name).astype(np.float64).mean() for f in figures], np.float32)
                 for name in ("recon", "kl"))


def build(model: VAE, x: torch.Tensor, lam_range: tuple[float, float], curve_points: int = CURVE_POINTS,
          **grid) -> Dial:
    """A trained dial's grid and test curve over its range, for test images x (N, D)."""
    lams, mu = refine_grid(lambda lams: encode_at(model, x, lams)[0], lam_range, **grid)
    _, logvar = encode_at(model, x, lams)
    curve_lams = np.geomspace(*lam_range, curve_points)
    recon, kl = curve(model, x, curve_lams)
    return Dial(lams.astype(np.float32), DeltaCoded.encode(mu), DeltaCoded.encode(logvar),
                curve_lams.astype(np.float32), recon, kl)
