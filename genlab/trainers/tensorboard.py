"""Run logging: TensorBoard scalars, images and text in the run directory, plus PNG grids."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid, save_image


class RunLogger:
    """One TensorBoard run per run directory, so `tensorboard --logdir outputs` lists them all."""

    def __init__(self, run_dir: Path, purge_step: int | None = None):
        self.run_dir = Path(run_dir)
        (self.run_dir / "images").mkdir(parents=True, exist_ok=True)
        _after_existing_event_files(self.run_dir)
        # purge_step drops events logged after a resumed checkpoint: no duplicated steps
        self.writer = SummaryWriter(str(self.run_dir), purge_step=purge_step)

    def scalars(self, values: dict[str, float], step: int, prefix: str = "train") -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{prefix}/{name}", value, step)

    def images(self, grids: dict[str, tuple[torch.Tensor, int]], step: int, png: bool) -> None:
        """grids: name -> (images in [0, 1], (N, C, H, W); images per row)."""
        for name, (images, nrow) in grids.items():
            images = images.float().cpu().nan_to_num(0.0)  # a diverged model: black, no warning
            grid = make_grid(images, nrow=nrow, padding=2, pad_value=0.5)
            self.writer.add_image(f"images/{name}", grid, step)
            if png:
                save_image(grid, self.run_dir / "images" / f"{name}_step{step:07d}.png")

    def text(self, tag: str, text: str, step: int = 0) -> None:
        self.writer.add_text(tag, text, step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def hparams(self, hparams: dict, metrics: dict[str, float]) -> None:
        """One row in TensorBoard's HParams tab, written into this run's own event file (unlike
        SummaryWriter.add_hparams, which makes a sub-run); metrics name logged scalar tags."""
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        for summary in hparams_summary(hparams, metrics):  # experiment, session start, end
            self.writer.file_writer.add_summary(summary)
        self.writer.flush()


def read_scalars(run_dir: Path, last_only: bool = False) -> dict[str, list[tuple[int, float]]]:
    """Every TensorBoard scalar a run logged: tag -> [(step, value), ...] in step order (with
    last_only, just the newest one per tag)."""
    if not list(Path(run_dir).glob("events.out.tfevents.*")):
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    keep = 1 if last_only else 0  # 0: every event
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": keep})
    events.Reload()
    return {
        tag: sorted((e.step, e.value) for e in events.Scalars(tag))
        for tag in events.Tags()["scalars"]
    }


def _after_existing_event_files(run_dir: Path) -> None:
    """Waits until the clock passes the newest event file's second. TensorBoard reads a run's
    files in name order (events.out.tfevents.<unix second>.<host>.<pid>...): a resumed run's file
    must sort after the one it continues, also when both start within the same second."""
    seconds = [int(p.name.split(".")[3]) for p in run_dir.glob("events.out.tfevents.*")]
    while seconds and time.time() < max(seconds) + 1:
        time.sleep(0.05)
