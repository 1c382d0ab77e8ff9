"""The page as a lecture uses it: what a person sees after each move a lecturer makes (switching
models with the axes kept, the compare view, a drag, a drawn digit), the words the page uses, and
presentation mode at the sizes a projector gives it."""
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import harness
from tests.browser.drawing_helpers import SEVEN, draw_digit
from tests.browser.harness import PLANE, wait_idle
from tests.browser.page_helpers import (
    client_xy,
    expect_exploring,
    in_plane,
    keyed,
    open_library,
    pick_lam,
    plane_call,
    plot_pixels,
    pointer_away,
    show_model,
    sidebar,
    toggle,
    wait_plane,
)

pytestmark = pytest.mark.browser




def test_with_the_axes_kept_a_new_model_is_drawn_at_once(page):
    toggle(page, "Keep the axes when the model changes")
    wait_plane(page, "plane", "p.settings().keep_axes")
    pointer_away(page)
    before, view = plot_pixels(page), plane_call(page, "plane", "p.view()")
    pick_lam(page, "5")
    expect_exploring(page, "lam-5")
    wait_idle(page)
    after = plot_pixels(page)
    assert plane_call(page, "plane", "p.view()") == view, "the axes are kept"
    changed = (np.abs(after - before).sum(-1) > 60).mean()
    assert changed > 0.02, f"only {changed:.2%} of the plot changed: the old model's points are still drawn"


def test_a_pick_says_at_once_what_the_page_will_do(page):
    busy = in_plane(page, "plane-busy")
    watch = page.evaluate_handle("""(busy) => { const seen = [];
        new MutationObserver(() => seen.push(busy.hidden ? '' : busy.textContent))
          .observe(busy, { attributes: true, childList: true, characterData: true, subtree: true });
        return seen; }""", busy.element_handle())
    pick_lam(page, "5")
    expect_exploring(page, "lam-5")
    expect(busy).to_be_hidden()
    assert "Switching to λ = 5…" in watch.evaluate("(seen) => seen"), "the plane said nothing while it switched"
    pick_lam(page, "0.3")  # no model there: the plane says so, and keeps showing the model it has
    expect(busy).to_have_text("No model has λ = 0.3 yet: train one in the sidebar, or pick another λ.")
    expect(in_plane(page, "lam-value")).to_have_text("λ = 0.3")
    expect_exploring(page, "lam-5")
    expect(keyed(page, "offer")).to_contain_text("No model has λ = 0.3 yet")


def _drag_between(page, i: int, j: int) -> None:
    a, b = (client_xy(page, plane_call(page, "plane", "p.point(arg).z", k)) for k in (i, j))
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=20)
    page.mouse.up()
    wait_plane(page, "plane", "!!p.lastDrag")


def test_opening_the_compare_view_keeps_the_selection_and_the_strip(page):
    _drag_between(page, 3, 2)  # a 0 to a 1
    page.mouse.click(*client_xy(page, plane_call(page, "plane", "p.point(0).z")))
    selection, drag = plane_call(page, "plane", "p.selection().z"), plane_call(page, "plane", "p.lastDrag")
    toggle(page, "Compare two models side by side")
    wait_plane(page, "plane_b")
    wait_plane(page, "plane", "p.settings().compact")
    assert plane_call(page, "plane", "p.selection() && p.selection().z") == selection
    assert plane_call(page, "plane", "p.lastDrag") == drag
    expect(in_plane(page, "strip-caption")).to_contain_text("10 decodings from z")


def test_the_strips_line_stays_drawn_after_the_drag(page):
    pointer_away(page)
    before = plot_pixels(page)
    _drag_between(page, 3, 2)
    pointer_away(page)
    after = plot_pixels(page)
    rect = page.evaluate(f"{PLANE}.plotRect()")
    (ax, ay), (bx, by) = (client_xy(page, plane_call(page, "plane", "p.point(arg).z", k)) for k in (3, 2))
    darker = 0
    for t in np.linspace(0.3, 0.7, 9):  # along the line, away from the ends' dots
        x, y = int(ax + t * (bx - ax) - rect["left"]) - 2, int(ay + t * (by - ay) - rect["top"]) - 2
        around = np.s_[y - 1: y + 2, x - 1: x + 2]
        darker += after[around].sum(-1).min() < before[around].sum(-1).min() - 60
    assert darker >= 7, f"the line shows at {darker} of 9 points along it"


def test_a_strip_from_a_drawn_digit_follows_it_to_a_new_model_and_says_where_it_starts(page, other_model):
    draw_digit(page, SEVEN)
    star = page.evaluate(f"{PLANE}.drawn().mu")
    target = plane_call(page, "plane", "p.point(arg).z", 2)
    page.mouse.move(*client_xy(page, star))
    page.mouse.down()
    page.mouse.move(*client_xy(page, target), steps=20)
    page.mouse.up()
    wait_plane(page, "plane", "!!p.lastDrag")
    caption = in_plane(page, "strip-caption")
    expect(caption).to_contain_text("from your drawn digit to the real test digit nearest the end")
    expect(caption).not_to_contain_text("between the real test digits")
    _, plane_b = other_model
    show_model(page, plane_b)
    page.wait_for_function(f"(old) => {{ const d = {PLANE}.drawn(); return d && d.mu[0] !== old[0]; }}", arg=star)
    moved = page.evaluate(f"{PLANE}.drawn().mu")
    assert np.allclose(page.evaluate(f"{PLANE}.lastDrag")["start"], moved), "the strip starts at the old model's code"


def test_the_panel_says_what_it_shows_in_plain_words(page, shipped, collapsed_plane):
    plane0, _ = shipped["0"]
    show_model(page, plane0)
    page.evaluate(f"(z) => {PLANE}.select(z, -1)", [5.0, 5.0])  # between lambda = 0's point-like codes
    verdict = in_plane(page, "verdict")
    expect(verdict).to_contain_text("less than 10⁻³⁰⁰ of the prior's density")
    assert "^" not in verdict.inner_text()
    page.evaluate(f"(z) => {PLANE}.select(z, -1)", [-0.0001, 0.0001])
    expect(in_plane(page, "panel-z")).to_have_text("Selected z = (0.000, 0.000)")  # no minus on a zero
    show_model(page, collapsed_plane)
    page.evaluate(f"(z) => {PLANE}.select(z, -1)", [0.2, -0.3])
    expect(verdict).to_contain_text("Within the data")
    expect(verdict).not_to_contain_text("resembles")
    page.evaluate(f"{PLANE}.update({{samples: {{n: 4, seed: 1, bernoulli: false}}}})")
    expect(in_plane(page, "samples-caption")).to_contain_text("4 samples z ~ N(0, I) (seed 1)")
    page.evaluate(f"{PLANE}.update({{samples: null}})")
    expect(in_plane(page, "samples-caption")).to_have_text(
        "Samples z ~ N(0, I) from the prior appear here, decoded, when they are switched on.")


def test_the_rate_distortion_chart_draws_a_collapsed_model_at_zero_and_labels_every_line(page):
    rd = open_library(page, "Rate–distortion")
    expect(rd.locator("g[class$=tick] text", has_text="≈ 0")).to_have_count(1, timeout=30_000)  # lambda = 100's KL
    expect(rd.locator(".annotation-text", has_text="//")).to_have_count(1)  # the break before 0.01
    labels = [t for t in rd.locator(".annotation-text").all_text_contents() if t and t.startswith("−ELBO")]
    assert "−ELBO 225" in labels and "−ELBO 150" in labels, f"the steep lines go unlabelled: {labels}"


def test_a_first_visitor_sees_the_models_by_name_and_no_training_form(page):
    expect(sidebar(page)).to_contain_text("Exploring λ = 1 · shipped")
    expect(in_plane(page, "model-title")).to_have_text("shipped")
    expect(sidebar(page).get_by_role("spinbutton")).to_have_count(0)  # epochs, K, seed: drawn once asked for
    expect(keyed(page, "train_now")).to_have_count(0)


def test_a_fresh_servers_first_visitor_is_answered_by_a_plane_that_needs_no_torch(chromium, model_file, tmp_path):
    """The first visitor of a server just started waits for nothing the plane does not need: with a
    torch whose import never ends, the plane still paints and decodes a click (a server that
    imported torch for the first run, through the slider's chart module, drew no plane at all)."""
    no_torch = tmp_path / "no-torch" / "torch"
    no_torch.mkdir(parents=True)
    (no_torch / "__init__.py").write_text("import threading\nthreading.Event().wait()  # withheld by the test\n")
    with harness.app_server(model_file, env={"PYTHONPATH": str(no_torch.parent)}) as url, \
            harness.opened_app(chromium, url) as page:
        lost = []
        assert harness.click_latencies(page, 1, np.random.default_rng(0), pause_s=0, lost=lost)[0] is not None, lost
        wait_idle(page)
        selected = plane_call(page, "plane", "p.selection()")
        assert selected is not None and max(selected["pixels"]) > 0.5, "the click was not decoded"


SIZES = {"1280x720": dict(viewport={"width": 1280, "height": 720}),
         "1400x900": dict(viewport={"width": 1400, "height": 900}),
         "1920x1080": dict(viewport={"width": 1920, "height": 1080}),
         "1400x900 at 150%": dict(viewport={"width": 933, "height": 600}, device_scale_factor=1.5)}
LARGE = ("lam-value", "model-figures", "strip-caption", "layers-key", "verdict", "panel-z", "decode-title")


@pytest.mark.parametrize("size", SIZES)
def test_presentation_mode_is_large_and_whole_at_a_projectors_sizes(chromium, app_url, size):
    with harness.opened_app(chromium, app_url + "/?present", **SIZES[size]) as page:
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
        wait_plane(page, "plane", "p.settings().present && p.settings().choice !== null")
        plane_call(page, "plane", "p.update({layers: {ellipses: false, prior: true, holes: false}})")
        rect = page.evaluate(f"{PLANE}.plotRect()")
        page.mouse.click(rect["left"] + 0.45 * rect["width"], rect["top"] + 0.55 * rect["height"])
        wait_idle(page)
        assert rect["width"] >= 400 and rect["height"] >= 400, f"the plot is {rect['width']} px"
        root = keyed(page, "plane").locator("[data-testid=latent-plane]")
        sizes = root.evaluate("""(root, ids) => Object.fromEntries(ids.map((id) => {
            const e = root.querySelector(`[data-testid=${id}]`);
            return [id, e ? parseFloat(getComputedStyle(e).fontSize) : null]; }))""", list(LARGE))
        assert all(v is not None and v >= 20 for v in sizes.values()), sizes
        clipped = root.evaluate("""(root) => [root, ...root.querySelectorAll('*')].filter((e) => {
            const s = getComputedStyle(e);
            return e.offsetParent !== null && e.textContent.trim() && e.tagName !== 'CANVAS' &&
              ((s.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1) ||
               (s.overflowY !== 'visible' && e.scrollHeight > e.clientHeight + 1));
          }).map((e) => e.dataset.testid || e.className)""")
        assert clipped == [], f"cut off: {clipped}"
        right = root.evaluate("(root) => root.getBoundingClientRect().right")
        assert right <= SIZES[size]["viewport"]["width"], "the plane runs off the window"
        palette = plane_call(page, "plane", "p.settings().palette")
        assert palette[0] == "#e69f00", "presentation mode draws the colour-blind-safe palette"
