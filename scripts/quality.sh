#!/usr/bin/env bash
# The README's quality table on real MNIST: each row's run, two at a time with one torch thread
# each (as measured), then the metrics of every run. Needs the data (see the README's "Data").
#   bash scripts/quality.sh [OUT_DIR]      (about 25 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/quality}
py=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1
run() { "$py" -m genlab.train trainer.progress=false hydra.run.dir="$out/$1" "${@:2}" >"$out/$1.log" 2>&1; }
mkdir -p "$out"
"$py" -m genlab.classifier data=mnist
run vae_mlp_30ep model=vae trainer.epochs=30 & run cgan_mlp_20ep model=cgan trainer.epochs=20 & wait
run gan_mlp_20ep model=gan trainer.epochs=20 & run seanie12_gan_20ep experiment=seanie12_gan trainer.epochs=20 & wait
run seanie12_gan_30ep experiment=seanie12_gan & "$py" -m genlab.classifier data=fashion_mnist & wait
for m in "$out"/*/metrics.json; do echo "$(dirname "$m"): $(cat "$m" | tr -d '\n ')"; done
