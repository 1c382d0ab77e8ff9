"""Screenshots of the app as a person sees it, for the README and for review:
`python -m tests.browser.screens [OUT] [--readme]`.

Starts `streamlit run app.py` on the shipped model and drives Debian's Chromium: the page at
1400x900 and 1920x1080 after a click and a drag, and in presentation mode at 1280x720; the lambda
dial at lambda = 0.01, 1 and 100 on its fixed axes, with the same free point selected; every step
of the guided tour; a digit drawn on the pad. Writes PNGs to OUT (default bench/out/screens,
gitignored) and prints one line per file; with --readme, the 1400x900 page also to README_SHOT,
the picture the README opens with.
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser import harness
from tests.browser.drawing_helpers import SEVEN, draw_digit
from tests.browser.harness import PLANE, wait_idle
from tests.browser.page_helpers import keyed, open_page, pointer_away, rerun_after

README_SHOT = harness.ROOT / "docs" / "first-two-minutes.png"


def click_and_drag(page) -> None:
    """Select a test digit (a 7, test #0) and drag from a 0 (#3) to a 1 (#2), as a person would."""
    at = lambda i: page.evaluate(f"(i) => {PLANE}.toClient(...{PLANE}.point(i).z)", i)  # noqa: E731
    a, b, c = at(3), at(2), at(0)
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move(b["x"], b["y"], steps=30)
    page.mouse.up()
    page.mouse.click(c["x"], c["y"])
    pointer_away(page)
    wait_idle(page)  # the click's panel and the strip with their images, drawn


def shoot(page, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path))
    print(path)


def main(out: Path, readme: bool = False) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with harness.app_server(harness.model_path()) as url, sync_playwright() as p:
        browser = harness.launch_chromium(p)
        for name, query, (width, height) in (("page-1400x900", "", (1400, 900)), ("page-1920x1080", "", (1920, 1080)),
                                             ("present-1280x720", "/?present", (1280, 720))):
            page = open_page(browser, url + query, viewport={"width": width, "height": height})
            click_and_drag(page)
            shoot(page, out, name)
            if readme and name == "page-1400x900":
                README_SHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(README_SHOT))
                print(README_SHOT)
            page.close()
        page = open_page(browser, url, viewport={"width": 1400, "height": 900})
        page.get_by_test_id("dial-toggle").click()
        page.wait_for_function(f"{PLANE}.dial() !== null", timeout=60_000)
        page.mouse.click(*(lambda c: (c["x"], c["y"]))(page.evaluate(f"{PLANE}.toClient(1.2, 1.8)")))
        pointer_away(page)
        for lam in (0.01, 1, 100):
            page.evaluate(f"(lam) => {PLANE}.turnDial(lam, true)", lam)
            wait_idle(page, timeout=60_000)
            shoot(page, out, f"dial-{lam:g}")
        page.close()
        page = open_page(browser, url)
        draw_digit(page, SEVEN)
        wait_idle(page)
        shoot(page, out, "drawn-digit")
        with rerun_after(page):
            keyed(page, "tour_start").get_by_role("button").click()
        for step in range(1, 7):
            expect(keyed(page, "tour")).to_contain_text(f"Tour {step} of 6", timeout=30_000)
            wait_idle(page, timeout=60_000)  # each plane's model, layers (computed in slices), strip and images
            shoot(page, out, f"tour-{step}")
            if step < 6:
                with rerun_after(page):
                    keyed(page, "tour_next").get_by_role("button").click()
        browser.close()
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--readme"]
    folder = Path(args[0]) if args else harness.ROOT / "bench" / "out" / "screens"
    raise SystemExit(main(folder, "--readme" in sys.argv))
