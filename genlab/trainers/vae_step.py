"""The VAE step: one gradient step on the (weighted) negative ELBO."""

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
    """A Step (trainers/step.py) for model=vae."""

    family = "vae"
    num_classes = 0

    def __init__(
        self,
        vae: VAE,
        optimizer,
        loss: VAELoss,
        prior: Prior,
        fixed_x: torch.Tensor,
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
        self.latent_dim = vae.latent_dim
        self.image_shape = tuple(fixed_x.shape[1:])
        g = torch.Generator().manual_seed(seed)
        device = fixed_x.device
        self.fixed_z = prior.sample(64, vae.latent_dim, generator=g).to(device)  # for sample grids
        self.fixed_x = fixed_x[:32]  # for reconstruction grids

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        if self.loss.binarize:
            x = torch.bernoulli(x)
        eps = self.noise.sample(x.shape[0], self.latent_dim, device=x.device)
        with self.precision.autocast():
            logits, mu, logvar = self.vae(x, eps)
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
        """Latents (N, D) -> images in [0, 1]: the decoder's mean images."""
        return self.loss.mean(self.vae.decode(z))

    @torch.no_grad()
    def sample(self, n: int, labels=None, generator=None) -> torch.Tensor:
        """n images in [0, 1] at z ~ prior."""
        z = self.prior.sample(n, self.vae.latent_dim, generator=generator)
        return self.decode(z.to(self.fixed_z.device))

    @torch.no_grad()
    def grids(self) -> Grids:
        was_training = self.vae.training
        self.vae.eval()
        out = {"samples": (self.decode(self.fixed_z), 8)}
        if len(self.fixed_x):  # (a run loaded for sampling keeps no inputs)
            cols = min(8, len(self.fixed_x))  # 4 x 8 inputs; fewer for a data set under 32 images
            x = self.fixed_x[: len(self.fixed_x) // cols * cols]
            recon = self.decode(self.vae.encode(x)[0])
            shape = (-1, cols, *x.shape[1:])
            pairs = torch.stack([x.view(shape), recon.view(shape)], dim=1)
            out["reconstructions"] = (pairs.flatten(0, 2), cols)  # rows: inputs, reconstructions
        if self.vae.latent_dim == 2:
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
