"""The train entrypoint: `python -m genlab.train model=gan arch=cnn optimizer.lr=2e-4`.

Also the task function of every multirun job (`-m`, any launcher or sweeper) and of every
process under `torchrun --nproc_per_node=N -m genlab.train ...`.

`python -m genlab.train resume=RUN_DIR` continues RUN_DIR (same directory, same TensorBoard run)
from RUN_DIR/checkpoints/last.pt with the config saved there; only a few keys may change
(genlab.config.resume). Exit statuses: genlab.cli.main.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from genlab.config import CONF_DIR
from genlab.config.build import make_trainer
from genlab.cli.main import run
from genlab.config.resume import resumed_config
from genlab.errors import CheckpointError, ConfigError, first_line
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.status import read_status
from genlab.trainers import distributed


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict:
    """One run: build (or resume) it, train it; returns the last scalars and the final metrics."""
    sweeper = HydraConfig.get().runtime.choices.get("hydra/sweeper", "")
    if sweeper.startswith("optuna") and cfg.objective is None:
        raise ConfigError(f"hydra/sweeper={sweeper} needs objective=<metric to minimise>, e.g. fid")
    ranks = distributed.start(use_cuda=cfg.device.name != "cpu" and torch.cuda.is_available())
    run_dir = Path(distributed.broadcast(HydraConfig.get().runtime.output_dir, ranks))  # rank 0's
    try:
        if cfg.resume_sweep and read_status(run_dir).get("status") == "finished":
            print(f"skipped (finished in an earlier launch): {run_dir}")
            return None  # untouched
        trainer = _resumed(cfg, ranks) if cfg.resume else make_trainer(cfg, run_dir, ranks)
        if cfg.resume_sweep and not cfg.resume and trainer.checkpoint_path.is_file():
            trainer.resume()  # an interrupted job of the sweep: on from its last checkpoint
            print(f"resumed from step {trainer.step}: {run_dir}")
        finished = trainer.step >= trainer.total_steps and trainer.step > 0
        if finished and not trainer.needs_final_evaluation:
            print(
                f"{run_dir} already finished at step {trainer.step}; "
                "raise trainer.epochs (or trainer.max_steps) to train on"
            )
            return None  # nothing done: the run's status.json stays as it was
        try:
            result = trainer.fit()
        finally:
            trainer.close()
        if ranks.main:
            print(f"run directory: {trainer.run_dir}")
        return result
    finally:
        distributed.stop(ranks)


def _resumed(cfg: DictConfig, ranks: distributed.Ranks):
    """The trainer of run `cfg.resume`, at the step of its last checkpoint."""
    run_dir = Path(cfg.resume)
    path = run_dir / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    c, changed = resumed_config(cfg, HydraConfig.get().overrides.task, state["config"], run_dir)
    trainer = make_trainer(c, run_dir, ranks)
    try:
        trainer.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"{path} does not fit the model its config builds ({first_line(e, 100)})"
        ) from None
    if trainer.step < trainer.total_steps:
        note = f"; changed {', '.join(changed)}" if changed else ""
        print(f"resuming {run_dir} at step {trainer.step}{note}")
    return trainer


def cli(args: list[str] | None = None) -> None:
    """`python -m genlab.train ARGS` (or `genlab train ARGS`): Hydra's main, with one-line errors
    and exit statuses."""
    command = "genlab train" if sys.argv[0] == "genlab train" else "python -m genlab.train"
    run(main, list(sys.argv[1:] if args is None else args), command)


class _CallableModule(types.ModuleType):
    """Importing this module makes the name `genlab.train` mean the module, not the Python API's
    function; calling the module keeps `genlab.train("model=cgan", ...)` working all the same."""

    def __call__(self, *overrides: str, **kwargs):
        from genlab.api import train

        return train(*overrides, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    if int(os.environ.get("RANK", 0)) > 0:  # torchrun: rank 0 alone writes Hydra's files
        sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=disabled"]
    cli()
