"""The training loop: epochs, progress bar, logging, image grids and checkpoints.

What is trained is a model family's step (trainers/step.py: VAEStep, GANStep): it supplies its
networks, optimisers, NaN guard, `train_step(x, y, step)` and `grids()`; everything else lives
here. Quality metrics come in as a plain callable (step -> {name: value}): the loop does not
know them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from genlab.data.loader import ResidentLoader
from genlab.errors import Interrupted, NonFiniteError, Pruned
from genlab.logging.metrics_json import read_metrics_step
from genlab.logging.tensorboard import RunLogger
from genlab.runs.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from genlab.trainers import distributed
from genlab.trainers.health import HealthWatch
from genlab.trainers.progress import tqdm
from genlab.trainers.schedules import make_schedulers, stretch
from genlab.trainers.signals import StopOnSignals
from genlab.trainers.step import Evaluates, Step


@dataclass
class LoopSettings:  # conf/trainer/default.yaml says what each one means
    epochs: int
    max_steps: int | None
    log_every: int
    checkpoint_every: int
    image_every: int
    progress: bool
    nan_policy: str
    eval_every: int | None


class Trainer:
    def __init__(
        self,
        step: Step,
        loader: ResidentLoader,
        run_dir: Path,
        settings: LoopSettings,
        config: dict | None = None,
        health: HealthWatch | None = None,
        ranks: distributed.Ranks | None = None,
        evaluator: Evaluates | None = None,
        schedule: str = "constant",
        group: str = "defaults",
        on_evaluation=None,
        tracker=None,
    ):
        self.step, self.loader, self.settings = step, loader, settings
        self.batches_per_epoch = len(loader)
        self.health = health  # warns once when D has won (GANs); fed the logged scalars
        self.ranks = ranks or distributed.Ranks()  # under torchrun, rank 0 alone writes files
        self.run_dir = Path(run_dir)
        self.config = config or {}  # the resolved run config, kept in every checkpoint
        self.group = group  # the configuration its seeds share in a sweep (the HParams row's)
        self.on_evaluation = on_evaluation  # (metrics, step, epoch) at each but the last
        self.tracker = tracker  # an experiment tracker the logger reports to too (tracking/)
        self.global_step = self.epoch = self.batch = 0  # steps done; epoch; batches done in it
        self.logger: RunLogger | None = None
        self.saved_step: int | None = None  # the step of the last checkpoint written
        self.guard = step.guard  # on a GPU its NaN check waits for a log step or checkpoint
        self.evaluator = evaluator  # step -> {metric: value}, or None (see Evaluates)
        self.metrics: dict[str, float] = {}  # the last evaluation
        self.evaluated_step: int | None = None  # ... and its step
        # learning-rate schedules over the whole run: name -> scheduler of step.optimizers[name]
        self.schedulers = make_schedulers(step.optimizers, schedule, self.total_steps)
        self.train_seconds = 0.0  # wall time spent training, evaluations excluded, all launches
        self._since: float | None = None  # when the training clock last started

    def _clock(self) -> float:  # seconds of training so far (time/train_s at each evaluation)
        running = time.perf_counter() - self._since if self._since is not None else 0.0
        return self.train_seconds + running

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    @property
    def total_steps(self) -> int:
        total = self.settings.epochs * self.batches_per_epoch
        return min(total, self.settings.max_steps) if self.settings.max_steps else total

    def state_dict(self) -> dict:
        shape, classes = list(self.loader.images.shape[1:]), self.loader.num_classes
        data = {"image_shape": shape, "num_classes": classes}  # what sampling needs: no decoding
        return {
            "config": self.config,
            **self.step.state_dict(),  # networks, optimizers, scaler, extra
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "data": data, "step": self.global_step, "epoch": self.epoch, "batch": self.batch,
            "skipped": self.guard.skipped, "train_seconds": self._clock(),
        }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.step.load_state_dict(state)
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
            stretch(sched, self.total_steps)  # trained on with more epochs: over the new length
        self.global_step, self.epoch, self.batch = state["step"], state["epoch"], state["batch"]
        self.guard.skipped = state.get("skipped", 0)
        self.train_seconds = state.get("train_seconds", 0.0)
        self.saved_step = self.global_step
        by_rank = state.get("rng_by_rank") or []
        same_world = len(by_rank) == self.ranks.world
        set_rng_state(by_rank[self.ranks.rank] if same_world else state["rng"])

    def save(self) -> None:
        """Flushes the logs, then writes the checkpoint, unless a weight is NaN/Inf: the last
        good checkpoint is never overwritten by a broken model."""
        self.guard.check()
        params = [p.detach() for m in self.step.networks.values() for p in m.parameters()]
        if params and not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
            raise NonFiniteError(f"non-finite weights at step {self.global_step}")
        rngs = distributed.gather(rng_state(), self.ranks)  # each rank's own noise goes on
        if self.ranks.main:
            if self.logger is not None:
                self.logger.flush()  # events up to this step reach the disk before the checkpoint
            state = {**self.state_dict(), "rng": rngs[0], "rng_by_rank": rngs}
            save_checkpoint(self.checkpoint_path, state, rng=False)
        self.saved_step = self.global_step
        if self.logger is not None:
            self.logger.checkpointed(self.global_step)  # a tracker may send what it holds

    def resume(self) -> None:
        self.load_state_dict(load_checkpoint(self.checkpoint_path))

    def fit(self) -> dict[str, float]:
        """Trains to the end; returns the last logged value of every scalar and the metrics.

        Raises NonFiniteError on a NaN/Inf loss (nan_policy "stop"; the last checkpoint is
        kept) and Interrupted after SIGINT / SIGTERM (a checkpoint at that step is written).
        """
        s = self.settings
        # a resumed run drops the events a dead run logged after its checkpoint: no duplicates
        purge = self.global_step + 1 if self.global_step else None
        main = self.ranks.main
        fresh = self.global_step == 0
        self.logger = (
            RunLogger(self.run_dir, purge, self.config if fresh else None, self.tracker)
            if main
            else distributed.NullLogger()
        )
        for m in self.step.networks.values():
            m.train()
        if fresh:
            self._log_images(png=True)  # the start of training
        last: dict[str, float] = {}
        bar = tqdm(
            total=self.total_steps,
            initial=self.global_step,
            disable=not s.progress or not main,
            desc=self._epoch_label(),
            dynamic_ncols=True,
        )
        self._since = time.perf_counter()
        try:
            with StopOnSignals() as signals:
                while self.global_step < self.total_steps:
                    for x, y in self.loader.epoch(self.epoch, self.batch):
                        last = self._train_batch(x, y, bar) or last
                        if self.global_step >= self.total_steps:
                            break
                        if signum := self._stop_for(signals.signum):  # a step boundary: stop
                            if self.saved_step != self.global_step:
                                self.save()
                            raise Interrupted(signum, self.global_step, self.run_dir)
            if self.total_steps == 0:
                self.save()  # epochs=0: the untrained model
            elif self.needs_final_evaluation:  # the trained model is saved: measure it now
                self._evaluate(final=True)  # (Ctrl-C here stops at once: nothing to lose)
        except Pruned:
            self.save()  # the trial can be resumed (a search may take it up again)
            raise
        except NonFiniteError as e:
            kept = (
                f"the last good checkpoint (step {self.saved_step}) is kept in "
                f"{self.checkpoint_path}"
                if self.saved_step is not None
                else "no checkpoint was written yet"
            )
            raise NonFiniteError(f"{e}; stopped, {kept}") from e
        finally:
            self.train_seconds, self._since = self._clock(), None
            bar.close()
            self.close()
        return {**last, **self.metrics, "train_s": self.train_seconds}  # as TensorBoard has it

    def _train_batch(self, x, y, bar) -> dict[str, float]:
        """One batch, then what falls due at this step. Returns the scalars if logged.

        Order matters for exact resume: everything logged at a step (scalars, epoch-end and
        final images) is written before that step's checkpoint, so the checkpoint holds all
        events up to its step and a resume purges exactly the later ones.
        """
        s = self.settings
        self.guard.step = self.global_step + 1
        scalars = self.step.train_step(x, y, self.global_step)
        for sched in self.schedulers.values():  # learning-rate schedules advance once per batch
            sched.step()
        self.global_step += 1
        self.batch += 1
        bar.update()
        logged = {}
        if self.global_step % s.log_every == 0 or self.global_step == self.total_steps:
            self.guard.check()  # a GPU's deferred NaN check: this step syncs anyway
            scalars = distributed.mean_over_ranks(scalars, self.ranks)
            logged = {k: v.item() for k, v in scalars.items()}  # the one host sync
            logged |= {f"lr_{k}": sched.get_last_lr()[0] for k, sched in self.schedulers.items()}
            if s.nan_policy == "skip":
                logged["skipped_batches"] = self.guard.skipped
            self.logger.scalars(logged, self.global_step)
            if self.health and (warning := self.health.update(logged, self.global_step)):
                self.logger.text("health", warning, self.global_step)
            bar.set_postfix({k: f"{v:.3g}" for k, v in logged.items()})
        if self.batch == self.batches_per_epoch:  # the epoch ends; the next one starts at batch 0
            self.epoch, self.batch = self.epoch + 1, 0
            bar.set_description(self._epoch_label())
            if self.global_step < self.total_steps:
                if self.epoch % s.image_every == 0:
                    self._log_images(png=True)
                if s.eval_every and self.epoch % s.eval_every == 0:  # the end: in fit, after saving
                    self._evaluate()  # (a search's pruner may stop here)
                    bar.unpause()  # the rate counts training, not the evaluation
        if self.global_step == self.total_steps:
            self._log_images(png=True)  # the end of training; measured after its checkpoint
        if self.global_step % s.checkpoint_every == 0 or self.global_step == self.total_steps:
            self.save()
        return logged

    def _stop_for(self, signum: int | None) -> int | None:
        """The signal to stop for at this step. One process: its own. Under torchrun every rank
        agrees at each log step (a signal may reach one rank only, and a rank that stopped
        alone would leave the others waiting in a collective call)."""
        if not self.ranks.active:
            return signum
        if self.global_step % self.settings.log_every:
            return None
        return distributed.agreed_stop(signum, self.ranks, self.step.fixed_z.device)

    def _epoch_label(self) -> str:
        """ "epoch 3/14": of the epochs this run trains (trainer.max_steps may stop it sooner)."""
        epochs = -(-self.total_steps // self.batches_per_epoch) if self.batches_per_epoch else 0
        return f"epoch {min(self.epoch + 1, max(epochs, 1))}/{epochs}"

    @property
    def done(self) -> bool:
        """Nothing left to do: trained to the end and measured (a resume of it is a no-op)."""
        finished = self.global_step >= self.total_steps and self.global_step > 0
        return finished and not self.needs_final_evaluation

    @property
    def needs_final_evaluation(self) -> bool:
        """Trained to the end, measured neither in this process nor in metrics.json (e.g. the
        evaluation of an earlier launch failed or was interrupted)."""
        if self.evaluator is None or self.global_step < self.total_steps or self.total_steps == 0:
            return False
        return (
            self.evaluated_step != self.global_step
            and read_metrics_step(self.run_dir) != self.global_step
        )

    def _log_images(self, png: bool) -> None:
        if self.ranks.main:
            self.logger.images(self.step.grids(), self.global_step, png=png)

    def _evaluate(self, final: bool = False) -> None:
        """Measures (rank 0), records; along the way hands the numbers to on_evaluation (a
        search's trial), which may stop a hopeless run with Pruned: every rank stops with it."""
        pruned = None
        if self.evaluator is not None and self.ranks.main:
            self.train_seconds, self._since = self._clock(), None  # the clock stops while measuring
            self.metrics, self.evaluated_step = self.evaluator(self.step), self.global_step
            config = self.config if final else None  # the end: metrics.json and the HParams row
            self.logger.evaluation(self.metrics, self.global_step, self.train_seconds,
                                   self.evaluator.measured, config, self.group)  # fmt: skip
            self.logger.images(self.evaluator.grids(), self.global_step, png=final)
            self._since = time.perf_counter() if not final else None
            try:
                if self.on_evaluation is not None and not final:
                    self.on_evaluation(self.metrics, self.global_step, self.epoch)
            except Pruned as e:
                pruned = e
        if not final and (pruned := distributed.broadcast(pruned, self.ranks)) is not None:
            raise pruned

    def close(self) -> None:
        """Flushes and closes the logs (fit does this as it returns or raises)."""
        if self.logger is not None:
            self.logger.close(self.saved_step, self.done)
            self.logger = None
