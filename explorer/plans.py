"""How the page trains a new lambda on this machine (`Plan`, `default_plan`), and what one request
from the page may ask for (`PAGE_LIMITS`, `training_config`). `explorer.jobs` runs what is asked."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .config import TrainConfig, check_setting
from .device import resolve_device

# Epoch budgets for the page on a CPU: warm-started from the nearest lambda, a few epochs reach the
# converged model; from scratch, no run short enough to wait for on a page does (bench/retrain.py
# measures both; the README has its figures).
DEFAULT_WARM_EPOCHS = 5
DEFAULT_SCRATCH_EPOCHS = 20
# On a GPU a new lambda trains from scratch with the shipped models' recipe: 400 epochs, seconds there.
CONVERGED_EPOCHS = 400
# What one request from the page may ask for (narrower than what TrainConfig accepts).
LAM_RANGE = (0.0, 100.0)
EPOCHS_RANGE = (1, 500)
K_RANGE = (1, 64)
SEED_RANGE = (0, 2**31 - 1)
PAGE_LIMITS = {"lam": LAM_RANGE, "epochs": EPOCHS_RANGE, "k": K_RANGE, "seed": SEED_RANGE}


@dataclass(frozen=True)
class Plan:
    """How the page trains a new lambda by default on this machine."""

    device: str  # the torch device type jobs run on: "cpu", "cuda" or "mps"
    warm_start: bool
    warm_epochs: int  # epochs when warm-starting
    scratch_epochs: int  # epochs from scratch

    @property
    def epochs(self) -> int:
        return self.warm_epochs if self.warm_start else self.scratch_epochs


def default_plan(device: str = "auto") -> Plan:
    """On a CUDA GPU: from scratch to convergence (CONVERGED_EPOCHS); elsewhere: a short warm
    start from the nearest library model (DEFAULT_WARM_EPOCHS; DEFAULT_SCRATCH_EPOCHS without)."""
    kind = resolve_device(device).type
    if kind == "cuda":
        return Plan(kind, False, DEFAULT_WARM_EPOCHS, CONVERGED_EPOCHS)
    return Plan(kind, True, DEFAULT_WARM_EPOCHS, DEFAULT_SCRATCH_EPOCHS)


def training_config(lam, epochs=DEFAULT_WARM_EPOCHS, reconstruction="bce", k=1, seed=0,
                    base: TrainConfig = TrainConfig()) -> TrainConfig:
    """A TrainConfig from the page's controls, each checked by TrainConfig's rules (within the
    page's narrower PAGE_LIMITS) with a clear ValueError. Settings the page does not offer (batch
    size, learning rate, network) come from `base`."""
    values = {name: check_setting(name, value, PAGE_LIMITS[name])
              for name, value in (("lam", lam), ("epochs", epochs), ("k", k), ("seed", seed))}
    return dataclasses.replace(base, reconstruction=reconstruction, **values)
