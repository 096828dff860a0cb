"""One owner at a time: an exclusive lock on a file, taken through `filelock` (flock on Linux and
macOS, msvcrt's byte lock on Windows), with the owner's pid, host and start time written beside
it (`<lock>.owner`) for the message of whoever is refused. The operating system drops the lock
when its process dies, however it dies (SIGKILL included), so a stale lock never blocks anyone:
the next taker finds it free and writes its own name over the dead owner's.

What filelock does not cover is written here: naming the owner (Windows forbids reading a
locked byte range, so the name lives in a file of its own) and asking whether a lock is held
without waiting for it (`held`).

Run directories are locked while a process writes them (runs/directory.py); work shared by
several processes on first use (a data set's files, a classifier) is done once, under a lock that
the others wait for.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import filelock

from genlab.errors import StorageError, storage_error
from genlab.storage.atomic import write_atomic

OWNER_SUFFIX = ".owner"  # beside the lock file: who holds it


class FileLock:
    """`with FileLock(path): ...` waits for the lock; `FileLock(path).take()` does not wait and
    returns the owner's description when someone else holds it (None when it is ours)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock: filelock.BaseFileLock | None = None

    def take(self) -> str | None:
        """Takes the lock if it is free; else says who holds it ("pid 12 on host-a since ...")."""
        return self._acquire(wait=False)

    def wait(self) -> None:
        self._acquire(wait=True)

    def _acquire(self, wait: bool) -> str | None:
        if self._lock is not None:
            return None
        lock = filelock.FileLock(self.path, thread_local=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                if not wait:
                    return owner(self.path)
                said = f"waiting for {owner(self.path)} to finish with {self.path}"
                print(said, file=sys.stderr, flush=True)  # never a silent wait
                lock.acquire(timeout=-1)
        except OSError as e:  # a read-only folder, a file system without locks
            raise (
                storage_error(e)
                if e.filename
                else StorageError(f"cannot lock {self.path}: {e.strerror or e}")
            ) from None
        self._lock = lock
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%F %T")}
        try:
            write_atomic(owner_file(self.path), json.dumps(me))
        except OSError:
            pass  # only the refusal's message is poorer: "another process"
        return None

    def release(self) -> None:
        if self._lock is not None:
            owner_file(self.path).unlink(missing_ok=True)  # no owner named once it is free
            self._lock.release()
            self._lock = None

    def __enter__(self) -> FileLock:
        self.wait()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def owner_file(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + OWNER_SUFFIX)


def owner(path: Path) -> str:
    """Who holds the lock at path, as written beside it: "pid 12 on host-a since 2026-01-01"."""
    try:
        me = json.loads(owner_file(path).read_text() or "{}")
        return f"pid {me['pid']} on {me['host']} since {me['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def held(path: Path) -> bool:
    """Whether some process holds the lock at path now: asked of the lock itself, so a dead
    owner's name left beside it (or its pid, reused by another process) never reads as held."""
    path = Path(path)
    if not path.exists():
        return False  # never taken here, or released
    probe = filelock.FileLock(path, thread_local=False)
    try:
        probe.acquire(timeout=0)
    except filelock.Timeout:
        return True
    except OSError:
        return False  # cannot lock here (a read-only folder): nobody writes it from here either
    probe.release()
    return False
