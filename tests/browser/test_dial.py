"""The lambda dial in the browser: one network for every lambda of its range (explorer/dial.py),
turned by the plane's slider with no round trip. What a person sees: the dots follow the slider
while it is dragged, a fixed z decodes as the network does at each lambda, Play sweeps the range
on fixed axes, and the page says which kind of model is on screen."""
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import harness
from tests.browser.harness import PLANE, after_frames, wait_idle
from tests.browser.page_helpers import client_xy, in_plane, plot_pixels, pointer_away, sidebar, wait_plane

pytestmark = pytest.mark.browser
SAMPLE = list(range(0, 10_000, 37))  # test digits whose codes are read, spread over the set


@pytest.fixture(scope="module")
def dial_checkpoint():
    from explorer import checkpoint as ckpt_io
    from explorer.library import SHIPPED_DIR
    path = SHIPPED_DIR / "dial.safetensors"
    if not path.is_file():
        pytest.skip(f"needs the shipped dial, {path}")
    return ckpt_io.load(path)


@pytest.fixture(scope="module")
def dial_page(chromium, app_url, dial_checkpoint):
    """One page with the dial on its plane (the Dial button pressed)."""
    with harness.opened_app(chromium, app_url, viewport={"width": 1400, "height": 900}) as page:
        wait_plane(page, "plane")
        in_plane(page, "dial-toggle").click()
        wait_plane(page, "plane", "p.dial() !== null && p.idle()")
        yield page


def _codes_at(ckpt, lam: float) -> np.ndarray:
    """The network's test codes at lam as the grid gives them: linear in ln(lambda) between its rows."""
    lams, rows = ckpt.dial.lams.astype(np.float64), ckpt.dial.mu.decode()[:, SAMPLE]
    k = int(np.clip(np.searchsorted(lams, lam) - 1, 0, len(lams) - 2))
    w = float(np.clip(np.log(lam / lams[k]) / np.log(lams[k + 1] / lams[k]), 0, 1))
    return (1 - w) * rows[k] + w * rows[k + 1]


def _shown_codes(page) -> np.ndarray:
    return np.array([c["mu"] for c in page.evaluate(f"(i) => {PLANE}.codes(i)", SAMPLE)])




def test_the_dial_button_shows_the_dial_and_says_which_kind_of_model_is_on_screen(chromium, app_url):
    with harness.opened_app(chromium, app_url) as page:
        wait_plane(page, "plane")
        expect(in_plane(page, "dial-play")).to_be_hidden()
        button = in_plane(page, "dial-toggle")
        expect(button).to_have_attribute("aria-pressed", "false")
        button.click()
        wait_plane(page, "plane", "p.dial() !== null")
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(in_plane(page, "model-title")).to_contain_text("one network for λ 0.01–100")
        expect(in_plane(page, "dial-play")).to_be_visible()
        expect(sidebar(page)).to_contain_text("Exploring dial", timeout=30_000)
        dial = page.evaluate(f"{PLANE}.dial()")
        assert dial["slider"] == pytest.approx(1) and dial["lam"] == pytest.approx(1)
        # Leaving the dial at lambda = 1 goes back to the separately trained model there.
        button.click()
        wait_plane(page, "plane", "p.dial() === null")
        expect(sidebar(page)).to_contain_text("Exploring λ = 1 · shipped", timeout=30_000)
        expect(in_plane(page, "dial-play")).to_be_hidden()


def test_the_dots_follow_the_slider_while_it_is_dragged(dial_page, dial_checkpoint):
    page = dial_page
    page.evaluate(f"{PLANE}.turnDial(1, true)")
    wait_idle(page)
    box = in_plane(page, "lam-slider").bounding_box()
    # A range input's thumb spans the track less its own width (about 16 px in Chromium).
    y, left, width = box["y"] + box["height"] / 2, box["x"] + 8, box["width"] - 16
    page.mouse.move(left + 0.5 * width, y)
    page.mouse.down()
    before, lams, moves, worst = plot_pixels(page), [], [], 0.0
    previous = _shown_codes(page)
    spread = max(np.ptp(previous, axis=0).max(), 1.0)
    for u in np.linspace(0.5, 0.95, 40)[1:]:
        page.mouse.move(left + u * width, y)
        after_frames(page, 1)
        dial = page.evaluate(f"{PLANE}.dial()")
        shown = _shown_codes(page)
        # What is drawn is the network's codes at the slider's lambda, frame by frame.
        worst = max(worst, np.abs(shown - _codes_at(dial_checkpoint, dial["lam"])).max())
        moves.append(np.median(np.linalg.norm(shown - previous, axis=1)) / spread)
        lams.append(dial["lam"])
        previous = shown
    during = plot_pixels(page)
    page.mouse.up()
    wait_idle(page)
    assert worst < 1e-4
    assert all(b >= a for a, b in zip(lams, lams[1:])) and len(set(lams)) > 30 and lams[-1] > 50, lams
    # Continuous: many small moves, none of them a jump; and the picture did change.
    assert max(moves) < 0.1 and sum(moves) > 0.05, moves
    assert (np.abs(during - before).sum(-1) > 60).mean() > 0.01


def test_a_click_at_a_fixed_z_decodes_as_the_network_does_at_each_lambda(dial_page, dial_checkpoint):
    from explorer import latent
    page = dial_page
    page.evaluate(f"{PLANE}.turnDial(1, true)")
    wait_idle(page)
    # A free z (the point within 2 of the origin farthest from any test digit's code at lambda = 1),
    # so the selection stays where it is.
    codes = dial_checkpoint.embedding.test_mu
    spots = np.mgrid[-2:2.01:0.1, -2:2.01:0.1].reshape(2, -1).T
    free = spots[np.argmax([np.linalg.norm(codes - z, axis=1).min() for z in spots])]
    page.mouse.click(*client_xy(page, free))
    click = page.evaluate(f"{PLANE}.lastClick")
    assert click["index"] == -1
    z = click["z"]
    pointer_away(page)
    shown = {}
    for lam in (0.1, 10.0):
        page.evaluate(f"(lam) => {PLANE}.turnDial(lam, true)", lam)
        wait_idle(page)
        selection = page.evaluate(f"{PLANE}.selection()")
        assert selection["z"] == pytest.approx(z)
        shown[lam] = np.array(selection["pixels"])
        expected = latent.decode(dial_checkpoint.model, np.array([z]), lam).reshape(-1)
        assert np.abs(shown[lam] - expected).max() < 1e-4
    assert np.abs(shown[0.1] - shown[10.0]).mean() > 0.02


def test_play_sweeps_the_whole_range_on_fixed_axes(dial_page):
    page = dial_page
    page.evaluate(f"{PLANE}.turnDial(0.01, true)")
    wait_idle(page)
    view = page.evaluate(f"{PLANE}.view()")
    in_plane(page, "dial-play").click()
    page.wait_for_function(f"{PLANE}.dial().playing && {PLANE}.dial().lam > 0.1")
    middle = page.evaluate(f"{PLANE}.dial()")["lam"]
    page.wait_for_function(f"!{PLANE}.dial().playing", timeout=30_000)
    wait_idle(page)
    dial = page.evaluate(f"{PLANE}.dial()")
    assert 0.1 < middle < 100 and dial["lam"] == pytest.approx(100)
    assert page.evaluate(f"{PLANE}.view()") == view
    expect(in_plane(page, "lam-value")).to_have_text("λ = 100")
    expect(in_plane(page, "dial-play")).to_have_text("▶ Play")
