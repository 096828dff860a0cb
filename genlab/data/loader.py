"""Training batches from a whole split held as one uint8 tensor on the training device.

No per-sample DataLoader: indexing a resident tensor costs ~0.05 s per MNIST epoch, a
torchvision DataLoader ~5.6 s. The order of epoch e is a permutation drawn from (seed, e) alone,
so a resumed run sees exactly the batches it would have seen.
"""

from __future__ import annotations

import torch

from genlab.data.datasets import ImageSet


class ResidentLoader:
    def __init__(
        self, data: ImageSet, batch_size: int, device, seed: int = 0, max_batches: int | None = None
    ):
        self.images = data.images.to(device)  # one uint8 copy of the split, no more
        self.labels = data.labels.to(device)
        self.num_classes = data.num_classes
        self.batch_size = min(batch_size, len(data))
        self.seed = seed
        self.max_batches = max_batches  # an epoch of N batches drawn from the shuffled split

    def __len__(self) -> int:  # batches per epoch; the last partial batch is dropped
        full = len(self.labels) // self.batch_size
        return min(full, self.max_batches) if self.max_batches else full

    def order(self, epoch: int) -> torch.Tensor:
        # (seed, epoch) -> one generator seed in torch's range (any seed up to 2^63 - 1)
        g = torch.Generator().manual_seed((self.seed * 100_003 + epoch) % 2**63)
        return torch.randperm(len(self.labels), generator=g).to(self.labels.device)

    def epoch(self, epoch: int, start: int = 0):
        """Yields (x float in [0, 1], (B, C, H, W); y (B,)) for batches start, start + 1, ..."""
        idx = self.order(epoch)
        for i in range(start, len(self)):
            b = idx[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.images[b].float().div_(255), self.labels[b]
