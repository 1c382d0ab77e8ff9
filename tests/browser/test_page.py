"""The page around the plane, in a real Chromium: nothing above the plane moves after it paints, the
lambda slider starts no job by itself, the training panel never moves the plane, after Cancel the
slider shows the lambda of the model being explored (a failed job: tests/test_ui_page.py), a
selected digit follows a model switched by the slider, the rate-distortion chart or the library's
table, and the server listens on loopback only."""
import pytest
from playwright.sync_api import expect

from tests.browser import harness
from tests.browser.harness import after_frames, z_text
from tests.browser.page_helpers import (
    expect_exploring,
    expect_lam,
    keyed,
    lam_slider,
    no_traceback,
    open_library,
    open_page,
    plane_call,
    plane_top,
    set_training,
    sidebar,
    step_lam,
    wait_loaded,
    wait_plane,
)

pytestmark = pytest.mark.browser


def test_nothing_above_the_plane_moves_after_it_first_paints(tracked_page):
    page = tracked_page
    # Everything that loads after the plane (torch, the model panel, metrics, the library's section,
    # the widgets' code) has arrived, and a frame has been drawn with it.
    wait_loaded(page)
    expect(keyed(page, "metrics")).to_be_attached()
    after_frames(page)
    tops = page.evaluate("window.__planeTops")
    assert len(tops) > 10, "the plane was never seen on screen"
    assert max(tops) - min(tops) < 0.5, f"the plane moved {max(tops) - min(tops):.1f} px after its first paint"
    assert tops[0] < 200, f"at {harness.VIEWPORT} the plane starts {tops[0]:.0f} px down; little should sit above it"


def test_arrow_keys_on_the_slider_start_no_job_and_only_offer_training(chromium, own_server, tmp_path):
    with own_server() as url:
        page = open_page(chromium, url)
        step_lam(page, "ArrowLeft", times=3)  # 1 -> 0.7 (no model) -> 0.5 (shipped) -> 0.3 (no model)
        expect_lam(page, "0.3")
        expect_exploring(page, "lam-0.5")
        offer = keyed(page, "offer")
        expect(offer).to_contain_text("No model has λ = 0.3 yet; you are still exploring λ = 0.5.")
        expect(keyed(page, "train_now")).to_contain_text("Train λ = 0.3")
        # A job started by a key press would be drawn by the rerun that press caused, the same run
        # that drew the offer: step_lam has waited for each of those reruns to finish.
        assert keyed(page, "job-panel").count() == 0
        models_dir = tmp_path / "models"
        assert not models_dir.exists() or not any(models_dir.iterdir())

        keyed(page, "lam_back").get_by_role("button").click()
        expect_lam(page, "0.5")
        expect(offer).to_have_count(0)
        no_traceback(page)
        page.close()


def test_the_training_panel_leaves_the_plane_in_place_and_cancel_leaves_the_slider_on_the_model(
        chromium, own_server):
    with own_server() as url:
        page = open_page(chromium, url)
        set_training(page, "Epochs", 50)  # long enough to be cancelled while it runs
        top = plane_top(page)
        step_lam(page, "ArrowRight", times=2)  # 1 -> 1.5 (no model) -> 2 (shipped) ... -> 3 (no model)
        step_lam(page, "ArrowRight")
        expect_lam(page, "3")
        expect_exploring(page, "lam-2")
        # the offer's button, not the settings' "again" one that a rerun in progress still shows (stale)
        page.locator(".st-key-train_now[data-stale=false]").get_by_role("button").click()
        panel = keyed(page, "job-panel")
        expect(panel).to_contain_text("Training λ = 3", timeout=20_000)
        expect(panel.get_by_role("progressbar")).to_be_visible(timeout=30_000)
        expect_lam(page, "2")  # the slider shows the model being explored, not the one training
        assert plane_top(page) == top, "the training panel moved the plane"
        assert sidebar(page).locator(".st-key-job-panel").count() == 1, "the job panel belongs in the sidebar"

        step_lam(page, "ArrowLeft")  # the user wanders off while it trains
        keyed(page, "cancel_job").get_by_role("button").click()
        expect(sidebar(page)).to_contain_text("Training λ = 3 was cancelled; no model was saved.", timeout=30_000)
        expect(panel).to_have_count(0)
        expect_lam(page, "2")
        expect_exploring(page, "lam-2")
        assert plane_top(page) == top
        no_traceback(page)
        page.close()


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on this TCP port, read from /proc/net/tcp{,6}."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    raw = bytes.fromhex(address)
                    words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]  # each 32-bit word little-endian
                    found.add(".".join(str(b) for b in words[0]) if width == 8 else b"".join(words).hex())
    return found


def test_the_app_listens_on_loopback_only(app_url):
    """As shipped (.streamlit/config.toml), the server answers this machine alone."""
    assert _listening_addresses(int(app_url.rsplit(":", 1)[1])) == {"127.0.0.1"}


# The client centre of the rate-distortion chart's marker for one library id (its customdata),
# scrolled into view.
RD_MARKER = """(id) => {
  for (const trace of document.querySelectorAll('.st-key-rd .scatterlayer .trace')) {
    const calc = trace.__data__, t = calc && calc[0] && calc[0].trace;
    if (!t || !t.customdata) continue;
    for (const point of trace.querySelectorAll('path.point')) {
      if (t.customdata[calc.indexOf(point.__data__)] !== id) continue;
      point.scrollIntoView({ block: "center" });
      const b = point.getBoundingClientRect();
      return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    }
  }
  return null;
}"""


def _select_a_test_digit(page) -> tuple[int, dict, str]:
    """Click test digit 0 on the plane: its index, the selection and the model's points URL."""
    expect(lam_slider(page)).to_be_visible(timeout=60_000)
    z = plane_call(page, "plane", "p.point(arg).z", 0)
    at = plane_call(page, "plane", "p.toClient(arg[0], arg[1])", z)
    page.mouse.click(at["x"], at["y"])
    wait_plane(page, "plane", "p.selection() && p.selection().index >= 0")
    return (plane_call(page, "plane", "p.selection().index"), plane_call(page, "plane", "p.selection()"),
            plane_call(page, "plane", "p.settings().points_url"))


def _expect_the_selection_followed(page, index: int, old: dict, points: str) -> None:
    """The panel shows test digit `index` where the new model encodes it, decoded by the new model."""
    wait_plane(page, "plane", "p.settings().points_url !== arg", points)
    new_z = plane_call(page, "plane", "p.point(arg).z", index)
    selection = plane_call(page, "plane", "p.selection()")
    assert selection["index"] == index and selection["z"] == new_z != old["z"]
    expect(keyed(page, "plane").get_by_test_id("panel-z")).to_contain_text(z_text(new_z))
    decoded = plane_call(page, "plane", "p.decode([arg])[0]", new_z)
    assert max(abs(a - b) for a, b in zip(selection["pixels"], decoded)) < 1e-6
    assert max(abs(a - b) for a, b in zip(selection["pixels"], old["pixels"])) > 0.1
    no_traceback(page)


def test_a_selection_follows_a_model_switched_with_the_slider(page):
    """Select a test digit, switch lambda with the slider: the panel shows that digit where the
    new model encodes it, and the decode is the new model's, not the old one's."""
    index, old, points = _select_a_test_digit(page)
    lam_slider(page).focus()
    page.keyboard.press("Home")  # lambda = 0: a shipped model, switched to at once
    expect_exploring(page, "lam-0")
    _expect_the_selection_followed(page, index, old, points)


def test_a_click_on_the_rate_distortion_chart_explores_that_model_and_the_selection_follows(page):
    """The chart, drawn once its tab is opened, explores the model whose marker is clicked."""
    index, old, points = _select_a_test_digit(page)
    open_library(page, "Rate–distortion")
    page.wait_for_function(f"(id) => ({RD_MARKER})(id) !== null", arg="lam-0", timeout=30_000)
    at = page.evaluate(RD_MARKER, "lam-0")
    page.mouse.click(at["x"], at["y"])
    expect_exploring(page, "lam-0")
    _expect_the_selection_followed(page, index, old, points)


GRID_ROW_PX = 35  # the height of a row (and of the header) in Streamlit's data grid


def test_explore_in_the_library_table_switches_the_model_and_the_selection_follows(page):
    """A row selected in the library's grid (its row marker, a canvas) offers Explore, which
    switches to that model."""
    index, old, points = _select_a_test_digit(page)
    library = open_library(page, "Model library")
    grid = library.get_by_test_id("stDataFrame")
    grid.scroll_into_view_if_needed()
    # The grid's accessible copy of its rows, filled in once the grid has its data.
    page.wait_for_function("() => [...document.querySelectorAll('.st-key-library tbody [role=row]')]"
                           ".some((r) => [...r.children].some((c) => c.innerText.trim() === 'lam-0'))", timeout=20_000)
    rows = library.locator("tbody [role=row]").evaluate_all(
        "(rows) => rows.map((r) => [...r.children].map((c) => c.innerText.trim()))")
    row = next(i for i, cells in enumerate(rows) if "lam-0" in cells)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + GRID_ROW_PX * (row + 1.5))
    explore = library.get_by_role("button", name="Explore lam-0")
    expect(explore).to_be_visible(timeout=20_000)
    explore.click()
    expect_exploring(page, "lam-0")
    _expect_the_selection_followed(page, index, old, points)


def test_the_plane_says_so_when_its_code_cannot_be_loaded(chromium, app_url):
    """The plane's code is a file the component's inline loader fetches (explorer/component/bundle.py):
    when that request fails, the plane's place says what happened instead of staying blank."""
    context = chromium.new_context(viewport=harness.VIEWPORT)
    page = context.new_page()
    page.route("**/app/static/cache/component-*.js", lambda route: route.fulfill(status=503, body="busy"))
    page.goto(app_url)
    expect(page.get_by_role("alert")).to_have_text("The plane's code could not be loaded (HTTP 503): reload the page.",
        timeout=60_000)
    context.close()
