import os
import struct
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from explorer.checkpoint import Checkpoint
from explorer.config import TrainConfig
from explorer.data import load_split
from explorer.library import SHIPPED_DIR
from explorer.model import ModelConfig
from explorer.pipeline import finish
from explorer.train import train

SMALL = ModelConfig(hidden=(64, 32))

# Fuzz tests (tests/test_fuzz.py): a fixed, reproducible set of examples per target in CI; a long
# run with EXPLORER_FUZZ_EXAMPLES=5000 draws that many fresh ones per target. Each example must
# finish within the deadline: "bounded time" is part of what the fuzz tests check.
FUZZ_EXAMPLES_ENV = "EXPLORER_FUZZ_EXAMPLES"
settings.register_profile(
    "explorer", max_examples=int(os.environ.get(FUZZ_EXAMPLES_ENV, 100)), deadline=timedelta(seconds=5),
    derandomize=FUZZ_EXAMPLES_ENV not in os.environ, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("explorer")


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An array as an IDX file (big-endian header, then the raw data)."""
    header = struct.pack(">HBB", 0, type_code, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.fixture(scope="session")
def mnist_test():
    return load_split("test")


@pytest.fixture(scope="session")
def small_subset(mnist_test):
    """2,000 real test images as uint8, for quick training runs."""
    return mnist_test.images[:2000]


@pytest.fixture(scope="session")
def small_checkpoint(mnist_test) -> Checkpoint:
    """A small model trained for a few seconds, with everything a checkpoint holds."""
    config = TrainConfig(epochs=3, batch_size=256, model=SMALL)
    train_split = type(mnist_test)(mnist_test.images[:3000], mnist_test.labels[:3000])
    test_split = type(mnist_test)(mnist_test.images[3000:4000], mnist_test.labels[3000:4000])
    model, history = train(config, train_split.images)
    return finish(model, config, history, train_split, test_split, iwae_k=10, command="pytest")


@pytest.fixture(scope="session")
def small_dial(mnist_test) -> Checkpoint:
    """A small dial (one network for lambda 0.01 to 100) trained for a few seconds, with its grid and curve."""
    config = TrainConfig(epochs=3, batch_size=256, model=ModelConfig(hidden=(64, 32), film_hidden=16),
                         lam_range=(0.01, 100.0))
    train_split = type(mnist_test)(mnist_test.images[:3000], mnist_test.labels[:3000])
    test_split = type(mnist_test)(mnist_test.images[3000:4000], mnist_test.labels[3000:4000])
    model, history = train(config, train_split.images)
    return finish(model, config, history, train_split, test_split, iwae_k=10, command="pytest dial")


@pytest.fixture(scope="session")
def shipped_arrays():
    """The plane arrays (explorer.formats.PlaneArrays) of the shipped lambda = 0 and lambda = 1
    models, by lambda as written in their file names; skips if either file is missing."""
    from explorer import formats
    arrays = {}
    for lam in ("0", "1"):
        path = SHIPPED_DIR / f"lam-{lam}.safetensors"
        if not path.is_file():
            pytest.skip(f"needs {path}")
        arrays[lam] = formats.read_plane_arrays(path)
    return arrays
