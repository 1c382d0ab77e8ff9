"""`python -m explorer`: bad input is one `error:` line and exit 2, long steps show progress."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
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


@pytest.fixture
def no_data_read(monkeypatch):
    """Fails the test if the command reads the dataset: what it refuses, it refuses at once."""
    from explorer import cli, pipeline

    def fail(*args):
        pytest.fail("the dataset was read")  # a BaseException: the CLI's own handlers do not catch it

    monkeypatch.setattr(pipeline, "load_split", fail)
    monkeypatch.setattr(cli, "load_split", fail)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_training_on_a_missing_gpu_fails_at_once(tmp_path, capsys, no_data_read):
    assert main(["train", "--device", "cuda", "--epochs", "1", "--out", str(tmp_path / "m.safetensors")]) == 2
    assert one_error_line(capsys).startswith("error: device cuda is not available here")
    assert list(tmp_path.iterdir()) == []
    result = run_cli("train", "--device", "cuda", "--epochs", "1", "--out", tmp_path / "m.safetensors")
    assert result.returncode == 2 and result.stderr.startswith("error: device cuda") and result.stderr.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_evaluating_on_a_missing_gpu_fails_at_once(capsys, no_data_read):
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


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("out, message", [
    ("/proc/x.safetensors", "cannot write in /proc"),
    ("{tmp}", "must end in .safetensors"),
    ("{tmp}/folder.safetensors", "is a folder"),
    ("{tmp}/file/x.safetensors", "a file is in the way of its folder"),
    ("{tmp}/old.safetensors", "exists; add --force to overwrite it"),
])
def test_an_unwritable_output_is_refused_before_training(tmp_path, capsys, no_data_read, out, message):
    (tmp_path / "folder.safetensors").mkdir()
    (tmp_path / "file").write_bytes(b"not a folder")
    (tmp_path / "old.safetensors").write_bytes(b"keep me")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["train", "--epochs", "400", "--out", out.format(tmp=tmp_path)]) == 2
    assert message in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "old.safetensors").read_bytes() == b"keep me"


def test_force_overwrites_an_existing_output(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"old")
    assert main(["train", "--epochs", "1", "--hidden", "16", "--iwae-k", "2", "--data", str(_small_dataset(tmp_path)),
                 "--out", str(out), "--force"]) == 0
    assert ckpt_io.read_header(out).config.model.hidden == (16,)
    assert "training" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--lam", "1e308"], "lambda must be between 0 and 10000, got 1e+308"),
    (["--lam", "nan"], "lambda must be between"),
    (["--hidden", "1000000000"], "hidden width must be between 1 and 16384"),
    (["--hidden", "a,b"], "expected comma-separated integers"),
    (["--lr", "1e30"], "learning rate must be between 1e-08 and 1"),
    (["--epochs", "0"], "epochs must be between 1 and"),
    (["--epochs", "1e3"], "invalid int value"),
    (["--k", "100000"], "samples per image K must be between"),
    (["--iwae-k", "0"], "--iwae-k must be between 1 and 1000"),
    (["--seed", "9" * 40], "seed must be between"),
    (["--device", "tpu"], "invalid choice"),
])
def test_bad_training_settings_are_one_line_and_exit_2(tmp_path, capsys, no_data_read, args, message):
    assert main(["train", "--out", str(tmp_path / "m.safetensors"), *args]) == 2
    assert message in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_diverges_exits_non_zero_and_saves_nothing(tmp_path, capsys, monkeypatch):
    from explorer import train as train_mod
    real = train_mod._batch_loss

    def blows_up(*args):  # the loss turns NaN mid-run, as a too-large step would make it
        loss = real(*args)
        return dataclasses.replace(loss, total=loss.total * float("nan"))

    monkeypatch.setattr(train_mod, "_batch_loss", blows_up)
    out = tmp_path / "out" / "m.safetensors"
    assert main(["train", "--epochs", "3", "--hidden", "16", "--data", str(_small_dataset(tmp_path)),
                 "--out", str(out)]) == 2
    assert "training diverged at epoch 1" in (line := one_error_line_of(capsys.readouterr().err))
    assert "nothing was saved" in line
    assert list(out.parent.iterdir()) == []  # no model, no temp file


def one_error_line_of(err: str) -> str:
    errors = [line.split("\r")[-1] for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize("args, message", [
    (["--iwae-k", "0"], "--iwae-k must be between 1 and 1000, got 0"),
    (["--iwae-k", "-3"], "--iwae-k must be between 1 and 1000, got -3"),
    (["--limit", "-5"], "--limit must be between 0 and"),
])
def test_bad_eval_options_are_one_line_and_exit_2(capsys, args, message):
    assert main(["eval", str(LAM_1), *args]) == 2
    assert message in one_error_line(capsys)


def test_eval_refuses_images_of_another_size(tmp_path, capsys):
    from conftest import idx_bytes
    folder = tmp_path / "small-images"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((20, 14, 14), np.uint8)))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(20, np.uint8)))
    assert main(["eval", str(LAM_1), "--data", str(folder)]) == 2
    assert "test images are 14x14, the model expects 28x28" in one_error_line(capsys)


def test_eval_scores_the_binarised_test_set_when_asked_or_when_the_model_was_trained_on_one(tmp_path, capsys):
    from explorer.data import binarize, load_split
    from explorer.evaluate import evaluate
    from explorer.train import images_to_tensor
    args = ["eval", str(LAM_1), "--limit", "100", "--iwae-k", "2", "--json", "--device", "cpu"]
    figures = {}
    for flag in ("--binarize", "--no-binarize", None):
        assert main(args + ([flag] if flag else [])) == 0
        figures[flag] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["--binarize"]["binarized"] and not figures["--no-binarize"]["binarized"]
    assert figures[None] == {**figures["--no-binarize"], "seconds": figures[None]["seconds"]}  # as it was trained
    # the first 100 of the whole test set's one draw, whatever --limit
    images = binarize(load_split("test").images)[:100]
    expected = evaluate(ckpt_io.load(LAM_1).model, images_to_tensor(images), iwae_k=2)
    assert figures["--binarize"]["neg_elbo"] == pytest.approx(expected.neg_elbo, rel=1e-6)
    assert figures["--binarize"]["kl"] != figures["--no-binarize"]["kl"]  # the encoder saw other images
    binarised_model = tmp_path / "b.safetensors"
    ckpt = ckpt_io.load(LAM_1)
    ckpt_io.save(binarised_model, dataclasses.replace(ckpt, config=dataclasses.replace(ckpt.config, binarize=True)))
    assert main(["eval", str(binarised_model), *args[2:]]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["binarized"] is True


def test_json_output_is_valid_json_without_nan():
    from explorer.cli import _json
    text = _json({"neg_elbo": float("nan"), "kl": float("inf"), "rows": [1.5, -float("inf")], "n": 3})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON")) == \
        {"neg_elbo": None, "kl": None, "rows": [1.5, None], "n": 3}


def test_list_shows_the_library_and_each_skipped_file_with_its_reason(tmp_path, small_checkpoint):
    models = tmp_path / "models"
    ckpt_io.save(models / "mine.safetensors", small_checkpoint)
    (models / "garbage.safetensors").write_bytes(b"\x00" * 100)
    os.mkfifo(models / "pipe.safetensors")
    result = subprocess.run([sys.executable, "-m", "explorer", "list", "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "EXPLORER_MODELS_DIR": str(models)})
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout.strip().splitlines()[-1])
    ids = [m["id"] for m in listing["models"]]
    # by lambda, shipped first
    assert ids == ["lam-0", "lam-0.1", "lam-0.5", "lam-1", "mine", "lam-2", "lam-5", "lam-100"]
    mine = listing["models"][ids.index("mine")]
    assert not mine["shipped"] and mine["neg_elbo"] == pytest.approx(small_checkpoint.metrics.neg_elbo)
    reasons = {s["name"]: s["reason"] for s in listing["skipped"]}
    assert set(reasons) == {"garbage.safetensors", "pipe.safetensors"}
    assert reasons["pipe.safetensors"] == "not a regular file; skipped" and reasons["garbage.safetensors"]
    text = run_cli("list")
    assert text.returncode == 0 and "lam-1" in text.stdout


# A dial: one network for a range of lambdas -------------------------------------------------------

def test_train_a_dial_then_evaluate_it_at_any_lambda_of_its_range(tmp_path, capsys):
    out = tmp_path / "dial.safetensors"
    data = _small_dataset(tmp_path)
    assert main(["train", "--dial", "--lam-range", "0.1,10", "--film-hidden", "8", "--epochs", "2", "--hidden",
                 "16", "--iwae-k", "2", "--data", str(data), "--out", str(out)]) == 0
    out_text, err = capsys.readouterr()
    assert "epoch 2/2" in err and "the dial's grid and test curve" in err
    assert "a dial for lambda 0.1 to 10: grid of" in out_text
    ckpt = ckpt_io.load(out)
    assert ckpt.config.lam_range == (0.1, 10.0) and ckpt.config.model.film_hidden == 8 and ckpt.lam == 1.0
    assert "--dial" in ckpt.command
    figures = {}
    for lam in ("0.1", "1", "10"):
        assert main(["eval", str(out), "--lam", lam, "--iwae-k", "2", "--json", "--data", str(data)]) == 0
        figures[lam] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert figures[lam]["lam"] == float(lam) and figures[lam]["dial"] is True
    assert figures["1"]["kl"] == pytest.approx(ckpt.metrics.kl, rel=1e-5)  # its own lambda: its recorded figures
    assert figures["0.1"]["kl"] != figures["10"]["kl"]
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dial"]["lam_range"] == [0.1, 10.0] and info["dial"]["grid_lambdas"] == len(ckpt.dial.lams) >= 64
    assert info["dial"]["curve_lambdas"] == 65
    assert main(["info", str(LAM_1), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dial"] is None


def test_a_dial_starts_from_a_plain_model_with_init(tmp_path, capsys):
    data, plain, dial = _small_dataset(tmp_path), tmp_path / "plain.safetensors", tmp_path / "dial.safetensors"
    common = ["--epochs", "1", "--hidden", "16", "--iwae-k", "2", "--data", str(data)]
    assert main(["train", *common, "--out", str(plain)]) == 0
    assert main(["train", "--dial", "--film-hidden", "8", "--init", str(plain), *common, "--out", str(dial)]) == 0
    assert "--init" in ckpt_io.load(dial).command
    capsys.readouterr()
    assert main(["train", "--dial", "--init", str(dial), *common, "--out", str(tmp_path / "again.safetensors")]) == 2
    assert "a dial starts from a model trained at one lambda" in one_error_line(capsys)


@pytest.mark.parametrize("args, message", [
    (["--init", str(LAM_1), "--hidden", "16"],
     "its model (layers 512,256, 2-d) is not the one to train (layers 16, 2-d)"),
    (["--init", str(LAM_1), "--dial", "--hidden", "16"], "layers (512, 256), 2-d, do not match the dial's (16,), 2-d"),
    (["--init", "missing.safetensors"], "missing.safetensors"),
    (["--lam-range", "0.1,10"], "--lam-range and --film-hidden are settings of a dial: add --dial"),
    (["--film-hidden", "8"], "settings of a dial: add --dial"),
    (["--dial", "--lam-range", "10,0.1"], "lambda range must rise from low to high"),
    (["--dial", "--lam-range", "0,10"], "lambda range must be between 0.0001 and 10000, got 0"),
    (["--dial", "--lam-range", "1"], "expected two comma-separated numbers LOW,HIGH"),
    (["--dial", "--lam-range", "a,b"], "expected two comma-separated numbers"),
    (["--dial", "--lam", "0"], "lambda 0, where a dial's figures are taken, must lie in its range 0.01 to 100"),
    (["--dial", "--film-hidden", "-1"], "FiLM width must be between 0 and"),
])
def test_bad_dial_settings_are_one_line_and_exit_2(tmp_path, capsys, no_data_read, args, message):
    assert main(["train", "--out", str(tmp_path / "m.safetensors"), *args]) == 2
    assert message in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path, lam, message", [
    ("plain", "0.5", "--lam 0.5: this is a plain model of lambda 1, evaluated at its own lambda only"),
    ("dial", "200", "--lam for this dial must be between 0.01 and 100, got 200"),
    ("dial", "0", "--lam for this dial must be between"),
    ("dial", "nan", "--lam for this dial must be between"),
])
def test_eval_at_a_lambda_the_model_does_not_cover_is_one_line_and_exit_2(tmp_path, capsys, no_data_read,
                                                                          small_checkpoint, small_dial, path, lam,
                                                                          message):
    file = ckpt_io.save(tmp_path / f"{path}.safetensors", small_checkpoint if path == "plain" else small_dial)
    assert main(["eval", str(file), "--lam", lam]) == 2
    assert message in one_error_line(capsys)


def test_eval_of_a_plain_model_at_its_own_lambda(capsys):
    assert main(["eval", str(LAM_1), "--lam", "1.0", "--limit", "100", "--iwae-k", "2", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["lam"] == 1.0 and figures["dial"] is False
