"""The training loop: it learns, it is deterministic, it reports progress and can be cancelled."""
import dataclasses
import threading

import numpy as np
import pytest
import torch

from explorer.train import Cancelled, TrainConfig, train
from explorer.evaluate import evaluate
from explorer.train import images_to_tensor
from conftest import SMALL


def test_short_run_lowers_the_loss(small_subset):
    config = TrainConfig(epochs=4, batch_size=128, model=SMALL)
    model, history = train(config, small_subset)
    losses = [h["loss"] for h in history]
    assert losses[-1] < losses[0] - 20, losses
    assert not model.training


def test_lambda_zero_trains_without_nans(small_subset):
    model, history = train(TrainConfig(lam=0, epochs=3, batch_size=128, model=SMALL), small_subset)
    assert all(np.isfinite([h["loss"], h["kl"]]).all() for h in history)
    m = evaluate(model, images_to_tensor(small_subset[:200]), iwae_k=5)
    assert np.isfinite([m.neg_elbo, m.log_px_iwae]).all()


@pytest.mark.parametrize("recon, k", [("mse", 1), ("bce", 3)])
def test_other_costs_and_sample_counts_train(small_subset, recon, k):
    _, history = train(TrainConfig(epochs=2, batch_size=256, reconstruction=recon, k=k, model=SMALL), small_subset)
    assert history[-1]["loss"] < history[0]["loss"]


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


def test_cancel_stops_training(small_subset):
    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p.step)
        cancel.set()

    with pytest.raises(Cancelled):
        train(TrainConfig(epochs=50, batch_size=100, model=SMALL), small_subset,
              on_progress=on_progress, cancel=cancel, report_every_s=0)
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
    ("lam", -0.1, "lambda must be"), ("lam", float("nan"), "lambda must be"), ("epochs", 0, "epochs must be"),
    ("batch_size", 0, "batch size"), ("lr", 0, "learning rate"), ("reconstruction", "l2", "reconstruction must"),
    ("k", 0, "samples per image"), ("encoder_noise", -0.1, "encoder noise"),
    ("encoder_noise", float("inf"), "encoder noise"),
])
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_configs_saved_before_encoder_noise_and_compile_read_as_without_them():
    saved = TrainConfig(compile=True).to_dict()
    del saved["encoder_noise"], saved["compile"]
    assert TrainConfig.from_dict(saved).encoder_noise == 0.0
    assert TrainConfig.from_dict(saved).compile is False
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
    assert history_a[0]["loss"] == pytest.approx(history_b[0]["loss"], rel=1e-5)
