"""The train entrypoint: `python -m genlab.train model=gan arch=cnn optimizer.lr=2e-4`.

Also the task function of every multirun job (`-m`, any launcher or sweeper) and of every
process under `torchrun --nproc_per_node=N -m genlab.train ...`.

`python -m genlab.train resume=RUN_DIR` continues RUN_DIR (same directory, same TensorBoard run)
from RUN_DIR/checkpoints/last.pt with the config saved there; only a few keys may change
(genlab/config/resume.py). Exit statuses: genlab/cli/main.py.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from genlab.cli.main import run
from genlab.config import CONF_DIR


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict | None:
    """One run (a job of a sweep, a process of a torchrun): open it, new or continued, and train
    it (config/launch.py); returns the last scalars and the final metrics, or None when there
    was nothing left to do."""
    from genlab.config.launch import train_job  # (here: --help prints without torch)

    hydra = HydraConfig.get()
    overrides, run_dir = list(hydra.overrides.task), Path(hydra.runtime.output_dir)
    sweep = hydra.sweep.dir if hydra.mode == RunMode.MULTIRUN else None
    # a job of a sweep continues what its folder holds: finished is skipped, interrupted resumes
    return train_job(cfg, overrides, run_dir, sweep_job=sweep is not None, sweep=sweep)


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
