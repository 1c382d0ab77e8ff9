"""Drawing a digit on the plane's pad with Playwright's mouse, for the browser tests and the
benchmarks (bench/story.py): strokes in, the drawn digit's z and its pen-up-to-point time out."""
from __future__ import annotations

from tests.browser.harness import PLANE, by_test_id

# Strokes as fractions of the pad's side, (x, y) from its top left: a 7 and a 1, written as a
# person would (the 7's bar, then its stem, in one stroke; the 1 in one stroke).
SEVEN = [[(0.22, 0.2), (0.5, 0.19), (0.76, 0.2), (0.66, 0.42), (0.56, 0.63), (0.48, 0.84)]]
ONE = [[(0.52, 0.15), (0.51, 0.5), (0.5, 0.85)]]
# A 4 in two strokes: the pen-up between them encodes the half-drawn digit, the last one the whole.
FOUR = [[(0.3, 0.15), (0.25, 0.55), (0.72, 0.55)], [(0.6, 0.2), (0.6, 0.88)]]


def pad_box(page) -> dict:
    """The pad's box in client px; shows the Draw tab first (which fetches the encoder)."""
    tab = by_test_id(page, "tab-draw")
    if page.evaluate(f"{PLANE}.tab()") != "draw":
        tab.click()
    return by_test_id(page, "draw-pad").bounding_box()


def draw_digit(page, strokes, steps: int = 4) -> dict:
    """Clear the pad and draw `strokes` with the mouse; wait until the digit's point is drawn on
    the plane. Returns {"z": its mu, "draw_to_point_ms": from the last pen-up event to the end of
    the first animation frame that drew its mark, timed in the page with performance.now()}."""
    box = pad_box(page)
    page.wait_for_function(f"{PLANE}.encoderReady", timeout=30_000)
    by_test_id(page, "draw-clear").click()
    at = lambda p: (box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"])  # noqa: E731
    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(point), steps=steps)
        before = page.evaluate(f"{PLANE}.drawn() && {PLANE}.drawn().penUp")
        page.mouse.up()
    page.wait_for_function(
        f"(before) => {{ const d = {PLANE}.drawn(); return d && d.penUp !== before && d.ms !== null; }}",
        arg=before, timeout=10_000)
    drawn = page.evaluate(f"{PLANE}.drawn()")
    return {"z": drawn["mu"], "draw_to_point_ms": drawn["ms"]}
