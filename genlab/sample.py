"""Sample a finished run: `python -m genlab.sample run=RUN_DIR n=10000 out=FILE.npz`.

Writes FILE.npz with `images` (uint8, (N, H, W) for one channel, else (N, H, W, C)) and, for a
cGAN, `labels` (int64 class ids: balanced, or all `label=K`); beside it FILE.png (the first 100
images) and FILE_interpolation.png (rows walk linearly between two prior draws).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.utils import save_image

from genlab.cli.arguments import arg, parse_args
from genlab.config.build import load_run
from genlab.errors import ConfigError, GenlabError
from genlab.storage.atomic import write_atomic
from genlab.trainers.sampling import balanced_labels, interpolation, sample


@dataclass
class Args:
    run: str = arg("???", "a run directory (holding checkpoints/last.pt)")
    n: int = arg(10000, "images to generate")
    out: str | None = arg(None, ".npz path; null: <run>/samples.npz")
    label: int | None = arg(None, "cGAN: every image of this class; null: balanced")
    seed: int = arg(0, "seeds the latent draws")
    device: str = arg("auto", "auto | cpu | cuda")


def labels_for(classes: int, n: int, label: int | None) -> torch.Tensor | None:
    """The class ids to sample (classes > 0: a cGAN): all `label`, else balanced."""
    if not classes:
        if label is not None:
            raise ConfigError(f"label={label} needs a cGAN run; this run has no classes")
        return None
    if label is None:
        return balanced_labels(n, classes)
    if not 0 <= label < classes:
        raise ConfigError(f"label={label} is not a class; choose 0 to {classes - 1}")
    return torch.full((n,), label)


def writable(out: Path) -> None:
    """out= names a file genlab can write: not a folder, in a folder it may write into."""
    if out.is_dir():
        raise ConfigError(
            f"out={out} is a folder; give a file name, e.g. out={out / 'samples.npz'}"
        )
    folder = out.parent
    while not folder.exists():  # made on writing
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(f"out={out}: cannot write into {folder}; choose another place")


def main(argv: list[str]) -> Path:
    try:
        a = parse_args(Args, argv, __doc__)
        if a.n <= 0:
            raise ConfigError(f"n={a.n} is not allowed; it must be an integer > 0")
        out = Path(a.out) if a.out else Path(a.run) / "samples.npz"
        writable(out)  # before generating every image
        _, step, _ = load_run(Path(a.run), a.device)
        labels = labels_for(step.num_classes, a.n, a.label)
    except GenlabError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    images = sample(step, a.n, labels, seed=a.seed)  # uint8 (N, C, H, W)
    hwc = images.permute(0, 2, 3, 1).numpy()
    arrays = {"images": hwc[..., 0] if hwc.shape[-1] == 1 else hwc}
    if labels is not None:
        arrays["labels"] = labels.numpy().astype(np.int64)
    write_atomic(out, lambda f: np.savez_compressed(f, **arrays))
    save_image(images[:100].float() / 255, out.with_suffix(".png"), nrow=10, pad_value=0.5)
    walk = interpolation(step, seed=a.seed)
    save_image(walk, out.with_name(f"{out.stem}_interpolation.png"), nrow=10, pad_value=0.5)
    print(f"{a.n} images -> {out}")
    return out


def cli(args: list[str]) -> None:
    main(args)


if __name__ == "__main__":
    cli(sys.argv[1:])
