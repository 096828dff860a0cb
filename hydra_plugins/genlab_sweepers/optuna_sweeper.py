"""hydra/sweeper=genlab_optuna: a Hydra sweeper on Optuna's ask-and-tell API (Optuna >= 4).

Written here because the maintained plugin, hydra-optuna-sweeper, still requires optuna < 3. It
keeps that plugin's shape (the search space in Hydra's sweep syntax under `params` or on the
command line, n_trials, n_jobs, a persistent study a rerun continues, any launcher) and adds what
it lacks: the direction taken from the objective (recall is maximised, fid minimised), several
objectives at once (objective=[fid,train_s]: a Pareto front), pruning at the evaluations of
trainer.eval_every (a pruned trial is recorded as pruned, never as failed), and a study name of
its own for every search unless one is given. The parts live in genlab/search/.

Each batch of n_jobs trials is asked for, launched as Hydra jobs (the job's study and trial go
in `hydra.job.env_set`, so every launcher passes them on) and told its result.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from pathlib import Path

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from genlab.cli.overrides import override
from genlab.errors import ConfigError, Interrupted, Pruned
from genlab.runs.directory import holds_a_run
from genlab.runs.sweep import claim_for_search, refuse_another_study
from genlab.search import space as search_space
from genlab.search import study as search_study
from genlab.search.trial import env_for

log = logging.getLogger(__name__)


class OptunaSweeper(Sweeper):
    def __init__(self, **settings) -> None:
        self.settings = settings  # conf/hydra/sweeper/genlab_optuna.yaml
        self.config: DictConfig | None = None
        self.launcher = None
        self.hydra_context = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        if importlib.util.find_spec("optuna") is None:
            asked = config.hydra.runtime.choices.get("hydra/sweeper", "genlab_optuna")
            raise ConfigError(
                f"hydra/sweeper={asked} needs Optuna, which is not installed: "
                "pip install 'genlab[sweeps]'"
            )
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]):
        s = self.settings
        objective = self.config.get("objective")  # a name, or a list of names
        if isinstance(objective, DictConfig | ListConfig):
            objective = OmegaConf.to_container(objective)
        if objective is None:
            raise ConfigError("hydra/sweeper=genlab_optuna needs objective=<a metric>, e.g. fid")
        params = s.get("params") or {}
        params = OmegaConf.to_container(params) if isinstance(params, DictConfig) else params
        space, fixed = search_space.parse(params, arguments)
        if not space:
            raise ConfigError("the search space is empty: give hydra.sweeper.params or a sweep")
        names = search_study.objectives_of(objective)
        directions = search_study.directions(objective, s.get("direction"))
        if len(names) > 1 and s.get("pruner", "none") != "none":
            raise ConfigError(
                "a search with several objectives cannot prune: hydra.sweeper.pruner=none"
            )
        url = search_study.absolute(s.get("storage"))
        if url is None and s.get("pruner", "none") != "none":
            raise ConfigError(
                "pruning needs a study the jobs can open: hydra.sweeper.storage=sqlite:///optuna.db"
                " (or journal:///<file>), not null"
            )
        name = s.get("study_name") or search_space.study_name(objective, space, fixed)
        first = [*fixed, *(override(k, str(_first(d))) for k, d in space.items())]
        # a trial's config composes and passes genlab's checks (a key that does not exist, an
        # objective the model does not measure), before any trial trains
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, first)
        with open_dict(cfg):
            del cfg["hydra"]
        from genlab.config.checks import validate  # (here: Hydra's plugin scan imports no torch)

        validate(OmegaConf.to_container(cfg, resolve=True))
        pruner = search_study.pruner(s.get("pruner", "none"))  # an unknown name: that line first
        if s.get("pruner", "none") != "none" and not cfg.trainer.eval_every:
            raise ConfigError(
                f"hydra.sweeper.pruner={s.get('pruner')} acts at evaluations, and a trial has none "
                "before its end: set trainer.eval_every (epochs between evaluations)"
            )
        sweep_dir = Path(self.config.hydra.sweep.dir)
        refuse_another_study(sweep_dir, name, url)  # before the study is made in the storage
        study = search_study.open_study(
            name, url, directions, (s.get("sampler", "tpe"), s.get("seed")), pruner,
            objectives=names,
        )  # fmt: skip
        claim_for_search(sweep_dir, name, url)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        log.info(f"study {name} in {url} ({', '.join(directions)} {', '.join(names)})")
        failures = self._run(study, space, fixed, url, int(s.get("n_trials", 20)), sweep_dir)
        return _report(study, names, sweep_dir, failures)

    def _run(self, study, space, fixed, url, n_trials: int, sweep_dir: Path) -> int:
        from optuna.trial import TrialState

        n_jobs, done, failures, job_idx = int(self.settings.get("n_jobs", 1)), 0, 0, 0
        pruner = str(self.settings.get("pruner", "none"))
        while done < n_trials:
            trials = [study.ask(space) for _ in range(min(n_jobs, n_trials - done))]
            taken = [t for t in trials if holds_a_run(sweep_dir / trial_dir(t))]
            if taken:  # a study kept in memory numbers its trials from 0 at every launch
                for t in trials:
                    study.tell(t, state=TrialState.FAIL)
                raise ConfigError(
                    f"{sweep_dir / trial_dir(taken[0])} holds a trial of an earlier launch, which "
                    "this study does not know (kept in memory?); give the search a storage "
                    "(hydra.sweeper.storage=sqlite:///optuna.db) or another hydra.sweep.dir"
                )
            name = study.study_name
            batch = [[*fixed, *(override(k, str(v)) for k, v in t.params.items()),
                      *_hydra_overrides(name, url, pruner, t)] for t in trials]  # fmt: skip
            try:
                jobs = self.launcher.launch(batch, job_idx)
            except (Interrupted, KeyboardInterrupt) as e:  # a signal: no trial stays RUNNING
                for t in trials:
                    study.tell(t, state=TrialState.FAIL)
                numbers = ", ".join(str(t.number) for t in trials)
                e.search = f"trial {numbers} marked failed in study {name}"
                raise
            for trial, job in zip(trials, jobs, strict=True):
                value = job._return_value
                if isinstance(value, Pruned):
                    study.tell(trial, state=TrialState.PRUNED)
                elif job.status.name == "COMPLETED" and _finite(value):
                    study.tell(trial, value)
                else:
                    study.tell(trial, state=TrialState.FAIL)
                    failures += 1
                    log.warning(f"trial {trial.number} failed: {str(value).splitlines()[0]}")
            done, job_idx = done + len(trials), job_idx + len(trials)
            if failures / done > float(self.settings.get("max_failure_rate", 1.0)):
                raise ConfigError(f"{failures} of {done} trials failed; the search stops")
        return failures


def _hydra_overrides(study_name: str, url: str | None, pruner: str, trial) -> list[str]:
    """A trial's own directory (two trials may sample the same values: each trains and keeps
    its files) and its study and trial for the job (search/trial.py)."""
    env = env_for(study_name, url, pruner, trial._trial_id) if url else {}  # in memory: none
    subdir = override("hydra.sweep.subdir", trial_dir(trial))
    return [subdir, *(override(f"+hydra.job.env_set.{k}", v) for k, v in env.items())]


def trial_dir(trial) -> str:
    return f"trial_{trial.number:04d}"


def _first(distribution):
    """A value of the distribution, to check the search space's keys compose."""
    choices = getattr(distribution, "choices", None)
    return choices[0] if choices is not None else distribution.low


def _finite(value) -> bool:
    values = value if isinstance(value, list | tuple) else [value]
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _report(study, names: list[str], sweep_dir: Path, failures: int) -> dict:
    """The best trial (the Pareto front for several objectives) in optimization_results.yaml."""
    from optuna.trial import TrialState

    states = [t.state for t in study.trials]
    counts = {s.name.lower(): states.count(s) for s in (TrialState.COMPLETE, TrialState.PRUNED)}
    front = study.best_trials if states.count(TrialState.COMPLETE) else []
    best = [
        {"number": t.number, "params": t.params, "values": dict(zip(names, t.values, strict=True))}
        for t in front
    ]
    results = {"study": study.study_name, "objectives": names, "trials": counts,
               "failed_this_launch": failures, "best": best}  # fmt: skip
    OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")
    for b in best:
        log.info(f"best: trial {b['number']} {b['values']} with {b['params']}")
    return results
