"""How fast does "slide lambda and retrain" give a usable model, and does training slow clicks?

Drives explorer.jobs.JobManager exactly as the page will (one worker, one torch thread for the
whole process), in one process, against a temporary library:
  first update:  submit -> the first live embedding (end of epoch 1);
  baseline:      train from scratch with growing epoch budgets until the finished model is
                 within --tolerance nats of the converged reference;
  ours:          the same, warm-started from the nearest library model.
Runs of the two alternate, so both see the same machine load.

"Within 3 nats" compares the test-set objective the job optimises, recon + lambda * KL (nats per
image, the neg-ELBO when lambda = 1), of the finished model against the converged reference
(`pretrained/lam-<lam>.safetensors`, or --reference). Each budget is a separate job, because a
job's cosine schedule makes a short run end far better than the same epoch of a long one; the
model is scored by the metrics the job itself records (neg-ELBO with 10 samples of z per image).
The reported time is that of the smallest budget tried that gets there, so coarse budgets overstate it.
`train_s` is submit -> training done; `ready_s` adds evaluating and saving (the page switches then).

Click latency (click_ms_idle, click_ms_training) is a real UI figure: `streamlit run app.py`
(with a temporary EXPLORER_MODELS_DIR) driven by Chromium, from a click's pointerup on the plane
to the Python-rendered selection panel showing that z (as bench/interaction.py measures it),
first idle, then while a job started from the page (slider one stop up, then Train) trains in the server
process; the job is then cancelled with the page's Cancel button. The in-process figures (the
Python work of a click: decode one z, find its 8 nearest training images, timed idle and while
the sweep's jobs train in a background thread) are kept as click_ms_*_inprocess.

    python bench/retrain.py [--lam 1] [--reference PATH|NUMBER] [--warm-from PATH ...] [--json]
                            [--browser-clicks 12 | --no-browser] [--browser-only]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer import checkpoint as ckpt_io
from explorer.data import DEFAULT_DIR, load_split
from explorer.jobs import JobManager, JobState
from explorer.library import SHIPPED_DIR, ModelLibrary
from explorer.plans import training_config
from tests.browser import harness
from tests.browser.page_helpers import set_training, step_lam, wait_loaded

NEIGHBOURS = 8
BROWSER_JOB_EPOCHS = 40  # long enough to outlast the clicks; the job is cancelled after them


def main() -> int:
    args = parse_args()
    # By default the library holds every shipped model but the one for --lam: we slide to it from a neighbour.
    sources = args.warm_from or [p for p in sorted(SHIPPED_DIR.glob(f"*{ckpt_io.EXTENSION}"))
                                 if ckpt_io.load(p).lam != args.lam]
    browser = None if args.no_browser else browser_clicks(harness.model_path() if harness.model_path().is_file()
                                                          else sources[0], args.browser_clicks, args.seed)
    if args.browser_only:
        print(json.dumps(browser) if args.json else browser)
        return 0
    reference_name, args.reference_value = reference_objective(args)
    t = time.perf_counter()
    splits = load_split("train", args.data), load_split("test", args.data)
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="retrain-bench-") as tmp:
        shipped = Path(tmp) / "pretrained"
        shipped.mkdir()
        for source in sources:
            shutil.copy(source, shipped / Path(source).name)
        library = ModelLibrary(shipped, Path(tmp) / "models")
        manager = JobManager(library, args.data, threads=args.threads, splits=splits)
        click = Clicker(library.load(library.entries()[0].id))
        try:
            idle_ms = [click() for _ in range(args.clicks)]
            runs, warm_source = sweep(args, manager, library, click)
        finally:
            manager.close(timeout=60)
        source_gap = None
        if warm_source:  # how far the warm start begins: the source's own test figures at the new lambda
            m = library.get(warm_source).metrics
            source_gap = m.recon + args.lam * m.kl - args.reference_value
    report = summarise(args, runs, warm_source, source_gap, reference_name, idle_ms, load_s, browser)
    print_table(args, runs, report)
    if args.json:
        print(json.dumps(report))
    return 0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lam", type=float, default=1.0, help="the lambda slid to (default %(default)s)")
    p.add_argument("--reference", default=None,
                   help="converged model for --lam: a checkpoint path, or its test recon + lambda * KL in nats "
                        "(default pretrained/lam-<lam>.safetensors)")
    p.add_argument("--warm-from", type=Path, nargs="+", default=None,
                   help="checkpoints in the library warm starts pick from (default: the shipped ones but --lam's)")
    p.add_argument("--scratch-epochs", type=_ints, default=(20, 40, 80),
                   help="budgets tried from scratch, in order, until one is within tolerance")
    p.add_argument("--warm-epochs", type=_ints, default=(1, 3, 5, 10), help="budgets tried warm-started")
    p.add_argument("--tolerance", type=float, default=3.0, help="nats (default %(default)s)")
    p.add_argument("--all-budgets", action="store_true", help="run every budget, not only up to the first within")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads of the process, as the server sets them")
    p.add_argument("--clicks", type=int, default=200, help="clicks timed while idle")
    p.add_argument("--data", type=Path, default=DEFAULT_DIR)
    p.add_argument("--browser-clicks", type=int, default=12, help="clicks timed in Chromium, idle and training")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium click figures")
    p.add_argument("--browser-only", action="store_true", help="only the Chromium click figures")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    return p.parse_args()


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def reference_objective(args) -> tuple[str, float]:
    """Test recon + lambda * KL of the converged model at --lam."""
    ref = args.reference or SHIPPED_DIR / f"lam-{args.lam:g}{ckpt_io.EXTENSION}"
    try:
        return "given", float(ref)
    except (TypeError, ValueError):  # a path (the default is a Path), not a number
        pass
    if not Path(ref).exists():
        sys.exit(f"error: no reference for lambda {args.lam:g}: {ref} does not exist; pass --reference")
    ckpt = ckpt_io.load(ref)
    if abs(ckpt.lam - args.lam) > 1e-9:
        sys.exit(f"error: the reference {ref} was trained at lambda {ckpt.lam:g}, not {args.lam:g}")
    return str(ref), ckpt.metrics.recon + args.lam * ckpt.metrics.kl


class Clicker:
    """The Python work of one click on the latent plane: decode z, look up its nearest images."""

    def __init__(self, ckpt):
        self.model, self.train_mu = ckpt.model, ckpt.embedding.train_mu
        self.rng = np.random.default_rng(0)

    def __call__(self) -> float:
        """One click at a random z; returns its milliseconds."""
        z = self.rng.normal(size=2).astype(np.float32)
        t = time.perf_counter()
        with torch.inference_mode():
            torch.sigmoid(self.model.decode(torch.from_numpy(z)[None])).numpy()  # (1, 784) pixels
        d2 = ((self.train_mu - z) ** 2).sum(1)
        np.argpartition(d2, NEIGHBOURS)[:NEIGHBOURS]
        return (time.perf_counter() - t) * 1000


def browser_clicks(model: Path, clicks: int, seed: int) -> dict:
    """Click -> Python panel latency in Chromium, idle and while a job started from the page trains."""
    if not harness.CHROMIUM.exists():
        return {"error": harness.INSTALL_HINT}
    from playwright.sync_api import expect, sync_playwright
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="retrain-bench-ui-") as models_dir, sync_playwright() as p:
        browser = harness.launch_chromium(p)
        page = browser.new_page(viewport=harness.VIEWPORT)
        with harness.app_server(model, models_dir=Path(models_dir)) as url:
            harness.open_app(page, url)
            wait_loaded(page)  # the page's first full run is over and drawn
            harness.click_latencies(page, 2, rng)  # first clicks warm caches; not counted
            idle = harness.click_latencies(page, clicks, rng)

            set_training(page, "Epochs", BROWSER_JOB_EPOCHS)
            step_lam(page, "ArrowRight")  # one stop up: a lambda with no model; the page offers to train it
            page.locator(".st-key-train_now").get_by_role("button").click(timeout=30_000)
            panel = page.locator(".st-key-job-panel")
            page.wait_for_selector(".st-key-live-embedding", timeout=60_000)  # training, past loading data
            lam = panel.locator("strong").first.inner_text()
            training = []
            while len(training) < clicks and panel.is_visible():
                training += harness.click_latencies(page, 1, rng)
            ran_throughout = panel.is_visible()
            progress = panel.get_by_role("progressbar").get_attribute("aria-valuenow") if ran_throughout else None
            if ran_throughout:
                panel.get_by_role("button", name="Cancel").click()
                expect(page.get_by_text("was cancelled")).to_be_visible(timeout=30_000)
        browser.close()
    return {"idle_ms": idle, "training_ms": training, "job": lam, "job_ran_throughout": ran_throughout,
            "job_progress_at_end": progress, "model": str(model)}


def sweep(args, manager: JobManager, library: ModelLibrary, click: Clicker) -> tuple[list[dict], str | None]:
    """Alternate scratch and warm-start budgets until each is within tolerance."""
    todo = {"scratch": list(args.scratch_epochs), "warm": list(args.warm_epochs)}
    runs, warm_source = [], None
    while any(todo.values()):
        for mode, budgets in todo.items():
            if not budgets:
                continue
            run = run_job(manager, library, click, args, mode, budgets.pop(0))
            runs.append(run)
            warm_source = warm_source or run["warm_from"]
            print(f"  {mode:7} {run['epochs']:3} epochs: {run['train_s']:6.1f} s, gap {run['gap']:+6.2f} nats",
                  file=sys.stderr)
            if run["gap"] <= args.tolerance and not args.all_budgets:
                budgets.clear()
    return runs, warm_source


def run_job(manager, library, click, args, mode: str, epochs: int) -> dict:
    config = training_config(args.lam, epochs=epochs, seed=args.seed)
    clicks_ms, first_update, trained = [], None, None
    start = time.perf_counter()
    job = manager.submit(config, warm_start=mode == "warm")
    while True:
        status = job.status()
        now = time.perf_counter() - start
        if first_update is None and status.embedding_epoch >= 1:
            first_update = now
        if trained is None and status.phase in ("evaluating", "saving", "done"):
            trained = now
        if not status.active:
            break
        if status.phase == "training":
            clicks_ms.append(click())
        time.sleep(0.02)  # a person clicks far less often; this leaves the worker its share of the GIL
    ready = time.perf_counter() - start
    if status.state != JobState.DONE:
        sys.exit(f"error: the {mode} job with {epochs} epochs ended {status.state.value}: {status.error}")
    metrics = library.get(status.result).metrics
    library.delete(status.result)  # so the next warm start picks the original source, not this run
    objective = metrics.recon + args.lam * metrics.kl
    return {"mode": mode, "epochs": epochs, "warm_from": status.warm_from, "first_update_s": first_update,
            "train_s": trained, "ready_s": ready, "s_per_epoch": status.history[-1].elapsed_s / epochs,
            "recon": metrics.recon, "kl": metrics.kl, "neg_elbo": metrics.neg_elbo, "objective": objective,
            "gap": objective - args.reference_value, "clicks_ms": clicks_ms}


def summarise(args, runs, warm_source, source_gap, reference_name, idle_ms, load_s, browser) -> dict:
    def first_within(mode):
        return next((r for r in runs if r["mode"] == mode and r["gap"] <= args.tolerance), None)

    training_ms = [ms for r in runs for ms in r["clicks_ms"]]
    scratch, warm = first_within("scratch"), first_within("warm")
    return {
        "lam": args.lam, "tolerance_nats": args.tolerance, "reference": reference_name,
        "reference_objective": _r(args.reference_value), "threads": torch.get_num_threads(),
        "first_update_s": _r(runs[0]["first_update_s"]),
        "first_update_s_median": _r(statistics.median(r["first_update_s"] for r in runs)),
        "scratch_within_3_nats_s": _r(scratch and scratch["train_s"]),
        "scratch_within_3_nats_epochs": scratch and scratch["epochs"],
        "scratch_ready_s": _r(scratch and scratch["ready_s"]),
        "warm_within_3_nats_s": _r(warm and warm["train_s"]),
        "warm_within_3_nats_epochs": warm and warm["epochs"],
        "warm_ready_s": _r(warm and warm["ready_s"]),
        "warm_from": warm_source, "warm_source_gap_nats": _r(source_gap),
        "s_per_epoch_median": _r(statistics.median(r["s_per_epoch"] for r in runs)),
        **browser_figures(browser),
        "click_ms_idle_inprocess": _r(statistics.median(idle_ms), 2),
        "click_ms_idle_inprocess_p95": _r(_p95(idle_ms), 2),
        "click_ms_training_inprocess": _r(statistics.median(training_ms), 2) if training_ms else None,
        "click_ms_training_inprocess_p95": _r(_p95(training_ms), 2) if training_ms else None,
        "click_measure_inprocess": f"in-process Python work of a click: decode 1 z + {NEIGHBOURS} nearest of "
                                   f"{60000} train mu; not a browser round trip",
        "data_load_s": _r(load_s), "loadavg_1min": _r(os.getloadavg()[0], 2),
        "runs": [{k: (_r(v) if isinstance(v, float) else v) for k, v in r.items() if k != "clicks_ms"}
                 for r in runs],
    }


def browser_figures(browser: dict | None) -> dict:
    if not browser or "error" in browser:
        return {"click_ms_idle": None, "click_ms_training": None,
                "click_measure": (browser or {}).get("error", "skipped (--no-browser)")}
    idle, training = browser["idle_ms"], browser["training_ms"]
    return {
        "click_ms_idle": _r(statistics.median(idle), 1), "click_ms_idle_p95": _r(_p95(idle), 1),
        "click_ms_training": _r(statistics.median(training), 1) if training else None,
        "click_ms_training_p95": _r(_p95(training), 1) if training else None,
        "click_clicks": [len(idle), len(training)], "click_job": browser["job"],
        "click_job_ran_throughout": browser["job_ran_throughout"],
        "click_measure": "Chromium: click pointerup on the plane -> Python-rendered selection panel shows that z; "
                         "idle, then while a job started from the page (slider, then Train) trains in the server",
    }


def _r(value, digits=3):
    return None if value is None else round(float(value), digits)


def _p95(values):
    return float(np.percentile(values, 95))


def print_table(args, runs, report) -> None:
    print(f"\nlambda {args.lam:g}: reference {report['reference']} has test recon + lambda*KL = "
          f"{report['reference_objective']:.2f} nats; torch threads {report['threads']}, "
          f"1-min load average {report['loadavg_1min']}")
    print(f"{'run':8} {'epochs':>6} {'1st update s':>12} {'train s':>8} {'ready s':>8} {'s/epoch':>8} "
          f"{'recon':>7} {'KL':>6} {'objective':>9} {'gap':>7}")
    for r in runs:
        print(f"{r['mode']:8} {r['epochs']:6d} {r['first_update_s']:12.2f} {r['train_s']:8.1f} {r['ready_s']:8.1f} "
              f"{r['s_per_epoch']:8.2f} {r['recon']:7.2f} {r['kl']:6.2f} {r['objective']:9.2f} {r['gap']:+7.2f}")
    for mode in ("scratch", "warm"):
        s, e = report[f"{mode}_within_3_nats_s"], report[f"{mode}_within_3_nats_epochs"]
        what = f"{s:.1f} s of training ({e} epochs), ready after {report[f'{mode}_ready_s']:.1f} s" if s else "never"
        print(f"{mode} within {args.tolerance:g} nats: {what}" + (
            f" [from {report['warm_from']}, which starts {report['warm_source_gap_nats']:+.2f} nats away]"
            if mode == "warm" and report["warm_source_gap_nats"] is not None else ""))
    print(f"first live embedding after {report['first_update_s']:.2f} s (median over runs "
          f"{report['first_update_s_median']:.2f} s; target <= 2 s)")
    if report["click_ms_idle"] is not None:
        print(f"click -> panel in Chromium: idle median {report['click_ms_idle']:.0f} ms "
              f"(p95 {report['click_ms_idle_p95']:.0f}), while the page's job ({report['click_job']}) trains median "
              f"{report['click_ms_training']:.0f} ms (p95 {report['click_ms_training_p95']:.0f}); target p50 <= 80 ms")
    else:
        print(f"click in Chromium: {report['click_measure']}")
    print(f"click (in-process, decode + {NEIGHBOURS}-NN): idle median {report['click_ms_idle_inprocess']:.2f} ms "
          f"(p95 {report['click_ms_idle_inprocess_p95']:.2f}), training median "
          f"{report['click_ms_training_inprocess']:.2f} ms (p95 {report['click_ms_training_inprocess_p95']:.2f})")


if __name__ == "__main__":
    sys.exit(main())
