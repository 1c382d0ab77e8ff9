"""The guided tour: its rules on plain values (which model a step names, what a step sets), and
the whole tour run by Streamlit's AppTest: each step sets the page as it says, its caption
quotes the explored model's own figures, and Previous / Next / Exit move through it."""
from types import SimpleNamespace

import numpy as np
import pytest
from safetensors.numpy import load_file

from explorer import checkpoint, classifier, story
from explorer.library import SHIPPED_DIR
from explorer.ui import decide, tour_steps
from explorer.ui.session import Explored, Session
from tests.browser.harness import SHIPPED_MODEL
from tests.test_ui_page import _open, manager_for, splits  # noqa: F401  (fixtures)
from tests.test_ui_plane import plane_data


def _entry(lam, shipped=True, name=None):
    return SimpleNamespace(id=name or f"lam-{lam:g}", path=f"{name or lam}.safetensors", lam=lam, shipped=shipped)


def test_a_step_names_its_model_by_lambda_so_a_newly_shipped_large_lambda_is_used():
    entries = [_entry(1.0), _entry(0.0), _entry(5.0), _entry(0.5), _entry(1.0, False, "lam-1_e5_user")]
    assert decide.tour_model(entries, "lam0").id == "lam-0"
    assert decide.tour_model(entries, "lam1").id == "lam-1"  # shipped before a user's model
    assert decide.tour_model(entries, "largest").id == "lam-5"
    assert decide.tour_model(entries + [_entry(100.0)], "largest").id == "lam-100"
    assert decide.tour_model([], "lam1") is None


def test_the_compare_view_pairs_a_model_with_the_other_end_of_lambda():
    entries = [_entry(1.0), _entry(0.0), _entry(5.0), _entry(0.1)]
    assert decide.compare_default(1.0, entries) == "lam-0"
    assert decide.compare_default(5.0, entries) == "lam-0"
    assert decide.compare_default(0.0, entries) == "lam-1"
    assert decide.compare_default(0.1, entries) == "lam-1"
    assert decide.compare_default(1.0, []) is None


def test_a_step_sets_model_layers_view_and_asks_the_plane_once_per_step():
    lam0, lam1 = Explored("lam-0", "lam-0.safetensors", 0.0), Explored("lam-1", "lam-1.safetensors", 1.0)
    s = Session(model=lam1, lam=1.0, grid_show=False, layer_prior=True, keep_axes=True)
    first = decide.tour_at(s, 2, tour_steps.STEPS[2], lam0, None, None)
    assert first.model == lam0 and first.lam == 0.0 and first.tour_step == 2 and not first.keep_axes
    layers = (first.layer_decodability, first.layer_prior, first.layer_holes, first.samples_show)
    assert layers == (True, False, False, True)
    assert first.command.select_index == tour_steps.STEPS[2].select and first.command.nonce == 1
    again = decide.tour_at(first, 2, tour_steps.STEPS[2], lam0, None, None)
    assert again.command.nonce == 2, "a step taken again selects again"
    both = decide.tour_at(again, 3, tour_steps.STEPS[3], lam0, lam1, None)
    # each model at its own scale: the axes not locked
    assert both.compare and both.compare_id == "lam-1" and not both.lock_axes and both.command == again.command
    strip = decide.tour_at(both, 5, tour_steps.STEPS[5], lam1, None, ((1.0, 2.0), (3.0, 4.0)))
    assert not strip.compare and strip.command.drag == ((1.0, 2.0), (3.0, 4.0)) and strip.samples_show


def test_the_tour_has_five_or_six_steps_each_with_a_two_line_caption_and_an_equation():
    assert 5 <= len(tour_steps.STEPS) <= 6
    for step in tour_steps.STEPS:
        assert step.caption.count("\n") == 1 and step.equation.strip()
        assert set(step.layers) <= {"ellipses", "prior", "holes", "decodability"}
        assert step.spacing in ("even", "quantile")


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="needs the shipped models")
def test_the_tour_sets_the_page_step_by_step(manager_for, tmp_path):  # noqa: F811
    manager_for(tmp_path / "models")
    at = _open()
    assert at.session_state["tour_step"] is None and not [c for c in at.sidebar.button if c.key == "tour_next"]
    at.sidebar.button(key="tour_start").click().run()
    seen = []
    for i, step in enumerate(tour_steps.STEPS):
        assert not at.exception, at.exception
        s = at.session_state
        model = s["model"]
        header = checkpoint.read_header(model.path)
        heading = f"**Tour {i + 1} of {len(tour_steps.STEPS)}"
        [title] = [m.value for m in at.sidebar.markdown if m.value.startswith(heading)]
        assert step.title in title
        assert at.sidebar.latex and step.equation in at.sidebar.latex[0].value
        data = plane_data(at)
        assert data["layers"] == {name: name in step.layers for name in ("ellipses", "prior", "holes", "decodability")}
        assert (data["grid_show"], data["grid_spacing"]) == (step.grid, step.spacing)
        assert (data["samples"] is not None) == step.samples
        assert (len(at.get("bidi_component")) == 2) == (step.compare is not None)
        if step.select is not None:
            assert data["command"]["select_index"] == step.select
        if step.drag is not None:  # the strip between the two test digits' codes under this model
            mu = load_file(model.path)["test_mu"]
            assert np.allclose(data["command"]["drag"]["start"], mu[step.drag[0]])
            assert np.allclose(data["command"]["drag"]["end"], mu[step.drag[1]])
        seen.append((model.id, header.config.lam))
        caption = " ".join(x.value for x in at.sidebar.markdown)
        if i == 1:  # the ELBO's two terms, as this model's own numbers
            m = header.metrics
            assert f"recon = {m.recon:.1f} nats" in caption and f"KL = {m.kl:.2f} nats" in caption
            assert f"−ELBO = {m.neg_elbo:.1f} nats" in caption
        if "{holes" in step.caption or "{recognised" in step.caption:  # the model's own measures (explorer.story)
            f = story.model_story(model.path)
            assert f"{f.prior_recognised.value:.0%}" in caption
            if "{holes:" in step.caption:
                assert f"{f.prior_hole_mass.value:.0%}" in caption
            if step.compare:
                other = story.model_story(SHIPPED_DIR / "lam-1.safetensors")
                assert f"to {other.prior_hole_mass.value:.0%}" in caption
                assert f"to {other.prior_recognised.value:.0%}" in caption
            assert "nan" not in caption
        if i < len(tour_steps.STEPS) - 1:
            at.sidebar.button(key="tour_next").click().run()
    shipped = sorted(checkpoint.read_header(p).config.lam for p in SHIPPED_DIR.glob("*.safetensors")
                     if p != classifier.SHIPPED)
    assert [lam for _, lam in seen] == [1.0, 1.0, shipped[0], shipped[0], shipped[-1], 1.0]
    assert at.sidebar.button(key="tour_next").disabled
    at.sidebar.button(key="tour_prev").click().run()
    assert at.session_state["tour_step"] == len(tour_steps.STEPS) - 2
    at.sidebar.button(key="tour_exit").click().run()
    assert at.session_state["tour_step"] is None and at.session_state["model"].lam == shipped[-1]
    assert not [b for b in at.sidebar.button if b.key == "tour_next"] and not at.exception
    assert plane_data(at)["command"] is None, "a plane drawn afresh after the tour replays none of its steps"
