"""Training: the train config (every rule of what a valid setting is and when two configs are the
same model), the loop, its progress and cancel hooks, and the per-epoch history row.

The whole dataset stays resident as one tensor and batches are shuffled index gathers: no
per-sample Dataset/DataLoader. On a CPU with native bf16 (AMX or AVX512-BF16), matmuls run under
bf16 autocast (several times faster than fp32 there; elsewhere they stay fp32), losses are summed in fp32, and with
`TrainConfig.compile` the loss and its backward run as torch.compile'd fused kernels. On a GPU
the step runs on the device, captured as one CUDA graph (see `explorer.device`).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from .device import DEVICES, ResidentLoop, native_bf16, resolve_device
from .model import RECONSTRUCTIONS, VAE, Loss, ModelConfig, vae_loss

SNAPSHOT_SIZE = 1000  # test images whose embedding is reported with each progress update
NOISE_BANK = 16384  # rows of encoder-input noise drawn once per run (fresh noise per step: +1/3 step time)
_FLOAT_DIGITS = 10  # in a config's identity, 0.1 * 3 and 0.3 are the same lambda

# Each numeric setting: its name in messages, its type, and its valid [low, high]: wide enough
# for any sensible run, narrow enough that no value overflows float32 or allocates without bound.
SETTINGS = {
    "lam": ("lambda", float, 0.0, 1e4),
    "epochs": ("epochs", int, 1, 100_000),
    "batch_size": ("batch size", int, 1, 1 << 20),
    "lr": ("learning rate", float, 1e-8, 1.0),
    "seed": ("seed", int, 0, 2**63 - 1),
    "k": ("samples per image K", int, 1, 1024),
    "encoder_noise": ("encoder noise", float, 0.0, 10.0),
    "threads": ("threads", int, 0, 1024),
}
MAX_SAMPLES_PER_STEP = 1 << 20  # K x batch size: the decoder's output alone is this many images
MAX_WIDTH, MAX_LAYERS, MAX_LATENT, MAX_SIDE = 16384, 8, 64, 1024
MAX_PARAMETERS = 50_000_000  # 200 MB of fp32 weights; the shipped network has 0.8 M


def check_setting(name: str, value, limits: tuple[float, float] | None = None):
    """`value` as the type of setting `name` of SETTINGS, if it is one and lies in its range, or
    in the narrower `limits` a caller sets (the app's); ValueError in the user's words otherwise."""
    label, kind, low, high = SETTINGS[name]
    return check_number(label, value, kind, *(limits or (low, high)))


def check_number(label: str, value, kind: type, low: float, high: float):
    """value as `kind` (int or float) if it is one and lies in [low, high]; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if kind is int else numbers.Real):
        raise ValueError(f"{label} must be {'a whole number' if kind is int else 'a number'}, "
                         f"got {type(value).__name__} {_short(value)}")
    between = f"between {low} and {high}" if kind is int else f"between {low:g} and {high:g}"
    try:
        value = kind(value)
    except OverflowError:  # a 400-digit integer as a float
        raise ValueError(f"{label} must be {between}, got {_short(value)}") from None
    if not low <= value <= high:  # also refuses nan
        raise ValueError(f"{label} must be {between}, got {_short(value)}")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class TrainConfig:
    lam: float = 1.0  # weight of the KL term (Kingma & Welling 2014); 0 is a plain autoencoder
    epochs: int = 100
    batch_size: int = 1024
    lr: float = 3e-3  # peak learning rate, decayed to 0 on a cosine
    seed: int = 0
    reconstruction: str = "bce"  # "bce" (Bernoulli, nats) or "mse" (squared error)
    k: int = 1  # samples of z per image in the expectation of the reconstruction term
    # Std of Gaussian noise added to the encoder's input (not the decoder's target) in training:
    # amortised inference regularisation (Shu et al. 2018). At lambda = 1, 400 epochs, it gave
    # test neg-ELBO 133.7 nats (the shipped model) against 136.3 without: the encoder overfits.
    encoder_noise: float = 0.15
    bf16: bool = True  # bf16 autocast for the matmuls
    # torch.compile the CPU loop's loss and its backward: fused elementwise kernels, faster steps
    # after a first-call warm-up of seconds. For long CLI runs, not the app's short jobs.
    compile: bool = False
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # "auto" (a CUDA GPU if there is one, else the CPU), "cpu", "cuda" or "mps"
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self):
        for name in SETTINGS:
            object.__setattr__(self, name, check_setting(name, getattr(self, name)))
        if self.k * self.batch_size > MAX_SAMPLES_PER_STEP:
            raise ValueError(f"samples per image K x batch size must be at most {MAX_SAMPLES_PER_STEP:,}, "
                             f"got {self.k} x {self.batch_size}")
        for name, choices in (("reconstruction", RECONSTRUCTIONS), ("device", DEVICES)):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {_short(getattr(self, name))}")
        for name in ("bf16", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {_short(getattr(self, name))}")
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        object.__setattr__(self, "model", _checked_model(self.model))

    @property
    def key(self) -> str:
        """What "the same model" means: every setting that changes the trained model.

        `threads`, `compile` and `device` change how a run is computed, not what it trains
        (results differ only in floating-point and random-stream detail), so they are left out;
        floats are rounded to 10 significant digits so that a slider's 0.30000000000000004 is
        lambda 0.3.
        """
        identity = dataclasses.replace(self, threads=0, compile=False).to_dict()
        del identity["device"]  # absent, not fixed: keys (and file names) of configs from before the field stay
        return json.dumps(canonical(identity), sort_keys=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config as `to_dict` wrote it; ValueError (or TypeError for unknown fields) if not one."""
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict):
            raise ValueError("a train config must be an object with a model object")
        d = dict(d)
        d.setdefault("encoder_noise", 0.0)  # files from before the field trained without it
        d.setdefault("compile", False)
        d.setdefault("device", "cpu")  # files from before the field were trained on the CPU
        return cls(model=ModelConfig.from_dict(d.pop("model")), **d)


def _checked_model(m: ModelConfig) -> ModelConfig:
    """The network's settings, checked before anything is allocated for them."""
    if not isinstance(m.image_shape, tuple) or len(m.image_shape) != 2:
        raise ValueError(f"image shape must be (rows, cols), got {_short(m.image_shape)}")
    if not isinstance(m.hidden, tuple) or not 1 <= len(m.hidden) <= MAX_LAYERS:
        raise ValueError(f"hidden must list 1 to {MAX_LAYERS} layer widths, got {_short(m.hidden)}")
    m = ModelConfig(image_shape=tuple(check_number("image side", s, int, 1, MAX_SIDE) for s in m.image_shape),
                    hidden=tuple(check_number("hidden width", w, int, 1, MAX_WIDTH) for w in m.hidden),
                    latent_dim=check_number("latent dimensions", m.latent_dim, int, 1, MAX_LATENT),
                    dropout=check_number("dropout", m.dropout, float, 0.0, 0.99))
    if m.parameter_count > MAX_PARAMETERS:
        raise ValueError(f"the network would have {m.parameter_count:,} parameters; at most {MAX_PARAMETERS:,}")
    return m


def canonical(value):
    """Floats rounded to 10 significant digits, containers as lists: the form identities compare."""
    if isinstance(value, float):
        return float(f"{value:.{_FLOAT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


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
    def from_dict(cls, d) -> "EpochStats":
        """A row as `to_dict` wrote it; ValueError if it is not one (strings, missing keys).
        Losses may be any float (a diverged run's history is still its history)."""
        if not isinstance(d, dict) or set(d) != {f.name for f in dataclasses.fields(cls)}:
            raise ValueError(f"a history row must be an object with epoch, recon, kl, loss, elapsed_s; got {_short(d)}")
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
                snapshot = embed(model, snap) if snap is not None else None  # ~10 ms for 1,000 images
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
    generator, the learning rate from a scheduler, losses summed on the host."""

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
            noise = self.noise_bank.index_select(0, torch.randint(NOISE_BANK, (len(idx),), generator=self.gen)) \
                if self.noise_bank is not None else None
            eps = torch.randn((c.k, len(idx), c.model.latent_dim), generator=self.gen)
            # A ragged last batch stays eager: its size would make torch.compile compile again.
            loss_fn = self.loss_fn if len(idx) == c.batch_size else _batch_loss
            loss = loss_fn(self.model, x, noise, eps, c.lam, c.reconstruction, self.bf16)
            self.opt.zero_grad(set_to_none=True)
            loss.total.backward()
            self.opt.step()
            self.sched.step()
            self.totals += torch.stack([loss.recon, loss.kl, loss.total]).detach().double() * len(idx)
            seen += len(idx)
            yield seen

    def means(self, seen: int) -> tuple[float, float, float]:
        return tuple((self.totals / seen).tolist())


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
    """mu of q(z|x) for each row of x, as float32 numpy (N, latent_dim); runs on the model's device."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    mu = torch.cat([model.encode(xb.to(device))[0] for xb in x.split(batch_size)])
    model.train(was_training)
    return mu.float().cpu().numpy()
