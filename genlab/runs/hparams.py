"""The final numbers of a run: metrics.json in the run directory and TensorBoard's HParams row."""

from __future__ import annotations

import json
from pathlib import Path

from genlab.runs.atomic import write_atomic

SKIP = {"resume", "device.name", "data.root", "trainer.progress"}  # not choices of the experiment


def hparams_of(config: dict, prefix: str = "") -> dict[str, float | int | str | bool]:
    """The run's config flattened to "group.key" -> scalar (lists as text), for the HParams tab."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(hparams_of(value, f"{name}."))
        elif name not in SKIP:
            out[name] = value if isinstance(value, int | float | str | bool) else str(value)
    return out


def write_metrics(run_dir: Path, metrics: dict[str, float], step: int) -> Path:
    """<run_dir>/metrics.json: {"step": ..., "metrics": {name: value}}, replaced atomically."""
    text = json.dumps({"step": step, "metrics": metrics}, indent=2) + "\n"
    return write_atomic(Path(run_dir) / "metrics.json", text)


def read_metrics_step(run_dir: Path) -> int | None:
    """The step metrics.json was measured at; None when there is none."""
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text())["step"]
    except (OSError, ValueError, KeyError):
        return None


def record_final(run_dir: Path, logger, config: dict, metrics: dict[str, float], step: int):
    write_metrics(run_dir, metrics, step)
    logger.hparams(hparams_of(config), {f"eval/{k}": v for k, v in metrics.items()})
