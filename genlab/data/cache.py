"""Image files decoded once per machine: a folder of images (or CelebA) kept decoded as uint8
under `<data root>/decoded/<name>-<key>/`, memory-mapped by every run that reads it.

The key is a hash of what the decoded images depend on: each file's path, size and modification
time, the image size, the channels and this format's version. A changed, added or removed file
changes the key, so a new cache is built and the old one of the same images is deleted (where
the caches live and how large they are: docs/data.md; deleting the folder is always safe). One
process builds a cache under a lock while the others wait for it; it is written into a
temporary folder and renamed into place, so a reader sees a whole cache or none.

Readers map `images.u8` read-only and copy-on-write (torch.from_file with shared=False): the
pages come from the operating system's file cache, so every job of a sweep on the machine reads
one decoded copy in memory instead of decoding and holding its own. A cache that cannot be read
back (truncated, foreign, of another format) is said in one line and built again.

By hand because torchvision decodes on every access and no data library we depend on keeps a
decoded, memory-mapped copy keyed by the source files; streaming data larger than memory is
another problem (docs/streaming.md).
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from genlab.storage.atomic import write_atomic
from genlab.storage.lock import FileLock

FORMAT = 1  # the layout below; another version is another key
FOLDER = "decoded"  # under the data root


def source_key(base: Path, files: list[Path], **settings) -> str:
    """A hash of the files' paths (relative to base, however it is spelled), sizes and
    modification times, and the decoding settings."""
    h = hashlib.sha256(json.dumps({"format": FORMAT, **settings}, sort_keys=True).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(base).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


Decoded = tuple[torch.Tensor, torch.Tensor, int]  # images uint8 (N, C, H, W), labels, classes


def cached(root: Path, name: str, key: str, shape: tuple, decode: Callable[[], Decoded]):
    """The decoded images of `name` (a folder at one size) under `key` (its files now), shape
    (N, C, H, W): mapped from the cache when it is there, else decoded (once per machine: under
    a lock) and written for the next run, the caches of older versions of the files deleted. A
    data root that cannot be written: decoded for this run alone, said in one line."""
    where = Path(root) / FOLDER / f"{name}-{key}"
    found = _read(where, shape, say=False)
    if found is not None:
        return found
    lock = FileLock(where.with_name(where.name + ".lock"))
    try:
        lock.wait()
    except OSError as e:  # a read-only data root
        return _alone(where, e, decode())
    try:
        found = _read(where, shape, say=True)  # another process may have built it meanwhile
        if found is not None:
            return found
        images, labels, classes = decoded = decode()
        try:
            _write(where, images, labels, classes)
        except OSError as e:  # a full disk, a file in the way that cannot go
            return _alone(where, e, decoded)
        print(f"decoded {len(images)} images once into {where} ({images.numel() / 2**30:.2f} "
              "GiB); the next runs on this machine map it", file=sys.stderr)  # fmt: skip
        _forget_older(where, name)
    finally:
        lock.release()
    return _read(where, shape, say=True) or decoded


def _alone(where: Path, error: OSError, decoded: Decoded) -> Decoded:
    print(f"cannot keep decoded images under {where.parent} ({error}); decoded for this run "
          "alone (data.root=... names a writable place)", file=sys.stderr)  # fmt: skip
    return decoded


SIDE_FILES = (".lock.owner", ".lock", ".building")  # beside a cache: its lock, a build


def _forget_older(where: Path, name: str) -> None:
    """Deletes the caches of the same images before their files changed, with their locks (a
    run still mapping one keeps its pages)."""
    for old in where.parent.glob(glob.escape(name) + "-*"):
        cache = next((old.name[: -len(x)] for x in SIDE_FILES if old.name.endswith(x)), old.name)
        if cache == where.name or len(cache) != len(where.name):
            continue  # this one, or another folder's whose name begins with this one's
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def _write(where: Path, images: torch.Tensor, labels: torch.Tensor, classes: int) -> None:
    building = where.with_name(where.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        images.contiguous().numpy().tofile(building / "images.u8")
        labels.to(torch.int64).contiguous().numpy().tofile(building / "labels.i64")
        meta = {"format": FORMAT, "shape": list(images.shape), "classes": classes}
        write_atomic(building / "meta.json", json.dumps(meta) + "\n")
        if where.is_dir() and not where.is_symlink():
            shutil.rmtree(where)  # an unreadable one
        elif where.exists() or where.is_symlink():
            where.unlink()  # a file in its place
        building.rename(where)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _read(where: Path, shape: tuple, say: bool) -> Decoded | None:
    """The cache mapped read-only; None when there is none, or (said in one line when say)
    when it cannot be read back or holds other images than shape (N, C, H, W)."""
    try:
        if not (where / "meta.json").exists():
            return None
        meta = json.loads((where / "meta.json").read_text())
        found = [int(s) for s in meta["shape"]]
        classes = int(meta["classes"])
        if meta["format"] != FORMAT or found != list(shape) or classes < 1:
            raise ValueError(f"format {meta['format']}, {found} images of {classes} classes, "
                             f"not {list(shape)}")  # fmt: skip
        n, size = shape[0], math.prod(shape)
        for file, want in (("images.u8", size), ("labels.i64", 8 * n)):
            have = (where / file).stat().st_size
            if have != want:
                raise ValueError(f"{file} holds {have} bytes, not {want}")
        images = torch.from_file(str(where / "images.u8"), shared=False, size=size,
                                 dtype=torch.uint8).view(*shape)  # fmt: skip
        labels = torch.from_file(str(where / "labels.i64"), shared=False, size=n,
                                 dtype=torch.int64)  # fmt: skip
        return images, labels, classes
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, OverflowError) as e:
        if say:
            print(f"the decoded-image cache {where} cannot be read ({e}); decoding the images "
                  "again", file=sys.stderr)  # fmt: skip
        return None
