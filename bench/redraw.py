"""How long the plane takes to redraw its base layer (on every pan, zoom, model or layer change).

    python bench/redraw.py [--json] [--rounds 15]

In Chromium against `streamlit run app.py`, on the shipped lambda = 1 model at the fitted view
(1400 x 900, headless, --disable-gpu: a software canvas, as on machines without a GPU):
- ours_ms: the base as the app draws it, the dots blended into the plot's pixels in JS (dots.js).
- baseline_ms: the same dots drawn by the canvas, one drawImage of a pre-drawn sprite per point,
  into the same base canvas in the same page.
- ratio: baseline over ours (medians of alternating rounds).
- ellipses_ms: ours with the posterior ellipses of every visible digit on, and how many digits.
- paint_s: when the plane first painted after the page was opened, for reference.
The frame budget at 60 Hz is 16.7 ms. The JSON on the last line is for tools.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tests.browser import harness
from tests.browser.harness import PLANE
from tests.browser.page_helpers import wait_loaded

# The baseline, in the page: every visible dot drawn by the canvas as a sprite, as the plane's
# renderer would without its JS blend; the same projected points, palette, radius and alpha.
BASELINE = """() => {
  const api = window.__latentPlane;
  const sprites = api.dots().map(({ size, coverage, rgb }) => {
    const c = document.createElement("canvas");
    c.width = c.height = size;
    const g = c.getContext("2d"), image = g.createImageData(size, size);
    for (let k = 0; k < size * size; k++) image.data.set([...rgb, Math.round(255 * coverage[k])], 4 * k);
    g.putImageData(image, 0, 0);
    return c;
  });
  const half = sprites[0].width / 2;
  return api.redrawBaseWith((ctx, { n, sx, sy, labels, dpr }) => {
    for (let i = 0; i < n; i++) {
      const sprite = sprites[labels[i] % sprites.length];
      ctx.drawImage(sprite, Math.round(sx[i] * dpr - half), Math.round(sy[i] * dpr - half));
    }
  });
}"""


def measure(rounds: int) -> dict:
    from playwright.sync_api import sync_playwright
    with harness.app_server(harness.model_path()) as url, sync_playwright() as pw:
        browser = harness.launch_chromium(pw)
        context = browser.new_context(viewport=harness.VIEWPORT)
        page = context.new_page()
        harness.open_app(page, url)
        wait_loaded(page)  # the rest of the page has loaded
        harness.wait_idle(page)  # and the plane has nothing left to fetch or draw
        paint_s = page.evaluate(f"{PLANE}.paintedAt") / 1000
        ours, baseline = [], []
        for _ in range(rounds):
            ours.append(page.evaluate(f"{PLANE}.redrawBase()")["ms"])
            baseline.append(page.evaluate(BASELINE))
        page.evaluate(f"{PLANE}.update({{layers: {{ellipses: true, prior: false, holes: false}}}})")
        runs = [page.evaluate(f"{PLANE}.redrawBase()") for _ in range(rounds)]
        context.close()
        browser.close()
    ours_ms, baseline_ms = float(np.median(ours)), float(np.median(baseline))
    return {"ours_ms": round(ours_ms, 1), "baseline_ms": round(baseline_ms, 1),
            "ratio": round(baseline_ms / ours_ms, 2),
            "ellipses_ms": round(float(np.median([r["ms"] for r in runs])), 1),
            "ellipses_digits": int(min(r["ellipses"] for r in runs)), "rounds": rounds,
            "paint_s": round(paint_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if not harness.CHROMIUM.exists():
        sys.exit(f"error: needs Chromium at {harness.CHROMIUM} (apt-get install -y chromium)")
    figures = measure(args.rounds)
    print(f"{'measure':24s} {'value':>9s}")
    print("-" * 34)
    for key, value in figures.items():
        print(f"{key:24s} {value:>9}")
    print("(frame budget at 60 Hz: 16.7 ms)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
