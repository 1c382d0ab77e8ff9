"""Test-set figures of a trained VAE: the ELBO's two terms, an IWAE estimate of log p(x),
and the number of active latent units. All in nats per image, computed in fp32."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from .model import VAE, kl_to_standard_normal, log_normal, reconstruction_cost

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. (2016): a unit is active if Var_x E_q[z_u] > 0.01


@dataclass(frozen=True)
class Metrics:
    neg_elbo: float  # recon + kl: the bound at lambda = 1, whatever lambda trained the model
    recon: float  # E_q[-ln p(x|z)]
    kl: float  # KL(q(z|x) || N(0, I)), eq. (5)
    log_px_iwae: float  # importance-weighted estimate of ln p(x), k samples per image
    iwae_k: int
    active_units: int
    n_images: int

    def to_dict(self) -> dict:
        return asdict(self)


@torch.inference_mode()
def evaluate(model: VAE, x: torch.Tensor, iwae_k: int = 100, elbo_k: int = 10, seed: int = 0,
             batch_size: int = 500) -> Metrics:
    """Figures over float images x (N, D) in [0, 1], Bernoulli likelihood.

    The ELBO uses `elbo_k` samples of z per image, the IWAE bound `iwae_k`; fixed `seed`
    makes the figures reproducible.
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    recon_sum = kl_sum = log_px_sum = 0.0
    mus = []
    for xb in x.split(batch_size):
        mu, logvar = model.encode(xb)
        mus.append(mu)
        z = model.reparameterize(mu, logvar, elbo_k, gen)  # (elbo_k, B, L)
        recon_sum += reconstruction_cost(model.decode(z), xb).mean(0).sum().item()
        kl_sum += kl_to_standard_normal(mu, logvar).sum().item()
        log_px_sum += _iwae_log_px(model, xb, mu, logvar, iwae_k, gen).sum().item()
    n = len(x)
    mu = torch.cat(mus)
    active = int((mu.var(0) > ACTIVE_UNIT_THRESHOLD).sum())
    return Metrics(neg_elbo=(recon_sum + kl_sum) / n, recon=recon_sum / n, kl=kl_sum / n,
                   log_px_iwae=log_px_sum / n, iwae_k=iwae_k, active_units=active, n_images=n)


def _iwae_log_px(model: VAE, x, mu, logvar, k: int, gen: torch.Generator) -> torch.Tensor:
    """ln (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. 2016), per image."""
    z = model.reparameterize(mu, logvar, k, gen)  # (k, B, L)
    log_px_given_z = -reconstruction_cost(model.decode(z), x)  # (k, B)
    log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
    log_qz = log_normal(z, mu, logvar)
    return torch.logsumexp(log_px_given_z + log_pz - log_qz, dim=0) - math.log(k)
