"""How much of a number is the measurement: each headline metric's standard error over the
evaluation's own randomness, apart from the seed-to-seed spread of training.

- FID: the standard deviation of FID over bootstrap resamples of the generated set (the
  reference set fixed; Efron's bootstrap, B rounds). The resampled FIDs sit slightly above the
  measured one (a resample repeats images, which looks less diverse); their spread is the part
  of a difference between two runs that another 10k samples would move.
- A share of points (precision, recall, class accuracy): the binomial standard error
  sqrt(p (1 - p) / n), each point counted once.
- A mean over test images (the VAE's nats): the standard deviation of the per-image values over
  sqrt(n).

The bootstrap repeats FID's formula (metrics/distances.py) on weighted statistics in float64,
which no library offers for resamples.
"""

from __future__ import annotations

import math

import torch

from genlab.metrics.distances import frechet_from_stats, gaussian_stats


def fid_bootstrap_se(real: torch.Tensor, fake: torch.Tensor, rounds: int, seed: int = 0) -> float:
    """The bootstrap standard deviation of FID over resamples of fake ((N, D) features each)."""
    real, fake = real.detach().cpu().double(), fake.detach().cpu().double()
    mu_r, cov_r = gaussian_stats(real)
    g = torch.Generator().manual_seed(seed)
    uniform = torch.full((len(fake),), 1.0 / len(fake), dtype=torch.float64)
    fids = []
    for _ in range(rounds):
        picked = torch.multinomial(uniform, len(fake), replacement=True, generator=g)
        weights = torch.bincount(picked, minlength=len(fake)).double()
        fids.append(frechet_from_stats(mu_r, cov_r, *gaussian_stats(fake, weights)).item())
    return torch.tensor(fids).std().item()


def share_se(share: float, n: int) -> float:
    """The binomial standard error of a share of n points."""
    return math.sqrt(max(share * (1 - share), 0.0) / n)
