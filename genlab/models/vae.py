"""The VAE: an encoder giving q(z|x) = N(mu, diag(sigma^2)) and a decoder giving p(x|z) logits.

With classes it is the conditional VAE (Sohn et al. 2015): q(z|x,y) and p(x|z,y), the class as a
one-hot vector beside the encoder's features and beside z (the cGAN's G takes it the same way);
the prior p(z) stays N(0, I), so sampling a class is decoding z ~ N(0, I) with its label.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VAE(nn.Module):
    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, latent_dim: int, num_classes: int = 0
    ):
        super().__init__()
        self.encoder = encoder  # (B, C, H, W) -> (B, encoder.out_dim)
        self.stats = nn.Linear(encoder.out_dim + num_classes, 2 * latent_dim)
        self.decoder = decoder  # (B, latent_dim + num_classes) -> (B, C, H, W) logits
        self.latent_dim = latent_dim
        self.num_classes = num_classes  # > 0: the conditional VAE; every call then takes y

    def _with_class(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if not self.num_classes:
            return h
        return torch.cat([h, F.one_hot(y.to(h.device), self.num_classes).to(h.dtype)], dim=1)

    def encode(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x) (with classes: q(z | x, y))."""
        mu, logvar = self.stats(self._with_class(self.encoder(x), y)).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps=None) -> torch.Tensor:
        # z = mu + sigma * eps, eps ~ N(0, I): a sample that gradients flow through
        eps = torch.randn_like(mu) if eps is None else eps.to(mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """Logits of p(x | z) (with classes: p(x | z, y)); sigmoid gives pixel means in [0, 1]."""
        return self.decoder(self._with_class(z, y))

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None, y=None):
        """(decoder logits, mu, logvar); eps: the (B, latent_dim) noise, else drawn here; y: the
        (B,) class ids of a conditional VAE."""
        mu, logvar = self.encode(x, y)
        return self.decode(self.reparameterize(mu, logvar, eps), y), mu, logvar
