"""A sweep directory has one owner, as a run directory has: while a sweep or a search launches
into it, it is locked (a Hydra callback, conf/config.yaml), and a second launcher is refused in
one line naming the owner. A launch into a folder that holds jobs already continues them: a
finished job is skipped and stays as it was, an interrupted one resumes from its checkpoint, a
missing one runs (config/launch.py). A search records the study that owns its folder, so another
search never numbers its trials into the same folders (hydra_plugins/genlab_sweepers).
"""

from __future__ import annotations

import json
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from genlab.errors import ConfigError, JobFailed
from genlab.runs.directory import holds_a_run, missing_folders, tidy
from genlab.storage.atomic import write_atomic
from genlab.storage.lock import FileLock
from genlab.storage.read import read_json

LOCK = ".lock"  # the sweep directory's owner while a launcher runs in it
SEARCH = "search.json"  # the study whose trials the directory holds


_HELD: list[tuple[FileLock, list[Path]]] = []  # the sweep locks of this process, what they made


class SweepOwner(Callback):
    """Owns the sweep directory from the start of a multirun to its end (or to release_sweeps,
    when a launcher refused to start)."""

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        try:
            self._own(Path(str(config.hydra.sweep.dir)), config)
        except ConfigError as e:  # Hydra turns a callback's Exception into a warning and goes on
            raise JobFailed(e) from None

    def _own(self, sweep_dir: Path, config: DictConfig) -> None:
        if "genlab_sweepers" not in str(config.hydra.sweeper.get("_target_", "")):
            refuse_a_search_folder(sweep_dir)  # (a search checks its own folder when it starts)
        made = missing_folders(sweep_dir.resolve())
        lock = FileLock(sweep_dir / LOCK)
        holder = lock.take()
        if holder is not None:
            tidy(made)
            raise ConfigError(
                f"{sweep_dir} is in use by {holder}: one launcher at a time may run a sweep in a "
                "folder; wait for it to end (or stop it), then launch again: finished jobs are "
                "kept, interrupted ones resume"
            )
        _HELD.append((lock, made))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        release_sweeps()


def release_sweeps() -> None:
    """Frees this process's sweep directories; one a refused launch made and left empty goes."""
    while _HELD:
        lock, made = _HELD.pop()
        lock.release()
        tidy(made)


def claim_for_search(sweep_dir: Path, study: str, storage: str | None) -> None:
    """Records that sweep_dir holds the trials of this study (refuse_another_study first)."""
    if refuse_another_study(sweep_dir, study, storage) is None:
        write_atomic(Path(sweep_dir) / SEARCH, json.dumps(_record(study, storage), indent=2) + "\n")


def refuse_another_study(sweep_dir: Path, study: str, storage: str | None) -> dict | None:
    """Refuses, in one line, a folder that holds another study's trials or another sweep's jobs
    (their folders would be written again: a new study numbers its trials from 0); returns the
    folder's record of this study, None when it has none yet."""
    sweep_dir = Path(sweep_dir)
    mine = _record(study, storage)
    owner = read_json(sweep_dir / SEARCH, "a search record", keys=("study", "storage"))
    if owner is not None and owner != mine:
        raise ConfigError(
            f"hydra.sweep.dir={sweep_dir} holds the trials of study {owner['study']} "
            f"(storage {owner['storage']}); this search is study {study} (storage {storage}). "
            "The same search continues that one; another search needs another hydra.sweep.dir"
        )
    if owner is None and _holds_jobs(sweep_dir):
        raise ConfigError(
            f"hydra.sweep.dir={sweep_dir} holds the jobs of another sweep; a search needs a "
            "folder of its own: choose another hydra.sweep.dir"
        )
    return owner


def _record(study: str, storage: str | None) -> dict:
    return {"study": study, "storage": storage}


def refuse_a_search_folder(sweep_dir: Path) -> None:
    """A plain sweep into a folder that holds a search's trials: refused in one line."""
    owner = read_json(Path(sweep_dir) / SEARCH, "a search record", keys=("study", "storage"))
    if owner is not None:
        raise ConfigError(
            f"hydra.sweep.dir={sweep_dir} holds the trials of study {owner['study']}; a sweep "
            "needs a folder of its own: choose another hydra.sweep.dir"
        )


def _holds_jobs(sweep_dir: Path) -> bool:
    return sweep_dir.is_dir() and any(holds_a_run(p) for p in sweep_dir.iterdir() if p.is_dir())
