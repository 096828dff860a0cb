"""What genlab raises on purpose. Each message is one line that names the bad value (or file)
and what to do; the command line (genlab/cli/) prints it and exits 2 (3 for a NaN stop), the
Python API lets it propagate. Every layer imports from here, so no layer reaches into another
for its error type. The two signal stops (Interrupted, Stopped) live here too.
"""

from __future__ import annotations

import signal


class GenlabError(Exception):
    """Base class: a run genlab refused or stopped, with a one-line reason."""


class ConfigError(GenlabError, ValueError):
    """A value genlab cannot run; the message names the key, the value and what is allowed."""


class DataError(GenlabError, RuntimeError):
    """Data files are missing or unreadable; the message says what to do."""


class CheckpointError(GenlabError, RuntimeError):
    """A checkpoint file is missing, truncated or not genlab's."""


class NonFiniteError(GenlabError, RuntimeError):
    """A loss (or, at a checkpoint, a weight) became NaN or Inf; the run stopped."""


class StorageError(GenlabError, OSError):
    """A file genlab must write or read: the disk is full, read-only, or the path is wrong."""


def storage_error(e: OSError) -> StorageError:
    """An OSError as one line naming the path and the reason."""
    where = f" {e.filename}" if e.filename else ""
    return StorageError(f"cannot use{where}: {e.strerror or first_line(e)}")


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGUSR2: the run saved a checkpoint at a step boundary and stopped.

    A BaseException, like KeyboardInterrupt, so that `except Exception` (a sweep's job runner
    included) lets it through and a whole sweep stops.
    """

    def __init__(self, signum: int, step: int, run_dir):
        super().__init__(f"{signal.Signals(signum).name} at step {step}")
        self.signum, self.step, self.run_dir = signum, step, run_dir


class Stopped(KeyboardInterrupt):
    """A signal that stops at once, without a checkpoint: a second SIGINT / SIGTERM inside the
    loop, or SIGTERM outside it. The command line exits with 128 + signum."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Pruned(Exception):
    """A search's pruner stopped a hopeless trial at an evaluation, after a checkpoint: the
    run's status is "pruned", and the sweeper records the trial as pruned, never as failed."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step

    def __reduce__(self):  # back from a launcher's worker process (joblib, submitit, Ray)
        return Pruned, (str(self), self.step)


class JobFailed(BaseException):
    """A single run's GenlabError, carried past Hydra's job report (which would add a line) to
    the command line, which prints it in one line. A BaseException, so `except Exception` in
    Hydra lets it through."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def first_line(e: BaseException, limit: int = 160) -> str:
    """The first non-empty line of an exception's message (at most `limit` characters), or its
    type's name when it has none: the part of a foreign error worth quoting in one line."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return lines[0][:limit] if lines else type(e).__name__
