"""The VAE step: one gradient step on the (weighted) negative ELBO (the conditional VAE: the
same step, the class given to the encoder and the decoder)."""

from __future__ import annotations

import torch

from genlab.losses.elbo import VAELoss
from genlab.models.priors import Prior
from genlab.models.vae import VAE
from genlab.trainers import distributed
from genlab.trainers.nan_guard import FiniteGuard
from genlab.trainers.precision import Precision
from genlab.trainers.step import Grids, load_networks_state, networks_state


class VAEStep:
    """A Step (trainers/step.py) for model=vae, and model=cvae when the VAE has classes."""

    def __init__(
        self,
        vae: VAE,
        optimizer,
        loss: VAELoss,
        prior: Prior,
        fixed_x: torch.Tensor,
        fixed_y: torch.Tensor,
        *,
        seed: int,
        precision: Precision,
        guard: FiniteGuard,
    ):
        self.vae, self.optimizer, self.loss, self.prior = vae, optimizer, loss, prior
        self.precision, self.guard = precision, guard  # guard: NaN/Inf check before each update
        self.noise = Prior("normal")  # eps of the reparameterisation z = mu + sigma * eps
        self.networks = {"vae": vae}
        self.optimizers = {"vae": optimizer}
        self.latent_dim, self.num_classes = vae.latent_dim, vae.num_classes
        self.family = "cvae" if self.num_classes else "vae"
        self.image_shape = tuple(fixed_x.shape[1:])
        g = torch.Generator().manual_seed(seed)
        device = fixed_x.device
        n = self.num_classes
        # sample grids: 8 x 8; a cVAE's 10 x 10 for 10 classes, row k of class k (the cGAN's)
        self.fixed_y = torch.arange(n).repeat_interleave(10).to(device) if n else None
        self.grid_rows = 10 if n else 8
        self.fixed_z = prior.sample(10 * n or 64, vae.latent_dim, generator=g).to(device)
        self.fixed_x, self.fixed_x_labels = fixed_x[:32], fixed_y[:32]  # reconstruction grids

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        if self.loss.binarize:
            x = torch.bernoulli(x)
        eps = self.noise.sample(x.shape[0], self.latent_dim, device=x.device)
        with self.precision.autocast():
            logits, mu, logvar = self.vae(x, eps, y if self.num_classes else None)
        terms = self.loss(logits.float(), x, mu.float(), logvar.float())  # the loss in float32
        if self.guard(terms):  # every term finite (nan_policy=skip: else no update)
            self.precision.update(terms["loss"], self.optimizer)
        return {k: v.detach() for k, v in terms.items()}

    def state_dict(self) -> dict:
        return networks_state(self)

    def load_state_dict(self, state: dict) -> None:
        load_networks_state(self, state)

    def distribute(self, ranks: distributed.Ranks) -> None:
        self.vae = distributed.data_parallel(self.vae)
        self.noise = distributed.ShardedPrior(self.noise, ranks)  # eps for the global batch
        self.prior = distributed.ShardedPrior(self.prior, ranks)
        self.guard.agree = distributed.all_ranks

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """Latents (N, D) (and a cVAE's class ids) -> images in [0, 1]: the decoder's means."""
        labels = labels.to(z.device) if self.num_classes else None
        return self.loss.mean(self.vae.decode(z, labels))

    @torch.no_grad()
    def sample(self, n: int, labels=None, generator=None) -> torch.Tensor:
        """n images in [0, 1] at z ~ prior; a cVAE takes labels (default: balanced)."""
        z = self.prior.sample(n, self.vae.latent_dim, generator=generator)
        if self.num_classes and labels is None:
            labels = torch.arange(n) % self.num_classes
        return self.decode(z.to(self.fixed_z.device), labels)

    @torch.no_grad()
    def grids(self) -> Grids:
        was_training = self.vae.training
        self.vae.eval()
        out = {"samples": (self.decode(self.fixed_z, self.fixed_y), self.grid_rows)}
        if len(self.fixed_x):  # (a run loaded for sampling keeps no inputs)
            cols = min(8, len(self.fixed_x))  # 4 x 8 inputs; fewer for a data set under 32 images
            x = self.fixed_x[: len(self.fixed_x) // cols * cols]
            y = self.fixed_x_labels[: len(x)] if self.num_classes else None
            recon = self.decode(self.vae.encode(x, y)[0], y)
            shape = (-1, cols, *x.shape[1:])
            pairs = torch.stack([x.view(shape), recon.view(shape)], dim=1)
            out["reconstructions"] = (pairs.flatten(0, 2), cols)  # rows: inputs, reconstructions
        if self.vae.latent_dim == 2 and not self.num_classes:
            out["manifold"] = (self._manifold(20), 20)
        self.vae.train(was_training)
        return out

    def _manifold(self, n: int) -> torch.Tensor:
        """The decoded 2-D latent grid at prior quantiles (Kingma & Welling 2014, fig. 4)."""
        q = torch.linspace(0.05, 0.95, n)
        axis = torch.distributions.Normal(0.0, 1.0).icdf(q)
        zy, zx = torch.meshgrid(axis.flip(0), axis, indexing="ij")
        z = torch.stack([zx, zy], dim=-1).reshape(-1, 2).to(self.fixed_z.device)
        return self.decode(z)
