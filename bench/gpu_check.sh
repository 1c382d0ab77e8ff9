#!/usr/bin/env bash
# On a machine with a CUDA GPU, in one go: the GPU tests (with the full 400-epoch lambda = 1 run),
# the same run through the CLI, and bench/train_speed.py --device cuda; then the figures the README
# records. About 5-8 minutes on an H100/H200 (the baseline's run to 136 nats is capped at --budget).
#
#     bash bench/gpu_check.sh [--budget SECONDS]    # budget: the baseline's limit to reach 136 nats (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=120
if [[ "${1:-}" == "--budget" ]]; then BUDGET="$2"; fi
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

python - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"error: torch {torch.__version__} sees no CUDA GPU; this script is for a GPU machine")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")
PY

echo "== GPU tests (tests/test_gpu.py, full run included)"
EXPLORER_GPU_FULL=1 python -m pytest -q -s -rA tests/test_gpu.py 2>&1 | tee "$OUT/tests.txt"

echo "== lambda = 1 from scratch, 400 epochs, through the CLI"
python -m explorer train --device cuda --lam 1 --epochs 400 --out "$OUT/lam-1.safetensors" | tee "$OUT/train.txt"
python -m explorer eval "$OUT/lam-1.safetensors" --device cuda --json | tee "$OUT/eval.json"

echo "== bench/train_speed.py --device cuda"
python bench/train_speed.py --device cuda --budget "$BUDGET" --json | tee "$OUT/speed.txt"

echo "== figures for the README"
python - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
train = open(f"{out}/train.txt").read()
m = re.search(r"test neg-ELBO ([\d.]+).*IWAE log p\(x\) (-?[\d.]+).*training ([\d.]+) s, evaluation ([\d.]+) s", train)
ev = json.loads(open(f"{out}/eval.json").read().strip().splitlines()[-1])
speed = json.loads(open(f"{out}/speed.txt").read().strip().splitlines()[-1])
print(f"CLI, lambda = 1, 400 epochs from scratch: training {m[3]} s (target <= 12), evaluation {m[4]} s "
      f"(target <= 3), test neg-ELBO {m[1]} (target <= 134), IWAE {m[2]}")
print(f"eval --device cuda (IWAE k = {ev['iwae_k']}): {ev['seconds']} s, neg-ELBO {ev['neg_elbo']:.2f}")
print("train_speed --device cuda: " + ", ".join(f"{k} {speed[k]}" for k in
      ("ours_samples_per_s", "baseline_samples_per_s", "ratio", "ms_per_step", "seconds_to_136",
       "baseline_seconds_to_136")))
PY
