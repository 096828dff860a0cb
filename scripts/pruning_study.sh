#!/usr/bin/env bash
# The pruning measurement (docs/results.md, "Pruning a search"): the same 12-trial Optuna search
# of the GAN MLP on MNIST (learning rate and Adam's beta1 around its recipe), once without a
# pruner and once with the median pruner; short runs of 4 epochs, FID measured after each, two
# trials at a time on one thread each. Then each study's trials, best FID and training seconds.
#   bash scripts/pruning_study.sh [OUT_DIR]         (about 25 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/studies/pruning}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out"
for pruner in none median; do
  "$py" -m genlab.train -m hydra/sweeper=genlab_optuna hydra/launcher=local \
    hydra.launcher.n_jobs=2 hydra.sweeper.n_jobs=2 hydra.sweeper.n_trials=12 \
    hydra.sweeper.pruner=$pruner hydra.sweeper.study_name=gan_mlp_pruner_$pruner \
    hydra.sweeper.storage="sqlite:///$out/optuna.db" hydra.sweep.dir="$out/$pruner" \
    model=gan arch=mlp objective=fid trainer.epochs=4 trainer.eval_every=1 threads=1 \
    trainer.progress=false 'optimizer.lr=tag(log, interval(2e-5, 5e-3))' \
    'optimizer.betas.0=interval(0.0, 0.9)'
done
for pruner in none median; do
  "$py" -m genlab.report "$out/$pruner" --sort fid --metrics fid,train_s
done
"$py" - "$out" <<'PY'
import sys
from pathlib import Path

from genlab.logging.scalars import read_scalars
from genlab.reporting.jobs import find_jobs

for pruner in ("none", "median"):
    jobs = find_jobs(Path(sys.argv[1]) / pruner)
    fids = [j.metrics["fid"] for j in jobs if j.status == "finished" and "fid" in j.metrics]
    steps = sum(max(s for points in read_scalars(j.run_dir, True).values() for s, _ in points)
                for j in jobs)  # the steps each trial trained, whatever the machine's load
    seconds = sum(j.metrics.get("train_s", 0.0) for j in jobs)
    pruned = sum(j.status == "pruned" for j in jobs)
    print(f"pruner={pruner}: {len(jobs)} trials, {pruned} pruned, best fid {min(fids):.2f}, "
          f"{steps} training steps and {seconds:.0f} s of training in all")
PY
