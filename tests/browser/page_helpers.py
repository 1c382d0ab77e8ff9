"""Finding the page's parts in a browser by their Streamlit keys (explorer/ui), as Streamlit's own
e2e tests do: one helper per part, so no test copies a selector."""
from __future__ import annotations

import time

from playwright.sync_api import Locator, Page, expect

from tests.browser import harness

SETTLE_MS = 300  # long enough for a widget change to reach the server and start its rerun


def keyed(page: Page, key: str) -> Locator:
    """The element (widget or container) the page created with this key."""
    return page.locator(f".st-key-{key}")


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def lam_slider(page: Page) -> Locator:
    return keyed(page, "lam").get_by_role("slider")


def expect_lam(page: Page, lam: str, timeout: float = 20_000) -> None:
    """The slider shows this lambda (as the page formats it, e.g. "0.7")."""
    expect(lam_slider(page)).to_have_attribute("aria-valuetext", lam, timeout=timeout)


def settle(page: Page, timeout: float = 60_000) -> None:
    """Wait for the rerun a widget change started to finish (Streamlit's own e2e tests wait so):
    a change made while a run is still going may be folded into the next one."""
    page.wait_for_timeout(SETTLE_MS)
    expect(page.locator("[data-testid=stApp][data-test-script-state=notRunning]")).to_have_count(1, timeout=timeout)


def step_lam(page: Page, key: str, times: int = 1) -> None:
    """Keyboard steps on the slider, each left to commit as a person's would."""
    slider = lam_slider(page)
    for _ in range(times):
        slider.focus()
        page.keyboard.press(key)
        settle(page)


def expect_exploring(page: Page, model_id: str, timeout: float = 30_000) -> None:
    expect(sidebar(page)).to_contain_text(f"Exploring {model_id}", timeout=timeout)


def set_training(page: Page, label: str, value: int) -> None:
    """Type a training setting (the settings are always shown in the sidebar)."""
    field = sidebar(page).get_by_label(label)
    expect(field).to_be_visible(timeout=60_000)
    field.fill(str(value))
    field.press("Enter")
    settle(page)


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
        section.get_by_text("Model library and rate–distortion chart").click()
        settle(page)
    page.get_by_role("tab", name=tab).click()
    settle(page)
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
    settle(page)
    return page


def plane_call(page: Page, key: str, expr: str, arg=None):
    """Evaluate `expr` on the test hooks (explorer/component/hooks.js) of the plane the page drew
    with this key ("plane", or "plane_b" for the compare view's second), as `p`; `arg` as `arg`."""
    return keyed(page, key).locator("[data-testid=latent-plane]").evaluate(
        f"(el, arg) => {{ const p = el.latentPlane; return {expr}; }}", arg)


def wait_plane(page: Page, key: str, condition: str = "true", arg=None, timeout: float = 60_000) -> None:
    """Wait until the plane with this key has painted its model and `condition` (on `p`) holds."""
    keyed(page, key).locator("[data-testid=latent-plane][data-painted=true]").wait_for(timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    while not plane_call(page, key, f"p.ready && p.plane.model.key === p.plane.source.constructor.keyOf(p.plane.data) "
                                    f"&& ({condition})", arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"plane {key!r}: {condition} did not hold in {timeout / 1000:.0f} s")
        page.wait_for_timeout(100)


def toggle(page: Page, label: str) -> None:
    """Flip a sidebar toggle by its label and let the rerun reach the page."""
    sidebar(page).get_by_text(label, exact=True).click()
    settle(page)
