"""Improved precision and recall (Kynkaenniemi et al. 2019, sec. 3).

Each set's manifold is the union of balls around its points, each ball reaching the point's k-th
nearest neighbour in the same set. Precision: the share of generated points inside the real
manifold (fidelity); recall: the share of real points inside the generated manifold (coverage).
"""

from __future__ import annotations

import torch


def knn_radii(x: torch.Tensor, k: int = 3, chunk: int = 1000) -> torch.Tensor:
    """Distance from every row of x to its k-th nearest other row, (N,)."""
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i : i + chunk], x)  # (chunk, N); column i itself is at distance 0
        out.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(out)


def coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk=1000):
    """Share of points within radii[j] of some centres[j]."""
    inside = []
    for i in range(0, len(points), chunk):
        d = torch.cdist(points[i : i + chunk], centres)  # (chunk, M)
        inside.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(inside).float().mean().item()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of fake against real; (N, D) and (M, D) features."""
    real, fake = real.float(), fake.float()
    precision = coverage(fake, real, knn_radii(real, k))
    recall = coverage(real, fake, knn_radii(fake, k))
    return precision, recall
