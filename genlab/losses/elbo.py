"""The VAE objective: negative ELBO = reconstruction NLL + KL(q(z|x) || N(0, I)).

Every term is per image, in nats, summed over pixels and latent dimensions. The decoder's
likelihood p(x|z) is one of VAE_LOSSES; its output is a logit per pixel:
- bernoulli: Bernoulli(sigmoid(l)). A true likelihood of binary pixels (binarize=true); on grey
  levels its "nats" are not a log-likelihood of anything (the density is not normalised).
- continuous_bernoulli: the continuous Bernoulli (Loaiza-Ganem & Cunningham 2019), the
  Bernoulli normalised into a density on [0, 1]: a true log-density of grey-level pixels.
- gaussian: N(sigmoid(l), sigma^2 I) with a fixed sigma: a true log-density on continuous pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import ContinuousBernoulli

VAE_LOSSES = ("bernoulli", "continuous_bernoulli", "gaussian")  # the `loss=` names for model=vae


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row (Kingma & Welling 2014, appendix B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)  # (B,)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) for a Bernoulli decoder, per image; x may hold grey levels in [0, 1]."""
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")  # stable: no log(sigmoid)
    return bce.flatten(1).sum(dim=1)


def continuous_bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) per image for the continuous Bernoulli: the BCE minus log C(lambda), where
    C normalises it on [0, 1] (torch's log_prob, stable near lambda = 1/2 by a Taylor series)."""
    return -ContinuousBernoulli(logits=logits).log_prob(x).flatten(1).sum(dim=1)


def squared_error(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors per image."""
    return (x - mean).pow(2).flatten(1).sum(dim=1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """-log N(x; mean, sigma^2 I) per image, in nats."""
    log_normaliser = mean[0].numel() * math.log(sigma * math.sqrt(2 * math.pi))
    return squared_error(mean, x) / (2 * sigma**2) + log_normaliser


@dataclass(frozen=True)
class VAELoss:
    """Weighted negative ELBO: objective = recon_weight * R + beta * KL per image, where R is the
    reconstruction NLL without its constant (the Gaussian's log normaliser), summed over pixels,
    or averaged over them when pixel_mean (the CS4243 lab: recon_weight 10; the CelebA deck:
    beta 0.00024). At recon_weight = beta = 1 and pixel_mean false, the objective is the negative
    ELBO up to that constant.
    """

    recon: str  # one of VAE_LOSSES
    beta: float  # weight of the KL term
    recon_weight: float
    pixel_mean: bool
    binarize: bool  # dynamic binarisation: x ~ Bernoulli(x) at every step
    sigma: float | None  # the Gaussian decoder's standard deviation (gaussian only, else None)

    def nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x | z) per image, in nats, constants included."""
        if self.recon == "bernoulli":
            return bernoulli_nll(logits, x)
        if self.recon == "continuous_bernoulli":
            return continuous_bernoulli_nll(logits, x)
        return gaussian_nll(torch.sigmoid(logits), x, self.sigma)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image E[x | z] in [0, 1]: what grids and samples show."""
        if self.recon == "continuous_bernoulli":
            return ContinuousBernoulli(logits=logits.float()).mean
        return torch.sigmoid(logits)

    def __call__(self, logits, x, mu, logvar) -> dict[str, torch.Tensor]:
        kl = kl_normal(mu, logvar)
        nll = self.nll(logits, x)
        r = nll
        if self.recon == "gaussian":  # the constant carries no gradient: train without it
            r = squared_error(torch.sigmoid(logits), x) / (2 * self.sigma**2)
        if self.pixel_mean:
            r = r / x[0].numel()
        loss = (self.recon_weight * r + self.beta * kl).mean()
        return {"loss": loss, "recon": nll.mean(), "kl": kl.mean(), "neg_elbo": (nll + kl).mean()}
