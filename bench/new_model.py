"""How long does the page's run take to show a model a training job has just finished?

Exploring a model asks `explorer.ui.resources.plane_assets` for what the in-browser plane fetches:
its weights and embeddings published as files, and the density level of its test codes, the slow
part. In one process, on a shipped model standing in for a new one, alternating rounds, each with
an empty plane cache (files and the server's cached answers):
  baseline: the page's `plane_assets` for a model nobody has published yet;
  ours:     the same after the job's thread has run `resources.publish_new_model` (the job
            manager's on_saved hook), as the app does when a job saves its model.
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

from explorer.ui import resources


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--model", type=Path, default=resources.DEFAULT_MODEL)
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    args = p.parse_args()
    resources.images("train"), resources.images("test")  # loaded once per server, before any model
    stamp, entry = resources.stamp(args.model), SimpleNamespace(path=args.model)  # what the hook reads of an entry
    times: dict[str, list[float]] = {"baseline": [], "ours": [], "hook": []}
    for _ in range(args.rounds):
        for name in ("baseline", "ours"):
            with tempfile.TemporaryDirectory() as folder:
                resources.STATIC_DIR = Path(folder)
                resources._published_plane.clear()
                if name == "ours":
                    times["hook"].append(timed(resources.publish_new_model, entry))
                times[name].append(timed(resources.plane_assets, *stamp))
    resources._published_plane.clear()
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    print(f"{args.model.name}: the page's plane_assets for a new model, median of {args.rounds} alternating rounds")
    print(f"  {'baseline (not yet published)':34}{ms['baseline']:>10.1f} ms")
    print(f"  {'ours (published by the job)':34}{ms['ours']:>10.1f} ms   {ms['baseline'] / ms['ours']:,.0f}x faster")
    print(f"  {'  the job thread, beforehand':34}{ms['hook']:>10.1f} ms")
    if args.json:
        print(json.dumps({"model": str(args.model), "rounds": args.rounds, "baseline_ms": ms["baseline"],
                          "ours_ms": ms["ours"], "ratio": ms["baseline"] / ms["ours"], "hook_ms": ms["hook"],
                          "round_s": times}))


if __name__ == "__main__":
    main()
