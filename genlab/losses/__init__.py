"""Loss functions: pure functions of tensors, returning named terms."""

from genlab.losses.gan import GAN_LOSSES, gradient_penalty
from genlab.losses.elbo import VAE_LOSSES, kl_normal

__all__ = ["GAN_LOSSES", "VAE_LOSSES", "gradient_penalty", "kl_normal"]
