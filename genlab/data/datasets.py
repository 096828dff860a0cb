"""Data sets as whole uint8 tensors: (N, C, H, W) images and (N,) labels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import torch

from genlab.data.files import corrupt_file, data_root, ensure_raw_files
from genlab.data.folders import load_celeba, load_image_folder
from genlab.data.synthetic import synthetic_images
from genlab.errors import DataError

DATASETS = ("mnist", "fashion_mnist", "synthetic", "celeba", "image_folder")
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}  # name -> folder


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)
    num_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the images, labels and classes (16 hex digits): what a classifier was
        trained on, so that one trained on other images is never used in their place."""
        h = hashlib.sha256(f"{tuple(self.images.shape)} {self.num_classes}".encode())
        h.update(self.images.contiguous().numpy().tobytes())
        h.update(self.labels.to(torch.int64).contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def __len__(self) -> int:
        return self.images.shape[0]


def load_images(name: str, split: str = "train", root: str | None = None, **options) -> ImageSet:
    """split: "train" or "test". options: the synthetic set's size, image_shape, num_classes;
    celeba's and image_folder's image_size; image_folder's path and channels (it has no split)."""
    if split not in ("train", "test"):
        raise ValueError(f"split={split} is not known; choose train or test")
    if name == "synthetic":
        classes = options["num_classes"]
        seed = 0 if split == "train" else 1
        images, labels = synthetic_images(options["size"], options["image_shape"], classes, seed)
        return ImageSet(images, labels, classes)
    if name == "celeba":
        return ImageSet(*load_celeba(data_root(root), split, options["image_size"]))
    if name == "image_folder":
        folder = load_image_folder(
            options["path"], options["image_size"], options["channels"], data_root(root)
        )
        return ImageSet(*folder)
    if name in TORCHVISION_FOLDERS:
        return _torchvision_set(TORCHVISION_FOLDERS[name], data_root(root), split == "train")
    raise ValueError(f"data={name} is not known; choose one of {', '.join(DATASETS)}")


def _torchvision_set(folder: str, root, train: bool) -> ImageSet:
    from torchvision import datasets

    ensure_raw_files(folder, root)
    try:
        ds = getattr(datasets, folder)(str(root), train=train, download=True)
    except Exception as e:  # a corrupt or truncated file: torchvision raises nearly anything
        bad = corrupt_file(folder, root) or f"a file under {root / folder / 'raw'} ({e})"
        raise DataError(f"{folder} data is corrupt: {bad}; delete it to fetch it again") from None
    return ImageSet(ds.data.unsqueeze(1).contiguous(), ds.targets.long(), len(ds.classes))
