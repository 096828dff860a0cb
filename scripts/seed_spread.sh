#!/usr/bin/env bash
# The seed-to-seed spread of the six defaults (docs/results.md): every bare `genlab train
# model=M arch=A` with seeds 0, 1 and 2, two runs side by side with one thread each, then the
# report grouped over the seeds (mean, std, 95% interval of each headline metric).
#   bash scripts/seed_spread.sh [OUT_DIR]           (about 45 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/studies/seed_spread}
py=${PYTHON:-.venv/bin/python}
"$py" -m genlab.train -m hydra/launcher=local hydra.launcher.n_jobs=2 threads=1 \
  trainer.progress=false model=vae,gan,cgan arch=mlp,cnn "seed=range(3)" hydra.sweep.dir="$out"
"$py" -m genlab.report "$out" --metrics neg_elbo,iw_nll,fid,recall,min_class_share,class_accuracy
