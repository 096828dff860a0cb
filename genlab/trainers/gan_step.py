"""The GAN step (cGAN: the same step with labels), in the classic order: D, then G."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genlab.losses.gan import GANLoss, gradient_penalty
from genlab.models.gan import Discriminator, Generator
from genlab.models.priors import Prior
from genlab.trainers import distributed
from genlab.trainers.ema import make_ema
from genlab.trainers.nan_guard import FiniteGuard
from genlab.trainers.precision import Precision
from genlab.trainers.step import Grids, load_networks_state, networks_state


class GANStep:
    """A Step (trainers/step.py) for model=gan, and model=cgan when G has classes."""

    def __init__(
        self,
        generator: Generator,
        discriminator: Discriminator,
        opt_g,
        opt_d,
        loss: GANLoss,
        prior: Prior,
        device,
        image_shape: tuple[int, int, int],
        *,
        g_steps: int,
        d_steps: int,
        label_smoothing: float,
        gp_weight: float,
        seed: int,
        precision: Precision,
        guard: FiniteGuard,
        ema: float | None,  # G's EMA decay; None: no EMA
        d_group: int,  # D's minibatch-std group size; 0: none
        aux_weight: float,  # AC-GAN: weight of the auxiliary class loss (cGAN); 0: none
    ):
        self.G, self.D, self.opt_g, self.opt_d = generator, discriminator, opt_g, opt_d
        self.precision, self.guard = precision, guard  # guard: NaN/Inf check before each update
        self.loss, self.prior = loss, prior
        self.g_steps, self.d_steps = g_steps, d_steps
        self.real_target = 1.0 - label_smoothing  # one-sided: fakes keep target 0
        self.gp_weight = gp_weight
        self.d_group, self.aux_weight = d_group, aux_weight
        self.networks = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {"generator": opt_g, "discriminator": opt_d}
        # G's EMA (decay `ema`; None: off) draws every sample: grids, metrics, genlab.sample
        self.G_ema = make_ema(generator, ema) if ema is not None else None
        if self.G_ema is not None:
            self.networks["generator_ema"] = self.G_ema
        self.num_classes, self.latent_dim = generator.num_classes, generator.latent_dim
        self.image_shape = tuple(image_shape)
        self.family = "cgan" if self.num_classes else "gan"
        g = torch.Generator().manual_seed(seed)
        if self.num_classes:  # a 10 x 10 grid (for 10 classes): row k is class k
            n = self.num_classes
            self.fixed_y = torch.arange(n).repeat_interleave(10).to(device)
            self.fixed_z = self._z(10 * n, generator=g).to(device)
            self.grid_rows = 10
        else:
            self.fixed_y = None
            self.fixed_z = self._z(64, generator=g).to(device)
            self.grid_rows = 8
        self._g_loss = None  # the last G loss, logged at steps without a G update

    def _z(self, n: int, device=None, generator=None) -> torch.Tensor:
        """n latents from the prior (z for the global batch under torchrun: distribute())."""
        return self.prior.sample(n, self.latent_dim, device=device, generator=generator)

    def _d(self, x, y, group: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's float32 logits / scores, and its class logits when it has a classifier (AC-GAN)."""
        kwargs = {"group": group} if group else {}
        if not self.aux_weight:
            return self.D(x, y, **kwargs).float(), None
        out, classes = self.D(x, y, classes=True, **kwargs)
        return out.float(), classes.float()

    def _d_both(self, x, fake, y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """D on the real and the fake batch in one forward: d_real, d_fake and the real images'
        class logits (AC-GAN; else None). D's minibatch-std groups divide each half, so no group
        mixes real and fake images."""
        n = x.shape[0]
        group = math.gcd(self.d_group, n) if self.d_group else None
        both = torch.cat([x, fake]), None if y is None else torch.cat([y, y])
        out, classes = self._d(*both, group=group)
        d_real, d_fake = out.split(n)
        return d_real, d_fake, None if classes is None else classes[:n]

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        x = x * 2 - 1  # G ends in tanh: images in [-1, 1]
        y = y if self.num_classes else None
        # (1) Update D: maximize log D(x) + log(1 - D(G(z))) (or the variant's equivalent)
        with self.precision.autocast():
            fake = self.G(self._z(x.shape[0], x.device), y)
            d_real, d_fake, classes = self._d_both(x, fake.detach(), y)
        d_loss = self.loss.d_loss(d_real, d_fake, self.real_target)
        if classes is not None:  # AC-GAN: D learns the classes of real images only
            d_loss = d_loss + self.aux_weight * F.cross_entropy(classes, y)
        if self.loss.gradient_penalty:  # in float32: a second derivative
            fake32 = fake.detach().float()
            d_loss = d_loss + self.gp_weight * gradient_penalty(self.D, x, fake32, y)
        d_ok = self.guard({"d_loss": d_loss})  # nan_policy=skip: a bad D loss skips the batch
        if d_ok:
            self.precision.update(d_loss, self.opt_d)
        # (2) Update G every d_steps batches, g_steps times: maximize log D(G(z)) (or the variant)
        if d_ok and (step + 1) % self.d_steps == 0:
            self.D.requires_grad_(False)  # the G step needs no gradient for D's weights
            try:
                for i in range(self.g_steps):
                    with self.precision.autocast():
                        if i > 0:
                            fake = self.G(self._z(x.shape[0], x.device), y)
                        d_out, classes = self._d(fake, y)
                    g_loss = self.loss.g_loss(d_out)
                    if classes is not None:  # ... and G makes fakes D files under their class
                        g_loss = g_loss + self.aux_weight * F.cross_entropy(classes, y)
                    if not self.guard({"g_loss": g_loss}):
                        break  # D's update of this batch (finite) stays
                    self.precision.update(g_loss, self.opt_g)
                    if self.G_ema is not None:
                        self.G_ema.update_parameters(self.G)
            finally:
                self.D.requires_grad_(True)
            self._g_loss = g_loss.detach()
        prob = torch.sigmoid if self.loss.logits else (lambda t: t)
        out = {
            "d_loss": d_loss.detach(),
            "d_real": prob(d_real.detach()).mean(),
            "d_fake": prob(d_fake.detach()).mean(),
        }
        if self._g_loss is not None:
            out["g_loss"] = self._g_loss
        return out

    def state_dict(self) -> dict:
        return networks_state(self, g_loss=self._g_loss)  # logged at steps without a G update

    def load_state_dict(self, state: dict) -> None:
        self._g_loss = load_networks_state(self, state).get("g_loss")

    def distribute(self, ranks: distributed.Ranks) -> None:
        self.G, self.D = distributed.data_parallel(self.G), distributed.data_parallel(self.D)
        self.prior = distributed.ShardedPrior(self.prior, ranks)  # z for the global batch
        self.guard.agree = distributed.all_ranks

    @property
    def sampler(self) -> Generator:
        """The generator that samples: the EMA copy when there is one, else G."""
        return self.G if self.G_ema is None else self.G_ema.module

    @torch.no_grad()
    def decode(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, online: bool = False
    ) -> torch.Tensor:
        """Latents (N, D) (and a cGAN's class ids) -> images in [0, 1], the sampler in eval
        mode (online=True: the trained G itself, not its EMA)."""
        labels = labels.to(z.device) if self.num_classes else None
        g = self.G if online else self.sampler
        was_training = g.training
        g.eval()
        images = (g(z, labels) + 1) / 2
        g.train(was_training)
        return images

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator=None) -> torch.Tensor:
        """n images in [0, 1]; a cGAN takes labels (default: balanced over the classes)."""
        z = self._z(n, generator=generator).to(self.fixed_z.device)
        if self.num_classes and labels is None:
            labels = torch.arange(n) % self.num_classes
        return self.decode(z, labels)

    def grids(self) -> Grids:
        out = {"samples": (self.decode(self.fixed_z, self.fixed_y), self.grid_rows)}
        if self.G_ema is not None:  # the raw G beside its EMA
            online = self.decode(self.fixed_z, self.fixed_y, online=True)
            out["samples_online"] = (online, self.grid_rows)
        return out
