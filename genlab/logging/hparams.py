"""TensorBoard's HParams row: a run's config flattened to "group.key" -> scalar."""

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
