"""The VAE: an encoder giving q(z|x) = N(mu, diag(sigma^2)) and a decoder giving p(x|z) logits."""

from __future__ import annotations

import torch
from torch import nn


class VAE(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int):
        super().__init__()
        self.encoder = encoder  # (B, C, H, W) -> (B, encoder.out_dim)
        self.stats = nn.Linear(encoder.out_dim, 2 * latent_dim)
        self.decoder = decoder  # (B, latent_dim) -> (B, C, H, W) logits
        self.latent_dim = latent_dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps=None) -> torch.Tensor:
        # z = mu + sigma * eps, eps ~ N(0, I): a sample that gradients flow through
        eps = torch.randn_like(mu) if eps is None else eps.to(mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # logits; sigmoid gives pixel means in [0, 1]

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        """(decoder logits, mu, logvar); eps: the (B, latent_dim) noise, else drawn here."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar
