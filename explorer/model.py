"""The VAE: its shape config, the network, and its loss (Kingma & Welling 2014).

No I/O here; what a valid config is lives in `explorer.config.TrainConfig`. `VAE.encode` gives the mean and
log-variance of q(z|x) = N(mu, diag exp(logvar)); `VAE.decode` maps z to Bernoulli logits over pixels. Losses are
per image, in nats.

A model may be conditioned on the KL weight lambda (`ModelConfig.film_hidden` > 0: a "dial"):
one network for every lambda of a range, trained with a fresh lambda per image (loss-conditional
training: Dosovitskiy & Djolonga 2020, "You Only Train Once"; Bae et al. 2023, "Multi-Rate VAE").
Each hidden layer of the encoder and the decoder is then modulated by FiLM (Perez et al. 2018):
relu(gamma * (W x + b) + beta), with gamma and beta per unit computed from lambda by a small MLP.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Keeps exp(logvar) finite in fp32 when lambda = 0 lets sigma shrink without bound.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 10.0
RECONSTRUCTIONS = ("bce", "mse")  # the costs of `reconstruction_cost`
# A dial's FiLM networks see t = ln(lambda) / ln(100): fixed by the model, not by the range it was
# trained on, so the input of a saved network never depends on its train config. The default
# range [0.01, 100] maps to [-1, 1], lambda = 1 to 0.
LOG_LAM_SCALE = math.log(100.0)


@dataclass(frozen=True)
class ModelConfig:
    image_shape: tuple[int, int] = (28, 28)  # (rows, cols) of the data's images
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = 2  # the plane the app draws
    dropout: float = 0.0  # on the decoder's hidden layers in training (0.2 measured no better, 2x slower)
    # Width of the MLPs that map lambda to each hidden layer's FiLM scale and shift; 0: a plain VAE
    # for one lambda, whose weights (and their state-dict names) are exactly those of earlier files.
    film_hidden: int = 0

    @property
    def x_dim(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    @property
    def shape(self) -> tuple:
        """What fixes the weights' shapes (dropout does not): models of one shape warm-start each other."""
        return self.image_shape, self.hidden, self.latent_dim, self.film_hidden

    @property
    def parameter_count(self) -> int:
        """Weights and biases of the VAE this config builds, counted without building it."""
        encoder = (self.x_dim, *self.hidden, 2 * self.latent_dim)
        decoder = (self.latent_dim, *reversed(self.hidden), self.x_dim)
        film = (1, self.film_hidden, self.film_hidden, 2 * sum(self.hidden)) if self.film_hidden else ()
        return sum((n_in + 1) * n_out for widths in (encoder, decoder, film, film)
                   for n_in, n_out in zip(widths, widths[1:]))

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(image_shape=tuple(d["image_shape"]), hidden=tuple(d["hidden"]), latent_dim=d["latent_dim"],
                   dropout=d["dropout"], film_hidden=d.get("film_hidden", 0))  # 0: files from before dials


class VAE(nn.Module):
    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        widths = (config.x_dim, *config.hidden)
        self.encoder = _mlp(widths)
        self.to_stats = nn.Linear(widths[-1], 2 * config.latent_dim)  # mu and logvar side by side
        self.decoder = nn.Sequential(_mlp((config.latent_dim, *reversed(config.hidden)), config.dropout),
                                     nn.Linear(widths[1], config.x_dim))
        if config.film_hidden:
            self.encoder_film = FiLM(config.film_hidden, config.hidden)
            self.decoder_film = FiLM(config.film_hidden, tuple(reversed(config.hidden)))

    @property
    def conditioned(self) -> bool:
        """Whether this is a dial: a network conditioned on lambda, whose encode and decode need one."""
        return self.config.film_hidden > 0

    def encode(self, x: torch.Tensor, lam: float | torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """mu and logvar of q(z|x), (B, L) each; a dial's at `lam` (a float, or one per row (B,))."""
        if self._check_lam(lam):
            h = _filmed(self.encoder, x, self.encoder_film(lam))
        else:
            h = self.encoder(x)
        mu, logvar = self.to_stats(h).chunk(2, dim=-1)  # (B, L) each
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def decode(self, z: torch.Tensor, lam: float | torch.Tensor | None = None) -> torch.Tensor:
        """Bernoulli logits of each pixel, (..., x_dim); a dial's at `lam` (a float, or a tensor
        that broadcasts against z.shape[:-1])."""
        if self._check_lam(lam):
            return self.decoder[1](_filmed(self.decoder[0], z, self.decoder_film(lam)))
        return self.decoder(z)

    def _check_lam(self, lam) -> bool:
        """Whether to condition on `lam`; ValueError if this model and `lam` do not go together.
        A tensor's values are not checked here: that would synchronise a GPU step with the host."""
        if not self.conditioned:
            if lam is not None:
                raise ValueError("this VAE is not conditioned on lambda (film_hidden = 0); encode and decode "
                                 "take no lam: its lambda is its train config's")
            return False
        if lam is None:
            raise ValueError("this VAE is a lambda dial (film_hidden > 0); encode and decode need a lam")
        if not isinstance(lam, torch.Tensor) and not (isinstance(lam, numbers.Real) and not isinstance(lam, bool)
                                                      and 0 < lam < math.inf):
            raise ValueError(f"a dial's lam must be a positive finite number, got {lam!r}")
        return True

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, k: int = 1,
                       generator: torch.Generator | None = None, eps: torch.Tensor | None = None) -> torch.Tensor:
        """k samples z = mu + sigma * eps per row, shaped (k, B, L); eps ~ N(0, I) is drawn unless given."""
        if eps is None:
            eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, k: int = 1, generator: torch.Generator | None = None,
                lam: float | torch.Tensor | None = None):
        mu, logvar = self.encode(x, lam)
        z = self.reparameterize(mu, logvar, k, generator)
        return self.decode(z, lam), mu, logvar  # logits (k, B, x_dim)


class FiLM(nn.Module):
    """Scale gamma and shift beta for each hidden layer of one MLP, from lambda: feature-wise linear
    modulation (Perez et al. 2018) by a lambda-conditioning network, as in loss-conditional
    training (Dosovitskiy & Djolonga 2020).

    t = ln(lambda) / ln(100) -> Linear, SiLU, Linear, SiLU -> Linear -> (gamma - 1, beta) of every
    hidden unit. SiLU, not ReLU: the codes should move smoothly as the dial turns, and a ReLU
    network of one scalar is piecewise linear in it. The last layer starts at zero, so a new dial
    computes exactly what the same network without FiLM does (gamma = 1, beta = 0).
    """

    def __init__(self, hidden: int, widths: tuple[int, ...]):
        super().__init__()
        self.widths = widths
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2 * sum(widths)))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, lam: float | torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(gamma, beta) per layer, each (*lam.shape, width) ((1, width) for a float lam), in fp32
        so that gamma near 1 keeps its precision under bf16 autocast."""
        weight = self.net[0].weight
        lam = torch.as_tensor(lam, dtype=weight.dtype, device=weight.device)
        t = (torch.log(lam) / LOG_LAM_SCALE).reshape(*(lam.shape or (1,)), 1)
        out = self.net(t).float()
        scale, shift = out.split(sum(self.widths), dim=-1)
        return list(zip((1 + scale).split(self.widths, dim=-1), shift.split(self.widths, dim=-1)))


def _filmed(mlp: nn.Sequential, h: torch.Tensor, film: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """An `_mlp`'s layers with each Linear's output modulated before its ReLU: relu(gamma * (W h + b) + beta)."""
    params = iter(film)
    for layer in mlp:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            gamma, beta = next(params)
            h = gamma * h + beta
    return h


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
    """Batch means, per image, in nats: total = recon + lam * kl (with one lambda per image, the
    mean of each image's recon + lam * kl)."""

    total: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def vae_loss(model: VAE, x: torch.Tensor, lam: float | torch.Tensor = 1.0, k: int = 1, reconstruction: str = "bce",
             generator: torch.Generator | None = None, noise: torch.Tensor | None = None,
             eps: torch.Tensor | None = None) -> Loss:
    """E_q[-ln p(x|z)] estimated with k samples of z per image, plus lam * KL: at lam = 1 the
    negative ELBO (Kingma & Welling 2014).

    `lam` is one float, or one lambda per image (B,): then total = mean_i (recon_i + lam_i KL_i),
    each image's own objective (loss-conditional training; Dosovitskiy & Djolonga 2020). A dial
    (`model.conditioned`) is also told each image's lambda; a plain model only weighs its KL.
    `noise` (B, D), if given, is added to the encoder's input only: q(z|x + noise) is still a
    valid q for x, so with lam = 1 the loss is still the negative ELBO of x.
    `eps` (k, B, L), if given, is the N(0, I) draw behind the k samples (torch.compile cannot
    trace a draw from a generator passed in); otherwise it is drawn from `generator`.
    """
    per_image = isinstance(lam, torch.Tensor)
    cond = lam if model.conditioned else None
    mu, logvar = model.encode(x if noise is None else x + noise, cond)
    z = model.reparameterize(mu, logvar, k, generator, eps)  # (k, B, L)
    # The k samples are decoded as one (k * B)-row batch: torch.compile makes slower kernels of 3-D matmuls.
    # Row s * B + b of that batch is sample s of image b, so its lambda is lam[b]: lam.repeat(k).
    logits = model.decode(z.flatten(0, 1), cond.repeat(k) if per_image and cond is not None else cond)
    logits = logits.unflatten(0, z.shape[:2])  # (k, B, D)
    kl_i = kl_to_standard_normal(mu.float(), logvar.float())  # (B,)
    if per_image:
        recon_i = reconstruction_cost(logits, x, reconstruction).mean(0)  # (B,): mean over the k samples
        recon, kl = recon_i.mean(), kl_i.mean()
        return Loss((recon_i + lam.float() * kl_i).mean(), recon, kl)
    recon = reconstruction_cost(logits, x, reconstruction).mean()  # mean over the k samples and the batch
    kl = kl_i.mean()
    return Loss(recon + lam * kl, recon, kl)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """ln N(z; mu, diag exp(logvar)), summed over the last axis."""
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)
