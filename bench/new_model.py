"""How long does the page's run take to show a model a training job has just finished?

Exploring a model publishes what the in-browser plane fetches (`explorer.ui.resources.plane_assets`
-> `explorer.assets.publish_plane`): its weights and embeddings as files, and the density level
of its test codes, the slow part. In one process, on a shipped model standing in for a new one,
alternating rounds, each with an empty plane cache:
  baseline: the page's publish of a model nobody has published yet;
  ours:     the same publish after the job's thread has run `resources.publish_new_model` (the
            job manager's on_saved hook), as the app does when a job saves its model.
The hook's own time (spent in the job's thread, before the job reports done) is shown beside.

    python bench/new_model.py [--rounds 5] [--model PATH] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from explorer import assets  # noqa: E402
from explorer.data import load_split  # noqa: E402
from explorer.ui import resources  # noqa: E402


def page_publish(static: Path, path: Path, train, test) -> float:
    """Seconds the page's run spends publishing the model's plane (what plane_assets does)."""
    start = time.perf_counter()
    assets.publish_plane(static, assets.read_plane_arrays(path), test.images, train.images)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--model", type=Path, default=resources.DEFAULT_MODEL)
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    train, test = load_split("train"), load_split("test")
    entry = SimpleNamespace(path=args.model)  # what the hook reads of a library entry
    times: dict[str, list[float]] = {"baseline": [], "ours": [], "hook": []}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            times["baseline"].append(page_publish(Path(folder), args.model, train, test))
        with tempfile.TemporaryDirectory() as folder:
            resources.STATIC_DIR = Path(folder)
            start = time.perf_counter()
            resources.publish_new_model(entry, (train, test))
            times["hook"].append(time.perf_counter() - start)
            times["ours"].append(page_publish(Path(folder), args.model, train, test))
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    ratio = statistics.median(b / o for b, o in zip(times["baseline"], times["ours"]))
    print(f"publishing {args.model.name}'s plane in the page's run, median of {args.rounds} alternating rounds")
    print(f"  {'baseline (not yet published)':34}{ms['baseline']:>9.0f} ms")
    print(f"  {'ours (published by the job)':34}{ms['ours']:>9.0f} ms   {ratio:.1f}x faster")
    print(f"  {'  the job thread, beforehand':34}{ms['hook']:>9.0f} ms")
    if args.json:
        print(json.dumps({"model": str(args.model), "rounds": args.rounds, "baseline_ms": ms["baseline"],
                          "ours_ms": ms["ours"], "ratio": ratio, "hook_ms": ms["hook"],
                          "round_s": times}))


if __name__ == "__main__":
    main()
