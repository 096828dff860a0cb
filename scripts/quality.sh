#!/usr/bin/env bash
# The README's quality table and pictures: `genlab bench quality` on MNIST (the six defaults, two
# at a time, one torch thread each), the seanie12 tutorial GAN beside them for the same training
# time, the final sample grid of each MNIST run copied to docs/images/<pair>.png, then the six
# defaults once on FashionMNIST. Needs the data (README, "Data"). About an hour on a 2-core CPU.
#   bash scripts/quality.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/quality}
py=${PYTHON:-.venv/bin/python}
"$py" -m genlab.classifier data=mnist
"$py" -m genlab.bench quality --out "$out/mnist"
for pair in vae-mlp vae-cnn gan-mlp gan-cnn cgan-mlp cgan-cnn; do
  last=$(ls "$out/mnist/$pair/images"/samples_step*.png | sort | tail -1)
  cp "$last" "docs/images/${pair/-/_}.png"
done
# the unconditional GAN default against the tutorial recipe it starts from (20 epochs: at least
# the default's training time), measured every 2 epochs on the same clock
OMP_NUM_THREADS=1 "$py" -m genlab.train experiment=seanie12_gan trainer.epochs=20 \
  trainer.eval_every=2 threads=1 trainer.progress=false hydra.run.dir="$out/seanie12_gan"
"$py" -m genlab.classifier data=fashion_mnist
"$py" -m genlab.bench quality --data fashion_mnist --out "$out/fashion_mnist"
