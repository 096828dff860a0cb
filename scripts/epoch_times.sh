#!/usr/bin/env bash
# Seconds per MNIST epoch of the three defaults docs/results.md quotes (tqdm's elapsed time, no eval).
#   bash scripts/epoch_times.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
tmp=$(mktemp -d)
for args in "model=gan arch=mlp" "model=vae arch=mlp" "model=gan arch=cnn"; do
  # shellcheck disable=SC2086
  elapsed=$("$py" -m genlab.train $args trainer.epochs=1 eval.at_end=false hydra.run.dir="$tmp/run" 2>&1 \
    | tr '\r' '\n' | grep '100%' | tail -1 | sed -E 's/.*\[([0-9:]+)<.*/\1/')
  echo "$args: $elapsed (mm:ss) per epoch"
  rm -rf "$tmp/run"
done
