"""Every file genlab writes into a run or data directory is written atomically: a temp file
beside the target, flushed to disk, then renamed over it. A crash, a full disk or a kill
mid-write leaves the previous file whole (or none), never half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object] | bytes | str) -> Path:
    """Writes `path` atomically: `write` is the content, or a function filling the open file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            if callable(write):
                write(f)
            else:
                f.write(write.encode() if isinstance(write, str) else write)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it the file
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:  # a full disk, a kill signal's KeyboardInterrupt, ...: keep the old one
        tmp.unlink(missing_ok=True)
        raise
    return path
