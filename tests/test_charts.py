"""The library as the page draws it: the slider reaches the shipped lambdas, the rate-distortion
chart carries library ids and rings the current model, the table shows every model."""
import dataclasses

import numpy as np
import pytest

from explorer import charts
from explorer import checkpoint as ckpt_io
from explorer.library import ModelLibrary

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
    choices = charts.lam_choices([0.7000000000000001, 0.33, 25.0], [1.0])
    assert all(lam in choices for lam in SHIPPED_LAMS)
    assert 0.7 in choices and 0.33 in choices and 25.0 in choices
    assert choices == sorted(set(choices)) and choices[0] == 0.0 and choices[-1] == 100.0
    assert 25.0 in charts.lam_choices([25.0]) and 150.0 not in charts.lam_choices([150.0])  # out of range


def _markers(fig):
    return {t.name: t for t in fig.data if t.mode == "markers"}


def _labels(fig, name="lam-label"):
    return [a for a in fig.layout.annotations if a.name == name]


def test_rate_distortion_has_a_point_per_scored_model_labelled_by_id_with_the_current_ringed(entries):
    fig = charts.rate_distortion(entries, current=entries[1].id)
    by_name = _markers(fig)
    assert set(by_name) == {"shipped", "trained here", "exploring"}
    assert list(by_name["shipped"].customdata) == ["lam-1"]
    user = by_name["trained here"]
    assert len(user.customdata) == 1 and user.customdata[0].startswith("lam-0.3_")  # lambda 4 has no metrics
    assert sorted(a.text for a in _labels(fig)) == ["λ=0.3", "λ=1"]
    assert "λ = 0.3" in user.hovertext[0]  # lambda on hover
    current = entries[1]
    assert by_name["exploring"].customdata[0] == current.id
    assert by_name["exploring"].x[0] == pytest.approx(current.metrics.kl)
    assert by_name["exploring"].y[0] == pytest.approx(current.metrics.recon)
    assert "exploring" not in _markers(charts.rate_distortion(entries, current=None))


def _sweep(entries, points):
    """Library entries at (lam, kl, recon), made from the fixture's first one."""
    e = entries[0]
    return [dataclasses.replace(e, id=f"lam-{lam:g}", config=dataclasses.replace(e.config, lam=lam),
                                metrics=dataclasses.replace(e.metrics, kl=kl, recon=recon, neg_elbo=kl + recon))
            for lam, kl, recon in points]


SWEEP = [(0.0, 98.18, 123.84), (0.1, 10.61, 124.54), (0.5, 8.26, 125.13), (1.0, 7.33, 126.37),
         (2.0, 6.34, 127.57), (5.0, 4.99, 133.06), (100.0, 0.0004, 206.4)]


def test_rate_distortion_reads_with_lambda_0_and_a_collapsed_model_on_it(entries):
    fig = charts.rate_distortion(_sweep(entries, SWEEP), current="lam-1")
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis2.type == "log"
    # Two panels: the collapsed model's distortion is 80 nats above the rest, which share the lower one.
    top, bottom = fig.layout.yaxis.range, fig.layout.yaxis2.range
    assert top[0] < 206.4 < top[1] and bottom[0] < 123.84 and 133.06 < bottom[1] < 150
    marked = [(x, y) for t in fig.data if t.mode == "markers" and t.name != "exploring" for x, y in zip(t.x, t.y)]
    assert (charts.ZERO, 206.4) in marked  # KL ~0 drawn at the axis's "≈ 0", not at a value it does not have
    axis = fig.layout.xaxis2
    assert axis.ticktext[0] == "≈ 0" and axis.tickvals[0] == charts.ZERO and "0.01" in axis.ticktext
    assert [a.text for a in fig.layout.annotations if a.name == "axis-break"] == ["//"]
    # Labels: one per model, and no two label boxes overlap (as placed for the narrowest chart).
    labels = _labels(fig)
    assert sorted(a.text for a in labels) == sorted(f"λ={lam:g}" for lam, _, _ in SWEEP)
    boxes = []
    for a in labels:
        row = 1 if a.yref == "y" else 2
        lo, hi = (top if row == 1 else bottom)
        domain = (fig.layout.yaxis if row == 1 else fig.layout.yaxis2).domain
        h = (charts.RD_HEIGHT - charts.RD_MARGIN["t"] - charts.RD_MARGIN["b"]) * (domain[1] - domain[0])
        x0, x1 = fig.layout.xaxis.range
        w = charts.RD_MIN_WIDTH - charts.RD_MARGIN["l"] - charts.RD_MARGIN["r"]
        cx = (a.x - x0) / (x1 - x0) * w + a.ax
        cy = (hi - a.y) / (hi - lo) * h + a.ay + (0 if row == 1 else 1000)  # panels apart
        half = 3.5 * len(a.text) + 2
        boxes.append((cx - half, cy - 7.5, cx + half, cy + 7.5))
    assert not any(charts._overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # Lines of equal negative ELBO: recon + KL = c along each, and each labelled, the steep ones too.
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) >= 4
    line_labels = [a.text for a in _labels(fig, "elbo-label")]
    for t in lines:
        c = float(t.name.split("= ")[1])
        assert np.allclose(np.asarray(t.x) + np.asarray(t.y), c)
        assert f"−ELBO {c:g}" in line_labels
    assert any(a.textangle == -90 for a in _labels(fig, "elbo-label")), "the steep lines are labelled along themselves"


def test_no_label_overlaps_a_line_label_nor_does_its_leader_cross_one():
    # lambda = 100 at KL ~0 sits just under the flat line -ELBO 206's label, at the axis's left end.
    points = [(-2.6, 205.8, "λ=100")]
    reserved = [(-2.75, 206.0, "−ELBO 206", False), (-2.75, 208.0, "−ELBO 208", False), (1.3, 208.6, "−ELBO 225", True)]
    offsets, boxes = charts._place_labels(points, (-2.75, 2.25), (204.6, 208.6), 90, reserved)
    label, lines = boxes[-1], boxes[:-1]
    assert not any(charts._overlap(label, b) for b in lines)
    plot_w = charts.RD_MIN_WIDTH - charts.RD_MARGIN["l"] - charts.RD_MARGIN["r"]
    px, py = (-2.6 + 2.75) / 5 * plot_w, (208.6 - 205.8) / 4 * 90
    centre = (px + offsets[0][0], py + offsets[0][1])
    assert not any(charts._crosses((px, py), centre, b, label) for b in lines)


def test_library_rows_show_settings_metrics_and_the_current_model(entries):
    rows = charts.library_rows(entries, current="lam-1")
    assert [r["λ"] for r in rows] == [0.3, 1.0, 4.0]
    assert [r["source"] for r in rows] == ["trained here", "shipped", "trained here"]
    assert [r[""] for r in rows] == ["", "▶", ""]
    m = entries[0].metrics
    assert rows[0]["−ELBO"] == round(m.neg_elbo, 2) and rows[0]["active units"] == m.active_units
    assert rows[2]["recon"] is None  # no metrics: an empty cell, not an error


def test_the_dial_is_drawn_as_one_line_along_its_range_through_both_panels(entries):
    from explorer import formats
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / "dial.safetensors"
    if not path.is_file():
        pytest.skip(f"needs the shipped dial, {path}")
    curve = formats.read_dial_curve(path)
    fig = charts.rate_distortion(_sweep(entries, SWEEP), current="lam-1", dial=curve)
    dial = [t for t in fig.data if t.legendgroup == "dial"]
    assert len(dial) == 2 and [t.showlegend for t in dial] == [True, False]  # one per panel, one legend entry
    assert all(t.customdata is None for t in dial)  # a click on the line explores nothing
    x, y = np.asarray(dial[0].x), np.asarray(dial[0].y)
    assert len(x) == len(curve["lams"]) and x.min() == charts.ZERO and x.max() > 10  # collapsed to lambda = 0.01
    np.testing.assert_allclose(y, curve["recon"])
    assert "dial at λ = 100" in dial[0].hovertext[-1]
    # Without a dial, no line but the equal-ELBO ones.
    assert not [t for t in charts.rate_distortion(_sweep(entries, SWEEP)).data if t.legendgroup == "dial"]


def test_a_file_without_a_dial_curve_is_refused_by_name(tmp_path):
    from explorer import formats
    from explorer.library import SHIPPED_DIR
    with pytest.raises(formats.AssetError, match="lam-1.safetensors: no dial curve"):
        formats.read_dial_curve(SHIPPED_DIR / "lam-1.safetensors")
    with pytest.raises(formats.AssetError, match="no dial curve"):
        formats.read_dial_curve(tmp_path / "missing.safetensors")


def test_the_library_and_the_chart_show_a_models_story_where_it_is_measured(entries):
    from explorer.story import Estimate, StoryFigures
    figures = StoryFigures(Estimate(0.0607, 0.0008, 100_000), Estimate(0.7749, 0.004, 10_000), 10,
                           Estimate(0.925, 0.01, 1600), 0.803, 5.3)
    story = {entries[0].id: figures}
    rows = charts.library_rows(entries, None, story)
    assert (rows[0]["prior in holes"], rows[0]["prior samples recognised"], rows[0]["digits covered"],
            rows[0]["path recognised"]) == (0.061, 0.775, 10, 0.803)
    assert rows[1]["prior in holes"] is None  # not measured: an empty cell
    fig = charts.rate_distortion(entries, current=entries[0].id, story=story)
    hovers = [h for t in fig.data if t.mode == "markers" and t.hovertext for h in t.hovertext]
    assert any("prior's mass in holes 6.1%" in h and "recognised as digits 77% (10 of 10 digits)" in h for h in hovers)
    assert not any("holes" in h for h in charts.rate_distortion(entries).data[0].hovertext or ())
