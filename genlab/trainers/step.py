"""What a model family's training step offers. The loop (trainer.py) trains one, the evaluator
(metrics/evaluator.py) measures one, sampling (sampling.py) and the Python API draw from one.
VAEStep (vae_step.py, the cVAE too) and GANStep (gan_step.py, the cGAN too) are the two kinds.

A step owns its networks and optimisers; everything about epochs, logging and checkpoints is the
loop's. It never reads config: config/build.py hands it plain arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch
from torch import nn

if TYPE_CHECKING:
    from genlab.losses.elbo import VAELoss
    from genlab.models.priors import Prior
    from genlab.models.vae import VAE
    from genlab.trainers.distributed import Ranks
    from genlab.trainers.nan_guard import FiniteGuard
    from genlab.trainers.precision import Precision

Grids = dict[str, tuple[torch.Tensor, int]]  # name -> (images in [0, 1], (N, C, H, W); per row)


class Step(Protocol):
    family: str  # "vae", "cvae", "gan" or "cgan"
    num_classes: int  # > 0: samples take class ids (the cVAE, the cGAN)
    latent_dim: int
    image_shape: tuple[int, int, int]  # (C, H, W) of what it draws
    prior: Prior  # p(z): what sample() draws from
    fixed_z: torch.Tensor  # the grids' latent batch; on the step's device
    networks: dict[str, nn.Module]  # every network with weights, by checkpoint name (never DDP)
    optimizers: dict[str, torch.optim.Optimizer]  # by the name of the network they train
    guard: FiniteGuard  # the NaN check before every update
    precision: Precision  # autocast and fp16's gradient scaler

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One batch (x in [0, 1], y class ids): the updates, and the scalars to log (on device)."""
        ...

    def sample(self, n: int, labels=None, generator=None) -> torch.Tensor:
        """n images in [0, 1] with z ~ prior (cVAE, cGAN: of the given classes, else balanced)."""
        ...

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """Latents (N, latent_dim) -> images in [0, 1], in eval mode."""
        ...

    def grids(self) -> Grids:
        """The image grids logged at epoch ends (samples of fixed_z; a VAE's reconstructions)."""
        ...

    def state_dict(self) -> dict:
        """Networks, optimisers, the gradient scaler and anything else an exact resume needs."""
        ...

    def load_state_dict(self, state: dict) -> None: ...

    def distribute(self, ranks: Ranks) -> None:
        """Under torchrun: the trained networks in DistributedDataParallel, each rank's noise
        a slice of one global-batch draw, the NaN guard decided by every rank together."""
        ...


@runtime_checkable
class LikelihoodStep(Step, Protocol):
    """A step whose model has a likelihood to measure (the VAE): its network and its loss."""

    vae: VAE
    loss: VAELoss


class Evaluates(Protocol):
    """What the loop is handed to measure a step with (metrics/evaluator.Evaluator): it calls
    it on the step and records the numbers with what measured them."""

    measured: dict  # the feature network's id, its floor, the reference images

    def __call__(self, step: Step) -> dict[str, float]: ...

    def grids(self) -> Grids:
        """What the last measurement shows as images (the memorisation check's closest pairs)."""
        ...


def networks_state(step: Step, **extra) -> dict:
    """What every step's state_dict holds: networks, optimisers and fp16's loss scale (+ extra)."""
    scaler = step.precision.scaler
    return {
        "networks": {k: m.state_dict() for k, m in step.networks.items()},
        "optimizers": {k: o.state_dict() for k, o in step.optimizers.items()},
        "scaler": scaler.state_dict() if scaler else None,
        "extra": extra,
    }


def load_networks_state(step: Step, state: dict) -> dict:
    """The inverse of networks_state; returns its extra."""
    for k, m in step.networks.items():
        m.load_state_dict(state["networks"][k])
    for k, o in step.optimizers.items():
        o.load_state_dict(state["optimizers"][k])
    if step.precision.scaler and state.get("scaler"):  # fp16: the loss scale goes on
        step.precision.scaler.load_state_dict(state["scaler"])
    return state.get("extra") or {}
