"""The digit classifier that judges decodes: it learns, its rule, its file (validated like a
checkpoint), its CLI, and the shipped one's accuracy."""
import dataclasses
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save as np_save

from explorer import classifier, files
from explorer.classifier import CONFIDENT, ClassifierError, CnnConfig, TrainSettings
from explorer.cli import main
from explorer.data import Split

ROOT = Path(__file__).resolve().parent.parent
TINY = CnnConfig(channels=(4, 8), hidden=16)
TINY_SETTINGS = TrainSettings(epochs=2, batch_size=64, lr=1e-2, seed=3, threads=1)


@pytest.fixture(scope="module", autouse=True)
def _threads():
    """Training with threads=1 sets torch's thread count for the process: set it back after."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(mnist_test):
    """A tiny classifier trained for a few seconds on 3,000 test images and scored on 1,000 others."""
    train_split = Split(mnist_test.images[:3000], mnist_test.labels[:3000])
    test_split = Split(mnist_test.images[3000:4000], mnist_test.labels[3000:4000])
    return classifier.fit(train_split, test_split, TINY_SETTINGS, TINY, command="pytest")


def test_the_default_network_is_small_enough_for_the_browser():
    config = CnnConfig()
    assert (config.channels, config.hidden, config.pooled_shape, config.flat) == ((16, 32), 64, (7, 7), 1568)
    # conv1 28*28*16*9 + conv2 14*14*32*16*9 + fc1 1568*64 + fc2 64*10, counted by hand
    assert config.multiply_adds == 112_896 + 903_168 + 100_352 + 640
    assert sum(p.numel() for p in classifier.DigitCNN(config).parameters()) == 160 + 4640 + 100_416 + 650


def test_a_tiny_classifier_learns_and_is_deterministic(tiny, mnist_test):
    assert tiny.record.test_accuracy > 0.6 and tiny.record.test_images == 1000  # chance is 0.1
    again = classifier.train(mnist_test.images[:3000], mnist_test.labels[:3000], TINY_SETTINGS, TINY)
    for a, b in zip(tiny.model.parameters(), again.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    probs = tiny.probabilities(mnist_test.images[:50] / 255)
    assert probs.shape == (50, 10) and np.allclose(probs.sum(1), 1)
    np.testing.assert_allclose(tiny.probabilities(mnist_test.images[:50].reshape(50, -1) / 255), probs)


def test_the_rule_recognises_a_digit_only_at_the_confidence_threshold():
    probs = np.array([[0.9] + [0.1 / 9] * 9, [0.0] * 3 + [0.95] + [0.05 / 6] * 6, [0.8999] + [0.1001 / 9] * 9,
                      [0.1] * 10])
    assert CONFIDENT == 0.9
    assert classifier.verdicts(probs).tolist() == [0, 3, -1, -1]


def test_shifted_moves_each_image_by_a_whole_offset_within_the_bound():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((200, 1, 9, 7)).astype(np.float32))
    out = classifier.shifted(x, 2, torch.Generator().manual_seed(1)).numpy()
    assert out.shape == x.shape
    seen = set()
    for image, moved in zip(x.numpy()[:, 0], out[:, 0]):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(moved, _moved(image, dy, dx))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 25  # every offset turns up
    assert classifier.shifted(x, 0, torch.Generator()) is x


def _moved(image, dy, dx):
    """The image's content moved down by dy and right by dx, zeros shifted in (the independent oracle)."""
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = image[max(-dy, 0): h + min(-dy, 0),
                                                                        max(-dx, 0): w + min(-dx, 0)]
    return out


def test_save_and_load_give_the_same_judge(tmp_path, tiny, mnist_test):
    back = classifier.load(classifier.save(tmp_path / "c.safetensors", tiny))
    assert back.record == tiny.record
    images = mnist_test.images[:100] / 255
    np.testing.assert_array_equal(back.probabilities(images), tiny.probabilities(images))


def _parts(tiny):
    arrays = {k: v.detach().numpy().copy() for k, v in tiny.model.state_dict().items()}
    return arrays, {"format": classifier.FORMAT, "explorer": json.dumps(tiny.record.to_dict())}


@pytest.mark.parametrize("edit, match", [
    (lambda a, m: m.update(format="vae-latent-explorer/1"), "not a VAE Latent Explorer classifier"),
    (lambda a, m: m.pop("explorer"), "no 'explorer' metadata"),
    (lambda a, m: m.update(explorer="{"), "metadata is not valid JSON"),
    (lambda a, m: m.update(explorer="[" * 100 + "]" * 100), "nested 100 deep"),
    (lambda a, m: m.update(explorer=json.dumps({**json.loads(m["explorer"]), "test_accuracy": 1.5})),
     "test accuracy must be between 0 and 1"),
    (lambda a, m: m.update(explorer=json.dumps({**json.loads(m["explorer"]), "test_accuracy": "0.99"})),
     "metadata.test_accuracy must be a finite number"),
    (lambda a, m: m.update(explorer=json.dumps({**json.loads(m["explorer"]), "extra": 1})), "unknown field 'extra'"),
    (lambda a, m: m.update(explorer=json.dumps({**json.loads(m["explorer"]),
                                                "architecture": {**TINY.to_dict(), "channels": [4, 0]}})),
     "channels must be between 1 and 256"),
    (lambda a, m: m.update(explorer=json.dumps({**json.loads(m["explorer"]),
                                                "architecture": {**TINY.to_dict(), "channels": [256, 256]}})),
     "multiply-adds per image; at most"),
    (lambda a, m: a.pop("fc2.bias"), "tensor fc2.bias is missing"),
    (lambda a, m: a.update(extra=np.zeros(3, np.float32)), "unexpected tensor 'extra'"),
    (lambda a, m: a.update({"fc1.weight": np.zeros((16, 99), np.float32)}),
     r"tensor fc1.weight is F32 \[16, 99\], the architecture implies F32 \[16, 392\]"),
    (lambda a, m: a.update({"fc2.bias": np.zeros(10, np.float64)}), "tensor fc2.bias is F64"),
    (lambda a, m: a["conv1.weight"].flat.__setitem__(5, np.nan), "tensor conv1.weight holds 1 NaN or infinite"),
])
def test_a_bad_file_is_refused_with_one_error_naming_it(tmp_path, tiny, edit, match):
    arrays, meta = _parts(tiny)
    edit(arrays, meta)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(np_save(arrays, metadata=meta))
    with pytest.raises(ClassifierError, match=match) as info:
        classifier.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_shapes_are_refused_before_any_tensor_is_read(tmp_path, tiny, monkeypatch):
    arrays, meta = _parts(tiny)
    arrays["fc1.weight"] = np.zeros((16, 99), np.float32)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(np_save(arrays, metadata=meta))
    import safetensors
    original = safetensors.safe_open

    class Guard:
        def __init__(self, *args, **kwargs):
            self.inner = original(*args, **kwargs)

        def __enter__(self):
            handle = self.inner.__enter__()

            class Handle:
                def __getattr__(self, name):
                    if name == "get_tensor":
                        pytest.fail("a tensor was read before the shapes were checked")
                    return getattr(handle, name)
            return Handle()

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    monkeypatch.setattr(files, "safe_open", Guard)  # the reader explorer.classifier opens files with
    with pytest.raises(ClassifierError, match="fc1.weight is F32"):
        classifier.load(path)


def test_truncated_huge_header_missing_and_non_regular_files_are_refused(tmp_path, tiny):
    good = classifier.to_bytes(tiny)
    cases = {"truncated.safetensors": good[: len(good) // 2],
             "huge.safetensors": struct.pack("<Q", classifier.MAX_HEADER_BYTES + 1) + b"{}",
             "garbage.safetensors": b"\x00" * 50}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
    with pytest.raises(ClassifierError, match="not a readable classifier file"):
        classifier.load(tmp_path / "truncated.safetensors")
    with pytest.raises(ClassifierError, match="over the 1048576-byte limit"):
        classifier.load(tmp_path / "huge.safetensors")
    with pytest.raises(ClassifierError, match="not a readable classifier file"):
        classifier.load(tmp_path / "garbage.safetensors")
    with pytest.raises(ClassifierError, match="file not found"):
        classifier.load(tmp_path / "none.safetensors")
    with pytest.raises(ClassifierError, match="not a regular file"):
        classifier.load(tmp_path)


def test_a_diverged_classifier_is_not_saved(tmp_path, tiny):
    broken = classifier.DigitCNN(TINY)
    with torch.no_grad():
        broken.fc2.bias[0] = float("nan")
    with pytest.raises(ClassifierError, match="NaN"):
        classifier.save(tmp_path / "c.safetensors", dataclasses.replace(tiny, model=broken))
    assert list(tmp_path.iterdir()) == []


def test_the_cli_trains_and_evaluates_a_classifier(tmp_path, capsys):
    from test_cli import _small_dataset, one_error_line
    data, out = _small_dataset(tmp_path), tmp_path / "c.safetensors"
    assert main(["classifier", "train", "--epochs", "1", "--data", str(data), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "epoch 1/1: training loss" in captured.err and captured.out.startswith(f"saved {out}: test accuracy")
    record = classifier.load(out).record
    assert record.command == f"python -m explorer classifier train --epochs 1 --data {data} --out {out}"
    assert record.settings.epochs == 1 and record.test_images == 200
    assert main(["classifier", "eval", str(out), "--data", str(data), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["test_accuracy"] == pytest.approx(record.test_accuracy) and figures["n_images"] == 200
    assert figures["confident"] == CONFIDENT and 0 <= figures["recognised_share"] <= 1
    assert main(["classifier", "train", "--epochs", "1", "--data", str(data), "--out", str(out)]) == 2
    assert one_error_line(capsys) == f"error: --out {out} exists; add --force to overwrite it"
    assert main(["classifier", "eval", str(ROOT / "pretrained" / "lam-1.safetensors")]) == 2
    assert "not a VAE Latent Explorer classifier" in one_error_line(capsys)
    assert main(["classifier", "train", "--epochs", "0", "--out", str(tmp_path / "d.safetensors")]) == 2
    assert one_error_line(capsys) == "error: epochs must be between 1 and 1000, got 0"


def test_the_shipped_classifier_is_small_and_reaches_99_percent_on_the_test_set(mnist_test):
    judge = classifier.load(classifier.SHIPPED)
    assert judge.record.architecture == CnnConfig() and judge.record.test_images == len(mnist_test) == 10_000
    assert sum(p.numel() for p in judge.model.parameters()) < 150_000
    command = judge.record.command
    assert command.startswith("python -m explorer classifier train") and "--threads 1" in command
    measured = classifier.accuracy(judge.model, mnist_test.images, mnist_test.labels)
    assert measured == pytest.approx(judge.record.test_accuracy, abs=1e-4) and measured >= 0.99
