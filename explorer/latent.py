"""Latent-space tools for a trained VAE: batched decoding, interpolation, grids and neighbours.

Every function is pure and batched, runs in fp32 under `torch.inference_mode()`, and takes and
returns numpy arrays, so the app never touches tensors. Images are float32 in [0, 1] (the
Bernoulli means sigmoid(logits)), shaped (..., H, W).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ndtri
from sklearn.neighbors import NearestNeighbors
from torch import nn

from .formats import pack_decoder
from .model import VAE, kl_to_standard_normal


@torch.inference_mode()
def decode(model: VAE, z: np.ndarray, lam: float | None = None) -> np.ndarray:
    """Decoded images for latent points z (N, L) -> float32 (N, H, W) in [0, 1]; a dial's at `lam`."""
    z = np.asarray(z, dtype=np.float32).reshape(-1, model.config.latent_dim)
    logits = model.decode(torch.from_numpy(z), lam)  # (N, H*W)
    return torch.sigmoid(logits.float()).numpy().reshape(len(z), *model.config.image_shape)


def interpolate(z0: np.ndarray, z1: np.ndarray, n: int) -> np.ndarray:
    """n evenly spaced points on the segment from z0 to z1, both ends included -> (n, L)."""
    if n < 2:
        raise ValueError(f"an interpolation needs n >= 2 points, got {n}")
    z0, z1 = np.asarray(z0, dtype=np.float32), np.asarray(z1, dtype=np.float32)
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]  # (n, 1)
    z = (1 - t) * z0 + t * z1
    z[-1] = z1  # exact, whatever the rounding of (1 - 1) * z0 + 1 * z1
    return z


GRID_SPACINGS = ("even", "quantile")


def quantile_centres(n: int) -> np.ndarray:
    """The prior's quantiles Phi^-1(u) at the centres u = (i + 1/2) / n of a uniform grid on (0, 1),
    ascending -> (n,): the latent grid of Kingma & Welling 2014, figure 4."""
    return ndtri((np.arange(n, dtype=np.float64) + 0.5) / n)


def quantile_edges(n: int) -> np.ndarray:
    """Bounds of the quantile grid's cells along one axis, ascending -> (n + 1,): Phi^-1(i / n).
    The outer two would reach infinity, so each outer cell is cut as far out from its centre as
    its inner bound is (one sigma either side when n = 1)."""
    centres, edges = quantile_centres(n), ndtri(np.arange(n + 1, dtype=np.float64) / n)
    if n == 1:
        return np.array([-1.0, 1.0])
    edges[0], edges[-1] = 2 * centres[0] - edges[1], 2 * centres[-1] - edges[-2]
    return edges


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], n: int,
                spacing: str = "even") -> np.ndarray:
    """Centres of an n x n grid of latent points, row 0 at the top (highest y) -> (n, n, 2).

    "even": an n x n tiling of the rectangle, each cell (r, c) its 1/n-th of each range, decoded at
    its centre, so a tiling drawn over the rectangle lines up with a scatter plot of the same range.
    "quantile": the prior's quantiles (`quantile_centres`) on both axes, wherever the view is; the
    ranges are not used.
    """
    if n < 1:
        raise ValueError(f"a grid needs n >= 1, got {n}")
    if spacing not in GRID_SPACINGS:
        raise ValueError(f"grid spacing must be one of {GRID_SPACINGS}, got {spacing!r}")
    if spacing == "quantile":
        xs = quantile_centres(n)
        ys = xs[::-1]  # top row first
    else:
        (x0, x1), (y0, y1) = x_range, y_range
        centres = (np.arange(n, dtype=np.float64) + 0.5) / n
        xs = x0 + centres * (x1 - x0)
        ys = y1 - centres * (y1 - y0)  # top row first
    gx, gy = np.meshgrid(xs, ys)  # (n, n) each, [row, col]
    return np.stack([gx, gy], axis=-1).astype(np.float32)


def decode_grid(model: VAE, x_range: tuple[float, float], y_range: tuple[float, float], n: int,
                spacing: str = "even", lam: float | None = None) -> np.ndarray:
    """Decodings of `grid_points(x_range, y_range, n, spacing)` -> (n, n, H, W), row 0 = highest y;
    a dial's at `lam`."""
    z = grid_points(x_range, y_range, n, spacing).reshape(n * n, 2)
    return decode(model, z, lam).reshape(n, n, *model.config.image_shape)


@dataclass(frozen=True)
class PointStats:
    """q(z|x) of one test image: its mean, standard deviation and KL to N(0, I) in nats (Kingma &
    Welling 2014, appendix B)."""

    mu: np.ndarray  # (L,)
    sigma: np.ndarray  # (L,)
    kl: float


def point_stats(mu: np.ndarray, logvar: np.ndarray) -> PointStats:
    """The posterior figures of one encoded image from its mu and logvar, each (L,)."""
    mu_t, logvar_t = torch.as_tensor(mu, dtype=torch.float32), torch.as_tensor(logvar, dtype=torch.float32)
    kl = float(kl_to_standard_normal(mu_t, logvar_t))
    return PointStats(np.asarray(mu, np.float32), np.exp(0.5 * np.asarray(logvar, np.float32)), kl)


class NeighbourIndex:
    """Nearest encoded training images to a latent point (Euclidean, in latent units)."""

    def __init__(self, train_mu: np.ndarray):
        self.train_mu = np.asarray(train_mu, dtype=np.float32)
        self._nn = NearestNeighbors(algorithm="kd_tree").fit(self.train_mu)

    def query(self, z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices into the training set and distances of the k nearest, closest first -> ((k,), (k,))."""
        k = max(1, min(int(k), len(self.train_mu)))
        distances, indices = self._nn.kneighbors(np.asarray(z, np.float32).reshape(1, -1), n_neighbors=k)
        return indices[0], distances[0]


def decoder_layers(model: VAE) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias (out,)) of each Linear of the decoder, in order, as float32 numpy.

    The decoder is Linear layers with ReLU between them and a sigmoid after the last; that is
    what the in-browser decoder computes, so anything else is refused here rather than drawn wrong.
    Dropout is the identity outside training, so it is skipped.
    """
    modules = [m for m in model.decoder.modules() if not isinstance(m, (nn.Sequential, nn.Dropout))]
    for i, m in enumerate(modules):
        expected = nn.Linear if i % 2 == 0 else nn.ReLU
        if not isinstance(m, expected):
            raise ValueError(f"decoder layer {i} is {type(m).__name__}; expected alternating Linear and ReLU")
    linears = [m for m in modules if isinstance(m, nn.Linear)]
    return [(m.weight.detach().float().numpy().copy(), m.bias.detach().float().numpy().copy()) for m in linears]


def decoder_blob(model: VAE) -> tuple[bytes, list[int]]:
    """The decoder as one little-endian float32 blob, and its layer sizes [latent_dim, ..., H*W]."""
    return pack_decoder(decoder_layers(model))
