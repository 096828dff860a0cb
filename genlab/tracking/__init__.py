"""Experiment trackers a run also reports to, beside its TensorBoard files (conf/tracking/):
mlflow.py. The run's logger (logging/tensorboard.RunLogger) hands a tracker what it logs."""

from __future__ import annotations

from genlab.errors import ConfigError


def make_tracker(tracking: dict, config: dict, group: str, sweep: str | None):
    """The tracker the `tracking` group names; checked before any training: an unreachable
    server stops the run here, in one line."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError("tracking=mlflow needs MLflow: pip install 'genlab[mlflow]'")
    from genlab.tracking.mlflow import MLflowTracker

    return MLflowTracker(
        tracking["uri"], tracking["experiment"], tracking["log_checkpoint"], sweep, config, group
    )
