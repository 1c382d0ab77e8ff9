"""From a config to a finished checkpoint: load data, train, embed, evaluate. The CLI and the
app's background jobs both make their models here."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from . import dial
from .checkpoint import Checkpoint, Embedding
from .config import TrainConfig
from .data import DEFAULT_DIR, Split, binarize, load_split
from .evaluate import evaluate_images, summarise
from .model import VAE
from .train import EpochStats, Progress, embed, images_to_tensor, train


def fit(config: TrainConfig, data_dir: str | Path = DEFAULT_DIR,
        on_progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
        init: VAE | None = None, iwae_k: int = 100, command: str = "", *,
        splits: tuple[Split, Split] | None = None, on_phase: Callable[[str], None] | None = None,
        on_eval_progress: Callable[[int, int], None] | None = None,
        report_every_s: float = 0.5) -> Checkpoint:
    """Train on the training split of `data_dir` (or on `splits`, (train, test) already read from
    it) and return a checkpoint with test figures. `on_phase` hears "training" and "evaluating"
    as each begins (and a dial's "dial", its grid and curve); `on_eval_progress(done, total)`
    follows the test images' evaluation."""
    if splits is None:
        splits = load_split("train", data_dir), load_split("test", data_dir)
    train_split, test_split = splits
    if on_phase is not None:
        on_phase("training")
    model, history = train(config, train_split.images, test_split.images, on_progress, cancel, init,
                           report_every_s=report_every_s)
    if on_phase is not None:
        on_phase("evaluating")
    return finish(model, config, history, train_split, test_split, iwae_k, command, Path(data_dir).name,
                  on_eval_progress, on_phase)


def finish(model: VAE, config: TrainConfig, history: list[EpochStats], train_split: Split, test_split: Split,
           iwae_k: int = 100, command: str = "", dataset: str = "mnist",
           on_eval_progress: Callable[[int, int], None] | None = None,
           on_phase: Callable[[str], None] | None = None) -> Checkpoint:
    """Embed both splits and score the test set on the model's device: everything a checkpoint
    holds besides the weights (a dial's at its config's lambda, and its grid and test curve over
    its range). The checkpoint's model is on the CPU, as loaded ones are. A binarised model
    (`TrainConfig.binarize`) is scored and embedded on both splits binarised once (`binarize`)."""
    test_images, train_images = test_split.images, train_split.images
    if config.binarize:
        test_images, train_images = binarize(test_images), binarize(train_images)
    test_x = images_to_tensor(test_images)
    per_image = evaluate_images(model, test_x, iwae_k=iwae_k, on_progress=on_eval_progress, lam=config.model_lam)
    embedding = Embedding(test_mu=per_image.mu, test_logvar=per_image.logvar, test_labels=test_split.labels,
                          test_recon=per_image.recon, test_kl=per_image.kl, test_log_px=per_image.log_px,
                          train_mu=embed(model, images_to_tensor(train_images), config.model_lam),
                          train_labels=train_split.labels)
    if config.dial and on_phase is not None:
        on_phase("dial")
    arrays = dial.build(model, test_x, config.lam_range) if config.dial else None
    # The file format keeps history rows as JSON objects (EpochStats.to_dict / from_dict).
    return Checkpoint(model.cpu(), config, embedding, summarise(per_image, iwae_k), [h.to_dict() for h in history],
                      command, dataset, arrays)
