"""The NaN guard: a non-finite loss stops the run, or skips the batch, before it reaches weights."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genlab.errors import NonFiniteError

NAN_POLICIES = ("stop", "skip")


class FiniteGuard:
    """Called by a model on its loss terms before an optimiser step; False means: drop the update.

    policy "stop" raises NonFiniteError naming the bad terms and the step; "skip" counts the
    batch in `skipped` (once per step, however many updates in it were dropped).
    """

    def __init__(self, policy: str, defer: bool = False):
        self.policy = policy
        self.step = 0  # the step being computed, as TensorBoard numbers it (set by the loop)
        self.skipped = 0  # batches skipped so far (policy "skip")
        self._last_skip = -1
        # defer (on a GPU, policy "stop"): no host sync per update; the loop calls check()
        self.defer = defer and policy == "stop"
        self._pending: torch.Tensor | None = None  # every loss finite since step `_since`?
        self._since = 0
        # under torchrun: the flag's AND over every rank (a step's distribute() sets it), so all
        # ranks skip or stop together and none waits alone in a collective call
        self.agree: Callable[[torch.Tensor], torch.Tensor] = lambda finite: finite

    def __call__(self, terms: dict[str, torch.Tensor]) -> bool:
        values = torch.cat([t.detach().reshape(-1).float() for t in terms.values()])
        finite = torch.isfinite(values).all()  # one fused check per update
        if self.defer:
            # No host sync in the GPU hot loop: the flag stays on the device and check() reads it
            # at the next log step or checkpoint (a checkpoint never takes non-finite weights).
            if self._pending is None:
                self._pending, self._since = finite, self.step
            else:
                self._pending &= finite
            return True
        if bool(self.agree(finite)):  # one bool read per update: cheap on the CPU
            return True
        bad = [
            f"{k}={t.detach().float().mean().item():.4g}"
            for k, t in terms.items()
            if not torch.isfinite(t.detach()).all()
        ]
        bad = ", ".join(bad) or "in another process"
        if self.policy == "stop":
            raise NonFiniteError(f"non-finite loss at step {self.step}: {bad}")
        if self._last_skip != self.step:
            self.skipped, self._last_skip = self.skipped + 1, self.step
        return False

    def check(self) -> None:
        """Reads the deferred flag; raises NonFiniteError if a loss since then was not finite."""
        if self._pending is None:
            return
        finite, self._pending = bool(self.agree(self._pending)), None
        if not finite:
            raise NonFiniteError(f"non-finite loss between steps {self._since} and {self.step}")
