"""Training: the loop, its progress and cancel hooks, and the per-epoch history row (the config
and its rules: `explorer.config`).

The whole dataset stays resident as one tensor and batches are shuffled index gathers: no
per-sample Dataset/DataLoader. On a CPU with native bf16 (AMX or AVX512-BF16), matmuls run under
bf16 autocast (several times faster than fp32 there; elsewhere they stay fp32), losses are summed in fp32, and with
`TrainConfig.compile` the loss and its backward run as torch.compile'd fused kernels. On a GPU
the step runs on the device, captured as one CUDA graph (see `explorer.device`).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .config import SETTINGS, TrainConfig, check_number
from .device import ResidentLoop, native_bf16, resolve_device
from .dial import log_uniform
from .model import VAE, Loss, vae_loss
from .typed_json import short

SNAPSHOT_SIZE = 1000  # test images whose embedding is reported with each progress update
NOISE_BANK = 16384  # rows of encoder-input noise drawn once per run (fresh noise per step: +1/3 step time)
@dataclass(frozen=True)
class EpochStats:
    """One row of a training history: means over one epoch, nats per image."""

    epoch: int  # 1-based
    recon: float
    kl: float
    loss: float  # recon + lam * kl
    elapsed_s: float  # since training started

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d) -> EpochStats:
        """A row as `to_dict` wrote it; ValueError if it is not one (strings, missing keys).
        Losses may be any float (a diverged run's history is still its history)."""
        if not isinstance(d, dict) or set(d) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError(f"a history row must be an object with epoch, recon, kl, loss, elapsed_s; got {short(d)}")
        return cls(check_number("history epoch", d["epoch"], int, 1, SETTINGS["epochs"][3]),
                   *(check_number(f"history {name}", d[name], float, -math.inf, math.inf)
                     for name in ("recon", "kl", "loss", "elapsed_s")))


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
          init: VAE | None = None, report_every_s: float = 0.5, *,
          resident: bool | None = None) -> tuple[VAE, list[EpochStats]]:
    """Train a VAE on uint8 images; return it (in eval mode, on the training device) and its history.

    on_progress is called about every `report_every_s` seconds and at each epoch end, each time
    with the embedding snapshot of `snapshot_images` (so a live view moves within the first
    epoch). Setting `cancel` stops the loop at the next step with `Cancelled`.
    `init` warm-starts from a copy of an existing model (never mutated).
    `resident` picks the device loop (`explorer.device.ResidentLoop`); None takes it on any
    device but the CPU (tests set it to run that loop on the CPU).
    """
    if tuple(train_images.shape[1:]) != config.model.image_shape:
        raise ValueError(f"images are {tuple(train_images.shape[1:])}, the model expects {config.model.image_shape}")
    if len(train_images) == 0:
        raise ValueError("no training images")
    device = resolve_device(config.device)
    torch.set_flush_denormal(True)  # fp32 denormals slow late epochs several-fold
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = VAE(config.model)
    if init is not None:
        model.load_state_dict(init.state_dict())
    model.to(device).train()
    data = images_to_tensor(train_images).to(device)  # (N, D), resident: a batch is one index_select
    snap = images_to_tensor(snapshot_images[:SNAPSHOT_SIZE]).to(device) if snapshot_images is not None else None
    if resident if resident is not None else device.type != "cpu":
        loop = ResidentLoop(model, config, data)
    else:
        loop = _CpuLoop(model, config, data)
    history: list[EpochStats] = []
    start = last_report = time.perf_counter()
    step, steps = 0, loop.steps_per_epoch * config.epochs
    for epoch in range(1, config.epochs + 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        for seen in loop.epoch():
            step += 1
            now = time.perf_counter()
            if on_progress is not None and (seen == loop.epoch_size or now - last_report >= report_every_s):
                last_report = now
                recon, kl, total = loop.means(seen)
                snapshot = embed(model, snap, config.model_lam) if snap is not None else None  # ~10 ms for 1,000 images
                on_progress(Progress(epoch, config.epochs, step, steps, recon, kl, total, now - start, snapshot))
            if cancel is not None and cancel.is_set():
                raise Cancelled()
        recon, kl, total = loop.means(loop.epoch_size)
        if not all(map(math.isfinite, (recon, kl, total))):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {total}); try a smaller learning rate")
        history.append(EpochStats(epoch, recon, kl, total, time.perf_counter() - start))
    return model.eval(), history


class _CpuLoop:
    """The CPU's steps: shuffled index batches (the last one ragged), fresh draws from a CPU
    generator (a dial's lambdas too, one per image, and binarised pixels), the learning rate from a
    scheduler, losses summed on the host."""

    def __init__(self, model: VAE, config: TrainConfig, data: torch.Tensor):
        self.model, self.config, self.data = model, config, data
        self.gen = torch.Generator().manual_seed(config.seed)
        self.epoch_size = len(data)
        self.steps_per_epoch = math.ceil(len(data) / config.batch_size)
        # Each image in each step gets a random row of a fixed bank of noise: cheap, and no worse
        # than fresh noise within seed spread (lambda = 1, 400 epochs: 133.70 vs 133.39 nats, one run each).
        self.noise_bank = config.encoder_noise * torch.randn((NOISE_BANK, data.shape[1]), generator=self.gen) \
            if config.encoder_noise else None
        self.loss_fn = _compiled_batch_loss() if config.compile else _batch_loss
        self.bf16 = config.bf16 and native_bf16("cpu")
        self.opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
        steps = self.steps_per_epoch * config.epochs
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        self.totals = torch.zeros(3, dtype=torch.float64)  # summed recon, kl, loss over the epoch's images

    def epoch(self) -> Iterator[int]:
        """Run one epoch's steps, yielding the images seen so far after each."""
        c, seen = self.config, 0
        self.totals.zero_()
        for idx in torch.randperm(self.epoch_size, generator=self.gen).split(c.batch_size):
            x = self.data.index_select(0, idx)
            if c.binarize:  # every pixel drawn afresh at each step (TrainConfig.binarize)
                x = (torch.rand(x.shape, generator=self.gen) < x).to(x.dtype)
            noise = self.noise_bank.index_select(0, torch.randint(NOISE_BANK, (len(idx),), generator=self.gen)) \
                if self.noise_bank is not None else None
            eps = torch.randn((c.k, len(idx), c.model.latent_dim), generator=self.gen)
            lam = log_uniform(torch.rand(len(idx), generator=self.gen), c.lam_range) if c.dial else c.lam
            # A ragged last batch stays eager: its size would make torch.compile compile again.
            loss_fn = self.loss_fn if len(idx) == c.batch_size else _batch_loss
            loss = loss_fn(self.model, x, noise, eps, lam, c.reconstruction, self.bf16)
            self.opt.zero_grad(set_to_none=True)
            loss.total.backward()
            self.opt.step()
            self.sched.step()
            self.totals += torch.stack([loss.recon, loss.kl, loss.total]).detach().double() * len(idx)
            seen += len(idx)
            yield seen

    def means(self, seen: int) -> tuple[float, float, float]:
        return tuple((self.totals / seen).tolist())


def _batch_loss(model: VAE, x: torch.Tensor, noise: torch.Tensor | None, eps: torch.Tensor, lam: float | torch.Tensor,
                reconstruction: str, bf16: bool) -> Loss:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return vae_loss(model, x, lam, len(eps), reconstruction, noise=noise, eps=eps)


@functools.cache
def _compiled_batch_loss() -> Callable[..., Loss]:
    """One compiled loss for the process, so that each train() call reuses its graphs (a closure
    per call would compile again). Built on first use: importing torch.compile costs seconds."""
    return torch.compile(_batch_loss, dynamic=False)


@torch.inference_mode()
def embed(model: VAE, x: torch.Tensor, lam: float | None = None, batch_size: int = 10_000) -> np.ndarray:
    """mu of q(z|x) for each row of x, as float32 numpy (N, latent_dim); runs on the model's device.
    A dial's at `lam` (a plain model takes none)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    mu = torch.cat([model.encode(xb.to(device), lam)[0] for xb in x.split(batch_size)])
    model.train(was_training)
    return mu.float().cpu().numpy()
