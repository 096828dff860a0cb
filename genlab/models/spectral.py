"""Spectral normalisation of a discriminator (Miyato et al. 2018): every Linear, convolution and
embedding weight W is used as W / sigma(W), sigma from one power iteration per forward pass."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NORMALISED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """In place on every layer with a weight matrix (incl. a projection cGAN's class embedding);
    the power iteration's vectors are buffers, so checkpoints and resume keep them."""
    for m in list(module.modules()):
        if isinstance(m, NORMALISED):
            spectral_norm(m)
    return module
