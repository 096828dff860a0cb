"""An Optuna study for a search: where it is stored, how it samples and prunes, and which way
each objective goes.

Storage: `sqlite:///optuna.db` (the default, relative to the working directory) suits one machine;
on a shared file system with jobs on several nodes (SLURM) use Optuna's journal storage,
`journal:///path/on/the/shared/fs/study.log` (an append-only file with file locks), as SQLite's
locking is unreliable over NFS; `null` keeps the study in memory (it ends with the command).
"""

from __future__ import annotations

import os
from pathlib import Path

from genlab.errors import ConfigError, first_line
from genlab.metrics.names import HIGHER_IS_BETTER, LOWER_IS_BETTER, higher_is_better

SAMPLERS = ("tpe", "random", "cmaes")
PRUNERS = ("none", "median", "hyperband", "successive_halving")
DIRECTIONS = ("minimize", "maximize")


def objectives_of(objective) -> list[str]:
    """`objective=fid` or `objective=[fid,train_s]` as a list of metric names."""
    if objective is None:
        return []
    return [str(o) for o in objective] if isinstance(objective, list | tuple) else [str(objective)]


def directions(objective, given=None) -> list[str]:
    """Each objective's direction: from the metric (recall: maximize, fid: minimize) unless
    given (a direction, or one per objective)."""
    names = objectives_of(objective)
    if given is None:
        known = sorted((*LOWER_IS_BETTER, *HIGHER_IS_BETTER))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"objective={unknown[0]} has no better direction (an adversarial loss, a spread or "
                f"D's output); choose one of {', '.join(known)}, or give hydra.sweeper.direction"
            )
        return ["maximize" if higher_is_better(n) else "minimize" for n in names]
    given = [given] if isinstance(given, str) else list(given)
    for g in given:
        if g not in DIRECTIONS:
            raise ConfigError(
                f"hydra.sweeper.direction={g} is not known; choose {', '.join(DIRECTIONS)} (or "
                "null: from the objective)"
            )
    if len(given) != len(names):
        raise ConfigError(
            f"hydra.sweeper.direction gives {len(given)} directions for {len(names)} objectives"
        )
    return given


def storage(url: str | None):
    """The storage behind a URL (relative SQLite paths made absolute: every job must find it)."""
    if url is None:
        return None
    import optuna

    if url.startswith("journal://"):
        path = Path(url.removeprefix("journal://")).expanduser().absolute()
        _writable(path, url)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).expanduser().absolute()
        _writable(path, url)
        url = f"sqlite:///{path}"
    return url


def absolute(url: str | None) -> str | None:
    """The same storage as a URL every job can open, wherever it runs."""
    for scheme in ("sqlite:///", "journal://"):
        if url and url.startswith(scheme):
            return scheme + str(Path(url.removeprefix(scheme)).expanduser().absolute())
    return url


def _writable(path: Path, url: str) -> None:
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(f"hydra.sweeper.storage={url}: cannot write into {folder}")


def sampler(name: str, seed: int | None):
    import optuna

    if name not in SAMPLERS:
        raise ConfigError(
            f"hydra.sweeper.sampler={name} is not known; choose {', '.join(SAMPLERS)}"
        )
    kinds = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler,
             "cmaes": optuna.samplers.CmaEsSampler}  # fmt: skip
    return kinds[name](seed=seed)


def pruner(name: str):
    """none; median (a trial below the median of the others at the same evaluation stops);
    hyperband or successive_halving (a trial outside the best third at a rung stops)."""
    import optuna

    if name not in PRUNERS:
        raise ConfigError(f"hydra.sweeper.pruner={name} is not known; choose {', '.join(PRUNERS)}")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def open_study(
    name: str,
    url: str | None,
    directions_: list[str],
    sampled: tuple[str, int | None],
    pruner_,
    objectives: list[str] | None = None,
):
    """The study called name in the storage, created or continued: its objectives (a list of
    metric names, recorded when it is created) and directions must match. A continued study's
    sampler is seeded past its trials, so it asks new points rather than its first ones again.
    sampled: the sampler's name and seed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=name, storage=storage(url), sampler=sampler(*sampled), pruner=pruner_,
            directions=directions_, load_if_exists=True,
        )  # fmt: skip
    except ConfigError:
        raise
    except Exception as e:  # a storage that cannot be opened or written
        raise ConfigError(f"hydra.sweeper.storage={url}: {first_line(e, 160)}") from None
    were = [d.name.lower() for d in study.directions]
    named = study.user_attrs.get("objectives")
    other = "name another study (hydra.sweeper.study_name=...)"
    if objectives is not None and named is not None and list(named) != list(objectives):
        raise ConfigError(
            f"study {name} in {url} optimizes {', '.join(named)}; this search would optimize "
            f"{', '.join(objectives)}: {other}"
        )
    if were != directions_:
        raise ConfigError(
            f"study {name} in {url} would {', '.join(were)} ({len(were)} objective"
            f"{'s' if len(were) > 1 else ''}); this search would {', '.join(directions_)}: {other}"
        )
    if objectives is not None and named is None and not study.trials:
        study.set_user_attr("objectives", list(objectives))
    kind, seed = sampled
    if study.trials and seed is not None:  # a seed moved on by the trials the study has
        study.sampler = sampler(kind, seed + len(study.trials))
    return study
