"""The training loop: it learns, it is deterministic, it reports progress and can be cancelled."""
import dataclasses
import json
import threading

import numpy as np
import pytest
import torch
from conftest import SMALL

from explorer.config import TrainConfig
from explorer.device import DeviceError, resolve_device
from explorer.evaluate import evaluate
from explorer.model import ModelConfig, vae_loss
from explorer.train import Cancelled, EpochStats, embed, images_to_tensor, train


def test_short_run_lowers_the_loss(small_subset):
    config = TrainConfig(epochs=4, batch_size=128, model=SMALL)
    model, history = train(config, small_subset)
    losses = [h.loss for h in history]
    assert losses[-1] < losses[0] - 20, losses
    assert not model.training


def test_lambda_zero_trains_without_nans(small_subset):
    model, history = train(TrainConfig(lam=0, epochs=3, batch_size=128, model=SMALL), small_subset)
    assert all(np.isfinite([h.loss, h.kl]).all() for h in history)
    m = evaluate(model, images_to_tensor(small_subset[:200]), iwae_k=5)
    assert np.isfinite([m.neg_elbo, m.log_px_iwae]).all()


@pytest.mark.parametrize("recon, k", [("mse", 1), ("bce", 3)])
def test_other_costs_and_sample_counts_train(small_subset, recon, k):
    _, history = train(TrainConfig(epochs=2, batch_size=256, reconstruction=recon, k=k, model=SMALL), small_subset)
    assert history[-1].loss < history[0].loss


def test_same_seed_same_model(small_subset):
    config = TrainConfig(epochs=1, batch_size=256, model=SMALL, seed=7)
    a, _ = train(config, small_subset[:1000])
    b, _ = train(config, small_subset[:1000])
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def test_progress_reports_and_snapshot(small_subset):
    reports = []
    config = TrainConfig(epochs=2, batch_size=500, model=SMALL)
    train(config, small_subset, small_subset[:300], on_progress=reports.append, report_every_s=0)
    assert [r.step for r in reports] == list(range(1, 9))
    assert reports[-1].fraction == 1 and reports[-1].epoch == 2
    assert all(r.snapshot.shape == (300, 2) for r in reports)
    assert not np.allclose(reports[0].snapshot, reports[-1].snapshot)  # the embedding moves as it learns
    assert all(r.recon + r.kl == pytest.approx(r.loss, rel=1e-5) for r in reports)


@pytest.mark.parametrize("resident", [False, True], ids=["cpu-loop", "device-loop"])
def test_cancel_stops_training(small_subset, resident):
    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p.step)
        cancel.set()

    with pytest.raises(Cancelled):
        train(TrainConfig(epochs=50, batch_size=100, model=SMALL), small_subset,
              on_progress=on_progress, cancel=cancel, report_every_s=0, resident=resident)
    assert seen == [1]


def test_warm_start_copies_and_never_mutates_init(small_subset):
    config = TrainConfig(epochs=1, batch_size=256, model=SMALL)
    init, _ = train(config, small_subset[:500])
    before = {k: v.clone() for k, v in init.state_dict().items()}
    train(config, small_subset[:500], init=init)
    for k, v in init.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_warm_start_across_dropout_rates(small_subset):
    with_dropout = TrainConfig(epochs=1, batch_size=256, model=dataclasses.replace(SMALL, dropout=0.2))
    init, _ = train(with_dropout, small_subset[:500])
    model, _ = train(TrainConfig(epochs=1, batch_size=256, model=SMALL), small_subset[:500], init=init)
    assert model.state_dict().keys() == init.state_dict().keys()


@pytest.mark.parametrize("field, value, message", [
    ("lam", -0.1, "lambda must be between 0 and"), ("lam", float("nan"), "lambda must be"),
    ("lam", 1e308, "lambda must be between"), ("lam", "1", "lambda must be a number, got str"),
    ("lam", True, "lambda must be a number"), ("epochs", 0, "epochs must be"),
    ("epochs", 2.5, "epochs must be a whole number, got float"), ("batch_size", 0, "batch size"),
    ("lr", 0, "learning rate"), ("lr", 1e30, "learning rate must be between"), ("seed", -1, "seed must be"),
    ("reconstruction", "l2", "reconstruction must be one of bce, mse"), ("reconstruction", None, "reconstruction must"),
    ("k", 0, "samples per image"), ("k", 10**400, "samples per image K must be between"),
    pytest.param("epochs", 10**5000, "epochs must be between 1 and 100000, got an integer of 5,001 digits",
                 id="epochs-of-5001-digits"),
    ("encoder_noise", -0.1, "encoder noise"), ("encoder_noise", float("inf"), "encoder noise"),
    ("threads", -1, "threads must be"), ("bf16", "yes", "bf16 must be true or false"),
    ("binarize", 1, "binarize must be true or false"),
    ("device", "tpu", "device must be one of auto, cpu, cuda, mps"),
    ("model", ModelConfig(dropout=1.0), "dropout must be between"),
    ("model", ModelConfig(hidden=()), "hidden must list 1 to 8"),
    ("model", ModelConfig(hidden=(1_000_000_000,)), "hidden width must be between 1 and 16384"),
    ("model", ModelConfig(hidden=(16384, 16384, 16384)), "parameters; at most 50,000,000"),
    ("model", ModelConfig(hidden=(64, "32")), "hidden width must be a whole number"),
    ("model", ModelConfig(latent_dim=0), "latent dimensions must be between"),
    ("model", ModelConfig(image_shape=(28,)), "image shape must be"),
])
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_config_refuses_a_step_too_large_to_allocate():
    with pytest.raises(ValueError, match="K x batch size must be at most"):
        TrainConfig(k=1024, batch_size=4096)


def test_config_normalises_numbers_of_other_types():
    config = TrainConfig(lam=np.float32(0.5), epochs=np.int64(3), lr=1, model=ModelConfig(hidden=(np.int64(8),)))
    assert (type(config.lam), type(config.epochs), type(config.lr)) == (float, int, float)
    assert config.model.hidden == (8,) and type(config.model.hidden[0]) is int
    assert config == TrainConfig(lam=0.5, epochs=3, lr=1.0, model=ModelConfig(hidden=(8,)))


def test_config_identity_ignores_threads_compile_device_and_float_noise_only():
    base = TrainConfig(lam=0.3)
    for same in (dict(threads=4), dict(compile=True), dict(device="cpu"), dict(device="cuda"), dict(lam=0.1 * 3)):
        assert dataclasses.replace(base, **same).key == base.key, same
    for change in (dict(lam=0.31), dict(epochs=99), dict(seed=1), dict(k=2), dict(reconstruction="mse"),
                   dict(bf16=False), dict(lr=1e-3), dict(batch_size=512), dict(encoder_noise=0.0), dict(binarize=True),
                   dict(model=ModelConfig(dropout=0.1)), dict(model=ModelConfig(hidden=(64,)))):
        assert dataclasses.replace(base, **change).key != base.key, change


def test_history_rows_round_trip_and_refuse_what_is_not_one():
    row = EpochStats(3, 120.5, 7.25, 127.75, 9.5)
    assert EpochStats.from_dict(row.to_dict()) == row
    for bad in ({**row.to_dict(), "loss": "x"}, {**row.to_dict(), "epoch": 0}, {"epoch": 1}, [1, 2, 3, 4, 5],
                {**row.to_dict(), "extra": 1}):
        with pytest.raises(ValueError, match="history"):
            EpochStats.from_dict(bad)


def test_configs_saved_before_encoder_noise_compile_device_and_binarize_read_as_without_them():
    saved = TrainConfig(compile=True).to_dict()
    del saved["encoder_noise"], saved["compile"], saved["device"], saved["binarize"]
    assert TrainConfig.from_dict(saved).binarize is False  # trained on grey-scale images
    assert TrainConfig.from_dict(saved).encoder_noise == 0.0
    assert TrainConfig.from_dict(saved).compile is False
    assert TrainConfig.from_dict(saved).device == "cpu"  # trained before there was a choice
    with pytest.raises(ValueError, match="must be an object"):
        TrainConfig.from_dict([1])
    assert TrainConfig.from_dict(TrainConfig(encoder_noise=0.3).to_dict()).encoder_noise == 0.3


def test_encoder_noise_changes_training_but_stays_deterministic(small_subset):
    clean = TrainConfig(epochs=1, batch_size=256, model=SMALL, encoder_noise=0.0)
    noisy = dataclasses.replace(clean, encoder_noise=0.3)
    a, b, c = (train(cfg, small_subset[:1000])[0] for cfg in (clean, noisy, noisy))
    assert not torch.equal(a.encoder[0].weight, b.encoder[0].weight)
    assert torch.equal(b.encoder[0].weight, c.encoder[0].weight)


def test_compiled_training_matches_eager(small_subset):
    """torch.compile changes the kernels, not the maths: in fp32 the two loops agree after an epoch
    of full batches and a ragged last one (which runs eagerly, so it never compiles again)."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    eager = TrainConfig(epochs=1, batch_size=256, model=SMALL, bf16=False)
    compiled = dataclasses.replace(eager, compile=True)
    a, history_a = train(eager, small_subset[:1000])  # 3 full batches and one of 232
    b, history_b = train(compiled, small_subset[:1000])
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1  # it did compile, once
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    assert history_a[0].loss == pytest.approx(history_b[0].loss, rel=1e-5)


def test_a_missing_device_is_refused_and_auto_takes_what_is_there():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="device cuda is not available here"):
            resolve_device("cuda")
        with pytest.raises(DeviceError):
            train(TrainConfig(epochs=1, model=SMALL, device="cuda"), np.zeros((10, 28, 28), np.uint8))


# The device loop (explorer.device.ResidentLoop), run on the CPU: the same code a GPU captures.

def test_the_device_loop_learns_in_batches_of_one_shape(small_subset):
    reports = []
    config = TrainConfig(epochs=4, batch_size=128, model=SMALL)
    model, history = train(config, small_subset[:1000], small_subset[:300], on_progress=reports.append,
                           report_every_s=0, resident=True)
    assert [h.epoch for h in history] == [1, 2, 3, 4]
    assert history[-1].loss < history[0].loss - 20, history
    assert [r.step for r in reports] == list(range(1, 29))  # 1000 // 128 = 7 full batches an epoch
    assert reports[-1].fraction == 1 and reports[-1].snapshot.shape == (300, 2)
    assert all(r.recon + r.kl == pytest.approx(r.loss, rel=1e-5) for r in reports)
    assert not model.training


def test_the_device_loop_is_deterministic_and_follows_the_cosine_schedule(small_subset, monkeypatch):
    from explorer import device
    loops = []
    monkeypatch.setattr(device.ResidentLoop, "__init__", _recording(device.ResidentLoop.__init__, loops))
    config = TrainConfig(epochs=3, batch_size=256, model=SMALL, seed=3)
    a, history_a = train(config, small_subset[:1000], resident=True)
    b, history_b = train(config, small_subset[:1000], resident=True)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    assert [h.loss for h in history_a] == [h.loss for h in history_b]
    loop = loops[0]
    assert loop.steps == 9 and int(loop.step) == 9
    # the last step ran at the learning rate of step 8 of 9 on the cosine to 0, as the CPU's scheduler sets it
    assert float(loop.lr) == pytest.approx(config.lr * 0.5 * (1 + np.cos(np.pi * 8 / 9)), rel=1e-5)


def _recording(init, loops):
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        loops.append(self)
    return wrapped


def test_the_device_loop_warm_starts_and_never_mutates_init(small_subset):
    config = TrainConfig(epochs=1, batch_size=64, model=SMALL)
    init, _ = train(dataclasses.replace(config, epochs=4), small_subset[:500], resident=True)
    before = {k: v.clone() for k, v in init.state_dict().items()}
    _, warm = train(config, small_subset[:500], init=init, resident=True)
    _, cold = train(config, small_subset[:500], resident=True)
    assert warm[0].loss < cold[0].loss - 20
    for k, v in init.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


# A dial: one network for a range of lambdas, a fresh lambda per image (explorer.dial).

DIAL_MODEL = dataclasses.replace(SMALL, film_hidden=16)


def dial_config(**changes) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "batch_size": 256, "model": DIAL_MODEL, "lam_range": (0.01, 100.0),
                          **changes})


@pytest.mark.parametrize("changes, message", [
    (dict(lam_range=(0.01,)), "lambda range must be two numbers"),
    (dict(lam_range="0.01,100"), "lambda range must be two numbers"),
    (dict(lam_range=(0.0, 100.0)), "lambda range must be between"),
    (dict(lam_range=(0.01, float("inf"))), "lambda range must be between"),
    (dict(lam_range=(0.01, "100")), "lambda range must be a number, got str"),
    (dict(lam_range=(10.0, 1.0)), "lambda range must rise from low to high"),
    (dict(lam_range=(1.0, 1.0)), "lambda range must rise"),
    (dict(lam=5.0, lam_range=(0.01, 2.0)), "lambda 5, where a dial's figures are taken, must lie in its range"),
    (dict(model=SMALL), "a dial .* needs a lambda-conditioned model"),
    (dict(lam_range=None), "trains only as a dial: give it a lambda range"),
    (dict(model=dataclasses.replace(SMALL, film_hidden=-1)), "FiLM width must be between 0 and"),
])
def test_config_rejects_bad_dials(changes, message):
    with pytest.raises(ValueError, match=message):
        dial_config(**changes)


def test_a_dial_is_its_own_model_and_a_plain_models_key_is_unchanged():
    plain = TrainConfig(epochs=2, batch_size=256, model=SMALL)
    dial = dial_config()
    assert dial.dial and not plain.dial and dial.model_lam == 1.0 and plain.model_lam is None
    assert dial.key != plain.key
    assert dataclasses.replace(dial, lam_range=(0.01, 10.0)).key != dial.key
    assert dataclasses.replace(dial, model=dataclasses.replace(DIAL_MODEL, film_hidden=8)).key != dial.key
    assert "lam_range" not in plain.key and "film_hidden" not in plain.key  # keys (file names) from before dials
    assert TrainConfig.from_dict(json.loads(json.dumps(dial.to_dict()))) == dial  # the range comes back as a tuple


def test_a_tiny_dial_learns_and_its_kl_falls_as_lambda_rises(small_subset):
    model, history = train(dial_config(epochs=6, batch_size=128, encoder_noise=0.0), small_subset)
    assert history[-1].loss < history[0].loss - 20
    x = images_to_tensor(small_subset[:500])
    kls = [evaluate(model, x, iwae_k=1, lam=lam).kl for lam in (0.01, 0.1, 1.0, 10.0, 100.0)]
    assert all(a > b for a, b in zip(kls, kls[1:])), kls
    assert kls[0] > 4 * kls[-1], kls


@pytest.mark.parametrize("resident", [False, True], ids=["cpu-loop", "device-loop"])
def test_both_loops_train_a_dial_with_one_lambda_per_image(small_subset, resident, monkeypatch):
    from explorer import device
    from explorer import train as train_module
    seen = []

    def recording(model, x, lam, *args, **kwargs):
        seen.append(lam)
        return vae_loss(model, x, lam, *args, **kwargs)

    monkeypatch.setattr(device if resident else train_module, "vae_loss", recording)
    config = dial_config(lam_range=(0.05, 20.0))
    model, history = train(config, small_subset[:1000], resident=resident)
    assert len(history) == 2 and all(np.isfinite(h.loss) for h in history)
    lams = torch.cat(seen).log()  # fresh draws each step, log-uniform over the range
    # one per image: the CPU's 4 steps an epoch (3 of 256, one of 232), the device loop's 3 of 256
    assert (len(seen), len(lams)) == ((6, 1536) if resident else (8, 2000))
    assert lams.min() >= np.log(0.05) and lams.max() <= np.log(20.0)
    assert abs(float(lams.mean()) - np.log(1.0)) < 0.3 and abs(float(lams.std()) - np.log(400) / 12 ** 0.5) < 0.2
    assert not torch.equal(seen[0], seen[4])
    again, _ = train(config, small_subset[:1000], resident=resident)
    for a, b in zip(model.parameters(), again.parameters()):  # and deterministic
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# Dynamically binarised MNIST (TrainConfig.binarize).

def test_a_grey_scale_models_key_is_unchanged_by_binarize():
    assert "binarize" not in TrainConfig().key  # keys (file names) from before the field
    assert json.loads(TrainConfig(binarize=True).key)["binarize"] is True


@pytest.mark.parametrize("resident", [False, True], ids=["cpu-loop", "device-loop"])
def test_both_loops_binarise_every_batch_afresh(small_subset, resident, monkeypatch):
    from explorer import device
    from explorer import train as train_module
    seen = []

    def recording(model, x, *args, **kwargs):
        seen.append(x.clone())
        return vae_loss(model, x, *args, **kwargs)

    monkeypatch.setattr(device if resident else train_module, "vae_loss", recording)
    images = small_subset[:256]
    config = TrainConfig(epochs=2, batch_size=256, model=SMALL, binarize=True, seed=5)
    _, history = train(config, images, resident=resident)
    assert len(seen) == 2 and all(np.isfinite(h.loss) for h in history)
    grey = images_to_tensor(images)
    for x in seen:
        assert set(x.unique().tolist()) == {0.0, 1.0}
        # the same 256 images, each row some permutation's: compare the ink each row holds with its mean
        assert abs(x.mean().item() - grey.mean().item()) < 0.01
    assert not torch.equal(seen[0].sum(0), seen[1].sum(0))  # drawn afresh, not binarised once
    a, _ = train(config, images, resident=resident)
    b, _ = train(config, images, resident=resident)
    for pa, pb in zip(a.parameters(), b.parameters()):  # fresh draws, still from the seed
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def test_a_binarised_model_is_scored_and_embedded_on_the_binarised_splits_and_saved_as_one(tmp_path, mnist_test):
    from explorer import checkpoint as ckpt_io
    from explorer.data import Split, binarize
    from explorer.evaluate import evaluate_images
    from explorer.pipeline import finish
    train_split, test_split = (Split(mnist_test.images[a:b], mnist_test.labels[a:b])
                               for a, b in ((0, 1000), (1000, 1300)))
    config = TrainConfig(epochs=1, batch_size=256, model=SMALL, binarize=True)
    model, history = train(config, train_split.images)
    ckpt = finish(model, config, history, train_split, test_split, iwae_k=3)
    binary = evaluate_images(ckpt.model, images_to_tensor(binarize(test_split.images)), iwae_k=3)
    grey = evaluate_images(ckpt.model, images_to_tensor(test_split.images), iwae_k=3)
    np.testing.assert_allclose(ckpt.embedding.test_recon, binary.recon, rtol=1e-6)
    np.testing.assert_allclose(ckpt.embedding.test_mu, binary.mu, rtol=1e-6)
    assert np.abs(ckpt.embedding.test_mu - grey.mu).max() > 1e-3  # not the grey images
    train_x = images_to_tensor(binarize(train_split.images))
    np.testing.assert_allclose(ckpt.embedding.train_mu, embed(ckpt.model, train_x), rtol=1e-6)
    back = ckpt_io.load(ckpt_io.save(tmp_path / "b.safetensors", ckpt))
    assert back.config.binarize is True and back.config == config
