"""A run directory belongs to one run: a new run never writes into a folder that holds another
(only `resume=` continues one), and a refused command leaves the run it names untouched."""

from __future__ import annotations

from pathlib import Path

from genlab.errors import ConfigError

MARKS = ("status.json", "checkpoints", ".hydra", "metrics.json")  # what a run leaves behind


def holds_a_run(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (
        any((path / m).exists() for m in MARKS) or any(path.glob("events.out.tfevents.*"))
    )


def check_new_run_dir(path: Path, key: str = "hydra.run.dir") -> None:
    """Refuses a directory that holds another run, in one line."""
    if holds_a_run(path):
        raise ConfigError(
            f"{key}={path} holds another run; a new run never writes over one: choose a new "
            f"directory, or continue that run with resume={path}"
        )
