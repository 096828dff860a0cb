#!/usr/bin/env bash
# docs/results.md's quality tables and the pictures: `genlab bench quality` on MNIST (the eight
# defaults for seeds 0-2, two at a time, one torch thread each), the seanie12 tutorial GAN beside
# the GAN MLP default (20 epochs: at least its training time), then the eight on FashionMNIST with its
# targets; the final sample grid of each run copied to docs/images/<pair>.png (MNIST) and
# docs/images/fashion_mnist_<pair>.png. Needs the data (docs/data.md). About two hours on a 2-core
# CPU.
#   bash scripts/quality.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/quality}
py=${PYTHON:-.venv/bin/python}
pairs=(vae-mlp vae-cnn cvae-mlp cvae-cnn gan-mlp gan-cnn cgan-mlp cgan-cnn)
"$py" -m genlab.bench quality --seeds 0,1,2 --evals 5 --out "$out/mnist" --docs docs/results.md
"$py" -m genlab.bench quality --pairs gan-mlp --out "$out/seanie12" \
  --also "experiment=seanie12_gan trainer.epochs=20"
"$py" -m genlab.bench quality --data fashion_mnist --out "$out/fashion_mnist" --docs docs/results.md
for data in mnist fashion_mnist; do
  prefix=$([ "$data" = mnist ] && echo "" || echo "${data}_")
  for pair in "${pairs[@]}"; do
    last=$( (ls "$out/$data"/*_"$pair"{,_seed-0}/images/samples_step*.png 2>/dev/null || true) | sort | tail -1)
    cp "$last" "docs/images/${prefix}${pair/-/_}.png"
  done
done
