"""Sample a finished run: `python -m genlab.sample run=RUN_DIR n=10000 out=FILE.npz`.

Writes FILE.npz with `images` (uint8, (N, H, W) for one channel, else (N, H, W, C)) and, for a
cGAN, `labels` (int64 class ids: balanced, or all `label=K`); beside it FILE.png (the first 100
images) and FILE_interpolation.png (rows walk linearly between two prior draws).
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from omegaconf import MISSING
from torchvision.utils import save_image

from genlab.build import ConfigError, load_run, parse_args
from genlab.checkpoint import CheckpointError
from genlab.data import DataError
from genlab.sampling import balanced_labels, interpolation, sample


@dataclass
class Args:
    run: str = MISSING  # a run directory (holding checkpoints/last.pt)
    n: int = 10000  # images to generate
    out: str | None = None  # .npz path; null: <run>/samples.npz
    label: int | None = None  # cGAN: every image of this class; null: balanced over the classes
    seed: int = 0  # seeds the latent draws
    device: str = "auto"


def labels_for(task, n: int, label: int | None) -> torch.Tensor | None:
    classes = getattr(task, "num_classes", 0)
    if not classes:
        if label is not None:
            raise ConfigError(f"label={label} needs a cGAN run; this run has no classes")
        return None
    if label is None:
        return balanced_labels(n, classes)
    if not 0 <= label < classes:
        raise ConfigError(f"label={label} is not a class; choose 0 to {classes - 1}")
    return torch.full((n,), label)


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def main(argv: list[str]) -> Path:
    try:
        a = parse_args(Args, argv)
        if a.n <= 0:
            raise ConfigError(f"n={a.n} is not allowed; it must be an integer > 0")
        _, task, _ = load_run(Path(a.run), a.device)
        labels = labels_for(task, a.n, a.label)
    except (ConfigError, DataError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    out = Path(a.out) if a.out else Path(a.run) / "samples.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    images = sample(task, a.n, labels, seed=a.seed)  # uint8 (N, C, H, W)
    hwc = images.permute(0, 2, 3, 1).numpy()
    arrays = {"images": hwc[..., 0] if hwc.shape[-1] == 1 else hwc}
    if labels is not None:
        arrays["labels"] = labels.numpy().astype(np.int64)
    write_npz(out, **arrays)
    save_image(images[:100].float() / 255, out.with_suffix(".png"), nrow=10, pad_value=0.5)
    walk = interpolation(task, seed=a.seed)
    save_image(walk, out.with_name(f"{out.stem}_interpolation.png"), nrow=10, pad_value=0.5)
    print(f"{a.n} images -> {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
