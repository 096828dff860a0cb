"""The VAE objective: negative ELBO = reconstruction NLL + KL(q(z|x) || N(0, I)).

Every term is per image, in nats, summed over pixels and latent dimensions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

VAE_LOSSES = ("bernoulli", "gaussian")  # the decoder's likelihood: the `loss=` names for model=vae


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row (Kingma & Welling 2014, appendix B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)  # (B,)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) for a Bernoulli decoder, per image; x may hold grey levels in [0, 1]."""
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")  # stable: no log(sigmoid)
    return bce.flatten(1).sum(dim=1)


def squared_error(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors per image: the Gaussian decoder's reconstruction term."""
    return (x - mean).pow(2).flatten(1).sum(dim=1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log N(x; mean, I) per image, in nats (unit variance)."""
    d = mean[0].numel()
    return 0.5 * squared_error(mean, x) + 0.5 * d * math.log(2 * math.pi)


@dataclass(frozen=True)
class VAELoss:
    """Weighted negative ELBO.

    recon: "bernoulli" (binary cross-entropy on pixel probabilities) or "gaussian" (squared error).
    objective = recon_weight * R + beta * KL, with R summed over pixels, or averaged over them
    when pixel_mean (the CS4243 lab: recon_weight 10; the CelebA deck: beta 0.00024).
    """

    recon: str  # one of VAE_LOSSES
    beta: float  # weight of the KL term
    recon_weight: float
    pixel_mean: bool
    binarize: bool  # dynamic binarisation: x ~ Bernoulli(x) at every step

    def __call__(self, logits, x, mu, logvar) -> dict[str, torch.Tensor]:
        kl = kl_normal(mu, logvar)
        if self.recon == "bernoulli":
            nll = bernoulli_nll(logits, x)
            r = nll
        else:
            mean = torch.sigmoid(logits)
            r = squared_error(mean, x)
            nll = gaussian_nll(mean, x)
        if self.pixel_mean:
            r = r / x[0].numel()
        loss = (self.recon_weight * r + self.beta * kl).mean()
        return {"loss": loss, "recon": nll.mean(), "kl": kl.mean(), "neg_elbo": (nll + kl).mean()}
