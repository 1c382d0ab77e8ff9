"""Finding the page's parts in a browser by their Streamlit keys (explorer/ui), as Streamlit's own
e2e tests do: one helper per part, so no test copies a selector; waiting for the page's runs by
Streamlit's own signal, the script state on its app element, never for a fixed time; and the
plane's parts as a person sees them (canvas pixels, where a latent point is on screen), through
its data-testids and its hooks (explorer/component/hooks.js) only.
"""
from __future__ import annotations

import base64
import io
import json
import time
from contextlib import contextmanager

import numpy as np
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser import harness
from tests.browser.harness import PLANE

# Streamlit's app element says whether a run of the script is in progress: "running",
# "notRunning", "rerunRequested", ... (its own e2e tests wait on it).
NOT_RUNNING = "[data-testid=stApp][data-test-script-state=notRunning]"


def keyed(page: Page, key: str) -> Locator:
    """The element (widget or container) the page created with this key."""
    return page.locator(f".st-key-{key}")


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def in_plane(page: Page, test_id: str, key: str = "plane") -> Locator:
    """A part of the plane drawn with this key ("plane", or "plane_b" for the compare view's second)."""
    return keyed(page, key).locator(f"[data-testid=latent-plane] [data-testid={test_id}]")


def lam_slider(page: Page, key: str = "plane") -> Locator:
    """The plane's lambda slider."""
    return in_plane(page, "lam-slider", key)


def expect_lam(page: Page, lam: str, timeout: float = 20_000, key: str = "plane") -> None:
    """The plane's slider sits on this lambda (as the page writes it, e.g. "0.7")."""
    expect(lam_slider(page, key)).to_be_enabled(timeout=timeout)
    expect(in_plane(page, "lam-value", key)).to_have_text(f"λ = {lam}", timeout=timeout)


def script_done(page: Page, timeout: float = 60_000) -> None:
    """Wait until no run of the script is in progress."""
    expect(page.locator(NOT_RUNNING)).to_have_count(1, timeout=timeout)


# Installed before an action: `done` once the script state has gone to "running" and then back to
# "notRunning"; `seen` lists the states it went through. Read from the mutation records' old values
# too, so that a run too short to be seen by a poll is still seen.
WATCH_RERUN = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  const watch = { ran: false, done: false, seen: [app.getAttribute('data-test-script-state')] };
  const see = (state) => {
    watch.seen.push(state);
    if (state === 'running') watch.ran = true;
    else if (watch.ran && state === 'notRunning') watch.done = true;
  };
  const observer = new MutationObserver((records) => {
    records.slice(1).forEach((r) => see(r.oldValue));  // a record's old value was set by the record before it
    see(app.getAttribute('data-test-script-state'));
    if (watch.done) observer.disconnect();
  });
  observer.observe(app, { attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true });
  return watch;
}"""


@contextmanager
def rerun_after(page: Page, timeout: float = 60_000):
    """`with rerun_after(page): <action>` returns once the rerun the action caused has finished.
    Waits first for the page to be quiet: any run in progress over (so that its end is not taken
    for the action's, and a change made during a run is not folded into the next one) and every
    widget's code in (a widget still loading shows a skeleton, and its arrival moves what is below)."""
    page_quiet(page, timeout)
    watch = page.evaluate_handle(WATCH_RERUN)
    before = harness.runs_finished(page)
    yield
    # Either signal ends the wait: the script state seen going through a run, or (for a run too
    # short to show there) the server's message that a run has finished since the action.
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            page.wait_for_function("(watch) => watch.done", arg=watch, polling="raf", timeout=250)
            break
        except PlaywrightTimeoutError:
            if before is not None and harness.runs_finished(page) > before:
                script_done(page, timeout)
                break
            if time.monotonic() > deadline:
                seen = watch.evaluate("(watch) => watch.seen")
                raise AssertionError(f"the action caused no rerun that finished in {timeout / 1000:.0f} s "
                                     f"(script states seen: {seen})") from None
    watch.dispose()


def page_quiet(page: Page, timeout: float = 60_000) -> None:
    """Wait until no run is in progress and every element's code is in: Streamlit loads each kind
    of element's code on its first use and shows a skeleton (stSkeleton) meanwhile."""
    script_done(page, timeout)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)


def wait_loaded(page: Page, timeout: float = 60_000) -> None:
    """Wait until the page has drawn all that opening it sends: the plane, then (once the plane
    has painted) the rest of the page down to the library's section, each widget's lazily loaded
    code included, with the run over and the fonts in."""
    page.wait_for_function(f"{PLANE} && {PLANE}.ready", timeout=timeout)
    expect(keyed(page, "library_open")).to_be_attached(timeout=timeout)  # the last part of the page
    page_quiet(page, timeout)
    page.evaluate("document.fonts.ready.then(() => true)")


def step_lam(page: Page, key: str, times: int = 1, plane: str = "plane") -> None:
    """Keyboard steps on a plane's lambda slider, each left to commit as a person's would."""
    slider = lam_slider(page, plane)
    expect(slider).to_be_enabled(timeout=60_000)
    for _ in range(times):
        slider.focus()
        with rerun_after(page):
            page.keyboard.press(key)


def pick_lam(page: Page, lam: str, key: str = "plane") -> None:
    """Drag the lambda slider of the plane drawn with `key` to the stop `lam` (as the page writes it,
    e.g. "0.5") and release it, as a person would; return once the rerun the pick caused is over."""
    slider = lam_slider(page, key)
    expect(slider).to_be_enabled(timeout=60_000)
    stops = [f"{v:.10g}" for v in plane_call(page, key, "p.settings().choice.stops")]
    box, now = slider.bounding_box(), int(slider.evaluate("(el) => Number(el.value)"))
    at = lambda i: box["x"] + 8 + i / (len(stops) - 1) * (box["width"] - 16)  # noqa: E731  (the thumb's centre)
    y = box["y"] + box["height"] / 2
    page.mouse.move(at(now), y)
    with rerun_after(page):
        page.mouse.down()
        page.mouse.move(at(stops.index(lam)), y, steps=6)
        page.mouse.up()


def expect_exploring(page: Page, model_id: str, timeout: float = 30_000, key: str = "plane") -> None:
    """The plane drawn with `key` shows the library's model whose id starts with `model_id`."""
    wait_plane(page, key, "(p.settings().choice || {model_id: ''}).model_id.startsWith(arg)", model_id, timeout)


def show_training_settings(page: Page) -> None:
    """Open the sidebar's training settings (drawn once asked for), unless they are open."""
    expect(keyed(page, "train_show")).to_be_visible(timeout=60_000)
    if keyed(page, "training-settings").count() == 0:
        with rerun_after(page):
            keyed(page, "train_show").get_by_text("Training settings").click()
    expect(keyed(page, "training-settings")).to_be_visible(timeout=30_000)


def set_training(page: Page, label: str, value: int) -> None:
    """Type a training setting, the settings opened first."""
    show_training_settings(page)
    field = sidebar(page).get_by_label(label)
    expect(field).to_be_visible(timeout=60_000)
    if field.input_value() == str(value):
        return  # Enter on an unchanged value reruns nothing
    field.fill(str(value))
    with rerun_after(page):
        field.press("Enter")


def plane_top(page: Page) -> float:
    """The plane's top edge in page coordinates (independent of scrolling), px."""
    return page.evaluate("(() => { const r = document.querySelector('.st-key-plane').getBoundingClientRect();"
                         " return r.top + window.scrollY; })()")


# Installed before the page loads: the plane's top in page coordinates, every animation frame from
# the first in which the plane's element has a size (at or before its first paint).
WATCH_LAYOUT = """(() => {
  window.__planeTops = [];
  const watch = () => {
    const el = document.querySelector('.st-key-plane');
    if (el && el.getBoundingClientRect().height > 0) {
      window.__planeTops.push(el.getBoundingClientRect().top + window.scrollY);
    }
    requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
})()"""


def open_library(page: Page, tab: str) -> Locator:
    """Open the section under the plane and its tab "Model library" or "Rate–distortion" (each
    drawn only once opened); the tab's own container ("library" or "rd")."""
    section = keyed(page, "library_open")
    section.wait_for(timeout=60_000)
    if keyed(page, "library").count() + keyed(page, "rd").count() == 0:
        with rerun_after(page):
            section.get_by_text("Model library and rate–distortion chart").click()
    button = page.get_by_role("tab", name=tab)
    if button.get_attribute("aria-selected") != "true":  # a click on the open tab reruns nothing
        with rerun_after(page):
            button.click()
    content = keyed(page, "library" if tab == "Model library" else "rd")
    content.wait_for(timeout=30_000)
    return content


def no_traceback(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "Traceback" not in page.content()


def open_page(chromium, url: str, viewport: dict | None = None) -> Page:
    page = chromium.new_page(viewport=viewport or harness.VIEWPORT)
    harness.open_app(page, url)
    expect(sidebar(page)).to_contain_text("Exploring", timeout=60_000)
    wait_loaded(page)
    return page


def plane_call(page: Page, key: str, expr: str, arg=None):
    """Evaluate `expr` on the test hooks (explorer/component/hooks.js) of the plane the page drew
    with this key ("plane", or "plane_b" for the compare view's second), as `p`; `arg` as `arg`."""
    return keyed(page, key).locator("[data-testid=latent-plane]").evaluate(
        f"(el, arg) => {{ const p = el.latentPlane; return {expr}; }}", arg)


def wait_plane(page: Page, key: str, condition: str = "true", arg=None, timeout: float = 60_000) -> None:
    """Wait until the plane with this key has painted the model its data names and `condition`
    (on its hooks `p`, with `arg`) holds; checked every animation frame."""
    container = json.dumps(f".st-key-{key}")
    page.wait_for_function(f"(arg) => {{ const c = document.querySelector({container}); "
                           f"const el = c && {harness.PLANES_IN}(c)[0], p = el && el.latentPlane; "
                           f"return !!p && p.ready && p.showsModel() && !!({condition}); }}",
                           arg=arg, polling="raf", timeout=timeout)


def toggle(page: Page, label: str) -> None:
    """Flip a sidebar toggle by its label and let the rerun reach the page."""
    with rerun_after(page):
        sidebar(page).get_by_text(label, exact=True).click()


# ---------------------------------------------------------------------- the plane
def canvas_pixels(page: Page, selector: str) -> np.ndarray:
    """What a canvas of the plane shows (the first that `selector` finds in it), as (H, W, 3) int."""
    from PIL import Image
    url = page.locator(f"[data-testid=latent-plane] {selector}").first.evaluate("(c) => c.toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)


def plot_pixels(page: Page) -> np.ndarray:
    """The plot's pixels as drawn once the frames asked for so far are (the axes left out)."""
    harness.after_frames(page)
    canvas = "[data-testid=plane-canvas]"
    rect = page.evaluate(f"{PLANE}.plotRect()")
    box = page.locator(f"[data-testid=latent-plane] {canvas}").first.bounding_box()
    x, y = int(rect["left"] - box["x"]) + 2, int(rect["top"] - box["y"]) + 2
    return canvas_pixels(page, canvas)[y: y + int(rect["height"]) - 4, x: x + int(rect["width"]) - 4]


def grey_pixels(page: Page, selector: str) -> np.ndarray:
    """A canvas of the plane that shows a grey image, as (H, W) int."""
    return canvas_pixels(page, selector)[..., 0]


def wait_painted(page: Page, selector: str) -> None:
    """Wait until the page's plane's canvas `selector` shows an image (an opaque pixel where it was cleared)."""
    page.wait_for_function(f"(s) => {{ const c = {PLANE}.element.querySelector(s); "
                           "return !!c && c.getContext('2d').getImageData(0, 0, 1, 1).data[3] === 255; }",
                           arg=selector)


def client_xy(page: Page, z) -> tuple[float, float]:
    """Client px of latent z on the page's plane."""
    p = page.evaluate(f"([x, y]) => {PLANE}.toClient(x, y)", [float(z[0]), float(z[1])])
    return p["x"], p["y"]


def drag_between(page: Page, i: int, j: int, steps: int = 20) -> None:
    """Press on test digit i's dot, drag to test digit j's, release: the strip between them."""
    a, b = (page.evaluate(f"(k) => {PLANE}.toClient(...{PLANE}.point(k).z)", k) for k in (i, j))
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move(b["x"], b["y"], steps=steps)
    page.mouse.up()


def pointer_away(page: Page) -> None:
    """Move the pointer off the plot, so the big decode shows the selection."""
    page.mouse.move(5, 5)


def isolated_point(page: Page, embedding, label: int) -> int:
    """A test point of this digit (of `embedding`'s test_mu and test_labels) with no other point
    within 4 screen px, well inside the view."""
    mu, labels = embedding.test_mu, embedding.test_labels
    view = page.evaluate(f"{PLANE}.view()")
    px_per_unit = page.evaluate(f"{PLANE}.plotRect()")["width"] / (view["x"][1] - view["x"][0])
    (x0, x1), (y0, y1) = view["x"], view["y"]
    for i in np.flatnonzero(labels == label):
        if not (x0 + 0.15 * (x1 - x0) < mu[i, 0] < x1 - 0.15 * (x1 - x0)
                and y0 + 0.15 * (y1 - y0) < mu[i, 1] < y1 - 0.15 * (y1 - y0)):
            continue
        gaps = np.linalg.norm(mu - mu[i], axis=1) * px_per_unit
        gaps[i] = np.inf
        if gaps.min() > 4:
            return int(i)
    raise AssertionError(f"no isolated test point of digit {label} in view")


def show_model(page: Page, plane_assets) -> None:
    """Give the page's plane another model's data (explorer.assets.PlaneAssets), as a rerun after
    a model change would; wait until it shows that model."""
    page.evaluate(f"(data) => {PLANE}.update(data)", plane_assets.to_data())
    page.wait_for_function(f"(url) => {PLANE}.showsModel(url)", arg=plane_assets.decoder_url)


def torch_decode(checkpoint, z) -> np.ndarray:
    """The oracle for the in-browser decoder: torch's decodes of latent points z, (len(z), H*W)."""
    from explorer import latent
    return latent.decode(checkpoint.model, np.asarray(z, np.float32).reshape(-1, 2)).reshape(len(z), -1)
