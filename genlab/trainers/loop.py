"""The training loop: epochs, progress bar, logging, image grids and checkpoints.

A task (VAETask, GANTask) supplies `modules`, `optimizers`, `train_step(x, y, step)` and
`grids()`; everything else lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from tqdm.auto import tqdm

from genlab import distributed
from genlab.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from genlab.data.loader import ResidentLoader
from genlab.logger import RunLogger
from genlab.metrics.record import record_final
from genlab.trainers.guards import FiniteGuard, Interrupted, NonFiniteError, StopOnSignals
from genlab.trainers.health import HealthWatch


@dataclass
class LoopSettings:
    epochs: int = 10
    max_steps: int | None = None  # cap on steps (one step = one batch)
    log_every: int = 50
    checkpoint_every: int = 1000
    image_every: int = 1  # epochs between image grids
    progress: bool = True
    nan_policy: str = "stop"  # a NaN/Inf loss: "stop" the run, or "skip" the batch's update
    eval_every: int | None = None  # epochs between quality metrics (always at the end too)


class Trainer:
    def __init__(
        self,
        task,
        loader: ResidentLoader,
        run_dir: Path,
        settings: LoopSettings,
        config: dict | None = None,
        health: HealthWatch | None = None,
        ranks: distributed.Ranks | None = None,
        evaluator=None,
    ):
        self.task, self.loader, self.settings = task, loader, settings
        self.health = health  # warns once when D has won (GANs); fed the logged scalars
        self.ranks = ranks or distributed.Ranks()  # under torchrun, rank 0 alone writes files
        self.run_dir = Path(run_dir)
        self.config = config or {}  # the resolved run config, kept in every checkpoint
        self.step = 0  # steps done
        self.epoch = 0  # current epoch
        self.batch = 0  # batches done in the current epoch
        self.logger: RunLogger | None = None
        self.saved_step: int | None = None  # the step of the last checkpoint written
        on_gpu = loader.images.device.type == "cuda"  # there the NaN check waits for a log step
        self.guard = task.guard = FiniteGuard(settings.nan_policy, defer=on_gpu)
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
            "schedulers": {
                k: s.state_dict() for k, s in getattr(self.task, "schedulers", {}).items()
            },
            "task": self.task.extra_state() if hasattr(self.task, "extra_state") else {},
            "step": self.step,
            "epoch": self.epoch,
            "batch": self.batch,
            "skipped": self.guard.skipped,
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.task.modules.items():
            m.load_state_dict(state["models"][k])
        for k, o in self.task.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, sched in getattr(self.task, "schedulers", {}).items():
            sched.load_state_dict(state["schedulers"][k])
        if hasattr(self.task, "load_extra_state"):
            self.task.load_extra_state(state["task"])
        self.step, self.epoch, self.batch = state["step"], state["epoch"], state["batch"]
        self.guard.skipped = state.get("skipped", 0)
        self.saved_step = self.step
        set_rng_state(state["rng"])

    def save(self) -> None:
        """Flushes the logs, then writes the checkpoint, unless a weight is NaN/Inf: the last
        good checkpoint is never overwritten by a broken model."""
        self.guard.check()
        params = [p.detach() for m in self.task.modules.values() for p in m.parameters()]
        if params and not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
            raise NonFiniteError(f"non-finite weights at step {self.step}")
        if self.ranks.main:
            if self.logger is not None:
                self.logger.flush()  # events up to this step reach the disk before the checkpoint
            save_checkpoint(self.checkpoint_path, self.state_dict())
        self.saved_step = self.step

    def resume(self) -> None:
        self.load_state_dict(load_checkpoint(self.checkpoint_path))

    # --- the loop -------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        """Trains to the end; returns the last logged value of every scalar and the metrics.

        Raises NonFiniteError on a NaN/Inf loss (nan_policy "stop"; the last checkpoint is
        kept) and Interrupted after SIGINT / SIGTERM (a checkpoint at that step is written).
        """
        s = self.settings
        # a resumed run drops the events a dead run logged after its checkpoint: no duplicates
        purge = self.step + 1 if self.step else None
        main = self.ranks.main
        self.logger = (
            RunLogger(self.run_dir, purge_step=purge) if main else distributed.NullLogger()
        )
        for m in self.task.modules.values():
            m.train()
        if self.step == 0:
            self.logger.text("config", f"```\n{yaml.safe_dump(self.config, sort_keys=False)}```")
            self._log_images(png=True)  # the start of training
        last: dict[str, float] = {}
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            disable=not s.progress or not main,
            desc=f"epoch {self.epoch + 1}/{s.epochs}",
            dynamic_ncols=True,
        )
        try:
            with StopOnSignals() as signals:
                while self.step < self.total_steps:
                    for x, y in self.loader.epoch(self.epoch, self.batch):
                        last = self._step(x, y, bar) or last
                        if self.step >= self.total_steps:
                            break
                        if signals.signum is not None:  # at a step boundary: save and stop
                            if self.saved_step != self.step:
                                self.save()
                            raise Interrupted(signals.signum, self.step, self.run_dir)
            if self.total_steps == 0:
                self.save()  # epochs=0: the untrained model
        except NonFiniteError as e:
            kept = (
                f"the last good checkpoint (step {self.saved_step}) is kept in "
                f"{self.checkpoint_path}"
                if self.saved_step is not None
                else "no checkpoint was written yet"
            )
            raise NonFiniteError(f"{e}; stopped, {kept}") from e
        finally:
            bar.close()
            self.logger.flush()
        return {**last, **self.metrics}

    def _step(self, x, y, bar) -> dict[str, float]:
        """One batch, then what falls due at this step. Returns the scalars if logged.

        Order matters for exact resume: everything logged at a step (scalars, epoch-end and
        final images) is written before that step's checkpoint, so the checkpoint holds all
        events up to its step and a resume purges exactly the later ones.
        """
        s = self.settings
        self.guard.step = self.step + 1
        scalars = self.task.train_step(x, y, self.step)
        schedulers = getattr(self.task, "schedulers", {})
        for sched in schedulers.values():  # learning-rate schedules advance once per batch
            sched.step()
        self.step += 1
        self.batch += 1
        bar.update()
        logged = {}
        if self.step % s.log_every == 0 or self.step == self.total_steps:
            self.guard.check()  # a GPU's deferred NaN check: this step syncs anyway
            scalars = distributed.mean_over_ranks(scalars, self.ranks)
            logged = {k: v.item() for k, v in scalars.items()}  # the one host sync
            logged.update({f"lr_{k}": sched.get_last_lr()[0] for k, sched in schedulers.items()})
            if s.nan_policy == "skip":
                logged["skipped_batches"] = self.guard.skipped
            self.logger.scalars(logged, self.step)
            if self.health and (warning := self.health.update(logged, self.step)):
                self.logger.text("health", warning, self.step)
            bar.set_postfix({k: f"{v:.3g}" for k, v in logged.items()})
        if self.batch == len(self.loader):  # the epoch ends; the next one starts at batch 0
            self.epoch, self.batch = self.epoch + 1, 0
            bar.set_description(f"epoch {min(self.epoch + 1, s.epochs)}/{s.epochs}")
            if self.step < self.total_steps:
                if self.epoch % s.image_every == 0:
                    self._log_images(png=True)
                if s.eval_every and self.epoch % s.eval_every == 0:  # the end is evaluated below
                    self._evaluate()
        if self.step == self.total_steps:
            self._log_images(png=True)  # the end of training
            self._evaluate(final=True)
        if self.step % s.checkpoint_every == 0 or self.step == self.total_steps:
            self.save()
        return logged

    def _log_images(self, png: bool) -> None:
        if self.ranks.main:
            self.logger.images(self.task.grids(), self.step, png=png)

    def _evaluate(self, final: bool = False) -> None:
        if self.evaluator is not None and self.ranks.main:
            self.metrics = self.evaluator(self.task)
            self.logger.scalars(self.metrics, self.step, prefix="eval")
            if final:  # metrics.json and the HParams row
                record_final(self.run_dir, self.logger, self.config, self.metrics, self.step)

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
