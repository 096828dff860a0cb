"""SIGINT / SIGTERM stop a run cleanly: at the next step boundary, after a checkpoint."""

from __future__ import annotations

import signal
import sys
import threading

from genlab.errors import Stopped


class StopOnSignals:
    """Within `with`, the first SIGINT / SIGTERM / SIGUSR2 only sets `signum`; the loop reads it at
    the next step boundary. A second one stops at once (Stopped), without a checkpoint.
    SIGUSR2: SLURM's warning before a time limit (hydra_plugins/genlab_launchers requeues the job).
    """

    # those the platform has: Windows has no SIGUSR2 (nor SLURM)
    SIGNALS = tuple(
        getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGUSR2") if hasattr(signal, n)
    )

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise Stopped(signum)
        self.signum = signum
        name = signal.Signals(signum).name
        print(f"{name}: stopping after the current step, with a checkpoint "
              f"(send it again to stop at once)", file=sys.stderr, flush=True)  # fmt: skip

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():  # handlers live there only
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
