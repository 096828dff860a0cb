"""Data sets as whole uint8 tensors: (N, C, H, W) images and (N,) labels."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genlab.data.files import DataError, data_root, ensure_raw_files
from genlab.data.synthetic import synthetic_images

DATASETS = ("mnist", "fashion_mnist", "synthetic")
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)
    num_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return self.images.shape[0]


def load_images(name: str, split: str = "train", root: str | None = None, **options) -> ImageSet:
    """split: "train" or "test". options: the synthetic set's size, image_shape, num_classes."""
    if split not in ("train", "test"):
        raise ValueError(f"split={split} is not known; choose train or test")
    if name == "synthetic":
        size = options.get("size", 256)
        images, labels = synthetic_images(
            size, options.get("image_shape", (1, 28, 28)), options.get("num_classes", 10),
            seed=0 if split == "train" else 1,
        )
        return ImageSet(images, labels, options.get("num_classes", 10))
    if name in _TORCHVISION:
        return _torchvision_set(_TORCHVISION[name], data_root(root), split == "train")
    raise ValueError(f"data={name} is not known; choose one of {', '.join(DATASETS)}")


def _torchvision_set(folder: str, root, train: bool) -> ImageSet:
    from torchvision import datasets

    ensure_raw_files(folder, root)
    try:
        ds = getattr(datasets, folder)(str(root), train=train, download=True)
    except RuntimeError as e:  # a corrupt or truncated file
        raise DataError(
            f"{folder} files under {root / folder / 'raw'} are corrupt ({e}); delete them to "
            "fetch them again"
        ) from None
    return ImageSet(ds.data.unsqueeze(1).contiguous(), ds.targets.long(), len(ds.classes))
