"""The train entrypoint: `python -m genlab.train model=gan arch=cnn optimizer.lr=2e-4`.

Also the task function of every multirun job (`-m`, any launcher or sweeper) and of every
process under `torchrun --nproc_per_node=N -m genlab.train ...`.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from genlab import distributed
from genlab.build import ConfigError, make_trainer
from genlab.data import DataError
from genlab.sweep import JobRecord, objective, read_status

# conf/hydra/launcher/*.yaml set a few keys of the plugins' own configs, which Hydra 1.3 merges
# onto the plugin's schema of the same name (and warns that it may stop doing so one day).
warnings.filterwarnings(
    "ignore", message=r"\s*'hydra/launcher/.*' is validated against ConfigStore"
)
# ${genlab.first:a,b}: a unless it is null (the sweep directory: resume_sweep, else a new one)
OmegaConf.register_new_resolver(
    "genlab.first", lambda *xs: next((x for x in xs if x is not None), None), replace=True
)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig):
    hydra_cfg = HydraConfig.get()
    ranks = distributed.start(use_cuda=_wants_cuda(cfg.device.name))
    run_dir = Path(distributed.broadcast(hydra_cfg.runtime.output_dir, ranks))  # rank 0's
    try:
        return _run(cfg, run_dir, ranks)
    except (ConfigError, DataError) as e:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # recorded in status.json; Hydra runs the other jobs, then exits 1
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    finally:
        distributed.stop(ranks)


def _run(cfg: DictConfig, run_dir: Path, ranks: distributed.Ranks):
    sweeper = HydraConfig.get().runtime.choices.get("hydra/sweeper", "")
    if sweeper.startswith("optuna") and cfg.objective is None:
        raise ConfigError(f"hydra/sweeper={sweeper} needs objective=<metric to minimise>, e.g. fid")
    if cfg.resume_sweep and read_status(run_dir).get("status") == "finished":
        print(f"skipped (finished in an earlier launch): {run_dir}")
        return objective(read_status(run_dir).get("result", {}), cfg.objective)
    with JobRecord(run_dir) if ranks.main else nullcontext() as job:
        trainer = make_trainer(cfg, run_dir, ranks)
        if cfg.resume_sweep and trainer.checkpoint_path.is_file():
            trainer.resume()  # an interrupted job of the sweep: on from its last checkpoint
            print(f"resumed from step {trainer.step}: {run_dir}")
        try:
            result = trainer.fit()
        finally:
            trainer.close()
        value = objective(result, cfg.objective)
        if job is not None:
            job.result = result
    if ranks.main:
        print(f"run directory: {run_dir}")
    return value


def _wants_cuda(device: str) -> bool:
    return device != "cpu" and torch.cuda.is_available()


if __name__ == "__main__":
    if int(os.environ.get("RANK", 0)) > 0:  # torchrun: rank 0 alone writes Hydra's files
        sys.argv += ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=disabled"]
    main()
