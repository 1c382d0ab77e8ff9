"""Test-set figures of a trained VAE: the ELBO's two terms, an IWAE estimate of log p(x),
and the number of active latent units. All in nats per image, computed in fp32."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .model import VAE, kl_to_standard_normal, log_normal, reconstruction_cost

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active if Var_x E_q[z_u] > 0.01


@dataclass(frozen=True)
class Metrics:
    neg_elbo: float  # recon + kl: the bound at lambda = 1, whatever lambda trained the model
    recon: float  # E_q[-ln p(x|z)]
    kl: float  # KL(q(z|x) || N(0, I)), in closed form
    log_px_iwae: float  # importance-weighted estimate of ln p(x), k samples per image
    iwae_k: int
    active_units: int
    n_images: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PerImage:
    """Per-image figures over a test set, float32 numpy (N,) each."""

    recon: np.ndarray
    kl: np.ndarray
    log_px: np.ndarray  # IWAE estimate
    mu: np.ndarray  # (N, L)
    logvar: np.ndarray  # (N, L)


@torch.inference_mode()
def evaluate_images(model: VAE, x: torch.Tensor, iwae_k: int = 100, elbo_k: int = 10, seed: int = 0,
                    batch_size: int = 500, on_progress: Callable[[int, int], None] | None = None,
                    lam: float | None = None) -> PerImage:
    """Per-image figures for float images x (N, D) in [0, 1], Bernoulli likelihood, computed on
    the model's device; `on_progress(images done, images)` after each batch. A dial is evaluated
    at `lam` (a plain model takes none).

    The ELBO's reconstruction term averages `elbo_k` samples of z, the IWAE bound uses `iwae_k`.
    Batch i draws its noise from a generator seeded with seed + i, so the figures of the first
    images are the same whether a run covers the whole set or only its start (on one device:
    a GPU's generator draws other numbers than the CPU's).
    """
    if iwae_k < 1 or elbo_k < 1:
        raise ValueError(f"sample counts must be >= 1, got iwae_k={iwae_k}, elbo_k={elbo_k}")
    if len(x) == 0:
        raise ValueError("no images to evaluate")
    model.eval()
    device = next(model.parameters()).device
    parts, done = [], 0
    for i, xb in enumerate(x.split(batch_size)):
        xb = xb.to(device)
        gen = torch.Generator(device).manual_seed(seed + i)
        mu, logvar = model.encode(xb, lam)
        z = model.reparameterize(mu, logvar, elbo_k, gen)  # (elbo_k, B, L)
        recon = reconstruction_cost(model.decode(z, lam), xb).mean(0)
        parts.append((recon, kl_to_standard_normal(mu, logvar),
                      _iwae_log_px(model, xb, mu, logvar, iwae_k, gen, lam), mu, logvar))
        done += len(xb)
        if on_progress is not None:
            on_progress(done, len(x))
    return PerImage(*(torch.cat(t).float().cpu().numpy() for t in zip(*parts)))


def summarise(per_image: PerImage, iwae_k: int) -> Metrics:
    recon, kl = float(per_image.recon.astype(np.float64).mean()), float(per_image.kl.astype(np.float64).mean())
    active = int((per_image.mu.var(0) > ACTIVE_UNIT_THRESHOLD).sum())
    return Metrics(neg_elbo=recon + kl, recon=recon, kl=kl,
                   log_px_iwae=float(per_image.log_px.astype(np.float64).mean()),
                   iwae_k=iwae_k, active_units=active, n_images=len(per_image.recon))


def evaluate(model: VAE, x: torch.Tensor, iwae_k: int = 100, elbo_k: int = 10, seed: int = 0,
             on_progress: Callable[[int, int], None] | None = None, lam: float | None = None) -> Metrics:
    """Test-set figures in nats per image; see `evaluate_images`."""
    return summarise(evaluate_images(model, x, iwae_k, elbo_k, seed, on_progress=on_progress, lam=lam), iwae_k)


def _iwae_log_px(model: VAE, x, mu, logvar, k: int, gen: torch.Generator, lam: float | None) -> torch.Tensor:
    """ln (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. 2016), per image."""
    z = model.reparameterize(mu, logvar, k, gen)  # (k, B, L)
    log_px_given_z = -reconstruction_cost(model.decode(z, lam), x)  # (k, B)
    log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    log_qz = log_normal(z, mu, logvar)
    return torch.logsumexp(log_px_given_z + log_pz - log_qz, dim=0) - math.log(k)
