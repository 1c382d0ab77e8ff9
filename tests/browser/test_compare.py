"""Two models side by side, and axes kept across a model switch, in a real Chromium: what a
person sees on the two planes (the same z decoded by both and marked on the other, equal ranges
after a zoom with the axes locked, independent ones without), and a view that stays put over a
switch from lambda = 1 (codes within about +-3) to lambda = 0 (+-80) when asked to."""
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.harness import after_frames
from tests.browser.page_helpers import (
    expect_exploring,
    in_plane,
    lam_slider,
    no_traceback,
    plane_call,
    toggle,
    wait_plane,
)

pytestmark = pytest.mark.browser

COMPARE = "Compare two models side by side"


def _patch(page, key: str, z, half: int = 8) -> np.ndarray:
    """The plane's canvas pixels (RGBA) in a square of 2 * half CSS px around latent z."""
    return np.array(plane_call(page, key, """(() => {
        const canvas = el.querySelector('[data-testid=plane-canvas]'), b = canvas.getBoundingClientRect();
        const at = p.toClient(arg.z[0], arg.z[1]), sx = at.x - b.left, sy = at.y - b.top;
        const d = window.devicePixelRatio || 1, h = arg.half * d, ctx = canvas.getContext('2d');
        return Array.from(ctx.getImageData(Math.round(sx * d - h), Math.round(sy * d - h), 2 * h, 2 * h).data);
    })()""", {"z": list(z), "half": half}))


def _same_view(page) -> bool:
    a, b = plane_call(page, "plane", "p.view()"), plane_call(page, "plane_b", "p.view()")
    return np.allclose(a["x"] + a["y"], b["x"] + b["y"], rtol=1e-9, atol=1e-9)


def test_the_compare_view_shares_the_pointer_and_locks_the_axes(page):
    toggle(page, COMPARE)
    wait_plane(page, "plane_b")
    wait_plane(page, "plane", "p.settings().compact")
    # Side by side in the window, each naming its model and its figures above its plot, level with the other's.
    a, b = (plane_call(page, k, "p.plotRect()") for k in ("plane", "plane_b"))
    assert a["left"] + a["width"] < b["left"] and b["left"] + b["width"] <= 1400 and a["top"] == b["top"]
    assert a["width"] >= 300 and a["top"] + a["height"] < 900
    for key, lam, kl in (("plane", "1", "7.33"), ("plane_b", "0", "98.18")):
        expect(in_plane(page, "lam-value", key)).to_have_text(f"λ = {lam}")
        expect(in_plane(page, "model-title", key)).to_have_text("shipped")
        expect(in_plane(page, "model-figures", key)).to_contain_text(f"KL {kl} nats")
    tops = [in_plane(page, "model-figures", key).bounding_box()["y"] for key in ("plane", "plane_b")]
    assert tops[0] == tops[1] and tops[0] < a["top"], "the figures sit above each plot, at one height"
    assert _same_view(page), "locked axes start on one view that holds both models' codes"

    # Hovering the left plane decodes the same z on the right, with the right model, and marks it there.
    z_mark = plane_call(page, "plane_b", "p.toLatent(arg.x, arg.y)",
                        {"x": a["left"] + 0.3 * a["width"], "y": a["top"] + 0.7 * a["height"]})
    before = _patch(page, "plane_b", z_mark)
    page.mouse.move(a["left"] + 0.3 * a["width"], a["top"] + 0.7 * a["height"])
    after_frames(page)
    left, right = plane_call(page, "plane", "p.live()"), plane_call(page, "plane_b", "p.live()")
    assert right["z"] == left["z"] == plane_call(page, "plane_b", "p.peerZ")
    assert np.allclose(right["pixels"], plane_call(page, "plane_b", "p.decode([arg])[0]", left["z"]), atol=1e-6)
    assert np.abs(np.subtract(right["pixels"], left["pixels"])).max() > 0.1, "two models, two decodes"
    assert np.abs(_patch(page, "plane_b", left["z"]) - before).max() > 60, "no mark where the left pointer is"
    page.mouse.move(a["left"] - 40, a["top"] + 10)  # off the plot: the mark goes
    after_frames(page)
    assert plane_call(page, "plane_b", "p.peerZ") is None

    # Zooming one locked plane zooms both; unlocked, only the one under the wheel. A plane shares
    # its view with its peers as it takes the wheel's zoom, in the same task: once the left plane
    # has zoomed, the right one has followed or never will.
    start = plane_call(page, "plane", "p.view()")
    page.mouse.move(a["left"] + 0.5 * a["width"], a["top"] + 0.5 * a["height"])
    page.mouse.wheel(0, -400)
    wait_plane(page, "plane", "p.view().x[0] !== arg.x[0]", start)
    zoomed = plane_call(page, "plane", "p.view()")
    assert zoomed["x"][1] - zoomed["x"][0] < 0.8 * (start["x"][1] - start["x"][0])
    assert _same_view(page)
    toggle(page, "Lock the two planes' axes")
    wait_plane(page, "plane", "!p.settings().lock_axes")
    wait_plane(page, "plane_b", "!p.settings().lock_axes")
    page.mouse.move(a["left"] + 0.5 * a["width"], a["top"] + 0.5 * a["height"])
    page.mouse.wheel(0, -400)
    wait_plane(page, "plane", "p.view().x[0] !== arg.x[0]", zoomed)
    assert not _same_view(page)
    right_view = plane_call(page, "plane_b", "p.view()")
    assert np.allclose(right_view["x"] + right_view["y"], zoomed["x"] + zoomed["y"])
    no_traceback(page)


def _switch_to_lam0(page) -> None:
    points = plane_call(page, "plane", "p.settings().points_url")
    lam_slider(page).focus()
    page.keyboard.press("Home")  # the slider's first stop, lambda = 0 (shipped)
    expect_exploring(page, "lam-0")
    wait_plane(page, "plane", "p.settings().points_url !== arg", points)


@pytest.mark.parametrize("keep", [False, True])
def test_keep_axes_holds_the_view_over_a_model_switch(page, keep):
    expect(lam_slider(page)).to_be_visible(timeout=60_000)
    if keep:
        toggle(page, "Keep the axes when the model changes")
        wait_plane(page, "plane", "p.settings().keep_axes")
    before = plane_call(page, "plane", "p.view()")
    _switch_to_lam0(page)  # the plane shows lambda = 0: the view has been kept or fitted to it
    after = plane_call(page, "plane", "p.view()")
    width = lambda v: v["x"][1] - v["x"][0]  # noqa: E731
    if keep:  # lambda = 0's codes now run far off the plot: the spread is seen, not read off the ticks
        assert after == before
        inside = plane_call(page, "plane", """(() => { const v = p.view(), n = p.nPoints(); let k = 0;
            for (let i = 0; i < n; i++) {
              const [x, y] = p.point(i).z;
              k += x >= v.x[0] && x <= v.x[1] && y >= v.y[0] && y <= v.y[1];
            }
            return k / n; })()""")
        assert inside < 0.9
    else:
        assert width(after) > 5 * width(before), "without keep, the view fits lambda = 0's spread"
    no_traceback(page)
