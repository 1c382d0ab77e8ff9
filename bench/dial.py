"""The lambda dial (one network for every lambda) against the separately trained shipped models.

At each shipped lambda in {0.1, 0.5, 1, 2, 5}: the test objective recon + lambda * KL (nats per
test image) of the dial evaluated at that lambda beside that lambda's own model, both computed
here by `explorer.evaluate` on the same images with the same samples of z. Then the dial's
neg-ELBO at lambda = 1, its collapse at lambda = 100 (KL and active units, beside the shipped
lambda = 100 model), and how far the test digits' codes jump between neighbouring lambdas
(`explorer.dial.mu_step`): across the dial's stored grid, between the dial's codes at the shipped
lambdas, and between the separately trained models (raw, and after the best orthogonal map of
one plane onto the next, orthogonal Procrustes: Schoenemann 1966), whose planes may be rotated
or flipped against each other because the prior N(0, I) is. Then, in Chromium against
`streamlit run app.py` (`browser_figures`), the dial's frames while its slider is dragged and its
clicks, beside the separately trained lambda = 1 model's drag frames and clicks on the same page.

    python bench/dial.py [--dial pretrained/dial.safetensors] [--limit N] [--no-browser] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer import checkpoint as ckpt_io
from explorer.data import load_split
from explorer.dial import encode_at, mu_step
from explorer.evaluate import evaluate
from explorer.library import SHIPPED_DIR
from explorer.train import EpochStats, images_to_tensor
from tests.browser import harness

LAMS = (0.1, 0.5, 1.0, 2.0, 5.0)  # shipped lambdas inside the dial's range
COLLAPSE_LAM = 100.0


def procrustes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a mapped by the orthogonal matrix R (rotation or reflection) that minimises |a R - b|:
    R = U V^T from the SVD U S V^T of a^T b."""
    u, _, vt = np.linalg.svd(a.astype(np.float64).T @ b.astype(np.float64))
    return a @ (u @ vt)


def train_seconds(ckpt) -> float | None:
    return round(EpochStats.from_dict(ckpt.history[-1]).elapsed_s, 1) if ckpt.history else None


def _drag_slider(page, u0: float, u1: float, steps: int) -> None:
    """Drag the plane's lambda slider with the mouse from position u0 to u1 (0: its left end)."""
    from tests.browser.page_helpers import lam_slider
    box = lam_slider(page).bounding_box()
    y, left, width = box["y"] + box["height"] / 2, box["x"] + 8, box["width"] - 16  # the thumb's travel
    page.mouse.move(left + u0 * width, y)
    page.mouse.down()
    for u in np.linspace(u0, u1, steps + 1)[1:]:
        page.mouse.move(left + u * width, y)
        harness.after_frames(page, 1)
    page.mouse.up()


def browser_figures(clicks: int, sweeps: int) -> dict:
    """The dial in Chromium against `streamlit run app.py`, beside the separately trained lambda = 1
    model on the same page: ms of in-browser work per animation frame while the slider drags the
    dial (codes interpolated, decoder re-conditioned, points drawn), against the frames of a drag
    between two digits on the plain model (bench/interaction.py's drag_frame_ms); and a click's
    answer (pointerup to the panel showing its z) at dial lambdas, against clicks on the plain model."""
    from playwright.sync_api import sync_playwright

    from tests.browser.harness import PLANE
    from tests.browser.page_helpers import in_plane
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from interaction import drag_once

    rng = np.random.default_rng(0)
    with harness.app_server(harness.model_path()) as url, sync_playwright() as p:
        browser = harness.launch_chromium(p)
        with harness.opened_app(browser, url, viewport=harness.VIEWPORT) as page:
            harness.wait_idle(page, timeout=60_000)
            plain_clicks = harness.click_latencies(page, clicks, rng, pause_s=0.1)
            page.evaluate(f"{PLANE}.resetTimes()")
            for _ in range(sweeps):
                drag_once(page, rng, 10_000)
            plain_frames = page.evaluate(f"{PLANE}.frameTimes('drag')")
            in_plane(page, "dial-toggle").click()
            page.wait_for_function(f"{PLANE}.dial() !== null", timeout=60_000)
            harness.wait_idle(page, timeout=60_000)
            page.evaluate(f"{PLANE}.resetTimes()")
            for k in range(sweeps):  # across the whole range, each way
                _drag_slider(page, *((0.02, 0.98) if k % 2 == 0 else (0.98, 0.02)), steps=60)
            dial_frames = page.evaluate(f"{PLANE}.frameTimes('dial')")
            dial_clicks = []
            for lam in (0.1, 1.0, 10.0):
                page.evaluate(f"(lam) => {PLANE}.turnDial(lam, true)", lam)
                harness.wait_idle(page)
                dial_clicks += harness.click_latencies(page, clicks // 3, rng, pause_s=0.1)
        browser.close()
    pct = lambda values, q: round(float(np.percentile([v for v in values if v is not None], q)), 2)  # noqa: E731
    return {"dial_frame_ms_p95": pct(dial_frames, 95), "dial_frame_ms_p50": pct(dial_frames, 50),
            "dial_frames": len(dial_frames), "plain_drag_frame_ms_p95": pct(plain_frames, 95),
            "dial_click_ms_p50": pct(dial_clicks, 50), "dial_click_ms_p95": pct(dial_clicks, 95),
            "plain_click_ms_p50": pct(plain_clicks, 50), "plain_click_ms_p95": pct(plain_clicks, 95),
            "dial_clicks_lost": sum(v is None for v in dial_clicks)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dial", type=Path, default=SHIPPED_DIR / "dial.safetensors")
    p.add_argument("--limit", type=int, default=0, help="the first N test images (default 0: all)")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument("--no-browser", action="store_true", help="leave out the figures measured in Chromium")
    p.add_argument("--clicks", type=int, default=30, help="clicks on each model in Chromium (default 30)")
    p.add_argument("--sweeps", type=int, default=4, help="slider drags across the dial's range (default 4)")
    args = p.parse_args()
    start = time.perf_counter()
    dial = ckpt_io.load(args.dial)
    if not dial.config.dial:
        sys.exit(f"error: {args.dial} is not a dial")
    separate = {lam: ckpt_io.load(SHIPPED_DIR / f"lam-{lam:g}.safetensors") for lam in (*LAMS, COLLAPSE_LAM)}
    x = images_to_tensor(load_split("test").images[: args.limit or None])

    objectives = {}
    for lam in LAMS:
        ours = evaluate(dial.model, x, iwae_k=1, lam=lam)
        theirs = evaluate(separate[lam].model, x, iwae_k=1)
        objectives[f"{lam:g}"] = {"dial": ours.recon + lam * ours.kl, "separate": theirs.recon + lam * theirs.kl,
                                  "dial_recon": ours.recon, "dial_kl": ours.kl,
                                  "separate_recon": theirs.recon, "separate_kl": theirs.kl}
        objectives[f"{lam:g}"]["gap"] = objectives[f"{lam:g}"]["dial"] - objectives[f"{lam:g}"]["separate"]
    at_one = objectives["1"]
    collapse = evaluate(dial.model, x, iwae_k=1, lam=COLLAPSE_LAM)
    collapse_separate = evaluate(separate[COLLAPSE_LAM].model, x, iwae_k=1)

    grid_mu = dial.dial.mu.decode()
    grid_steps = [mu_step(a, b) for a, b in zip(grid_mu, grid_mu[1:])]
    dial_mu = encode_at(dial.model, x, np.array(LAMS))[0]
    sep_mu = [separate[lam].embedding.test_mu[: len(x)] for lam in LAMS]
    pairs = [f"{a:g}->{b:g}" for a, b in zip(LAMS, LAMS[1:])]
    steps_dial = [mu_step(a, b) for a, b in zip(dial_mu, dial_mu[1:])]
    steps_raw = [mu_step(a, b) for a, b in zip(sep_mu, sep_mu[1:])]
    steps_aligned = [mu_step(procrustes(a, b), b) for a, b in zip(sep_mu, sep_mu[1:])]

    result = {
        "dial": str(args.dial), "lam_range": list(dial.config.lam_range), "epochs": len(dial.history),
        "test_images": len(x), "objectives": objectives,
        "objective_gap_max": max(o["gap"] for o in objectives.values()),
        "neg_elbo_lam1": at_one["dial_recon"] + at_one["dial_kl"],
        "neg_elbo_lam1_separate": at_one["separate_recon"] + at_one["separate_kl"],
        "collapse_kl": collapse.kl, "collapse_active_units": collapse.active_units,
        "collapse_kl_separate": collapse_separate.kl,
        "collapse_active_units_separate": collapse_separate.active_units,
        "grid_size": len(dial.dial.lams), "mu_step_max": max(grid_steps),
        "mu_step_pairs": pairs, "mu_step_dial_pairs": steps_dial,
        "mu_step_separate_pairs": steps_raw, "mu_step_separate_aligned_pairs": steps_aligned,
        "mu_step_separate": max(steps_raw), "mu_step_separate_aligned": max(steps_aligned),
        "train_seconds": train_seconds(dial),
        "train_seconds_separate": {f"{lam:g}": train_seconds(separate[lam]) for lam in LAMS},
        "file_mb": round(args.dial.stat().st_size / 2**20, 2),
        **({} if args.no_browser else browser_figures(args.clicks, args.sweeps)),
        "seconds": round(time.perf_counter() - start, 1),
    }

    print(f"{args.dial}: one network for lambda {dial.config.lam_range[0]:g} to {dial.config.lam_range[1]:g} "
          f"({result['epochs']} epochs, {result['train_seconds']} s) against the shipped models; "
          f"nats per test image, {len(x):,} test images")
    print(f"  {'lambda':>7}{'dial recon':>12}{'dial KL':>9}{'dial obj':>10}{'sep recon':>11}{'sep KL':>8}"
          f"{'sep obj':>9}{'dial - sep':>12}")
    for lam, o in objectives.items():
        print(f"  {lam:>7}{o['dial_recon']:12.2f}{o['dial_kl']:9.2f}{o['dial']:10.2f}{o['separate_recon']:11.2f}"
              f"{o['separate_kl']:8.2f}{o['separate']:9.2f}{o['gap']:12.2f}")
    print(f"  largest objective gap {result['objective_gap_max']:.2f}; neg-ELBO at lambda = 1: dial "
          f"{result['neg_elbo_lam1']:.2f}, separate {result['neg_elbo_lam1_separate']:.2f}")
    print(f"  lambda = {COLLAPSE_LAM:g}: dial KL {collapse.kl:.4f}, {collapse.active_units} active units; "
          f"separate KL {collapse_separate.kl:.4f}, {collapse_separate.active_units} active units")
    print(f"  code step between neighbouring lambdas (median move / max(spread, 1)): dial's grid of "
          f"{result['grid_size']} lambdas, largest {result['mu_step_max']:.4f}")
    print(f"  {'pair':>10}{'dial':>9}{'separate':>10}{'aligned':>9}")
    for pair, d, r, a in zip(pairs, steps_dial, steps_raw, steps_aligned):
        print(f"  {pair:>10}{d:9.3f}{r:10.3f}{a:9.3f}")
    if not args.no_browser:
        print("  in Chromium, ms          dial   plain lambda = 1 (a drag between two digits; clicks)")
        print(f"  frame p95            {result['dial_frame_ms_p95']:8.2f}{result['plain_drag_frame_ms_p95']:8.2f}"
              f"   ({result['dial_frames']} dial frames; target <= 33)")
        print(f"  click p50            {result['dial_click_ms_p50']:8.1f}{result['plain_click_ms_p50']:8.1f}"
              f"   (target <= 30; {result['dial_clicks_lost']} lost)")
        print(f"  click p95            {result['dial_click_ms_p95']:8.1f}{result['plain_click_ms_p95']:8.1f}")
    print(f"  file {result['file_mb']} MB; bench took {result['seconds']} s")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
