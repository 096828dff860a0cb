"""What stops a run cleanly: a non-finite loss, and SIGINT / SIGTERM at a step boundary."""

from __future__ import annotations

import signal
import threading

import torch

NAN_POLICIES = ("stop", "skip")


class NonFiniteError(RuntimeError):
    """A loss (or, at a checkpoint, a weight) became NaN or Inf; the run stopped."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM: the run saved a checkpoint at a step boundary and stopped.

    A BaseException, like KeyboardInterrupt, so that `except Exception` (a sweep's job runner
    included) lets it through and a whole sweep stops.
    """

    def __init__(self, signum: int, step: int, run_dir):
        super().__init__(f"{signal.Signals(signum).name} at step {step}")
        self.signum, self.step, self.run_dir = signum, step, run_dir


class FiniteGuard:
    """Called by a task on its loss terms before an optimiser step; False means: drop the update.

    policy "stop" raises NonFiniteError naming the bad terms and the step; "skip" counts the
    batch in `skipped` (once per step, however many updates in it were dropped).
    """

    def __init__(self, policy: str = "stop", defer: bool = False):
        if policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy={policy} is not known; choose one of stop, skip")
        self.policy = policy
        self.step = 0  # the step being computed, as TensorBoard numbers it (set by the loop)
        self.skipped = 0  # batches skipped so far (policy "skip")
        self._last_skip = -1
        # defer (on a GPU, policy "stop"): no host sync per update; the loop calls check()
        self.defer = defer and policy == "stop"
        self._pending: torch.Tensor | None = None  # every loss finite since step `_since`?
        self._since = 0

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
        if bool(finite):  # one bool read per update: cheap on the CPU
            return True
        bad = ", ".join(
            f"{k}={t.detach().float().mean().item():.4g}"
            for k, t in terms.items()
            if not torch.isfinite(t.detach()).all()
        )
        if self.policy == "stop":
            raise NonFiniteError(f"non-finite loss at step {self.step}: {bad}")
        if self._last_skip != self.step:
            self.skipped, self._last_skip = self.skipped + 1, self.step
        return False

    def check(self) -> None:
        """Reads the deferred flag; raises NonFiniteError if a loss since then was not finite."""
        if self._pending is None:
            return
        finite, self._pending = bool(self._pending), None
        if not finite:
            raise NonFiniteError(f"non-finite loss between steps {self._since} and {self.step}")


class StopOnSignals:
    """Within `with`, the first SIGINT / SIGTERM / SIGUSR2 only sets `signum`; the loop reads it at
    the next step boundary. A second one stops at once (KeyboardInterrupt), without a checkpoint.
    SIGUSR2: SLURM's warning before a time limit (hydra_plugins/genlab_launchers requeues the job).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():  # handlers live there only
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
