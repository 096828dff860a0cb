"""The train entrypoint: `python -m genlab.train model=gan arch=cnn optimizer.lr=2e-4`."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from genlab.build import ConfigError, make_trainer
from genlab.data import DataError


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | dict[str, float]:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        trainer = make_trainer(cfg, run_dir)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        result = trainer.fit()
    finally:
        trainer.close()
    print(f"run directory: {run_dir}")
    if trainer.evaluator is None:  # eval.at_end=false: the last training scalars, as a dict
        return result
    return trainer.evaluator.objective_of(trainer.metrics)  # a float (eval.objective) for sweepers


if __name__ == "__main__":
    main()
