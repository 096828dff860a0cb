"""<run>/metrics.json: a run's final metrics and the step they were measured at."""

from __future__ import annotations

import json
from pathlib import Path

from genlab.errors import StorageError
from genlab.storage.atomic import write_atomic
from genlab.storage.read import read_json

METRICS_FILE = "metrics.json"


def write_metrics(
    run_dir: Path,
    metrics: dict[str, float],
    step: int,
    measured: dict | None = None,
    group: str | None = None,
) -> Path:
    """{"step", "metrics": {name: value}, "measured": {"network": id, ...}, "group"}, replaced
    atomically; measured says what measured them (metrics/evaluator.py), group which seeds
    share the run's configuration (logging/hparams.group_of)."""
    record = {"step": step, "metrics": metrics, "measured": measured or {}, "group": group}
    return write_atomic(Path(run_dir) / METRICS_FILE, json.dumps(record, indent=2) + "\n")


def read_metrics(run_dir: Path) -> dict[str, float]:
    """The final metrics; {} when the run measured none; StorageError (one line) when
    metrics.json is empty, truncated, stray or foreign."""
    path = Path(run_dir) / METRICS_FILE
    record = read_json(path, "a metrics file", keys=("step", "metrics")) or {"metrics": {}}
    metrics = record["metrics"]
    if not isinstance(metrics, dict) or not all(_number(v) for v in metrics.values()):
        raise StorageError(f"{path} is not a metrics file (its metrics are not numbers)")
    return metrics


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def read_metrics_step(run_dir: Path) -> int | None:
    """The step metrics.json was measured at; None when there is none; StorageError (one line)
    when metrics.json is empty, truncated, stray or foreign."""
    record = read_json(Path(run_dir) / METRICS_FILE, "a metrics file", keys=("step", "metrics"))
    return record["step"] if record is not None else None


def read_measured(run_dir: Path) -> dict:
    """What measured a run's metrics.json (the feature network's id, its floor, the reference
    images); {} when there is no metrics.json or it predates the record."""
    try:
        record = read_json(Path(run_dir) / METRICS_FILE, "a metrics file") or {}
    except StorageError:
        return {}
    return record.get("measured") or {}
