"""A trial's side in the job that trains it: the sweeper (hydra_plugins/genlab_sweepers) hands
the job its study and trial in environment variables (`hydra.job.env_set`, so every launcher
passes them on); at each `trainer.eval_every` evaluation the job reports the objective to the
trial, and when the study's pruner judges it hopeless the loop saves a checkpoint and stops with
Pruned (status.json: "pruned"; the sweeper records the trial as pruned, not failed)."""

from __future__ import annotations

import os

from genlab.errors import Pruned

# the study's name, URL and pruner (Optuna keeps no pruner in the storage), the trial's id
ENV = ("GENLAB_STUDY", "GENLAB_STORAGE", "GENLAB_PRUNER", "GENLAB_TRIAL")


def env_for(study_name: str, storage_url: str, pruner: str, trial_id: int) -> dict[str, str]:
    return dict(zip(ENV, (study_name, storage_url, pruner, str(trial_id)), strict=True))


def reporter(objective):
    """The job's report to its trial, or None outside a search: a callable (metrics, step, epoch)
    that reports the (first) objective at the evaluation's epoch (the pruners' resource: trials
    of other batch sizes compare at the same epoch, not at the same batch count) and raises
    Pruned when the pruner says so."""
    if not all(os.environ.get(k) for k in ENV) or objective is None:
        return None
    import optuna

    from genlab.search.study import objectives_of, pruner, storage

    study = optuna.load_study(
        study_name=os.environ["GENLAB_STUDY"],
        storage=storage(os.environ["GENLAB_STORAGE"]),
        pruner=pruner(os.environ["GENLAB_PRUNER"]),
    )
    trial = optuna.trial.Trial(study, int(os.environ["GENLAB_TRIAL"]))
    metric = objectives_of(objective)[0]
    several = len(objectives_of(objective)) > 1  # Optuna prunes single-objective studies only

    def report(metrics: dict[str, float], step: int, epoch: int) -> None:
        if several or metric not in metrics:
            return
        trial.report(metrics[metric], epoch)
        if trial.should_prune():
            raise Pruned(
                f"pruned at step {step}, epoch {epoch} ({metric} {metrics[metric]:.4g})", step
            )

    return report
