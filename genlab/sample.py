"""Sample a finished run: `python -m genlab.sample run=RUN_DIR n=10000 out=FILE.npz`.

Writes FILE.npz with `images` (uint8, (N, H, W) for one channel, else (N, H, W, C)) and, for a
cGAN or cVAE, `labels` (int64 class ids: balanced, or all `label=K`); beside it FILE.png (the
first 100 images) and FILE_interpolation.png (rows walk linearly between two prior draws).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from genlab.cli.arguments import arg, parse_args
from genlab.errors import ConfigError, GenlabError
from genlab.runs.directory import run_record


@dataclass
class Args:
    run: str = arg("???", "a run directory (holding checkpoints/last.pt)")
    n: int = arg(10000, "images to generate")
    out: str | None = arg(None, ".npz path; null: <run>/samples.npz")
    label: int | None = arg(None, "cGAN, cVAE: every image of this class; null: balanced")
    seed: int = arg(0, "seeds the latent draws")
    device: str = arg("auto", "auto | cpu | cuda | mps")


def writable(out: Path) -> None:
    """out= names a file genlab can write: not a folder, in a folder it may write into."""
    if out.is_dir():
        raise ConfigError(
            f"out={out} is a folder; give a file name, e.g. out={out / 'samples.npz'}"
        )
    for path in outputs(out):
        run = run_record(path)
        if run is not None:
            raise ConfigError(
                f"out={out} would write over {path}, a record of the run in {run}; choose a "
                "file outside its checkpoints/, images/, .hydra/ and metrics"
            )
    folder = out.parent
    while not folder.exists():  # made on writing
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(f"out={out}: cannot write into {folder}; choose another place")


def outputs(out: Path) -> tuple[Path, Path, Path]:
    """The .npz, its grid and its interpolation."""
    return out, out.with_suffix(".png"), out.with_name(f"{out.stem}_interpolation.png")


def main(argv: list[str]) -> Path:
    try:
        a = parse_args(Args, argv, __doc__, "sample")  # (--help prints before torch is imported)
        import numpy as np
        from torchvision.utils import save_image

        from genlab.config.build import load_run
        from genlab.storage.atomic import write_atomic
        from genlab.trainers.sampling import interpolation, sample, sample_request

        out = Path(a.out) if a.out else Path(a.run) / "samples.npz"
        writable(out)  # before generating every image
        _, step, _ = load_run(Path(a.run), a.device)
        labels = sample_request(step, a.n, a.label, a.seed, step.image_shape)
    except GenlabError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    images = sample(step, a.n, labels, seed=a.seed)  # uint8 (N, C, H, W)
    hwc = images.permute(0, 2, 3, 1).numpy()
    arrays = {"images": hwc[..., 0] if hwc.shape[-1] == 1 else hwc}
    if labels is not None:
        arrays["labels"] = labels.numpy().astype(np.int64)
    npz, grid, walk = outputs(out)
    write_atomic(npz, lambda f: np.savez_compressed(f, **arrays))
    save_image(images[:100].float() / 255, grid, nrow=10, pad_value=0.5)
    save_image(interpolation(step, seed=a.seed), walk, nrow=10, pad_value=0.5)
    print(f"{a.n} images -> {out}")
    return out


def cli(args: list[str]) -> None:
    main(args)


if __name__ == "__main__":
    cli(sys.argv[1:])
