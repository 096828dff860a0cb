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


NOT_THE_CONFIGURATION = (
    "seed",
    "resume",
    "resume_sweep",
    "objective",
    "threads",
    "trainer.progress",
)


def group_of(overrides) -> str:
    """The configuration a run belongs to in a sweep: its overrides (`key=value`, sorted), but
    its seed and what only says where or how it runs. Runs that differ in their seed alone
    share it; `genlab report` groups by it and the HParams row and report.csv carry it."""
    kept = []
    for override in overrides:
        key = str(override).lstrip("+~").split("=", 1)[0]
        if key in NOT_THE_CONFIGURATION or key.startswith(("hydra.", "device", "tracking")):
            continue
        kept.append(str(override).lstrip("+"))
    return ",".join(sorted(kept)) or "defaults"
