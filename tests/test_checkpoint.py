"""Checkpoints: exact round trip, atomic writes, and clear errors for bad files."""
import os

import numpy as np
import pytest
import torch

from explorer import checkpoint as ckpt_io
from explorer import files
from explorer.checkpoint import CheckpointError


def test_round_trip_gives_identical_outputs(tmp_path, small_checkpoint):
    path = ckpt_io.save(tmp_path / "m.safetensors", small_checkpoint)
    back = ckpt_io.load(path)
    z = torch.randn(50, 2)
    x = torch.rand(20, 784)
    with torch.inference_mode():
        torch.testing.assert_close(back.model.decode(z), small_checkpoint.model.decode(z), rtol=0, atol=0)
        for a, b in zip(back.model.encode(x), small_checkpoint.model.encode(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert back.config == small_checkpoint.config
    assert back.metrics == small_checkpoint.metrics
    assert back.history == small_checkpoint.history and back.command == "pytest"
    for key in ("test_mu", "test_logvar", "test_labels", "train_mu", "train_labels"):
        np.testing.assert_array_equal(getattr(back.embedding, key), getattr(small_checkpoint.embedding, key))


def test_header_alone_gives_what_load_gives(tmp_path, small_checkpoint):
    path = ckpt_io.save(tmp_path / "m.safetensors", small_checkpoint)
    header, full = ckpt_io.read_header(path), ckpt_io.load(path)
    assert (header.config, header.metrics, header.history, header.command, header.dataset) == \
        (full.config, full.metrics, full.history, full.command, full.dataset)


def test_truncated_corrupt_and_foreign_files_are_refused(tmp_path, small_checkpoint):
    good = ckpt_io.save(tmp_path / "good.safetensors", small_checkpoint).read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "header-truncated": good[:100],
        "empty": b"",
        "garbage": os.urandom(5000),
        "bad-header": good[:8] + b"{" * 50 + good[58:],
    }
    for name, blob in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(blob)
        for read in (ckpt_io.load, ckpt_io.read_header):
            with pytest.raises(CheckpointError, match=str(path)):
                read(path)
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(3)}, tmp_path / "foreign.safetensors")
    for read in (ckpt_io.load, ckpt_io.read_header):
        with pytest.raises(CheckpointError, match="not a VAE Latent Explorer checkpoint"):
            read(tmp_path / "foreign.safetensors")
        with pytest.raises(CheckpointError, match="file not found"):
            read(tmp_path / "missing.safetensors")


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, small_checkpoint, monkeypatch):
    path = ckpt_io.save(tmp_path / "m.safetensors", small_checkpoint)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt_io.save(path, small_checkpoint)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
