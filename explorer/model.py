"""The VAE: its shape config, the network, and its loss (Kingma & Welling 2014).

No I/O here; what a valid config is lives in `explorer.config.TrainConfig`. `VAE.encode` gives the mean and log-variance of q(z|x) = N(mu, diag exp(logvar));
`VAE.decode` maps z to Bernoulli logits over pixels. Losses are per image, in nats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Keeps exp(logvar) finite in fp32 when lambda = 0 lets sigma shrink without bound.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 10.0
RECONSTRUCTIONS = ("bce", "mse")  # the costs of `reconstruction_cost`


@dataclass(frozen=True)
class ModelConfig:
    image_shape: tuple[int, int] = (28, 28)  # (rows, cols) of the data's images
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = 2  # the plane the app draws
    dropout: float = 0.0  # on the decoder's hidden layers in training (0.2 measured no better, 2x slower)

    @property
    def x_dim(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    @property
    def shape(self) -> tuple:
        """What fixes the weights' shapes (dropout does not): models of one shape warm-start each other."""
        return self.image_shape, self.hidden, self.latent_dim

    @property
    def parameter_count(self) -> int:
        """Weights and biases of the VAE this config builds, counted without building it."""
        encoder = (self.x_dim, *self.hidden, 2 * self.latent_dim)
        decoder = (self.latent_dim, *reversed(self.hidden), self.x_dim)
        return sum((n_in + 1) * n_out for widths in (encoder, decoder) for n_in, n_out in zip(widths, widths[1:]))

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(image_shape=tuple(d["image_shape"]), hidden=tuple(d["hidden"]), latent_dim=d["latent_dim"],
                   dropout=d["dropout"])


class VAE(nn.Module):
    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        widths = (config.x_dim, *config.hidden)
        self.encoder = _mlp(widths)
        self.to_stats = nn.Linear(widths[-1], 2 * config.latent_dim)  # mu and logvar side by side
        self.decoder = nn.Sequential(_mlp((config.latent_dim, *reversed(config.hidden)), config.dropout),
                                     nn.Linear(widths[1], config.x_dim))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=-1)  # (B, L) each
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits of each pixel, (..., x_dim)."""
        return self.decoder(z)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, k: int = 1,
                       generator: torch.Generator | None = None, eps: torch.Tensor | None = None) -> torch.Tensor:
        """k samples z = mu + sigma * eps per row, shaped (k, B, L); eps ~ N(0, I) is drawn unless given."""
        if eps is None:
            eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, k: int = 1, generator: torch.Generator | None = None):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, k, generator)
        return self.decode(z), mu, logvar  # logits (k, B, x_dim)


def _mlp(widths: tuple[int, ...], dropout: float | None = None) -> nn.Sequential:
    """Linear + ReLU layers, each followed by Dropout(dropout) unless dropout is None: Dropout(0)
    is the identity, but keeps the state-dict names the same whatever the rate."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()] + ([] if dropout is None else [nn.Dropout(dropout)])
    return nn.Sequential(*layers)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per row, in closed form (Kingma & Welling 2014, appendix B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1)


def reconstruction_cost(logits: torch.Tensor, x: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """-ln p(x|z) summed over pixels, per image: Bernoulli cross-entropy ("bce"), or squared error
    ("mse"), one of RECONSTRUCTIONS (a TrainConfig has checked the name)."""
    return _COSTS[kind](logits.float(), x)


_COSTS = {
    "bce": lambda logits, x: F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1),
    "mse": lambda logits, x: (torch.sigmoid(logits) - x).pow(2).sum(-1),
}


@dataclass
class Loss:
    """Batch means, per image, in nats: total = recon + lam * kl."""

    total: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def vae_loss(model: VAE, x: torch.Tensor, lam: float = 1.0, k: int = 1, reconstruction: str = "bce",
             generator: torch.Generator | None = None, noise: torch.Tensor | None = None,
             eps: torch.Tensor | None = None) -> Loss:
    """E_q[-ln p(x|z)] estimated with k samples of z per image, plus lam * KL: at lam = 1 the
    negative ELBO (Kingma & Welling 2014).

    `noise` (B, D), if given, is added to the encoder's input only: q(z|x + noise) is still a
    valid q for x, so with lam = 1 the loss is still the negative ELBO of x.
    `eps` (k, B, L), if given, is the N(0, I) draw behind the k samples (torch.compile cannot
    trace a draw from a generator passed in); otherwise it is drawn from `generator`.
    """
    mu, logvar = model.encode(x if noise is None else x + noise)
    z = model.reparameterize(mu, logvar, k, generator, eps)  # (k, B, L)
    # The k samples are decoded as one (k * B)-row batch: torch.compile makes slower kernels of 3-D matmuls.
    logits = model.decode(z.flatten(0, 1)).unflatten(0, z.shape[:2])  # (k, B, D)
    recon = reconstruction_cost(logits, x, reconstruction).mean()  # mean over the k samples and the batch
    kl = kl_to_standard_normal(mu.float(), logvar.float()).mean()
    return Loss(recon + lam * kl, recon, kl)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """ln N(z; mu, diag exp(logvar)), summed over the last axis."""
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)
