#!/usr/bin/env bash
# The VAE's nats under the MNIST literature's protocol (docs/results.md, "Likelihoods"): the
# VAE defaults (mlp, cnn) as they ship, trained on grey levels, and again with dynamic
# binarisation (loss.binarize=true), the protocol of Burda et al. 2016; every one measured on the
# same fixed binarisation of the test set (seed 0). Seed 0, two runs side by side with one thread
# each, then the report.
#   bash scripts/likelihood_protocol.sh [OUT_DIR]     (about 12 minutes on a 2-core CPU;
#   ARCHS=mlp: the MLP pair alone, about 4)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/studies/likelihood_protocol}
py=${PYTHON:-.venv/bin/python}
common=(-m hydra/launcher=local hydra.launcher.n_jobs=2 threads=1 trainer.progress=false)
"$py" -m genlab.train "${common[@]}" model=vae arch=${ARCHS:-mlp,cnn} loss.binarize=false,true \
  hydra.sweep.dir="$out"
"$py" -m genlab.report "$out" --metrics neg_elbo,iw_nll,neg_elbo_se,iw_nll_se,fid,psnr
