#!/usr/bin/env bash
# docs/results.md's quality tables and the pictures: `genlab bench quality` on MNIST (the six defaults, two
# at a time, one torch thread each) with the seanie12 tutorial GAN beside them (20 epochs: at
# least the GAN MLP default's training time), the final sample grid of each MNIST run copied to
# docs/images/<pair>.png, then the six defaults once on FashionMNIST. Needs the data
# (docs/data.md). About an hour and a half on a 2-core CPU.
#   bash scripts/quality.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/quality}
py=${PYTHON:-.venv/bin/python}
"$py" -m genlab.classifier data=mnist
"$py" -m genlab.bench quality --out "$out/mnist" --docs docs/results.md \
  --also "experiment=seanie12_gan trainer.epochs=20"
for pair in vae-mlp vae-cnn gan-mlp gan-cnn cgan-mlp cgan-cnn; do
  last=$(ls "$out"/mnist/*_"$pair"/images/samples_step*.png | sort | tail -1)
  cp "$last" "docs/images/${pair/-/_}.png"
done
"$py" -m genlab.classifier data=fashion_mnist
"$py" -m genlab.bench quality --data fashion_mnist --out "$out/fashion_mnist" --docs docs/results.md
