"""Training: the train config, the loop, and its progress and cancel hooks.

The whole dataset stays resident as one tensor and batches are shuffled index
gathers: no per-sample Dataset/DataLoader. Matmuls run under bf16 autocast (the CPU's
AMX units make them several times faster than fp32); losses are summed in fp32. With
`TrainConfig.compile`, the loss and its backward run as torch.compile'd fused kernels.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .model import RECONSTRUCTIONS, VAE, Loss, ModelConfig, vae_loss

SNAPSHOT_SIZE = 1000  # test images whose embedding is reported with each progress update
NOISE_BANK = 16384  # rows of encoder-input noise drawn once per run (fresh noise per step: +1/3 step time)


@dataclass(frozen=True)
class TrainConfig:
    lam: float = 1.0  # weight of the KL term (seed eq. 4); 0 is a plain autoencoder
    epochs: int = 100
    batch_size: int = 1024
    lr: float = 3e-3  # peak learning rate, decayed to 0 on a cosine
    seed: int = 0
    reconstruction: str = "bce"  # "bce" (Bernoulli, nats) or "mse" (squared error, seed eq. 1-2)
    k: int = 1  # samples of z per image in the expectation of eq. (4)
    # Std of Gaussian noise added to the encoder's input (not the decoder's target) in training:
    # amortised inference regularisation (Shu et al. 2018). At lambda = 1, 400 epochs, it gave
    # test neg-ELBO 133.7 nats (the shipped model) against 136.3 without: the encoder overfits.
    encoder_noise: float = 0.15
    bf16: bool = True  # bf16 autocast for the matmuls
    # torch.compile the loss and its backward: fused elementwise kernels, faster steps after a
    # first-call warm-up of seconds. For long CLI runs, not the app's short jobs.
    compile: bool = False
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self):
        checks = [
            (math.isfinite(self.lam) and self.lam >= 0, f"lambda must be a finite number >= 0, got {self.lam}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (math.isfinite(self.lr) and self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (self.reconstruction in RECONSTRUCTIONS,
             f"reconstruction must be one of {', '.join(RECONSTRUCTIONS)}, got {self.reconstruction!r}"),
            (self.k >= 1, f"samples per image K must be >= 1, got {self.k}"),
            (math.isfinite(self.encoder_noise) and self.encoder_noise >= 0,
             f"encoder noise must be a finite number >= 0, got {self.encoder_noise}"),
            (self.threads >= 0, f"threads must be >= 0, got {self.threads}"),
            (0 <= self.model.dropout < 1, f"dropout must be in [0, 1), got {self.model.dropout}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d.setdefault("encoder_noise", 0.0)  # files from before the field trained without it
        d.setdefault("compile", False)
        return cls(model=ModelConfig.from_dict(d.pop("model")), **d)


@dataclass(frozen=True)
class Progress:
    """One report from the loop: means over the epoch so far, in nats per image."""

    epoch: int  # 1-based; the epoch this step belongs to
    epochs: int
    step: int  # optimiser steps so far
    steps: int  # optimiser steps in the whole run
    recon: float
    kl: float
    loss: float
    elapsed_s: float
    snapshot: np.ndarray | None  # (SNAPSHOT_SIZE, latent_dim) mu of fixed test images, None without them

    @property
    def fraction(self) -> float:
        return self.step / self.steps


class Cancelled(Exception):
    """Training was stopped through its cancel event."""


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W) -> float32 (N, H*W) in [0, 1]."""
    return torch.from_numpy(images.reshape(len(images), -1)).float().div_(255)


def train(config: TrainConfig, train_images: np.ndarray, snapshot_images: np.ndarray | None = None,
          on_progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
          init: VAE | None = None, report_every_s: float = 0.5) -> tuple[VAE, list[dict]]:
    """Train a VAE on uint8 images; return it (in eval mode) and its per-epoch history.

    on_progress is called about every `report_every_s` seconds and at each epoch end, each time
    with the embedding snapshot of `snapshot_images` (so a live view moves within the first
    epoch). Setting `cancel` stops the loop at the next step with `Cancelled`.
    `init` warm-starts from a copy of an existing model (never mutated).
    """
    if tuple(train_images.shape[1:]) != config.model.image_shape:
        raise ValueError(f"images are {tuple(train_images.shape[1:])}, the model expects {config.model.image_shape}")
    torch.set_flush_denormal(True)  # fp32 denormals slow late epochs several-fold
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = VAE(config.model)
    if init is not None:
        model.load_state_dict(init.state_dict())
    model.train()
    data = images_to_tensor(train_images)  # (N, D), resident: a batch is one index_select
    snap = images_to_tensor(snapshot_images[:SNAPSHOT_SIZE]) if snapshot_images is not None else None
    n = len(data)
    # Each image in each step gets a random row of a fixed bank of noise: cheap, and no worse
    # than fresh noise within seed spread (lambda = 1, 400 epochs: 133.70 vs 133.39 nats, one run each).
    noise_bank = config.encoder_noise * torch.randn((NOISE_BANK, data.shape[1]), generator=gen) \
        if config.encoder_noise else None
    steps_per_epoch = math.ceil(n / config.batch_size)
    steps = steps_per_epoch * config.epochs
    compiled_loss = _compiled_batch_loss() if config.compile else _batch_loss
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    history: list[dict] = []
    start = last_report = time.perf_counter()
    step = 0
    for epoch in range(1, config.epochs + 1):
        totals = torch.zeros(3, dtype=torch.float64)  # summed recon, kl, loss over the epoch's images
        seen = 0
        for idx in torch.randperm(n, generator=gen).split(config.batch_size):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            x = data.index_select(0, idx)
            noise = noise_bank.index_select(0, torch.randint(NOISE_BANK, (len(idx),), generator=gen)) \
                if noise_bank is not None else None
            eps = torch.randn((config.k, len(idx), config.model.latent_dim), generator=gen)
            # A ragged last batch stays eager: its size would make torch.compile compile again.
            loss_fn = compiled_loss if len(idx) == config.batch_size else _batch_loss
            loss = loss_fn(model, x, noise, eps, config.lam, config.reconstruction, config.bf16)
            opt.zero_grad(set_to_none=True)
            loss.total.backward()
            opt.step()
            sched.step()
            step += 1
            seen += len(idx)
            totals += torch.stack([loss.recon, loss.kl, loss.total]).detach().double() * len(idx)
            now = time.perf_counter()
            end_of_epoch = seen == n
            if on_progress is not None and (end_of_epoch or now - last_report >= report_every_s):
                last_report = now
                recon, kl, total = (totals / seen).tolist()
                snapshot = embed(model, snap) if snap is not None else None  # ~10 ms for 1,000 images
                on_progress(Progress(epoch, config.epochs, step, steps, recon, kl, total, now - start, snapshot))
        recon, kl, total = (totals / n).tolist()
        if not all(map(math.isfinite, (recon, kl, total))):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {total})")
        history.append({"epoch": epoch, "recon": recon, "kl": kl, "loss": total,
                        "elapsed_s": time.perf_counter() - start})
    return model.eval(), history


def _batch_loss(model: VAE, x: torch.Tensor, noise: torch.Tensor | None, eps: torch.Tensor, lam: float,
                reconstruction: str, bf16: bool) -> Loss:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return vae_loss(model, x, lam, len(eps), reconstruction, noise=noise, eps=eps)


@functools.cache
def _compiled_batch_loss() -> Callable[..., Loss]:
    """One compiled loss for the process, so that each train() call reuses its graphs (a closure
    per call would compile again). Built on first use: importing torch.compile costs seconds."""
    return torch.compile(_batch_loss, dynamic=False)


@torch.inference_mode()
def embed(model: VAE, x: torch.Tensor, batch_size: int = 10_000) -> np.ndarray:
    """mu of q(z|x) for each row of x, as float32 numpy (N, latent_dim)."""
    was_training = model.training
    model.eval()
    mu = torch.cat([model.encode(xb)[0] for xb in x.split(batch_size)])
    model.train(was_training)
    return mu.numpy()
