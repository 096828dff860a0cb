#!/usr/bin/env bash
# The reference loss study (docs/results.md, "GAN losses"): every GAN loss for the GAN MLP and the
# GAN CNN on MNIST, five seeds each, everything else the pair's recipe; each run gets about three
# minutes of training on a 2-core CPU (the MLP its recipe's 14 epochs, the CNN 5 of its 11), two
# runs side by side with one thread each. Then the grouped reports, each loss against the others.
#   bash scripts/loss_study.sh [OUT_DIR]          (about 85 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/studies/gan_losses}
py=${PYTHON:-.venv/bin/python}
common=(-m hydra/launcher=local hydra.launcher.n_jobs=2 threads=1 trainer.progress=false
        model=gan loss=minimax,non_saturating,lsgan,wgan_gp,hinge "seed=range(5)")
"$py" -m genlab.train "${common[@]}" arch=mlp hydra.sweep.dir="$out/mlp"
"$py" -m genlab.train "${common[@]}" arch=cnn trainer.epochs=5 hydra.sweep.dir="$out/cnn"
for arch in mlp cnn; do
  "$py" -m genlab.report "$out/$arch" --compare loss --sort fid
done
