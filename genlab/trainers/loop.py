"""The training loop: epochs, progress bar, logging, image grids and checkpoints.

A task (VAETask, GANTask) supplies `modules`, `optimizers`, `train_step(x, y, step)` and
`grids()`; everything else lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from tqdm.auto import tqdm

from genlab.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from genlab.data.loader import ResidentLoader
from genlab.logger import RunLogger
from genlab.metrics.record import record_final


@dataclass
class LoopSettings:
    epochs: int = 10
    max_steps: int | None = None  # cap on steps (one step = one batch)
    log_every: int = 50
    checkpoint_every: int = 1000
    image_every: int = 1  # epochs between image grids
    progress: bool = True
    eval_every: int | None = None  # epochs between quality metrics (always at the end too)


class Trainer:
    def __init__(
        self,
        task,
        loader: ResidentLoader,
        run_dir: Path,
        settings: LoopSettings,
        config: dict | None = None,
        evaluator=None,
    ):
        self.task, self.loader, self.settings = task, loader, settings
        self.run_dir = Path(run_dir)
        self.config = config or {}  # the resolved run config, kept in every checkpoint
        self.step = 0  # steps done
        self.epoch = 0  # current epoch
        self.batch = 0  # batches done in the current epoch
        self.logger: RunLogger | None = None
        self.evaluator = evaluator  # task -> {metric: value} (genlab.metrics), or None
        self.metrics: dict[str, float] = {}  # the last evaluation

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    @property
    def total_steps(self) -> int:
        total = self.settings.epochs * len(self.loader)
        return min(total, self.settings.max_steps) if self.settings.max_steps else total

    # --- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "config": self.config,
            "models": {k: m.state_dict() for k, m in self.task.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
            "step": self.step,
            "epoch": self.epoch,
            "batch": self.batch,
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.task.modules.items():
            m.load_state_dict(state["models"][k])
        for k, o in self.task.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        self.step, self.epoch, self.batch = state["step"], state["epoch"], state["batch"]
        set_rng_state(state["rng"])

    def save(self) -> None:
        save_checkpoint(self.checkpoint_path, self.state_dict())

    def resume(self) -> None:
        self.load_state_dict(load_checkpoint(self.checkpoint_path))

    # --- the loop -------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        """Trains to the end; returns the last logged value of every scalar."""
        s = self.settings
        self.logger = RunLogger(self.run_dir, purge_step=self.step or None)
        for m in self.task.modules.values():
            m.train()
        if self.step == 0:
            self.logger.text("config", f"```\n{yaml.safe_dump(self.config, sort_keys=False)}```")
            self._log_images(png=True)  # the start of training
        last: dict[str, float] = {}
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            disable=not s.progress,
            desc=f"epoch {self.epoch + 1}/{s.epochs}",
            dynamic_ncols=True,
        )
        try:
            while self.epoch < s.epochs and self.step < self.total_steps:
                for x, y in self.loader.epoch(self.epoch, self.batch):
                    scalars = self.task.train_step(x, y, self.step)
                    self.step += 1
                    self.batch += 1
                    bar.update()
                    if self.step % s.log_every == 0 or self.step == self.total_steps:
                        last = {k: v.item() for k, v in scalars.items()}  # the one host sync
                        self.logger.scalars(last, self.step)
                        bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()})
                    if self.step % s.checkpoint_every == 0:
                        self.save()
                    if self.step >= self.total_steps:
                        break
                else:
                    self.epoch, self.batch = self.epoch + 1, 0
                    bar.set_description(f"epoch {min(self.epoch + 1, s.epochs)}/{s.epochs}")
                    if self.epoch % s.image_every == 0 and self.step < self.total_steps:
                        self._log_images(png=True)
                    due = s.eval_every and self.epoch % s.eval_every == 0
                    if due and self.step < self.total_steps:  # the end is evaluated below
                        self._evaluate()
            self._log_images(png=True)  # the end of training
            self._evaluate(final=True)
            self.save()
        finally:
            bar.close()
            self.logger.flush()
        return last

    def _log_images(self, png: bool) -> None:
        self.logger.images(self.task.grids(), self.step, png=png)

    def _evaluate(self, final: bool = False) -> None:
        if self.evaluator is not None:
            self.metrics = self.evaluator(self.task)
            self.logger.scalars(self.metrics, self.step, prefix="eval")
            if final:  # metrics.json and the HParams row
                record_final(self.run_dir, self.logger, self.config, self.metrics, self.step)

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
