#!/usr/bin/env bash
# The FashionMNIST tuning rounds of docs/tuning.md ("FashionMNIST"), as they ran: each a genlab
# sweep of two runs side by side, one torch thread each, on the 2-core CPU, starting from the MNIST
# recipe of the pair (recipe=mnist/...) and measured every few epochs in FashionMNIST's
# classifier space. Then the report of each round. About 75 minutes on a 2-core CPU.
#   bash scripts/fashion_tuning.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/studies/fashion_mnist}
py=${PYTHON:-.venv/bin/python}
common=(-m hydra/launcher=local hydra.launcher.n_jobs=2 threads=1 trainer.progress=false
        data=fashion_mnist)
sweep() { "$py" -m genlab.train "${common[@]}" hydra.sweep.dir="$out/$1" "${@:2}"; }
# the GAN MLP's latent size (its MNIST recipe's 10) and the cGAN MLP's class loss
sweep gan_mlp_latent model=gan arch=mlp recipe=mnist/gan_mlp model.latent_dim=10,64 trainer.eval_every=4
sweep cgan_mlp_aux model=cgan arch=mlp recipe=mnist/cgan_mlp model.aux_classifier=1.0,0.1 trainer.eval_every=4
# the cGAN CNN's class loss, the GAN CNN's EMA, the VAE MLP's latent size
sweep cgan_cnn_aux model=cgan arch=cnn recipe=mnist/cgan_cnn model.aux_classifier=0,0.1 trainer.eval_every=4
sweep gan_cnn_ema model=gan arch=cnn recipe=mnist/gan_cnn model.ema=0.995,0.999 trainer.eval_every=4
sweep vae_mlp_latent model=vae arch=mlp recipe=mnist/vae_mlp model.latent_dim=10,32 trainer.eval_every=6
# the learning rate (the MNIST recipes: 2e-4, the GAN MLP 1e-3)
sweep cgan_mlp_lr model=cgan arch=mlp recipe=mnist/cgan_mlp optimizer.lr=5e-4,1e-3 trainer.eval_every=5
sweep cgan_cnn_lr model=cgan arch=cnn recipe=mnist/cgan_cnn optimizer.lr=5e-4,1e-3 trainer.eval_every=5
sweep gan_cnn_lr model=gan arch=cnn recipe=mnist/gan_cnn optimizer.lr=5e-4,1e-3 trainer.eval_every=4
# D's minibatch std for the cGAN CNN (the GAN recipes have it), with a lighter class loss; then
# the fully connected layer of the GAN CNN recipe too (11 epochs: it costs time)
sweep cgan_cnn_mbstd model=cgan arch=cnn recipe=mnist/cgan_cnn optimizer.lr=1e-3 model.minibatch_std=4 \
  model.aux_classifier=1.0,0.3 trainer.eval_every=5
sweep cgan_cnn_fc model=cgan arch=cnn recipe=mnist/cgan_cnn optimizer.lr=1e-3 arch.fc=512 \
  model.minibatch_std=4 trainer.epochs=11 model.aux_classifier=1.0,0.3 trainer.eval_every=4
# the cVAEs on MNIST, with their targets
"$py" -m genlab.bench quality --pairs cvae-mlp,cvae-cnn --evals 4 --out "$out/mnist_cvae"
for study in "$out"/*/; do
  "$py" -m genlab.report "$study" --sort fid
done
