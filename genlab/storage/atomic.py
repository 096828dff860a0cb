"""Every file genlab writes into a run or data directory is written atomically: a temp file of
its own beside the target (a unique name, so two writers never share one), flushed to disk, then
renamed over it. A crash, a full disk or a kill mid-write leaves the previous file whole (or
none), never half of one; of two writers of the same file, the last rename wins, whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object] | bytes | str) -> Path:
    """Writes `path` atomically: `write` is the content, or a function filling the open file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(write):
                write(f)
            else:
                f.write(write.encode() if isinstance(write, str) else write)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it the file
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the target is not
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:  # a full disk, a kill signal's KeyboardInterrupt, ...: keep the old one
        tmp.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
