"""TensorBoard's HParams row: a run's config flattened to "group.key" -> scalar, and the group of
seeds it belongs to."""

from __future__ import annotations

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


# what says where or how a run was launched, not what the experiment is
LAUNCH_ONLY = ("resume", "resume_sweep", "objective", "threads", "trainer.progress")
LAUNCH_ONLY_GROUPS = ("hydra", "device", "tracking")  # and every key below them


def is_experiment_key(key: str) -> bool:
    """The one rule of which override keys make the experiment (the seed aside): the report's
    groups, --compare, report.csv's group column and the HParams row all ask it."""
    key = key.lstrip("+~")
    group = key.split(".", 1)[0].split("/", 1)[0]
    return key != "seed" and key not in LAUNCH_ONLY and group not in LAUNCH_ONLY_GROUPS


def group_of(overrides) -> str:
    """The configuration a run belongs to in a sweep: its overrides (`key=value`, sorted), but
    its seed and what only says where or how it runs. Runs that differ in their seed alone
    share it; `genlab report` groups by it and the HParams row and report.csv carry it."""
    kept = []
    for override in overrides:
        if is_experiment_key(str(override).split("=", 1)[0]):
            kept.append(str(override).lstrip("+"))
    return ",".join(sorted(kept)) or "defaults"
