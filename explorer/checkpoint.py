"""One file per model: weights, configs, metrics, training history and the data embedding.

Files are safetensors (loading runs no code) with the configs and figures as JSON in the
header's metadata. Writes are atomic: a temp file in the same folder, fsynced, then renamed,
so a crash never leaves a half file under the real name. Every unreadable file raises
`CheckpointError` naming the file and the fault.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .evaluate import Metrics
from .files import write_atomic
from .model import VAE
from .train import TrainConfig

FORMAT = "vae-latent-explorer/1"
EXTENSION = ".safetensors"
_EMBEDDING_KEYS = ("test_mu", "test_logvar", "test_labels", "test_recon", "test_kl", "test_log_px",
                   "train_mu", "train_labels")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, truncated or not one of ours."""


@dataclass(frozen=True)
class Embedding:
    """Where the data sits in latent space (mu and logvar of q(z|x) per image, with labels),
    and how well the model explains each test image (its recorded metrics are their means)."""

    test_mu: np.ndarray  # (N_test, L) float32
    test_logvar: np.ndarray  # (N_test, L) float32
    test_labels: np.ndarray  # (N_test,) uint8
    test_recon: np.ndarray  # (N_test,) float32, E_q[-ln p(x|z)] in nats
    test_kl: np.ndarray  # (N_test,) float32, eq. (5)
    test_log_px: np.ndarray  # (N_test,) float32, IWAE estimate of ln p(x)
    train_mu: np.ndarray  # (N_train, L) float32, for nearest-neighbour look-ups
    train_labels: np.ndarray  # (N_train,) uint8


@dataclass(frozen=True)
class Header:
    """What a checkpoint says about itself, readable without its tensors."""

    config: TrainConfig
    metrics: Metrics | None
    history: list[dict]
    command: str
    dataset: str


@dataclass(frozen=True)
class Checkpoint:
    model: VAE
    config: TrainConfig
    embedding: Embedding
    metrics: Metrics | None = None
    history: list[dict] = field(default_factory=list)
    command: str = ""  # how it was made, e.g. the CLI line
    dataset: str = "mnist"

    @property
    def lam(self) -> float:
        return self.config.lam


def save(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write atomically; returns the path."""
    tensors = {f"model.{k}": v.detach().float().contiguous() for k, v in ckpt.model.state_dict().items()}
    for key in _EMBEDDING_KEYS:
        tensors[key] = torch.from_numpy(np.ascontiguousarray(getattr(ckpt.embedding, key)))
    meta = {"config": ckpt.config.to_dict(), "history": ckpt.history, "command": ckpt.command,
            "dataset": ckpt.dataset, "metrics": ckpt.metrics.to_dict() if ckpt.metrics else None}
    blob = st_save(tensors, metadata={"format": FORMAT, "explorer": json.dumps(meta)})
    return write_atomic(path, blob)


def read_header(path: str | Path) -> Header:
    """The configs and figures of a checkpoint file, from its header alone (no weights are read)."""
    path = Path(path)
    try:
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated: {e})") from None
    return _header(path, meta)


def load(path: str | Path) -> Checkpoint:
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror})") from None
    try:
        tensors = st_load(blob)
        meta_raw = _metadata(blob)
    except (SafetensorError, ValueError, UnicodeDecodeError, OverflowError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated: {e})") from None
    header = _header(path, meta_raw)
    try:
        model = VAE(header.config.model)
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        embedding = Embedding(**{k: tensors[k].numpy() for k in _EMBEDDING_KEYS})
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: checkpoint contents are inconsistent ({type(e).__name__}: {e})") from None
    return Checkpoint(model.eval(), header.config, embedding, header.metrics, header.history, header.command,
                      header.dataset)


def _header(path: Path, meta: dict) -> Header:
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a VAE Latent Explorer checkpoint (format {meta.get('format')!r})")
    try:
        info = json.loads(meta["explorer"])
        history = list(info.get("history") or [])
        if not all(isinstance(row, dict) for row in history):
            raise TypeError("history rows must be objects")
        return Header(TrainConfig.from_dict(info["config"]),
                      Metrics(**info["metrics"]) if info.get("metrics") else None,
                      history, str(info.get("command", "")), str(info.get("dataset", "mnist")))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path}: checkpoint contents are inconsistent ({type(e).__name__}: {e})") from None


def _metadata(blob: bytes) -> dict:
    """The safetensors header's __metadata__ (st_load has already validated the header)."""
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n].decode("utf-8")).get("__metadata__") or {}
