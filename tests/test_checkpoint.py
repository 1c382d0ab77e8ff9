"""Checkpoints: exact round trip, atomic writes, and clear errors for bad files."""
import copy
import dataclasses
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import numpy as st_numpy

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


# Crafted files: each fault a file can hold is refused with one CheckpointError naming the file ------

@pytest.fixture(scope="module")
def parts(small_checkpoint):
    """The arrays and metadata of a good checkpoint, to be edited into bad ones."""
    blob = ckpt_io.to_bytes(small_checkpoint)
    arrays = {k: v.copy() for k, v in st_numpy.load(blob).items()}
    return arrays, json.loads(_header_json(blob)["__metadata__"]["explorer"])


def _header_json(blob: bytes) -> dict:
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n])


def _write(path, arrays, info, format=ckpt_io.FORMAT):
    text = info if isinstance(info, str) else json.dumps(info)
    path.write_bytes(st_numpy.save(arrays, metadata={"format": format, "explorer": text}))
    return path


def _refused(path, match, readers=(ckpt_io.read_header, ckpt_io.load)):
    for read in readers:
        with pytest.raises(CheckpointError, match=match) as err:
            read(path)
        assert str(err.value).startswith(f"{path}: ")


def _edit(info, where, value):
    info = copy.deepcopy(info)
    *path, last = where
    target = info
    for key in path:
        target = target[key]
    target[last] = value
    return info


def test_deeply_nested_metadata_is_refused_without_recursion_error(tmp_path, parts):
    arrays, info = parts
    deep = json.dumps(info)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    _refused(_write(tmp_path / "deep.safetensors", arrays, deep), "nested 100001 deep")
    _refused(_write(tmp_path / "deep2.safetensors", arrays, "{" + '"a":{' * 100_000 + "}" * 100_001),
             "nested 100001 deep")
    # brackets inside strings are text, not nesting
    shallow = _edit(info, ["command"], "[" * 100_000 + '\\"{')
    assert ckpt_io.read_header(_write(tmp_path / "s.safetensors", arrays, shallow)).command == "[" * 100_000 + '\\"{'


@pytest.mark.parametrize("where, value, match", [
    (["config", "model", "hidden"], [], "does not fit|hidden must list 1 to 8 layer widths"),
    (["config", "model", "hidden"], [64, 0], "hidden width must be between 1 and 16384, got 0"),
    (["config", "model", "hidden"], [64, "32"], r"config.model.hidden\[1\] must be an integer"),
    (["config", "model", "hidden"], list(range(1, 200)), "does not fit|hidden must list 1 to 8 layer widths"),
    (["config", "model", "image_shape"], [28], "must be a list of 2 values"),
    (["config", "model", "latent_dim"], 3,
     r"tensor model.to_stats.weight is F32 \[4, 32\], the config implies F32 \[6, 32\]"),
    (["config", "model", "dropout"], 1.5, "dropout must be between 0 and 0.99"),
    (["config", "lam"], "1", "config.lam must be a finite number"),
    (["config", "epochs"], 3.0, "config.epochs must be an integer"),
    (["config", "epochs"], 10**400, "config.epochs must be an integer.*an integer of 401 digits"),
    (["config", "epochs"], True, "config.epochs must be an integer"),
    (["config", "epochs"], 0, "epochs must be between 1 and 100000, got 0"),
    (["config", "bf16"], 1, "config.bf16 must be true or false"),
    (["config", "reconstruction"], "l1", "reconstruction must be one of"),
    (["config", "surprise"], 1, "config: unknown field 'surprise'"),
    (["config"], [1, 2], "config must be a JSON object"),
    (["metrics", "neg_elbo"], "x", "metrics.neg_elbo must be a finite number"),
    (["metrics", "iwae_k"], None, "metrics.iwae_k must be an integer"),
    (["history", 1, "elapsed_s"], "12 s", r"history\[1\] must hold finite numbers"),
    (["history", 0, "epoch"], 0, r"history\[0\] must hold finite numbers and an epoch >= 1"),
    (["history", 2], ["epoch", 3], r"history\[2\] must be an object with epoch"),
    (["history"], {"epoch": 1}, "history must be a list"),
    (["command"], 12, "command must be a string"),
    (["dataset"], None, "dataset must be a string"),
])
def test_bad_metadata_fields_are_refused(tmp_path, parts, where, value, match):
    arrays, info = parts
    _refused(_write(tmp_path / "bad.safetensors", arrays, _edit(info, where, value)), match)


def test_non_json_numbers_and_non_objects_are_refused(tmp_path, parts):
    arrays, info = parts
    text = json.dumps(info).replace('"lam": 1.0', '"lam": NaN')
    assert "NaN" in text
    _refused(_write(tmp_path / "nan.safetensors", arrays, text), "NaN is not a number JSON allows")
    text = json.dumps(info).replace('"lam": 1.0', '"lam": 1e400')  # parses as inf
    _refused(_write(tmp_path / "inf.safetensors", arrays, text), "config.lam must be a finite number, got inf")
    _refused(_write(tmp_path / "list.safetensors", arrays, "[1, 2]"), "metadata must be a JSON object")
    _refused(_write(tmp_path / "junk.safetensors", arrays, "{'config'"), "metadata is not valid JSON")
    _refused(_write(tmp_path / "fmt.safetensors", arrays, info, format="x" * 500), r"format 'xxx.*\.\.\.\)$")


def test_huge_hidden_width_is_refused_before_any_model_is_built(tmp_path, parts, monkeypatch):
    arrays, info = parts
    devices = []
    real_vae = ckpt_io.VAE

    def recording_vae(config):
        model = real_vae(config)
        devices.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(ckpt_io, "VAE", recording_vae)
    ckpt_io._network_shapes.cache_clear()
    path = _write(tmp_path / "wide.safetensors", arrays, _edit(info, ["config", "model", "hidden"], [500_000, 32]))
    start = time.process_time()
    _refused(path, r"hidden width must be between 1 and 16384, got 500000")  # the config's own range
    assert time.process_time() - start < 1.0 and not devices  # refused before any model exists
    path = _write(tmp_path / "wide2.safetensors", arrays, _edit(info, ["config", "model", "hidden"], [16_000, 32]))
    start = time.process_time()
    _refused(path, r"tensor model.(encoder|decoder).*the config implies F32 \[.*16000")
    assert time.process_time() - start < 1.0  # CPU time: building that model for real takes a while
    assert devices and set(devices) == {"meta"}  # shapes came from a VAE that holds no memory


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.update(test_logvar=a["test_logvar"][:-1]),
     r"tensor test_logvar is F32 \[999, 2\], the config implies F32 \[1000, 2\]"),
    (lambda a: a.update(train_mu=a["train_mu"][:0], train_labels=a["train_labels"][:0]), "0 training points"),
    (lambda a: a.update({k: a[k][:0] for k in a if k.startswith("test_")}), "0 test"),
    (lambda a: a.update(test_labels=a["test_labels"].astype(np.int64)), "tensor test_labels is I64"),
    (lambda a: a.update(test_mu=a["test_mu"][:, :1]), r"test_mu is F32 \[1000, 1\]"),
    (lambda a: a.pop("test_kl"), "tensor test_kl is missing"),
    (lambda a: a.update(extra=np.zeros(3, np.float32)), "unexpected tensor 'extra'"),
    (lambda a: a.update({"model.to_stats.bias": np.zeros(3, np.float32)}), r"model.to_stats.bias is F32 \[3\]"),
])
def test_bad_tensor_shapes_are_refused_from_the_header(tmp_path, parts, edit, match):
    arrays, info = parts
    arrays = dict(arrays)
    edit(arrays)
    _refused(_write(tmp_path / "bad.safetensors", arrays, info), match)


@pytest.mark.parametrize("key, value, match", [
    ("test_mu", np.nan, "tensor test_mu holds 1 NaN or infinite values"),
    ("train_mu", np.inf, "tensor train_mu holds 1 NaN"),
    ("test_log_px", -np.inf, "tensor test_log_px holds 1 NaN"),
    ("model.decoder.1.bias", np.nan, "tensor model.decoder.1.bias holds 1 NaN"),
    ("test_logvar", 50.0, "test_logvar outside the encoder's range"),
    ("test_labels", 10, "test_labels holds label 10, outside the 10 classes"),
    ("train_labels", 200, "train_labels holds label 200"),
])
def test_bad_values_are_refused_on_load(tmp_path, parts, key, value, match):
    arrays, info = parts
    arrays = dict(arrays)
    arrays[key] = arrays[key].copy()
    arrays[key].flat[7] = value
    path = _write(tmp_path / "bad.safetensors", arrays, info)
    ckpt_io.read_header(path)  # the header is sound: values are checked where they are read
    _refused(path, match, readers=(ckpt_io.load,))


def test_named_pipe_directory_and_device_do_not_block(tmp_path):
    fifo = tmp_path / "p.safetensors"
    os.mkfifo(fifo)
    errors = []

    def read_all():
        for path in (fifo, tmp_path, Path("/dev/zero")):
            for read in (ckpt_io.read_header, ckpt_io.load):
                try:
                    read(path)
                except CheckpointError as e:
                    errors.append(str(e))

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "a reader blocked"
    assert errors == [f"{fifo}: not a regular file (a named pipe)"] * 2 + \
        [f"{tmp_path}: not a regular file (a directory)"] * 2 + \
        ["/dev/zero: not a regular file (a character device)"] * 2


def test_oversized_header_is_refused_before_parsing(tmp_path, parts):
    arrays, info = parts
    path = _write(tmp_path / "big.safetensors", arrays, _edit(info, ["command"], "x" * ckpt_io.MAX_HEADER_BYTES))
    _refused(path, "over the 4194304-byte limit")
    path.write_bytes((2**64 - 1).to_bytes(8, "little") + b"{}")
    _refused(path, "over the 4194304-byte limit")


def test_save_refuses_what_it_could_not_read_back(tmp_path, small_checkpoint):
    long_run = dataclasses.replace(small_checkpoint, history=small_checkpoint.history * 20_000)
    with pytest.raises(CheckpointError, match="not saved: header over 4194304 bytes"):
        ckpt_io.save(tmp_path / "m.safetensors", long_run)
    assert list(tmp_path.iterdir()) == []



def test_save_refuses_a_diverged_model(tmp_path, small_checkpoint):
    model = copy.deepcopy(small_checkpoint.model)
    with torch.no_grad():
        model.decoder[-1].bias[3] = float("nan")
    with pytest.raises(CheckpointError, match="not saved: tensor model.decoder.1.bias holds 1 NaN"):
        ckpt_io.save(tmp_path / "m.safetensors", dataclasses.replace(small_checkpoint, model=model))
    assert list(tmp_path.iterdir()) == []


# A dial's checkpoint: its grid and test curve beside what every checkpoint holds ---------------

def test_a_dial_round_trips_with_its_grid_and_curve(tmp_path, small_dial, mnist_test):
    from explorer.dial import GRID_START, encode_at, mu_step
    from explorer.evaluate import evaluate_images
    from explorer.train import images_to_tensor
    path = ckpt_io.save(tmp_path / "dial.safetensors", small_dial)
    back = ckpt_io.load(path)
    assert back.config == small_dial.config and back.config.dial and back.lam == 1.0
    d, original = back.dial, small_dial.dial
    for name in ("lams", "curve_lams", "curve_recon", "curve_kl"):
        np.testing.assert_array_equal(getattr(d, name), getattr(original, name))
    for name in ("mu", "logvar"):
        for part in ("first", "steps", "scales"):
            np.testing.assert_array_equal(getattr(getattr(d, name), part), getattr(getattr(original, name), part))
    assert d.mu.steps.dtype == d.logvar.steps.dtype == np.int8 and d.lams.dtype == np.float32
    mu, logvar = d.mu.decode(), d.logvar.decode()
    n = len(back.embedding.test_mu)
    assert mu.shape == logvar.shape == (len(d.lams), n, 2) and len(d.lams) >= GRID_START
    assert d.lams[0] == pytest.approx(0.01) and d.lams[-1] == pytest.approx(100.0) and np.all(np.diff(d.lams) > 0)
    # the grid holds the model's own codes at each of its lambdas, fine enough everywhere
    x = images_to_tensor(mnist_test.images[3000:4000])
    rows = [0, len(d.lams) // 2, len(d.lams) - 1]
    true_mu, true_logvar = encode_at(back.model, x, d.lams[rows])
    np.testing.assert_allclose(mu[rows], true_mu, atol=float(d.mu.scales.max()) / 2 + 1e-5)
    np.testing.assert_allclose(logvar[rows], true_logvar, atol=float(d.logvar.scales.max()) / 2 + 1e-5)
    steps = [mu_step(a, b) for a, b in zip(mu, mu[1:])]
    assert max(steps) <= 0.04 + 2e-3 or len(d.lams) == 512
    # the embedding and the figures are the dial's at lambda = 1, and so is the curve's point there
    at_one = evaluate_images(back.model, x, iwae_k=10, lam=1.0)
    np.testing.assert_allclose(back.embedding.test_mu, at_one.mu, atol=1e-5)
    assert back.metrics.kl == pytest.approx(float(at_one.kl.mean()), rel=1e-5)
    (one,) = np.flatnonzero(np.isclose(d.curve_lams, 1.0))
    assert (d.curve_recon[one], d.curve_kl[one]) == pytest.approx((back.metrics.recon, back.metrics.kl), rel=1e-5)
    assert len(d.curve_lams) == 65 and d.curve_kl[0] > d.curve_kl[-1]


def test_a_plain_checkpoint_has_no_dial_and_one_cannot_be_half_a_dial(tmp_path, small_checkpoint, small_dial):
    assert ckpt_io.load(ckpt_io.save(tmp_path / "m.safetensors", small_checkpoint)).dial is None
    with pytest.raises(CheckpointError, match="not saved: a dial's config .* go together"):
        ckpt_io.to_bytes(dataclasses.replace(small_dial, dial=None))
    with pytest.raises(CheckpointError, match="not saved: a dial's config"):
        ckpt_io.to_bytes(dataclasses.replace(small_checkpoint, dial=small_dial.dial))


def test_files_from_before_dials_load_as_plain_models(tmp_path, parts):
    """A header written before the fields existed (no film_hidden, no lam_range) is a plain model."""
    arrays, info = parts
    old = copy.deepcopy(info)
    del old["config"]["model"]["film_hidden"], old["config"]["lam_range"]
    back = ckpt_io.load(_write(tmp_path / "old.safetensors", arrays, old))
    assert back.config.model.film_hidden == 0 and not back.config.dial and back.dial is None


@pytest.fixture(scope="module")
def dial_parts(small_dial):
    blob = ckpt_io.to_bytes(small_dial)
    arrays = {k: v.copy() for k, v in st_numpy.load(blob).items()}
    return arrays, json.loads(_header_json(blob)["__metadata__"]["explorer"])


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.pop("dial_mu_steps"), "tensor dial_mu_steps is missing"),
    (lambda a: a.update(dial_mu_steps=a["dial_mu_steps"].astype(np.float32)),
     r"tensor dial_mu_steps is F32 \[.*the config implies I8"),
    (lambda a: a.update(dial_logvar_steps=a["dial_logvar_steps"][:-1]),
     r"tensor dial_logvar_steps is I8 \[\d+, 1000, 2\], the config implies I8"),
    (lambda a: a.update(dial_mu_first=a["dial_mu_first"][:-1]), r"tensor dial_mu_first is F32 \[999, 2\]"),
    (lambda a: a.update(dial_mu_scales=a["dial_mu_scales"][:, :1]), r"tensor dial_mu_scales is F32 \[\d+, 1\]"),
    (lambda a: a.update(dial_curve_kl=a["dial_curve_kl"][:3]),
     r"tensor dial_curve_kl is F32 \[3\], the config implies F32 \[65\]"),
    (lambda a: a.update(dial_lams=a["dial_lams"][:1], dial_mu_steps=a["dial_mu_steps"][:0],
                        dial_logvar_steps=a["dial_logvar_steps"][:0], dial_mu_scales=a["dial_mu_scales"][:0],
                        dial_logvar_scales=a["dial_logvar_scales"][:0]), "a dial's grid of 1 and curve of 65"),
])
def test_bad_dial_shapes_are_refused_from_the_header(tmp_path, dial_parts, edit, match):
    arrays, info = dial_parts
    arrays = dict(arrays)
    edit(arrays)
    _refused(_write(tmp_path / "bad.safetensors", arrays, info), match)


def test_dial_tensors_in_a_plain_model_are_refused(tmp_path, parts, dial_parts):
    arrays, info = parts
    _refused(_write(tmp_path / "bad.safetensors", {**arrays, "dial_lams": dial_parts[0]["dial_lams"]}, info),
             "unexpected tensor 'dial_lams'")
    _refused(_write(tmp_path / "bad2.safetensors", arrays, _edit(info, ["config", "lam_range"], [0.01, 100])),
             "needs a lambda-conditioned model")


@pytest.mark.parametrize("key, index, value, match", [
    ("dial_mu_first", 7, np.inf, "tensor dial_mu_first holds 1 NaN or infinite values"),
    ("dial_mu_scales", 3, np.nan, "tensor dial_mu_scales holds 1 NaN"),
    ("dial_logvar_first", 7, 40.0, "dial_logvar outside the encoder's range"),
    ("dial_logvar_scales", 0, 1.0, "dial_logvar outside the encoder's range"),  # 127 steps of 1 take some off it
    ("dial_mu_scales", 0, -1.0, "a dial's step scales must be >= 0"),
    ("dial_curve_recon", 3, np.nan, "tensor dial_curve_recon holds 1 NaN"),
    ("dial_lams", 5, 1e-5, "dial_lams must rise strictly within the dial's range 0.01 to 100"),
    ("dial_lams", -1, 150.0, "dial_lams must rise strictly within"),
    ("dial_curve_lams", 0, 0.001, "dial_curve_lams must rise strictly within"),
])
def test_bad_dial_values_are_refused_on_load(tmp_path, dial_parts, key, index, value, match):
    arrays, info = dial_parts
    arrays = dict(arrays)
    arrays[key] = arrays[key].copy()
    arrays[key].flat[index] = value
    path = _write(tmp_path / "bad.safetensors", arrays, info)
    ckpt_io.read_header(path)
    _refused(path, match, readers=(ckpt_io.load,))
