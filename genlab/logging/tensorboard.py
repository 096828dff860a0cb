"""Run logging: TensorBoard scalars, images and text in the run directory, PNG grids, the final
metrics (metrics.json and the HParams row). Reading the scalars back: scalars.py."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid, save_image

from genlab.logging.hparams import hparams_of
from genlab.logging.metrics_json import write_metrics


class RunLogger:
    """One TensorBoard run per run directory, so `tensorboard --logdir outputs` lists them all."""

    def __init__(
        self, run_dir: Path, purge_step: int | None = None, config: dict | None = None, tracker=None
    ):
        """config: a new run's resolved config, logged as the text `config` at step 0; tracker:
        an experiment tracker (tracking/) that gets the same scalars and the final artifacts."""
        self.run_dir, self.tracker = Path(run_dir), tracker
        (self.run_dir / "images").mkdir(parents=True, exist_ok=True)
        existing = list(self.run_dir.glob("events.out.tfevents.*"))
        # purge_step drops events logged after a resumed checkpoint: no duplicated steps
        self.writer = SummaryWriter(str(self.run_dir), purge_step=purge_step)
        _sort_after(self.writer, existing)
        if tracker is not None:
            tracker.start(self.run_dir)
        if config is not None:
            self.text("config", f"```\n{yaml.safe_dump(config, sort_keys=False)}```")

    def scalars(self, values: dict[str, float], step: int, prefix: str = "train") -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{prefix}/{name}", value, step)
        if self.tracker is not None:
            self.tracker.scalars(values, step, prefix)

    def images(self, grids: dict[str, tuple[torch.Tensor, int]], step: int, png: bool) -> None:
        """grids: name -> (images in [0, 1], (N, C, H, W); images per row)."""
        for name, (images, nrow) in grids.items():
            grid = as_grid(images, nrow)
            self.writer.add_image(f"images/{name}", grid, step)
            if png:
                save_grid(grid, self.run_dir, name, step)

    def text(self, tag: str, text: str, step: int = 0) -> None:
        self.writer.add_text(tag, text, step)

    def flush(self) -> None:
        self.writer.flush()

    def checkpointed(self, step: int) -> None:
        """The checkpoint at step is written: what it holds may go to the tracker."""
        if self.tracker is not None:
            self.tracker.checkpointed(step)

    def close(self, saved_step: int | None = None, done: bool = False) -> None:
        self.writer.close()
        if self.tracker is not None:
            self.tracker.close(saved_step, done)

    def evaluation(
        self,
        metrics: dict[str, float],
        step: int,
        train_s: float,
        measured: dict,
        final_config: dict | None,
        group: str = "defaults",
    ) -> None:
        """One evaluation: eval/<metric> and time/train_s (training seconds so far) scalars. The
        end-of-run one (final_config: the run's config) also writes metrics.json and the run's
        row in TensorBoard's HParams tab: its config, its group of seeds and what measured it,
        against its eval/ scalars."""
        self.scalars({"train_s": train_s}, step, prefix="time")
        self.scalars(metrics, step, prefix="eval")
        if final_config is not None:
            write_metrics(self.run_dir, metrics, step, measured, group)
            row = hparams_of({**final_config, "measured": measured, "group": group})
            self.hparams(row, {f"eval/{k}": v for k, v in metrics.items()})
            if self.tracker is not None:
                self.tracker.final(self.run_dir)

    def hparams(self, hparams: dict, metrics: dict[str, float]) -> None:
        """One row in TensorBoard's HParams tab, written into this run's own event file (unlike
        SummaryWriter.add_hparams, which makes a sub-run); metrics name logged scalar tags."""
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        for summary in hparams_summary(hparams, metrics):  # experiment, session start, end
            self.writer.file_writer.add_summary(summary)
        self.writer.flush()


def as_grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    """Images in [0, 1] as one picture, a diverged model's NaNs black (no warning)."""
    return make_grid(images.float().cpu().nan_to_num(0.0), nrow=nrow, padding=2, pad_value=0.5)


def save_grid(grid: torch.Tensor, run_dir: Path, name: str, step: int) -> Path:
    """<run>/images/<name>_step<step>.png, what the report's page shows."""
    path = Path(run_dir) / "images" / f"{name}_step{step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)
    return path


def _sort_after(writer: SummaryWriter, existing: list[Path]) -> None:
    """TensorBoard reads a run's event files in name order (events.out.tfevents.<unix second>.
    <host>.<pid>...), and a resumed run's purge only works if its file comes after the one it
    continues. When the new file would not (the same second, or an older file from a machine
    whose clock ran ahead), it is renamed to the newest second + 1: no waiting on the clock."""
    if not existing:
        return
    events = writer.file_writer.event_writer  # tensorboard's EventFileWriter
    path = Path(events._file_name)
    newest = max(int(p.name.split(".")[3]) for p in existing)
    if path.name > max(p.name for p in existing) and int(path.name.split(".")[3]) > newest:
        return
    writer.flush()  # nothing pending while the file moves
    parts = path.name.split(".")
    parts[3] = f"{newest + 1:010d}"
    moved = path.with_name(".".join(parts))
    path.rename(moved)
    events._file_name = events._general_file_writer.filename = str(moved)  # appends go there
