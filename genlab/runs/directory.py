"""A run directory belongs to one run, and to one process at a time: a new run never writes
into a folder that holds another (only `resume=` continues one), a process that writes a run
owns it while it does (`owning`), and a refused command leaves the run it names untouched."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from genlab.errors import ConfigError, StorageError
from genlab.storage.lock import OWNER_SUFFIX, FileLock, held
from genlab.storage.read import read_yaml

MARKS = ("status.json", "checkpoints", ".hydra", "metrics.json")  # what a run leaves behind


def holds_a_run(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (
        any((path / m).exists() for m in MARKS) or any(path.glob("events.out.tfevents.*"))
    )


def check_new_run_dir(path: Path, key: str = "hydra.run.dir") -> None:
    """Refuses a directory that holds another run, in one line."""
    if holds_a_run(path):
        raise ConfigError(
            f"{key}={path} holds another run; a new run never writes over one: choose a new "
            f"directory, or continue that run with resume={path}"
        )


LOCK = ".lock"  # a run directory's owner (storage/lock.py), while a process writes it
_OWNED: dict[Path, list] = {}  # run directory -> [its lock, how many `owning` blocks hold it]


@contextmanager
def owning(run_dir: Path, doing: str = "train"):
    """This process owns run_dir for the block: a second process that would write it (a training,
    a resume, an evaluation) is refused in one line naming the owner. Re-entrant within a
    process; the kernel frees the lock if the process dies."""
    key = Path(run_dir).resolve()
    if key not in _OWNED:
        made = missing_folders(key)  # made by the lock: removed again if nothing else is written
        lock = FileLock(key / LOCK)
        holder = lock.take()
        if holder is not None:
            raise ConfigError(
                f"{run_dir} is in use by {holder}: one process at a time may {doing} a run; "
                "wait for it to end (or stop it), then try again"
            )
        _OWNED[key] = [lock, 0, made]
    _OWNED[key][1] += 1
    try:
        yield
    finally:
        _OWNED[key][1] -= 1
        if _OWNED[key][1] == 0:
            lock, _, made = _OWNED.pop(key)
            lock.release()
            tidy(made)


def missing_folders(folder: Path) -> list[Path]:
    """folder and its ancestors that do not exist yet, innermost first."""
    return [p for p in (folder, *folder.parents) if not p.exists()]


def tidy(made: list[Path]) -> None:
    """A refused command leaves no trace: the folders it made (missing_folders, innermost
    first), if they hold only the lock."""
    if not made or not set(os.listdir(made[0])) <= {LOCK, LOCK + OWNER_SUFFIX}:
        return
    (made[0] / LOCK).unlink(missing_ok=True)  # (gone already where filelock removes it)
    for folder in made:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            return


RECORDS = (
    "checkpoints",
    ".hydra",
    "images",
    "metrics.json",
    "status.json",
    "error.txt",
    LOCK,
    LOCK + OWNER_SUFFIX,
)


def run_record(path: Path) -> Path | None:
    """The run directory of which path is a record (a checkpoint, an image grid, metrics.json,
    an event file, ...), or None: a file written there would overwrite the run's own."""
    path = Path(path).resolve()
    for folder in path.parents:
        if holds_a_run(folder):
            first = path.relative_to(folder).parts[0]
            mine = first in RECORDS or first.startswith("events.out.tfevents")
            return folder if mine else None
    return None


def runs_now(run_dir: Path) -> bool:
    """Whether a process owns run_dir now: its lock is held (asked of the lock, not of a pid a
    dead owner left behind, which another process may have been given since)."""
    return held(Path(run_dir) / LOCK)


def read_overrides(run_dir: Path) -> list[str]:
    """The overrides a run was launched with (.hydra/overrides.yaml); [] when it has none;
    StorageError (one line) for an empty, truncated or foreign file."""
    path = Path(run_dir) / ".hydra" / "overrides.yaml"
    items = read_yaml(path, "a run's overrides file", list) or []
    stray = next((i for i in items if not isinstance(i, str) or "=" not in i.lstrip("~")
                  and not i.startswith("~")), None)  # fmt: skip
    if stray is not None:
        raise StorageError(f"{path} is not a run's overrides file ({stray!r} is no key=value)")
    return items
