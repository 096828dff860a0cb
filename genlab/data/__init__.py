"""Data: whole splits as uint8 tensors, and the resident loader that batches them."""

from genlab.data.datasets import DATASETS, ImageSet, load_images
from genlab.data.loader import ResidentLoader
from genlab.errors import DataError

__all__ = ["DATASETS", "DataError", "ImageSet", "ResidentLoader", "load_images"]
