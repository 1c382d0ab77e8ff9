"""From a config to a finished checkpoint: load data, train, embed, evaluate."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from .checkpoint import Checkpoint, Embedding
from .data import DEFAULT_DIR, load_split
from .evaluate import evaluate_images, summarise
from .model import VAE
from .train import Progress, TrainConfig, embed, images_to_tensor, train


def fit(config: TrainConfig, data_dir: str | Path = DEFAULT_DIR,
        on_progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
        init: VAE | None = None, iwae_k: int = 100, command: str = "") -> Checkpoint:
    """Train on the training split of `data_dir` and return a checkpoint with test figures."""
    train_split, test_split = load_split("train", data_dir), load_split("test", data_dir)
    model, history = train(config, train_split.images, test_split.images, on_progress, cancel, init)
    return finish(model, config, history, train_split, test_split, iwae_k, command, Path(data_dir).name)


def finish(model, config, history, train_split, test_split, iwae_k=100, command="", dataset="mnist") -> Checkpoint:
    """Embed both splits and score the test set: everything a checkpoint holds besides the weights."""
    per_image = evaluate_images(model, images_to_tensor(test_split.images), iwae_k=iwae_k)
    embedding = Embedding(test_mu=per_image.mu, test_logvar=per_image.logvar, test_labels=test_split.labels,
                          test_recon=per_image.recon, test_kl=per_image.kl, test_log_px=per_image.log_px,
                          train_mu=embed(model, images_to_tensor(train_split.images)),
                          train_labels=train_split.labels)
    return Checkpoint(model, config, embedding, summarise(per_image, iwae_k), history, command, dataset)
