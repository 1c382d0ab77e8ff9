#!/usr/bin/env bash
# Retrain the shipped models with the project's own CLI (each file records its command).
# Two single-thread runs at a time: on 2 cores that beats one 2-thread run by about 40%.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-400}
run() { python -m explorer train --lam "$1" --epochs "$EPOCHS" --threads 1 --out "pretrained/lam-$1.safetensors"; }
for pair in "1 0" "0.1 0.5" "2 5"; do
  set -- $pair
  run "$1" & first=$!
  run "$2"
  wait "$first"
done
# Posterior collapse: KL is ~0 from the second epoch on, so 100 epochs (the decoder's mean digit) suffice.
EPOCHS=100 run 100
# The dial: one network for every lambda from 0.01 to 100 (pretrained/README.md).
python -m explorer train --dial --epochs 600 --threads 1 --out pretrained/dial.safetensors
# Lambda = 1 on dynamically binarised MNIST, beside published 2-D figures (README, "Against published 2-D results").
python -m explorer train --lam 1 --epochs 400 --threads 1 --binarize --out pretrained/lam-1-binarized.safetensors
# The digit classifier that judges whether a decode shows a digit (explorer/classifier.py).
python -m explorer classifier train --threads 1 --out pretrained/classifier.safetensors
