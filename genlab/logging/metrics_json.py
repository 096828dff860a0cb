"""<run>/metrics.json: a run's final metrics and the step they were measured at."""

from __future__ import annotations

import json
from pathlib import Path

from genlab.storage.atomic import write_atomic

METRICS_FILE = "metrics.json"


def write_metrics(run_dir: Path, metrics: dict[str, float], step: int) -> Path:
    """{"step": ..., "metrics": {name: value}}, replaced atomically."""
    text = json.dumps({"step": step, "metrics": metrics}, indent=2) + "\n"
    return write_atomic(Path(run_dir) / METRICS_FILE, text)


def read_metrics(run_dir: Path) -> dict[str, float]:
    """The final metrics; {} when the run measured none."""
    path = Path(run_dir) / METRICS_FILE
    return json.loads(path.read_text())["metrics"] if path.is_file() else {}


def read_metrics_step(run_dir: Path) -> int | None:
    """The step metrics.json was measured at; None when there is none."""
    try:
        return json.loads((Path(run_dir) / METRICS_FILE).read_text())["step"]
    except (OSError, ValueError, KeyError):
        return None
