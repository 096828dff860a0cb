"""The one way from a composed config to a trainer ready to fit: a new run, or the continuation
of one (open_run). `genlab train` (each job of a sweep too, and each torchrun process: train_job)
and the Python API's `genlab.train` both come here, so a resume behaves the same wherever it
starts.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from pathlib import Path

import torch
from omegaconf import DictConfig

from genlab.config.build import make_trainer
from genlab.config.recipes import announce
from genlab.config.resume import launched_with, resumed_config
from genlab.config.upgrade import upgrade
from genlab.errors import CheckpointError, first_line
from genlab.logging.hparams import group_of
from genlab.logging.metrics_json import read_metrics
from genlab.metrics.names import headline
from genlab.runs.checkpoint import load_checkpoint
from genlab.runs.directory import owning
from genlab.runs.status import STOPPED, has_finished, record_stop
from genlab.search.trial import reporter
from genlab.trainers import distributed
from genlab.trainers.trainer import Trainer


def train_job(
    cfg: DictConfig, overrides: list[str], run_dir: Path, *, sweep_job: bool, sweep: str | None
) -> dict | None:
    """Opens the run and trains it to the end, as one process of it (under torchrun: this rank);
    returns the last scalars and the final metrics, or None when there was nothing left to do.
    sweep: the sweep directory of a job of a multirun (its tracker groups the jobs by it)."""
    use_cuda = cfg.device.name != "cpu" and torch.cuda.is_available()
    with (
        distributed.process_group(use_cuda, run_dir) as (ranks, run_dir),
        owning(cfg.resume or run_dir) if ranks.main else nullcontext(),  # rank 0 writes
    ):
        report = reporter(cfg.objective) if ranks.main else None  # a search's trial, if any
        try:  # opening may take minutes (decoding CelebA): a stop there is recorded too
            trainer = open_run(
                cfg, overrides, run_dir, ranks, sweep_job=sweep_job, report=report, sweep=sweep
            )
            if trainer is None:
                return None  # nothing done: the run's status.json stays as it was
            result = trainer.fit()
        except STOPPED as e:  # Hydra's job-end hook never sees a signal's stop: say it here
            record_stop(e)
            raise
        if ranks.main:
            if trainer.metrics:
                evaluator = trainer.evaluator
                print(headline(trainer.metrics, cfg.model.name, evaluator.measured))
            print(f"run directory: {trainer.run_dir}")
        return result


def open_run(
    cfg: DictConfig,
    overrides: list[str],
    run_dir: Path,
    ranks: distributed.Ranks | None = None,
    *,
    sweep_job: bool = False,
    report=None,
    sweep: str | None = None,
) -> Trainer | None:
    """The trainer of the run in run_dir, at the step it is to continue from; None when there is
    nothing left to do (the run finished and was measured): then nothing in run_dir is touched.

    - `resume=RUN_DIR` (cfg.resume): that run, with the config saved in its checkpoint and the
      few keys a resume may change (config/resume.py) taken from `overrides`;
    - sweep_job (`resume_sweep=`): a job already finished is skipped, an interrupted one goes on
      from its checkpoint, one that never started starts;
    - otherwise: a new run from cfg.
    """
    run_dir = Path(cfg.resume or run_dir)  # resume=: the directory as the user wrote it
    if sweep_job and not cfg.resume and has_finished(run_dir):
        print(f"skipped (finished in an earlier launch): {run_dir}")
        return None
    if cfg.resume or sweep_job:  # its records, read back before anything is written
        read_metrics(run_dir)
    changed: list[str] = []
    group = group_of(launched_with(run_dir) if cfg.resume else overrides)  # its seeds' group
    build = partial(make_trainer, run_dir=run_dir, ranks=ranks, group=group, report=report,
                    sweep=sweep)  # fmt: skip
    if cfg.resume:
        state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
        c, changed = resumed_config(cfg, overrides, upgrade(state["config"]), run_dir)
        trainer = build(c)
    elif sweep_job and (run_dir / "checkpoints" / "last.pt").is_file():
        trainer = build(cfg)  # the job's own command line
        state = load_checkpoint(trainer.checkpoint_path)
    else:
        if not ranks or ranks.main:
            announce(cfg)  # a misnamed recipe stops here; no recipe is said once
        return build(cfg)
    _load(trainer, state)
    if trainer.done:
        print(
            f"{run_dir} already finished at step {trainer.global_step}; "
            "raise trainer.epochs (or trainer.max_steps) to train on"
        )
        return None
    if not cfg.resume:  # a job of a resumed sweep
        print(f"resumed from step {trainer.global_step}: {run_dir}")
    elif trainer.global_step < trainer.total_steps:
        note = f"; changed {', '.join(changed)}" if changed else ""
        print(f"resuming {run_dir} at step {trainer.global_step}{note}")
    return trainer


def _load(trainer: Trainer, state: dict) -> None:
    try:
        trainer.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"{trainer.checkpoint_path} does not fit the model its config builds "
            f"({first_line(e, 100)})"
        ) from None
