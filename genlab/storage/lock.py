"""One owner at a time: an exclusive lock on a file (`fcntl.flock`), with the owner's pid, host
and start time written in it for the message of whoever is refused. The kernel drops the lock
when its process dies, however it dies (SIGKILL included), so a stale lock never blocks anyone:
the next taker finds it free and writes its own name over the dead owner's.

Run directories are locked while a process writes them (runs/directory.py); work shared by
several processes on first use (a data set's files, a classifier) is done once, under a lock that
the others wait for.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from genlab.errors import StorageError, storage_error


class FileLock:
    """`with FileLock(path): ...` waits for the lock; `FileLock(path).take()` does not wait and
    returns the owner's description when someone else holds it (None when it is ours)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def take(self) -> str | None:
        """Takes the lock if it is free; else says who holds it ("pid 12 on host-a since ...")."""
        return self._acquire(wait=False)

    def wait(self) -> None:
        self._acquire(wait=True)

    def _acquire(self, wait: bool) -> str | None:
        if self._fd is not None:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise storage_error(e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return owner(self.path)
        except OSError as e:  # a file system without locks
            os.close(fd)
            raise StorageError(f"cannot lock {self.path}: {e.strerror}") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%F %T")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # no owner named once it is free
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.wait()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def owner(path: Path) -> str:
    """Who holds the lock at path, as written there: "pid 12 on host-a since 2026-01-01 10:00"."""
    try:
        me = json.loads(Path(path).read_text() or "{}")
        return f"pid {me['pid']} on {me['host']} since {me['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
