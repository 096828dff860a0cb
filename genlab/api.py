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
from genlab.runs.directory import check_new_run_dir, holds_a_run, owning, run_record
from genlab.runs.status import JobRecord, read_status
from genlab.trainers.sampling import interpolation, sample, sample_request, to_uint8


def train(*overrides: str, run_dir: str | Path | None = None) -> Run:
    """Trains one run, as `genlab train OVERRIDES` would, and returns it when it has finished.

    overrides: strings, as typed after `genlab train` (or one list of them). run_dir: where to
    write it; default: outputs/runs/<time>_<model>_<arch> under the working directory, as the
    command line does. `resume=RUN_DIR` continues that run.
    """
    overrides = _override_strings(overrides)
    if run_dir is not None and not isinstance(run_dir, str | Path):
        raise ConfigError(f"run_dir={run_dir!r} is not allowed; give a folder path (str or Path)")
    try:
        return _train(overrides, run_dir)
    except OSError as e:  # a read-only or full disk, a path that is a file: one line
        if isinstance(e, GenlabError):
            raise
        raise storage_error(e) from None


def _override_strings(given: tuple) -> list[str]:
    """train's positional arguments as a list of overrides: strings, or one list or tuple of
    them (a notebook's list of overrides); anything else refused, named by its position."""
    in_list = len(given) == 1 and isinstance(given[0], list | tuple)
    values = list(given[0]) if in_list else list(given)
    for i, value in enumerate(values):
        where = f"overrides[{i}]" if in_list else f"argument {i + 1}"
        if isinstance(value, list | tuple):
            raise ConfigError(
                f"genlab.train's {where} is a {type(value).__name__}, {value!r}; give the "
                'overrides as separate strings, genlab.train("data=synthetic", '
                '"trainer.epochs=2"), or as one list alone'
            )
        if not isinstance(value, str):
            raise ConfigError(
                f"genlab.train's {where} is {value!r} ({type(value).__name__}); each override "
                'is a string such as "trainer.epochs=2"'
            )
    return values


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


def _run_dir(path) -> Path:
    """path as the absolute directory of a run, or one line saying what it is instead."""
    if not isinstance(path, str | Path):
        raise ConfigError(f"run_dir={path!r} is not allowed; give a run directory (str or Path)")
    run_dir = Path(path).absolute()
    wrote = "give the directory genlab.train or `genlab train` wrote"
    if not run_dir.exists():
        raise ConfigError(f"{path}: no such directory; {wrote}")
    if not run_dir.is_dir():
        owner = run_record(run_dir)
        inside = f"genlab.load({str(owner)!r})" if owner else wrote
        raise ConfigError(f"{path} is a file, not a run directory; {inside}")
    if not holds_a_run(run_dir):
        raise ConfigError(
            f"{path} is not a genlab run (no checkpoints/, status.json or .hydra/ in it); {wrote}"
        )
    return run_dir


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
        self.dir = _run_dir(run_dir)
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
        _count("n", n)
        classes = self._step.num_classes
        if classes and n % classes:
            raise ConfigError(
                f"n={n} is not allowed for this run's grid of {classes} classes (a row per "
                f"class); give a multiple of {classes}"
            )
        labels = torch.arange(classes).repeat_interleave(n // classes) if classes else None
        return _image(self.sample(n, labels, seed=seed), nrow=n // classes if classes else 10)

    def interpolation(self, rows: int = 8, steps: int = 10, seed: int = 0) -> Image.Image:
        """Each row walks linearly between two prior draws (a cGAN or cVAE keeps row r's class)."""
        _count("rows", rows)
        _count("steps", steps, least=2)  # a walk has both its ends
        sample_request(self._step, 1, None, seed)  # the seed, as sample() checks it
        return _image(interpolation(self._step, rows, steps, seed), nrow=steps)

    def evaluate(self, write: bool = True, force: bool = False, **settings) -> dict[str, float]:
        """The run's metrics again, as `genlab evaluate` measures them: the same settings
        (n_samples, iw_samples, fid_backbone, train_images, bootstrap) and the same guards,
        e.g. evaluate(n_samples=2000)."""
        device = make_device(self.device)
        return evaluate_run(self._run, self.dir, device, settings, write, force)[0]

    def plot(self, tags: str | list[str] | None = None):
        """A matplotlib figure of the logged scalars: a tag, a list of tags, or (None) every
        train/ tag."""
        import matplotlib.pyplot as plt

        scalars = self.scalars()
        tags = _plotted(tags, scalars)
        fig, axes = plt.subplots(1, len(tags), figsize=(3.2 * len(tags), 2.6), squeeze=False)
        for ax, tag in zip(axes[0], tags, strict=True):
            steps, values = zip(*scalars[tag], strict=True)
            ax.plot(steps, values)
            ax.set_title(tag, fontsize=9)
            ax.set_xlabel("step")
        fig.tight_layout()
        return fig


def _plotted(tags, scalars: dict) -> list[str]:
    """plot's tags: one tag or a list of them (None: every train/ tag), each one the run logged."""
    tags = [tags] if isinstance(tags, str) else tags
    if tags is not None and not (
        isinstance(tags, list | tuple) and all(isinstance(t, str) for t in tags)
    ):
        raise ConfigError(f"tags={tags!r} is not allowed; give a tag or a list of tags")
    tags = list(tags or sorted(t for t in scalars if t.startswith("train/")))
    logged = ", ".join(sorted(scalars)) or "none"
    missing = [t for t in tags if t not in scalars]
    if missing:
        raise ConfigError(f"tags={missing!r}: this run never logged them; it has {logged}")
    if not tags:
        raise ConfigError(f"this run logged no train/ scalars to plot; it has {logged}")
    return tags


def _count(name: str, value, least: int = 1) -> None:
    """An integer argument (rows, steps, n) of at least `least`, or one line."""
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ConfigError(f"{name}={value!r} is not allowed; it must be an integer > {least - 1}")


def _image(images: torch.Tensor, nrow: int) -> Image.Image:
    """A batch of [0, 1] images as one PIL image (shown inline by Jupyter)."""
    grid = to_uint8(make_grid(images.float().cpu(), nrow=nrow, padding=2, pad_value=0.5))
    return Image.fromarray(np.ascontiguousarray(grid.permute(1, 2, 0).numpy()))
