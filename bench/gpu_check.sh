#!/usr/bin/env bash
# On a machine with a CUDA GPU, in one go: the GPU tests (with the full 400-epoch lambda = 1 run),
# the same run through the CLI, bench/train_speed.py --device cuda, and the lambda dial trained from
# scratch through the GPU loop (600 epochs, the shipped recipe) and scored by bench/dial.py; then the
# figures the README records. An estimated 7-11 minutes on an H100/H200 (the baseline's run to 136
# nats is capped at --budget).
#
#     bash bench/gpu_check.sh [--budget SECONDS] [--logs DIR]
#
# --budget: the baseline's time limit to reach 136 nats (default 120); --logs: keep each step's
# output in DIR (default: a temporary folder, removed at the end). $PYTHON is the interpreter
# (default python3: on GPU images it is often the one that holds CUDA's torch).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=120
LOGS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget) BUDGET="$2"; shift 2 ;;
    --logs) LOGS="$2"; shift 2 ;;
    *) echo "error: unknown option $1 (use --budget SECONDS, --logs DIR)" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-python3}"
if [[ -n "$LOGS" ]]; then
  mkdir -p "$LOGS"; OUT="$LOGS"
else
  OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
fi
export PYTHONUNBUFFERED=1
SECONDS=0

"$PY" - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"error: torch {torch.__version__} sees no CUDA GPU; this script is for a GPU machine")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")
PY

# Each step runs even if one before it failed, so that one run gives every figure it can.
FAILED=()
step() {  # step NAME LOG COMMAND...: run, show and keep the output; note a failure and go on
  local name="$1" log="$OUT/$2"; shift 2
  echo "== $name ($SECONDS s in)"
  "$@" 2>&1 | tee "$log" || FAILED+=("$name")
}

step "GPU tests (tests/test_gpu.py, full run included)" tests.txt \
  env EXPLORER_GPU_FULL=1 "$PY" -m pytest -q -s -rA tests/test_gpu.py
step "lambda = 1 from scratch, 400 epochs, through the CLI" train.txt \
  "$PY" -m explorer train --device cuda --lam 1 --epochs 400 --out "$OUT/lam-1.safetensors" --force
step "eval --device cuda" eval.txt "$PY" -m explorer eval "$OUT/lam-1.safetensors" --device cuda --json
step "bench/train_speed.py --device cuda" speed.txt \
  "$PY" bench/train_speed.py --device cuda --budget "$BUDGET" --json
step "the lambda dial from scratch, 600 epochs, through the CLI" dial.txt \
  "$PY" -m explorer train --dial --device cuda --epochs 600 --out "$OUT/dial.safetensors" --force
step "bench/dial.py on it (no browser)" dial_bench.txt \
  "$PY" bench/dial.py --dial "$OUT/dial.safetensors" --no-browser --json

echo "== figures for the README ($SECONDS s in all)"
"$PY" - "$OUT" <<'PY'
import json, re, sys
from pathlib import Path

out = Path(sys.argv[1])


def last_json(name):
    """The JSON object a step printed last, or None if it printed none."""
    lines = (out / name).read_text(errors="replace").splitlines() if (out / name).is_file() else []
    for line in reversed(lines):
        if line.startswith("{"):
            return json.loads(line)
    return None


train = (out / "train.txt").read_text(errors="replace") if (out / "train.txt").is_file() else ""
m = re.search(r"test neg-ELBO ([\d.]+).*IWAE log p\(x\) (-?[\d.]+).*training ([\d.]+) s, evaluation ([\d.]+) s", train)
print(f"CLI, lambda = 1, 400 epochs from scratch: training {m[3]} s (target <= 12), evaluation {m[4]} s "
      f"(target <= 3), test neg-ELBO {m[1]} (target <= 134), IWAE {m[2]}" if m else "CLI run: no figures (failed)")
ev = last_json("eval.txt")
print(f"eval --device cuda (IWAE k = {ev['iwae_k']}): {ev['seconds']} s, neg-ELBO {ev['neg_elbo']:.2f}"
      if ev else "eval: no figures (failed)")
speed = last_json("speed.txt")
print("train_speed --device cuda: " + ", ".join(f"{k} {speed[k]}" for k in (
    "ours_samples_per_s", "baseline_samples_per_s", "ratio", "ms_per_step", "seconds_to_136",
    "baseline_seconds_to_136")) if speed else "train_speed: no figures (failed)")
dial = last_json("dial_bench.txt")
print(f"dial, 600 epochs on the GPU: training {dial['train_seconds']} s, objective gap max "
      f"{dial['objective_gap_max']:.2f} nats, neg-ELBO at lambda = 1 {dial['neg_elbo_lam1']:.2f}, "
      f"collapse KL {dial['collapse_kl']:.2g}, mu step max {dial['mu_step_max']:.3f}"
      if dial else "dial: no figures (failed)")
PY
if [[ ${#FAILED[@]} -gt 0 ]]; then
  printf 'failed: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
