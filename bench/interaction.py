"""How the explorer feels, measured in Chromium against `streamlit run app.py`.

    python bench/interaction.py [--json] [--drags 6] [--clicks 12]

- cold_start_s: from launching `streamlit run` to the plane's first paint (scatter on screen);
  server_ready_s is the part until the server answers /_stcore/health.
- drag_frame_ms p50/p95: per animation frame during scripted drags, the in-browser work of
  one frame: live decode under the pointer, interpolation-strip refresh, blit and overlays.
- click_ms p50/p95: from the click's pointerup to the Python-rendered panel showing that z.

Targets (printed, never asserted): drag frame <= 2 ms, click p50 <= 80 ms, cold start <= 4 s.
Timings are noisy on a shared machine; the JSON on the last line is for tools.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tests.browser import harness  # noqa: E402
from tests.browser.harness import PLANE  # noqa: E402

TARGETS = {"drag_frame_ms_p50": 2.0, "drag_frame_ms_p95": 2.0, "click_ms_p50": 80.0, "cold_start_s": 4.0}

def measure(model: Path, drags: int, clicks: int, seed: int = 0) -> dict:
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(seed)
    with sync_playwright() as p:
        browser = harness.launch_chromium(p)  # launched before the clock starts
        page = browser.new_page(viewport=harness.VIEWPORT)
        t0 = time.time()
        with harness.app_server(model) as url:
            server_ready_s = time.time() - t0
            harness.open_app(page, url)
            origin_ms, painted_ms = page.evaluate(f"[performance.timeOrigin, {PLANE}.paintedAt]")
            cold_start_s = (origin_ms + painted_ms) / 1000 - t0
            page.wait_for_function("document.querySelector('.st-key-selected, [data-testid=stAlert]')",
                                   timeout=60_000)  # the Python side has loaded torch and the model
            time.sleep(1.0)

            n_points = page.evaluate(f"{PLANE}.nPoints()")
            page.evaluate(f"{PLANE}.resetTimes()")
            for _ in range(drags):
                a, b = _two_digits(page, rng, n_points)
                page.mouse.move(*a)
                page.mouse.down()
                page.mouse.move(*b, steps=60)
                page.mouse.up()
                time.sleep(0.3)
            frames = np.array(page.evaluate(f"{PLANE}.frameTimes('drag')"))

            latencies = harness.click_latencies(page, clicks, rng)
        browser.close()
    latencies = np.array(latencies)
    return {
        "drag_frame_ms_p50": _pct(frames, 50), "drag_frame_ms_p95": _pct(frames, 95), "drag_frames": len(frames),
        "click_ms_p50": _pct(latencies, 50), "click_ms_p95": _pct(latencies, 95), "clicks": len(latencies),
        "cold_start_s": round(cold_start_s, 3), "server_ready_s": round(server_ready_s, 3), "model": str(model), "machine": platform.machine(),
    }


def _two_digits(page, rng, n_points) -> tuple[tuple[float, float], tuple[float, float]]:
    """Screen positions of two random test points of different digits."""
    while True:
        i, j = (int(k) for k in rng.integers(0, n_points, 2))
        pi, pj = (page.evaluate(f"{PLANE}.point({k})") for k in (i, j))
        if pi["label"] != pj["label"]:
            return tuple(_client(page, pi["z"])), tuple(_client(page, pj["z"]))


def _client(page, z):
    c = page.evaluate(f"([x, y]) => {PLANE}.toClient(x, y)", z)
    return c["x"], c["y"]


def _pct(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if len(values) else None


def _table(result: dict) -> str:
    rows = [("drag frame p50", result["drag_frame_ms_p50"], "ms", TARGETS["drag_frame_ms_p50"]),
            ("drag frame p95", result["drag_frame_ms_p95"], "ms", TARGETS["drag_frame_ms_p95"]),
            ("click -> panel p50", result["click_ms_p50"], "ms", TARGETS["click_ms_p50"]),
            ("click -> panel p95", result["click_ms_p95"], "ms", None),
            ("cold start", result["cold_start_s"], "s", TARGETS["cold_start_s"]),
            ("  of which server up", result["server_ready_s"], "s", None)]
    lines = [f"{'measure':<20} {'value':>9}  {'target':>8}  ", "-" * 44]
    for name, value, unit, target in rows:
        mark = "" if target is None or value is None else ("ok" if value <= target else "over")
        target_text = f"<= {target:g}" if target is not None else ""
        lines.append(f"{name:<20} {value:>7} {unit:<2} {target_text:>8}  {mark}")
    lines.append(f"({result['drag_frames']} drag frames, {result['clicks']} clicks; model {result['model']})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    parser.add_argument("--drags", type=int, default=6)
    parser.add_argument("--clicks", type=int, default=12)
    parser.add_argument("--model", type=Path, default=harness.model_path(),
                        help="checkpoint to open (default $EXPLORER_MODEL or pretrained/lam-1.safetensors)")
    args = parser.parse_args()
    if not harness.CHROMIUM.exists():
        print(harness.INSTALL_HINT, file=sys.stderr)
        return 2
    if not args.model.is_file():
        print(f"no model at {args.model}: pass --model or set EXPLORER_MODEL", file=sys.stderr)
        return 2
    result = measure(args.model, args.drags, args.clicks)
    print(_table(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
