"""The guided tour in a real Chromium, as a person takes it: each step's caption and equation in
the sidebar, the model it names explored, and on the plane what it set (its test digit selected
as a click would, the decodings tiled behind, two planes for the compare step, the strip of its
interpolation), then Exit leaves the page as the last step set it."""

import numpy as np
import pytest
from playwright.sync_api import expect

from explorer import story
from explorer.library import SHIPPED_DIR
from explorer.ui import tour_steps as tour
from tests.browser.harness import z_text
from tests.browser.page_helpers import expect_exploring, in_plane, keyed, no_traceback, plane_call, sidebar, wait_plane

pytestmark = pytest.mark.browser


def test_each_tour_step_sets_the_page_it_describes(page, tmp_path):
    expect(sidebar(page).get_by_role("button", name="Guided tour")).to_be_visible(timeout=60_000)
    sidebar(page).get_by_role("button", name="Guided tour").click()
    panel = keyed(page, "tour")
    for i, step in enumerate(tour.STEPS):
        expect(panel).to_contain_text(f"Tour {i + 1} of {len(tour.STEPS)} · {step.title}", timeout=30_000)
        expect(panel.locator(".katex")).to_have_count(1)  # the equation, typeset and not cut off
        box, eq = panel.bounding_box(), panel.locator(".katex-html").bounding_box()
        assert box["x"] <= eq["x"] and eq["x"] + eq["width"] <= box["x"] + box["width"], (
            f"step {i + 1}'s equation ({eq['width']:.0f} px) does not fit the sidebar's {box['width']:.0f} px")
        models = {"lam0": "lam-0", "lam1": "lam-1"}
        expect_exploring(page, models.get(step.model, "lam-100"))  # "largest": the largest lambda shipped
        wait_plane(page, "plane", "p.settings().grid_show === arg", step.grid)
        if step.compare:
            wait_plane(page, "plane_b")
            expect(in_plane(page, "lam-value", "plane_b")).to_have_text("λ = 1")
            expect(in_plane(page, "model-figures", "plane_b")).to_contain_text("KL 7.33 nats")
        else:
            expect(keyed(page, "plane_b")).to_have_count(0)
        if step.grid:  # the decodings tiled behind the points
            wait_plane(page, "plane", "p.gridReady()")
        if step.select is not None and step.drag is None:
            wait_plane(page, "plane", "p.selection() && p.selection().index === arg", step.select)
            z = plane_call(page, "plane", "p.point(arg).z", step.select)
            expect(keyed(page, "plane").get_by_test_id("panel-z")).to_contain_text(z_text(z))
        if step.drag is not None:  # the strip from one test digit's code to the other's
            wait_plane(page, "plane", "!!p.lastDrag")
            drag = plane_call(page, "plane", "p.lastDrag")
            ends = [plane_call(page, "plane", "p.point(arg).z", i) for i in step.drag]
            assert np.allclose([drag["start"], drag["end"]], ends, atol=1e-6)
            frames = plane_call(page, "plane", "p.strip()")
            assert np.allclose(frames[0]["pixels"], plane_call(page, "plane", "p.decode([arg])[0]", ends[0]), atol=1e-6)
            expect(keyed(page, "plane").get_by_test_id("strip-caption")).to_contain_text("10 decodings from z")
        assert plane_call(page, "plane", "p.settings().layers") == {
            name: name in step.layers for name in ("ellipses", "prior", "holes", "decodability")}
        if "decodability" in step.layers:  # the classifier's verdicts drawn under the points
            wait_plane(page, "plane", "!!p.decodability()")
        if step.compare and not step.lock:  # each model at its own scale
            assert plane_call(page, "plane", "p.view()") != plane_call(page, "plane_b", "p.view()")
        if "{recognised" in step.caption:  # the caption's numbers are this model's measures (explorer.story)
            f = story.model_story(SHIPPED_DIR / f"{models.get(step.model, 'lam-100')}.safetensors")
            expect(panel).to_contain_text(f"{f.prior_recognised.value:.0%}")
            if "{holes:" in step.caption:
                expect(panel).to_contain_text(f"{f.prior_hole_mass.value:.0%}")
        page.screenshot(path=str(tmp_path / f"tour-{i + 1}.png"))
        if i < len(tour.STEPS) - 1:
            panel.get_by_role("button", name="Next").click()
    expect(panel.get_by_role("button", name="Next")).to_be_disabled()
    panel.get_by_role("button", name="Exit").click()
    expect(keyed(page, "tour")).to_have_count(0)
    expect_exploring(page, "lam-1")  # the last step's model stays
    no_traceback(page)
