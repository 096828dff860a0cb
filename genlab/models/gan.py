"""Generator and discriminator heads around the MLP/CNN bodies, with optional class conditioning.

Conditioning (cGAN): G sees [z, one_hot(y)] (Mirza & Osindero 2014); D is a projection
discriminator, D(x, y) = w^T h(x) + embed(y)^T h(x) (Miyato & Koyama 2018), which works with
every loss variant, including the critics of WGAN-GP and hinge.

An auxiliary classifier (AC-GAN, Odena et al. 2017) may sit beside the projection: D also predicts
the class of an image, so G can be rewarded for fakes whose class D recognises.

Mode coverage (unconditional GANs): D may also see how varied its batch is, the minibatch standard
deviation of its features (Karras et al. 2018, sec. 3), so a G that collapses is easy to spot.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Generator(nn.Module):
    def __init__(self, body: nn.Module, latent_dim: int, num_classes: int):
        super().__init__()
        self.body = body  # (B, latent_dim + num_classes) -> (B, C, H, W)
        self.latent_dim = latent_dim
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return torch.tanh(self.body(z))  # images in [-1, 1]


def minibatch_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """(B, F) -> (B, F + 1): each sample gets one more feature, the standard deviation of each
    feature over its group of `group` consecutive samples, averaged over the features (groups
    shrink to divide B)."""
    g = math.gcd(group, h.shape[0])
    hg = h.float().unflatten(0, (-1, g))  # (B / g, g, F)
    # by hand: Tensor.var's backward is ~8x slower on a CPU, a third of a small D's step
    std = (hg - hg.mean(dim=1, keepdim=True)).square().mean(dim=1).add(1e-8).sqrt()
    stat = std.mean(dim=1)[:, None, None].expand(-1, g, 1).reshape(-1, 1)  # (B, 1)
    return torch.cat([h, stat.to(h.dtype)], dim=1)


class Discriminator(nn.Module):
    def __init__(self, body: nn.Module, num_classes: int, minibatch_std: int, classifier: bool):
        super().__init__()
        self.body = body  # (B, C, H, W) -> (B, body.out_dim)
        self.minibatch_std = minibatch_std  # group size; 0: off (D sees each sample alone)
        self.head = nn.Linear(body.out_dim + (minibatch_std > 0), 1)
        self.embed = nn.Embedding(num_classes, body.out_dim) if num_classes else None
        self.classifier = nn.Linear(body.out_dim, num_classes) if classifier else None  # AC-GAN

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        classes: bool = False,
        group: int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B,) logits / critic scores; classes=True: also the (B, num_classes) class logits of
        the auxiliary classifier. group: the minibatch-std group size for this call (a real and
        a fake batch in one forward need one that divides each half)."""
        h = self.body(x)
        feats = minibatch_std(h, group or self.minibatch_std) if self.minibatch_std else h
        out = self.head(feats).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return (out, self.classifier(h)) if classes else out
