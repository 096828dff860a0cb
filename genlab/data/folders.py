"""Image files as one uint8 tensor: CelebA through torchvision, and any folder of images.

Every image is resized (shorter side) and center-cropped to a square, the usual DCGAN / VAE
preprocessing for faces, then decoded once per machine (data/cache.py: later runs map the
decoded copy); training then indexes the resident tensor.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path

import torch
from PIL import Image
from torchvision import datasets, transforms
from torchvision.datasets.folder import IMG_EXTENSIONS

from genlab.data.cache import Decoded, cached, source_key
from genlab.errors import DataError

CELEBA_FILES = [  # what torchvision.datasets.CelebA reads from <root>/celeba
    "img_align_celeba",
    "list_eval_partition.txt",
    "identity_CelebA.txt",
    "list_attr_celeba.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
]


def square(image_size: int, channels: int = 3):
    mode = {1: "L", 3: "RGB"}[channels]
    return transforms.Compose(
        [
            partial(Image.Image.convert, mode=mode),
            transforms.Resize(image_size),
            transforms.CenterCrop(image_size),
            transforms.PILToTensor(),  # uint8 (C, H, W)
        ]
    )


class _Images(torch.utils.data.Dataset):
    """The images of a torchvision data set, or of a list of files, without their targets:
    (image, True), or (zeros, False) for a file that cannot be decoded."""

    def __init__(self, source, shape, transform=None):
        self.source, self.shape, self.transform = source, shape, transform

    def __len__(self) -> int:
        return len(self.source)

    def path(self, i: int) -> str:
        samples = getattr(self.source, "samples", None)  # ImageFolder; CelebA has `filename`
        if samples is not None:
            return samples[i][0]
        if hasattr(self.source, "filename"):
            return str(Path(self.source.root) / self.source.base_folder / "img_align_celeba"
                       / self.source.filename[i])  # fmt: skip
        return str(self.source[i])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, bool]:
        try:
            if self.transform is None:  # a torchvision set that transforms itself
                return self.source[i][0], True
            with Image.open(self.source[i]) as im:
                return self.transform(im), True
        except (OSError, ValueError):  # truncated, not an image, ...: named by decode_all
            return torch.zeros(self.shape, dtype=torch.uint8), False


def decode_all(images: _Images) -> torch.Tensor:
    """Decodes every image once into one preallocated uint8 (N, C, H, W) tensor."""
    out = torch.empty(len(images), *images.shape, dtype=torch.uint8)
    workers = 0 if len(images) < 2000 else min(8, os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(images, batch_size=256, num_workers=workers)
    i = 0
    for batch, ok in loader:
        if not ok.all():
            bad = images.path(i + int((~ok).nonzero()[0]))
            raise DataError(f"cannot decode the image {bad}; remove or replace the file")
        out[i : i + len(batch)] = batch
        i += len(batch)
    return out


def load_celeba(root: Path, split: str, image_size: int):
    """CelebA's official split (train 162,770 / test 19,962 images); labels are all 0."""
    folder = Path(root) / "celeba"
    missing = [n for n in CELEBA_FILES if not (folder / n).exists()]
    if missing:
        raise DataError(
            f"CelebA files not found: put {', '.join(missing)} into {folder} (torchvision's "
            "layout: unzip img_align_celeba.zip there), or set data.root to a folder with celeba/"
        )
    try:
        ds = datasets.CelebA(str(root), split=split, target_type=[], transform=square(image_size))
    except RuntimeError as e:  # torchvision's MD5 check of the list files failed
        raise DataError(f"CelebA files under {folder} are corrupt or incomplete ({e})") from None

    def decode() -> Decoded:
        images = decode_all(_Images(ds, (3, image_size, image_size)))
        return images, torch.zeros(len(images), dtype=torch.long), 1

    images = folder / "img_align_celeba"
    key = source_key(images, [images / f for f in ds.filename], image_size=image_size)
    shape = (len(ds.filename), 3, image_size, image_size)
    return cached(root, f"celeba-{split}-{image_size}px", key, shape, decode)


def load_image_folder(path: str | Path, image_size: int, channels: int, root: Path | None = None):
    """One subfolder per class (torchvision's ImageFolder; labels = class index) or a flat
    folder of images (labels all 0); decoded once per machine under root (None: every time)."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DataError(f"data.path={path} is not a folder; point it at a folder of images")
    shape = (channels, image_size, image_size)
    if any(_image_files(d) for d in path.iterdir() if d.is_dir()):
        empty = [d.name for d in sorted(path.iterdir()) if d.is_dir() and not _image_files(d)]
        if empty:
            raise DataError(
                f"data.path={path}: the class folder {empty[0]} holds no images; add some or "
                "remove it (every subfolder is a class)"
            )
        ds = datasets.ImageFolder(str(path), transform=square(image_size, channels))
        files = [Path(f) for f, _ in ds.samples]

        def decode() -> Decoded:
            labels = torch.tensor(ds.targets, dtype=torch.long)
            return decode_all(_Images(ds, shape)), labels, len(ds.classes)

    else:
        files = _image_files(path)
        if not files:
            raise DataError(
                f"no images in data.path={path}: put {', '.join(IMG_EXTENSIONS)} files there, or "
                "in one subfolder per class"
            )

        def decode() -> Decoded:
            images = decode_all(_Images(files, shape, square(image_size, channels)))
            return images, torch.zeros(len(images), dtype=torch.long), 1

    if root is None:
        return decode()
    where = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    key = source_key(path, files, image_size=image_size, channels=channels)
    name = f"{path.resolve().name[:40]}-{where}-{image_size}px{channels}c"  # short enough anywhere
    return cached(root, name, key, (len(files), *shape), decode)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMG_EXTENSIONS)
