"""A training job's live pictures: the loss curves move within an epoch, each curve and each digit
in its own colour, where its values put it."""
import dataclasses

import numpy as np

from explorer import images
from explorer.component.protocol import PALETTE
from explorer.config import TrainConfig
from explorer.jobs import EpochStats, JobState, JobStatus


def _status(**changes) -> JobStatus:
    return dataclasses.replace(JobStatus("job-1", JobState.RUNNING, TrainConfig(epochs=4), True), **changes)


def test_loss_rows_hold_finished_epochs_and_the_running_one():
    history = (EpochStats(1, 200.0, 3.0, 203.0, 1.0), EpochStats(2, 180.0, 4.0, 184.0, 2.0))
    rows = images.loss_rows(_status(history=history, fraction=0.625, recon=175.0, kl=4.5, loss=179.5))
    assert rows == {"epoch": [1.0, 2.0, 2.5], "recon": [200.0, 180.0, 175.0], "KL": [3.0, 4.0, 4.5],
                    "total": [203.0, 184.0, 179.5]}
    done = images.loss_rows(_status(state=JobState.DONE, history=history, fraction=1.0, recon=1.0, kl=1.0, loss=2.0))
    assert done["epoch"] == [1.0, 2.0]
    assert images.loss_rows(_status()) == {"epoch": [], "recon": [], "KL": [], "total": []}


def test_embedding_image_puts_each_digit_where_its_mu_is_in_its_colour():
    mu = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]] * 5, np.float32)
    labels = np.array([0, 1, 2, 3] * 5, np.uint8)
    image = images.embedding_image(mu, labels, size=100, dot=2)
    assert image.shape == (100, 100, 3) and image.dtype == np.uint8

    def colour_at(row_slice, col_slice):
        patch = image[row_slice, col_slice].reshape(-1, 3)
        return {"#{:02x}{:02x}{:02x}".format(*p) for p in patch} - {"#ffffff", "#c8c8c8"}

    assert colour_at(slice(50, 99), slice(1, 50)) == {PALETTE[0]}  # bottom left: (-1, -1), y points up
    assert colour_at(slice(1, 50), slice(50, 99)) == {PALETTE[1]}  # top right: (1, 1)
    assert colour_at(slice(1, 50), slice(1, 50)) == {PALETTE[2]}
    assert colour_at(slice(50, 99), slice(50, 99)) == {PALETTE[3]}
    flat = images.embedding_image(np.zeros((10, 2)), np.zeros(10, np.uint8), size=50)  # collapsed codes: no error
    assert (flat.reshape(-1, 3) == [0x1f, 0x77, 0xb4]).all(1).any()


def test_loss_image_draws_each_curve_in_its_colour_with_its_key_above_and_nothing_clipped():
    rows = {"epoch": [1.0, 2.0, 2.5], "recon": [200.0, 180.0, 175.0], "KL": [3.0, 4.0, 4.5],
            "total": [203.0, 184.0, 179.5]}
    image = images.loss_image(rows, epochs=4, width=320, height=240)
    assert image.shape == (240, 320, 3)
    colours = {n: tuple(int(images.CURVE_COLOURS[n][i:i + 2], 16) for i in (1, 3, 5)) for n in ("recon", "KL", "total")}
    key_h = images.FONT_PX + 8
    for name, colour in colours.items():
        rows_with = np.flatnonzero((image == colour).all(2).any(1))
        assert rows_with.min() < key_h, f"{name} has no key on top"
        assert (image[key_h:] == colour).all(2).sum() > 20, name
    kl_rows = np.flatnonzero((image[key_h:] == colours["KL"]).all(2).any(1)) + key_h
    assert kl_rows.min() > 120  # KL is drawn in the lower panel
    white = np.array([255, 255, 255])
    for edge in (image[0], image[-1], image[:, 0], image[:, -1]):  # no label runs off the picture
        assert (edge == white).all()
    assert images.loss_image({"epoch": [], "recon": [], "KL": [], "total": []}, epochs=3).shape == (240, 320, 3)
