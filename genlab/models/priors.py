"""Latent priors p(z): every latent genlab samples comes from one of these."""

from __future__ import annotations

from dataclasses import dataclass

import torch

PRIORS = ("normal", "uniform")


@dataclass(frozen=True)
class Prior:
    name: str  # "normal": N(0, I); "uniform": U[low, high]^d
    low: float | None = None  # uniform only
    high: float | None = None

    def sample(self, n: int, dim: int, device=None, generator: torch.Generator | None = None):
        if self.name == "normal":
            return torch.randn(n, dim, device=device, generator=generator)
        u = torch.rand(n, dim, device=device, generator=generator)
        return self.low + (self.high - self.low) * u
