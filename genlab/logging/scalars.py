"""Reading a run's TensorBoard scalars back (the report, the Python API, the benchmarks), without
importing torch."""

from __future__ import annotations

import logging
from pathlib import Path


def read_scalars(run_dir: Path, last_only: bool = False) -> dict[str, list[tuple[int, float]]]:
    """Every TensorBoard scalar a run logged: tag -> [(step, value), ...] in step order (with
    last_only, just the newest one per tag)."""
    if not list(Path(run_dir).glob("events.out.tfevents.*")):
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # its lines ("No path found after <event file>"; "Detected out of order event.step", which is
    # a resumed run's purge doing its job) say nothing to whoever reads a run, and would land in
    # whatever handler the caller's logging has (a closed one prints a traceback)
    logging.getLogger("tensorboard").setLevel(logging.ERROR)

    keep = 1 if last_only else 0  # 0: every event
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": keep})
    events.Reload()
    return {
        tag: sorted((e.step, e.value) for e in events.Scalars(tag))
        for tag in events.Tags()["scalars"]
    }
