"""The Python API, for notebooks and scripts: the command line, one to one.

    import genlab
    run = genlab.train("model=cgan", "arch=cnn", "trainer.epochs=2")  # genlab train model=cgan ...
    run.metrics, run.scalars()["train/d_loss"]                         # metrics.json, TensorBoard
    run.grid()                                                         # the 10 x 10 class grid
    run = genlab.load("outputs/runs/<run>")                           # a finished run

The same config, checks and messages as `genlab train`: a bad override raises a GenlabError
whose message is the line the command would print; nothing here calls sys.exit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException
from PIL import Image
from torchvision.utils import make_grid

from genlab.cli.one_line import one_line
from genlab.cli.overrides import check_optional_choices, resume_args
from genlab.config import CONF_DIR
from genlab.config.build import load_run, make_device
from genlab.config.evaluation import evaluate_run
from genlab.config.launch import open_run
from genlab.errors import ConfigError, GenlabError, storage_error
from genlab.logging.metrics_json import read_metrics
from genlab.logging.scalars import read_scalars
from genlab.runs.directory import check_new_run_dir, holds_a_run, owning
from genlab.runs.status import JobRecord, read_status
from genlab.trainers.sampling import interpolation, sample, sample_request, to_uint8


def train(*overrides: str, run_dir: str | Path | None = None) -> Run:
    """Trains one run, as `genlab train OVERRIDES` would, and returns it when it has finished.

    run_dir: where to write it; default: outputs/runs/<time>_<model>_<arch> under the working
    directory, as the command line does. `resume=RUN_DIR` continues that run.
    """
    try:
        return _train(list(overrides), run_dir)
    except OSError as e:  # a read-only or full disk, a path that is a file: one line
        if isinstance(e, GenlabError):
            raise
        raise storage_error(e) from None


def _train(overrides: list[str], run_dir: str | Path | None) -> Run:
    overrides = resume_args(overrides)  # a resume= that names no run: the command line's line
    check_optional_choices(overrides)
    cfg = compose_config(overrides, with_hydra=True)
    default_dir = Path(cfg.hydra.run.dir).absolute()  # under the working directory
    with open_dict(cfg):
        del cfg["hydra"]
    if cfg.resume:
        run_dir = Path(cfg.resume)
    else:
        run_dir = Path(run_dir) if run_dir else default_dir
    with owning(run_dir):  # one process at a time, as on the command line
        if not cfg.resume:
            check_new_run_dir(run_dir, "run_dir")
        trainer = open_run(cfg, overrides, run_dir)  # the command line's path: config/launch.py
        if trainer is None:
            return Run(run_dir)  # nothing left to do: the run's files stay as they were
        if not cfg.resume:
            _save_config(run_dir, cfg, overrides)
        with JobRecord(run_dir) as job:
            job.result = trainer.fit()
    return Run(run_dir)


def compose_config(overrides: list[str], with_hydra: bool = False):
    """The config `genlab train OVERRIDES` composes (hydra's own settings too: with_hydra), or
    the command line's one-line error as a ConfigError."""
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3", job_name="train"):
            return compose("config", overrides=overrides, return_hydra_config=with_hydra)
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(one_line(e, overrides)) from None


def load(run_dir: str | Path) -> Run:
    """A finished (or interrupted) run, from its directory."""
    return Run(run_dir)


def _save_config(run_dir: Path, cfg, overrides: list[str]) -> None:
    """.hydra/config.yaml and overrides.yaml, as a command-line run has them."""
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, hydra_dir / "config.yaml")
    OmegaConf.save(OmegaConf.create(overrides), hydra_dir / "overrides.yaml")


class Run:
    """A run directory and what it holds: config, status, final metrics, logged scalars, and its
    trained model (loaded on first use) to sample, draw and evaluate."""

    def __init__(self, run_dir: str | Path, device: str = "auto"):
        self.dir = Path(run_dir).absolute()
        if not holds_a_run(self.dir):
            raise ConfigError(
                f"{run_dir} is not a genlab run (no checkpoints/, status.json or .hydra/ in it); "
                "give the directory genlab.train or `genlab train` wrote"
            )
        self.device = device
        self._loaded = None  # (config, training step, global step) from checkpoints/last.pt

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}, status={self.status.get('status')}, step={self.step})"

    @property
    def _run(self):
        if self._loaded is None:
            self._loaded = load_run(self.dir, self.device)
        return self._loaded

    @property
    def config(self) -> dict:
        return self._run[0]

    @property
    def _step(self):
        """The trained run's training step (trainers/step.py), its networks in eval mode."""
        return self._run[1]

    @property
    def networks(self) -> dict:
        """The trained networks by name ("vae"; "generator", "discriminator", "generator_ema"),
        in eval mode."""
        return self._step.networks

    @property
    def step(self) -> int:
        """The global step (batches trained) of the run's last checkpoint."""
        return self._run[2]

    @property
    def status(self) -> dict:
        return read_status(self.dir)

    @property
    def metrics(self) -> dict[str, float]:
        """The final metrics (metrics.json); {} when the run measured none."""
        return read_metrics(self.dir)

    def scalars(self) -> dict[str, list[tuple[int, float]]]:
        """Every logged scalar: "train/d_loss" -> [(step, value), ...]; eval/* too."""
        return read_scalars(self.dir)

    def sample(self, n: int, labels=None, seed: int = 0, uint8: bool = False):
        """n images: a float tensor (N, C, H, W) in [0, 1], or (uint8=True) a numpy uint8 array
        (N, H, W) or (N, H, W, C). A cGAN or cVAE takes labels (an int, or one per image; default:
        balanced over the classes)."""
        labels = sample_request(self._step, n, labels, seed, self._step.image_shape, "labels")
        images = sample(self._step, n, labels, seed=seed)  # uint8 (N, C, H, W)
        if not uint8:
            return images.float() / 255
        hwc = images.permute(0, 2, 3, 1).numpy()
        return hwc[..., 0] if hwc.shape[-1] == 1 else hwc

    def grid(self, n: int = 100, seed: int = 0) -> Image.Image:
        """n samples as one image, 10 per row (a cGAN or cVAE with 10 classes: row k is class k)."""
        classes = self._step.num_classes
        labels = torch.arange(classes).repeat_interleave(n // classes) if classes else None
        return _image(self.sample(n, labels, seed=seed), nrow=n // classes if classes else 10)

    def interpolation(self, rows: int = 8, steps: int = 10, seed: int = 0) -> Image.Image:
        """Each row walks linearly between two prior draws (a cGAN or cVAE keeps row r's class)."""
        return _image(interpolation(self._step, rows, steps, seed), nrow=steps)

    def evaluate(self, write: bool = True, force: bool = False, **settings) -> dict[str, float]:
        """The run's metrics again, as `genlab evaluate` measures them: the same settings
        (n_samples, iw_samples, fid_backbone) and the same guards, e.g. evaluate(n_samples=2000)."""
        device = make_device(self.device)
        return evaluate_run(self._run, self.dir, device, settings, write, force)[0]

    def plot(self, tags: list[str] | None = None):
        """A matplotlib figure of the logged scalars (default: every train/ tag)."""
        import matplotlib.pyplot as plt

        scalars = self.scalars()
        tags = tags or sorted(t for t in scalars if t.startswith("train/"))
        fig, axes = plt.subplots(1, len(tags), figsize=(3.2 * len(tags), 2.6), squeeze=False)
        for ax, tag in zip(axes[0], tags, strict=True):
            steps, values = zip(*scalars[tag], strict=True)
            ax.plot(steps, values)
            ax.set_title(tag, fontsize=9)
            ax.set_xlabel("step")
        fig.tight_layout()
        return fig


def _image(images: torch.Tensor, nrow: int) -> Image.Image:
    """A batch of [0, 1] images as one PIL image (shown inline by Jupyter)."""
    grid = to_uint8(make_grid(images.float().cpu(), nrow=nrow, padding=2, pad_value=0.5))
    return Image.fromarray(np.ascontiguousarray(grid.permute(1, 2, 0).numpy()))
