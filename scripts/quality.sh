#!/usr/bin/env bash
# docs/results.md's quality tables and the pictures: `genlab bench quality` on MNIST (the eight
# defaults, two at a time, one torch thread each) with the seanie12 tutorial GAN beside them (20
# epochs: at least the GAN MLP default's training time), then the eight on FashionMNIST with its
# targets; the final sample grid of each run copied to docs/images/<pair>.png (MNIST) and
# docs/images/fashion_mnist_<pair>.png. Needs the data (docs/data.md). About two hours on a 2-core
# CPU.
#   bash scripts/quality.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/quality}
py=${PYTHON:-.venv/bin/python}
pairs=(vae-mlp vae-cnn cvae-mlp cvae-cnn gan-mlp gan-cnn cgan-mlp cgan-cnn)
"$py" -m genlab.bench quality --out "$out/mnist" --docs docs/results.md \
  --also "experiment=seanie12_gan trainer.epochs=20"
"$py" -m genlab.bench quality --data fashion_mnist --out "$out/fashion_mnist" --docs docs/results.md
for data in mnist fashion_mnist; do
  prefix=$([ "$data" = mnist ] && echo "" || echo "${data}_")
  for pair in "${pairs[@]}"; do
    last=$(ls "$out/$data"/*_"$pair"/images/samples_step*.png | sort | tail -1)
    cp "$last" "docs/images/${prefix}${pair/-/_}.png"
  done
done
