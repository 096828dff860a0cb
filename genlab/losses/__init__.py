"""Loss functions: pure functions of tensors, returning named terms."""

from genlab.losses.elbo import VAE_LOSSES, kl_normal
from genlab.losses.gan import GAN_LOSSES, gradient_penalty

__all__ = ["GAN_LOSSES", "VAE_LOSSES", "gradient_penalty", "kl_normal"]
