"""`python -m explorer`: bad input is one `error:` line and exit 2, long steps show progress."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from explorer import checkpoint as ckpt_io
from explorer.cli import main

ROOT = Path(__file__).resolve().parent.parent
LAM_1 = ROOT / "pretrained" / "lam-1.safetensors"


def run_cli(*args, timeout=120):
    """The CLI as a user runs it: its own process, real exit status."""
    return subprocess.run([sys.executable, "-m", "explorer", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_training_on_a_missing_gpu_fails_at_once(tmp_path):
    start = time.monotonic()
    result = run_cli("train", "--device", "cuda", "--epochs", "1", "--out", tmp_path / "m.safetensors")
    assert result.returncode == 2
    assert result.stderr.startswith("error: device cuda is not available here") and result.stderr.count("\n") == 1
    assert time.monotonic() - start < 30  # before any data is read or any epoch runs (mostly torch's import)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_evaluating_on_a_missing_gpu_fails_at_once(capsys):
    assert main(["eval", str(LAM_1), "--device", "cuda"]) == 2
    assert capsys.readouterr().err.startswith("error: device cuda is not available here")


def test_eval_shows_progress_and_prints_its_figures(capsys):
    assert main(["eval", str(LAM_1), "--limit", "600", "--iwae-k", "2", "--json", "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "evaluating 500/600 test images" in err and "evaluating 600/600 test images" in err
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["n_images"] == 600 and figures["iwae_k"] == 2
    assert figures["neg_elbo"] == pytest.approx(ckpt_io.read_header(LAM_1).metrics.neg_elbo, abs=5)


def test_train_records_the_device_it_trained_on(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    data = _small_dataset(tmp_path)
    assert main(["train", "--epochs", "1", "--hidden", "16", "--iwae-k", "2", "--data", str(data),
                 "--out", str(out)]) == 0
    header = ckpt_io.read_header(out)
    assert header.config.device == ("cuda" if torch.cuda.is_available() else "cpu")
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "evaluating 200/200 test images" in err


def _small_dataset(tmp_path):
    from conftest import idx_bytes
    from explorer.data import load_split
    test = load_split("test")
    folder = tmp_path / "mnist-small"
    folder.mkdir()
    for stem, array in {"train-images-idx3-ubyte": test.images[:600], "train-labels-idx1-ubyte": test.labels[:600],
                        "t10k-images-idx3-ubyte": test.images[600:800],
                        "t10k-labels-idx1-ubyte": test.labels[600:800]}.items():
        (folder / stem).write_bytes(idx_bytes(array))
    return folder
