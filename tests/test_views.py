"""The page's figures and rows: the slider reaches the shipped lambdas, the rate-distortion chart
carries library ids and rings the current model, the loss curves move within an epoch."""
import dataclasses

import numpy as np
import pytest

from explorer import checkpoint as ckpt_io
from explorer import views
from explorer.jobs import EpochStats, JobState, JobStatus
from explorer.library import ModelLibrary
from explorer.train import TrainConfig

SHIPPED_LAMS = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0)


@pytest.fixture
def entries(tmp_path, small_checkpoint):
    def at(lam):
        return dataclasses.replace(small_checkpoint, config=dataclasses.replace(small_checkpoint.config, lam=lam))
    ckpt_io.save(tmp_path / "pretrained" / "lam-1.safetensors", at(1.0))
    library = ModelLibrary(tmp_path / "pretrained", tmp_path / "models")
    library.add(at(0.3))
    without_metrics = dataclasses.replace(at(4.0), metrics=None)
    library.add(without_metrics)
    return library.entries()


def test_the_slider_reaches_every_shipped_lambda_and_every_library_lambda_exactly():
    choices = views.lam_choices([0.7000000000000001, 0.33, 25.0], [1.0])
    assert all(lam in choices for lam in SHIPPED_LAMS)
    assert 0.7 in choices and 0.33 in choices and 25.0 not in choices  # out of the trainable range
    assert choices == sorted(set(choices)) and choices[0] == 0.0 and choices[-1] == 10.0


def test_rate_distortion_has_a_point_per_scored_model_labelled_by_id_with_the_current_ringed(entries):
    fig = views.rate_distortion(entries, current=entries[1].id)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"shipped", "trained here", "exploring"}
    assert list(by_name["shipped"].customdata) == ["lam-1"]
    user = by_name["trained here"]
    assert len(user.customdata) == 1 and user.customdata[0].startswith("lam-0.3_")  # lambda 4 has no metrics
    assert list(user.text) == ["λ=0.3"]
    current = entries[1]
    assert by_name["exploring"].customdata[0] == current.id
    assert by_name["exploring"].x[0] == pytest.approx(current.metrics.kl)
    assert by_name["exploring"].y[0] == pytest.approx(current.metrics.recon)
    assert "exploring" not in {t.name for t in views.rate_distortion(entries, current=None).data}


def test_library_rows_show_settings_metrics_and_the_current_model(entries):
    rows = views.library_rows(entries, current="lam-1")
    assert [r["λ"] for r in rows] == [0.3, 1.0, 4.0]
    assert [r["source"] for r in rows] == ["trained here", "shipped", "trained here"]
    assert [r[""] for r in rows] == ["", "▶", ""]
    m = entries[0].metrics
    assert rows[0]["−ELBO"] == round(m.neg_elbo, 2) and rows[0]["active units"] == m.active_units
    assert rows[2]["recon"] is None  # no metrics: an empty cell, not an error


def _status(**changes) -> JobStatus:
    return dataclasses.replace(JobStatus("job-1", JobState.RUNNING, TrainConfig(epochs=4), True), **changes)


def test_loss_rows_hold_finished_epochs_and_the_running_one():
    history = (EpochStats(1, 200.0, 3.0, 203.0, 1.0), EpochStats(2, 180.0, 4.0, 184.0, 2.0))
    rows = views.loss_rows(_status(history=history, fraction=0.625, recon=175.0, kl=4.5, loss=179.5))
    assert rows == {"epoch": [1.0, 2.0, 2.5], "recon": [200.0, 180.0, 175.0], "KL": [3.0, 4.0, 4.5],
                    "total": [203.0, 184.0, 179.5]}
    done = views.loss_rows(_status(state=JobState.DONE, history=history, fraction=1.0, recon=1.0, kl=1.0, loss=2.0))
    assert done["epoch"] == [1.0, 2.0]
    assert views.loss_rows(_status()) == {"epoch": [], "recon": [], "KL": [], "total": []}


def test_embedding_image_puts_each_digit_where_its_mu_is_in_its_colour():
    mu = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]] * 5, np.float32)
    labels = np.array([0, 1, 2, 3] * 5, np.uint8)
    image = views.embedding_image(mu, labels, size=100, dot=2)
    assert image.shape == (100, 100, 3) and image.dtype == np.uint8

    def colour_at(row_slice, col_slice):
        patch = image[row_slice, col_slice].reshape(-1, 3)
        return {"#%02x%02x%02x" % tuple(p) for p in patch} - {"#ffffff", "#c8c8c8"}

    assert colour_at(slice(50, 99), slice(1, 50)) == {views.TAB10[0]}  # bottom left: (-1, -1), y points up
    assert colour_at(slice(1, 50), slice(50, 99)) == {views.TAB10[1]}  # top right: (1, 1)
    assert colour_at(slice(1, 50), slice(1, 50)) == {views.TAB10[2]}
    assert colour_at(slice(50, 99), slice(50, 99)) == {views.TAB10[3]}
    flat = views.embedding_image(np.zeros((10, 2)), np.zeros(10, np.uint8), size=50)  # collapsed codes: no error
    assert (flat.reshape(-1, 3) == [0x1f, 0x77, 0xb4]).all(1).any()


def test_loss_image_draws_each_curve_in_its_colour():
    rows = {"epoch": [1.0, 2.0, 2.5], "recon": [200.0, 180.0, 175.0], "KL": [3.0, 4.0, 4.5], "total": [203.0, 184.0, 179.5]}
    image = views.loss_image(rows, epochs=4, width=320, height=220)
    assert image.shape == (220, 320, 3)
    colours = {tuple(int(views.CURVE_COLOURS[n][i:i + 2], 16) for i in (1, 3, 5)): n for n in ("recon", "KL", "total")}
    for colour, name in colours.items():
        assert (image.reshape(-1, 3) == colour).all(1).sum() > 20, name
    kl_rows = np.flatnonzero((image == list(next(c for c, n in colours.items() if n == "KL"))).all(2).any(1))
    assert kl_rows.min() > 110  # KL is drawn in the lower panel
    assert views.loss_image({"epoch": [], "recon": [], "KL": [], "total": []}, epochs=3).shape == (220, 320, 3)
