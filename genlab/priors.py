"""Latent priors p(z): every latent genlab samples comes from one of these."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Prior:
    name: str = "normal"  # "normal": N(0, I); "uniform": U[low, high]^d
    low: float = -1.0
    high: float = 1.0

    def sample(self, n: int, dim: int, device=None, generator: torch.Generator | None = None):
        if self.name == "normal":
            return torch.randn(n, dim, device=device, generator=generator)
        u = torch.rand(n, dim, device=device, generator=generator)
        return self.low + (self.high - self.low) * u


PRIORS = ("normal", "uniform")


def make_prior(name: str, low: float = -1.0, high: float = 1.0) -> Prior:
    if name not in PRIORS:
        raise ValueError(f"prior={name} is not known; choose one of {', '.join(PRIORS)}")
    if name == "uniform" and not low < high:
        raise ValueError(f"prior.low={low} must be below prior.high={high}")
    return Prior(name, low, high)
