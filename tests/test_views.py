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


def test_loss_curves_plot_finished_epochs_and_the_running_one():
    history = (EpochStats(1, 200.0, 3.0, 203.0, 1.0), EpochStats(2, 180.0, 4.0, 184.0, 2.0))
    fig = views.loss_curves(_status(history=history, fraction=0.625, recon=175.0, kl=4.5, loss=179.5))
    curves = {t.name: t for t in fig.data}
    assert list(curves["recon"].x) == [1, 2, 2.5] and list(curves["recon"].y) == [200.0, 180.0, 175.0]
    assert list(curves["KL"].y) == [3.0, 4.0, 4.5] and curves["KL"].yaxis == "y2"
    assert list(curves["total"].y) == [203.0, 184.0, 179.5]
    done = views.loss_curves(_status(state=JobState.DONE, history=history, fraction=1.0, recon=1.0, kl=1.0, loss=2.0))
    assert list(done.data[0].x) == [1, 2]


def test_live_embedding_colours_each_digit_and_waits_for_the_first_snapshot():
    assert views.live_embedding(_status()) is None
    mu = np.arange(40, dtype=np.float32).reshape(20, 2)
    labels = np.repeat(np.arange(10), 2).astype(np.uint8)
    fig = views.live_embedding(_status(embedding=mu, embedding_labels=labels, embedding_epoch=1))
    assert len(fig.data) == 10 and sum(len(t.x) for t in fig.data) == 20
    assert list(fig.data[3].x) == [12.0, 14.0] and fig.data[3].marker.color == views.TAB10[3]
