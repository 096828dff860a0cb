"""One run on several processes: `torchrun --nproc_per_node=N -m genlab.train ...`.

DistributedDataParallel with gloo on the CPU and nccl on GPUs. Rank 0 owns the run directory,
the logs and the checkpoints. Every rank takes a disjoint slice of the same global batch, and
every random draw with one row per image (the GAN's z, the VAE's eps) is made for the whole
global batch on every rank, which then keeps its rows. So the ranks see different noise, and
N processes with per-rank batch B/N follow a 1-process run with batch B to float tolerance.
On GPUs BatchNorm becomes SyncBatchNorm, so GAN generators normalise with global-batch
statistics too; on the CPU (no SyncBatchNorm there) each rank normalises its own shard, so a
GAN with BatchNorm trains correctly but does not match the 1-process run bit for bit.
Outside torchrun nothing here does anything. A step makes itself distributed with its own
`distribute(ranks)` (trainers/step.py), from the parts below.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genlab.data.datasets import ImageSet
from genlab.data.loader import ResidentLoader
from genlab.models.priors import Prior


class Ranks:
    """This process's place among the processes of one run (one process: rank 0 of 1)."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0):
        self.rank, self.world, self.local_rank = rank, world, local_rank
        self.main = rank == 0  # the one process that writes files
        self.active = world > 1  # several processes: DDP, sharded batches and noise

    def __repr__(self) -> str:
        return f"Ranks(rank={self.rank}, world={self.world}, local_rank={self.local_rank})"


def from_env() -> Ranks:
    """The ranks torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK; one process otherwise."""
    e = os.environ
    return Ranks(int(e.get("RANK", 0)), int(e.get("WORLD_SIZE", 1)), int(e.get("LOCAL_RANK", 0)))


@contextmanager
def process_group(use_cuda: bool, run_dir: Path) -> Iterator[tuple[Ranks, Path]]:
    """(this process's ranks, rank 0's run directory) inside the process group torchrun's
    processes join (nccl on GPUs, gloo on the CPU), which is left on exit; one process: no group."""
    r = from_env()
    if r.active and not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(r.local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    try:
        yield r, Path(broadcast(str(run_dir), r))
    finally:
        if r.active and dist.is_initialized():
            dist.destroy_process_group()


def broadcast(value, r: Ranks):
    """Rank 0's value (any picklable object) on every rank."""
    if not r.active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value, r: Ranks) -> list:
    """Every rank's value (any picklable object), in rank order, on every rank."""
    if not r.active:
        return [value]
    out = [None] * r.world
    dist.all_gather_object(out, value)
    return out


def agreed_stop(signum: int | None, r: Ranks, device) -> int | None:
    """The signal every rank stops for: any rank's (the highest), so that all stop at the same
    step and none is left waiting in a collective call; None: go on. Every rank calls it at the
    same step (on torchrun, the loop asks at each log step)."""
    if not r.active:
        return signum
    t = torch.tensor([signum or 0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item()) or None


def mean_over_ranks(scalars: dict[str, torch.Tensor], r: Ranks) -> dict[str, torch.Tensor]:
    """Each scalar averaged over the ranks: the value for the global batch (shards are equal)."""
    if not r.active or not scalars:
        return scalars
    names = sorted(scalars)  # the same order on every rank
    stacked = torch.stack([scalars[k].float() for k in names])
    dist.all_reduce(stacked)
    return dict(zip(names, stacked / r.world, strict=True))


class ShardedLoader(ResidentLoader):
    """ResidentLoader whose batch i on rank r is rows [r*b, (r+1)*b) of global batch i (b = B/N).

    Every rank draws the same per-epoch permutation (it depends on (seed, epoch) only), so the
    shards are disjoint and together are exactly the 1-process batch.
    """

    def __init__(
        self,
        data: ImageSet,
        batch_size: int,
        device,
        r: Ranks,
        seed: int = 0,
        max_batches: int | None = None,
    ):
        if batch_size % r.world:
            raise ValueError(
                f"data.batch_size={batch_size} does not split over {r.world} processes; "
                f"use a multiple of {r.world} (it is the global batch)"
            )
        super().__init__(data, batch_size, device, seed, max_batches)
        self.ranks = r
        self.local_batch = self.batch_size // r.world

    def epoch(self, epoch: int, start: int = 0):
        lo = self.ranks.rank * self.local_batch
        for x, y in super().epoch(epoch, start):
            yield x[lo : lo + self.local_batch], y[lo : lo + self.local_batch]


class ShardedPrior:
    """A prior whose n draws on rank r are rows [r*n, (r+1)*n) of one (N*n, dim) draw."""

    def __init__(self, prior: Prior, r: Ranks):
        self.prior, self.ranks = prior, r

    def sample(self, n: int, dim: int, device=None, generator: torch.Generator | None = None):
        z = self.prior.sample(n * self.ranks.world, dim, device=device, generator=generator)
        return z[self.ranks.rank * n : (self.ranks.rank + 1) * n]


# newer torch names broadcast_buffers=False forward_sync_buffers=False
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


class _DDP(DistributedDataParallel):
    """DDP whose wrapped model's own attributes (decode, latent_dim, ...) stay reachable."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def data_parallel(module: nn.Module) -> nn.Module:
    """module in DistributedDataParallel; on GPUs its BatchNorm becomes SyncBatchNorm.

    No buffer sync at each forward, so rank 0 alone can draw image grids without a collective
    call; SyncBatchNorm (GPUs) keeps running statistics equal on every rank anyway. A step keeps
    the bare module in its `networks`, so checkpoints look the same as a 1-process run's.
    """
    device_ids = None
    device = next(module.parameters()).device
    if device.type == "cuda":  # SyncBatchNorm works on GPUs only
        nn.SyncBatchNorm.convert_sync_batchnorm(module)  # in place below the top module
        device_ids = [device.index]
    return _DDP(module, device_ids=device_ids, **_NO_BUFFER_SYNC)


def all_ranks(flag: torch.Tensor) -> torch.Tensor:
    """A boolean's AND over the ranks (every rank must call it, at the same point): what a
    distributed step's NaN guard decides with, so every rank skips or stops together."""
    t = flag.reshape(1).to(torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t[0].bool()


class NullLogger:
    """The logger of ranks other than 0: they train, rank 0 writes."""

    def scalars(self, *args, **kwargs) -> None: ...
    def evaluation(self, *args, **kwargs) -> None: ...
    def images(self, *args, **kwargs) -> None: ...
    def text(self, *args, **kwargs) -> None: ...
    def flush(self) -> None: ...
    def checkpointed(self, step: int) -> None: ...
    def close(self, *args) -> None: ...
