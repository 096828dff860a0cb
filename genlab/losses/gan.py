"""GAN losses, all computed from the discriminator's raw outputs (logits / critic scores).

log D = -softplus(-l) and log(1 - D) = -softplus(l) for D = sigmoid(l): no log of a sigmoid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _bce_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    # -[log D(x) + log(1 - D(G(z)))], with an optional one-sided smoothed target for real images
    target = torch.full_like(real, real_target)
    return F.binary_cross_entropy_with_logits(real, target) + F.softplus(fake).mean()


def _minimax_g(fake: Tensor) -> Tensor:
    # G minimises log(1 - D(G(z))): saturates (vanishing gradient) when D(G(z)) -> 0
    return -F.softplus(fake).mean()


def _non_saturating_g(fake: Tensor) -> Tensor:
    # G maximises log D(G(z)) (Goodfellow et al. 2014, sec. 3)
    return F.softplus(-fake).mean()


def _lsgan_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    # Mao et al. 2017, eq. 2 with a = 0, b = 1
    return 0.5 * (real - real_target).pow(2).mean() + 0.5 * fake.pow(2).mean()


def _lsgan_g(fake: Tensor) -> Tensor:
    return 0.5 * (fake - 1.0).pow(2).mean()  # c = 1


def _wasserstein_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    return fake.mean() - real.mean()  # critic estimates W(p_data, p_G) (Arjovsky et al. 2017)


def _critic_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def _hinge_d(real: Tensor, fake: Tensor, real_target: float) -> Tensor:
    return (
        F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    )  # Lim & Ye 2017; Miyato et al. 2018


@dataclass(frozen=True)
class GANLoss:
    name: str
    d_loss: Callable[[Tensor, Tensor, float], Tensor]  # (real_out, fake_out, real_target) -> scalar
    g_loss: Callable[[Tensor], Tensor]  # fake_out -> scalar
    logits: bool  # D's output is the logit of P(real), so sigmoid(D) is a probability
    smoothing: bool  # one-sided label smoothing applies (the real target is < 1)
    gradient_penalty: bool = False


GAN_LOSSES = {
    "minimax": GANLoss("minimax", _bce_d, _minimax_g, logits=True, smoothing=True),
    "non_saturating": GANLoss("non_saturating", _bce_d, _non_saturating_g, True, True),
    "lsgan": GANLoss("lsgan", _lsgan_d, _lsgan_g, logits=False, smoothing=True),
    "wgan_gp": GANLoss("wgan_gp", _wasserstein_d, _critic_g, False, False, gradient_penalty=True),
    "hinge": GANLoss("hinge", _hinge_d, _critic_g, logits=False, smoothing=False),
}


def gradient_penalty(critic: Callable[..., Tensor], real: Tensor, fake: Tensor, *args) -> Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani et al. 2017, eq. 3)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat, *args).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()
