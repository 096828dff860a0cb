"""A data set's split, from the data group of a config, decoded at most once per process."""

from __future__ import annotations

import functools

from genlab.data import ImageSet, load_images


def make_data(c: dict, split: str = "train") -> ImageSet:
    """A split of c's data set, decoded at most once per process (the classifier, the evaluator
    and the training loop share it; callers never modify it)."""
    d = c["data"]
    keys = ("size", "image_shape", "num_classes", "image_size", "path", "channels")
    options = tuple((k, tuple(d[k]) if isinstance(d[k], list) else d[k]) for k in keys if k in d)
    return _load_once(d["name"], split, d.get("root"), options)


@functools.lru_cache(maxsize=8)
def _load_once(name: str, split: str, root: str | None, options: tuple) -> ImageSet:
    return load_images(name, split, root, **dict(options))
