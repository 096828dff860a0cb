"""NaN/Inf losses stop the run (or skip the batch) before an update; checkpoints stay whole."""

import argparse
import dataclasses

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from genlab.config.build import make_trainer
from genlab.errors import CheckpointError, NonFiniteError
from genlab.runs.checkpoint import load_checkpoint, save_checkpoint
from genlab.trainers.nan_guard import FiniteGuard

SMALL = ["data.size=48", "data.batch_size=8", "data.image_shape=[1,8,8]", "arch.hidden=16"]


class NaNAt:
    """Wraps a VAE loss: the KL term (and so the loss) is NaN at the given steps."""

    def __init__(self, loss, guard, steps):
        self.loss, self.guard, self.steps = loss, guard, steps

    def __getattr__(self, name):
        return getattr(self.loss, name)

    def __call__(self, *args):
        terms = self.loss(*args)
        if self.guard.step in self.steps:
            terms["kl"] = terms["kl"] * float("nan")
            terms["loss"] = terms["loss"] + terms["kl"]
        return terms


def gan_nan_at(loss, guard, steps):
    """A GAN loss whose D loss is Inf at the given steps."""

    def d_loss(*args):
        out = loss.d_loss(*args)
        return out * float("inf") if guard.step in steps else out

    return dataclasses.replace(loss, d_loss=d_loss)


def weights(trainer):
    return {
        f"{k}.{n}": p.detach().clone()
        for k, m in trainer.step.networks.items()
        for n, p in m.named_parameters()
    }


def record_updates(trainer):
    """Wraps train_step: changed[step] says whether any weight moved at that step."""
    changed, step_fn = {}, trainer.step.train_step

    def train_step(x, y, step):
        before = weights(trainer)
        out = step_fn(x, y, step)
        after = weights(trainer)
        changed[step + 1] = any(not torch.equal(before[k], after[k]) for k in before)
        return out

    trainer.step.train_step = train_step
    return changed


def test_nan_loss_stops_at_its_step_and_keeps_the_last_good_checkpoint(compose_cfg, tmp_path):
    cfg = compose_cfg("model=vae", *SMALL, "trainer.checkpoint_every=2")
    trainer = make_trainer(cfg, tmp_path)
    trainer.step.loss = NaNAt(trainer.step.loss, trainer.guard, {5})
    with pytest.raises(NonFiniteError) as e:
        trainer.fit()
    trainer.close()
    msg = str(e.value)
    assert msg.startswith("non-finite loss at step 5: loss=nan, kl=nan; stopped")
    assert "the last good checkpoint (step 4) is kept" in msg and "\n" not in msg
    state = load_checkpoint(trainer.checkpoint_path)
    assert state["step"] == 4
    assert all(torch.isfinite(w).all() for w in state["networks"]["vae"].values())
    # the bad step applied no update: the model is still the checkpointed one
    live = trainer.step.vae.state_dict()
    assert all(torch.equal(live[k], v) for k, v in state["networks"]["vae"].items())


@pytest.mark.parametrize("model", ["vae", "gan"])
def test_skip_policy_drops_the_update_and_counts_skips(compose_cfg, tmp_path, model):
    cfg = compose_cfg(f"model={model}", *SMALL, "trainer.nan_policy=skip")
    trainer = make_trainer(cfg, tmp_path)
    built = trainer.step
    if model == "vae":
        built.loss = NaNAt(built.loss, trainer.guard, {2, 5})
    else:
        built.loss = gan_nan_at(built.loss, trainer.guard, {2, 5})
    changed = record_updates(trainer)
    trainer.fit()
    trainer.close()
    assert changed == {1: True, 2: False, 3: True, 4: True, 5: False, 6: True}
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    skips = [(e.step, e.value) for e in acc.Scalars("train/skipped_batches")]
    assert skips == [(1, 0), (2, 1), (3, 1), (4, 1), (5, 2), (6, 2)]
    assert load_checkpoint(trainer.checkpoint_path)["skipped"] == 2  # carried over a resume


def test_absurd_learning_rate_never_reaches_a_checkpoint(compose_cfg, tmp_path):
    cfg = compose_cfg("model=vae", *SMALL, "optimizer.lr=1e30", "trainer.checkpoint_every=1")
    trainer = make_trainer(cfg, tmp_path)
    with pytest.raises(NonFiniteError, match=r"^non-finite (loss|weights) at step \d"):
        trainer.fit()
    trainer.close()
    if trainer.checkpoint_path.exists():  # whatever was saved before the blow-up is finite
        state = load_checkpoint(trainer.checkpoint_path)
        assert all(torch.isfinite(w).all() for w in state["networks"]["vae"].values())


def test_guard_names_each_bad_term():
    guard = FiniteGuard("stop")
    guard.step = 7
    ok = {"a": torch.tensor(1.0), "b": torch.tensor([2.0, 3.0])}
    assert guard(ok)
    with pytest.raises(NonFiniteError, match=r"^non-finite loss at step 7: b=inf$"):
        guard({**ok, "b": torch.tensor(float("inf"))})


# --- checkpoint files ------------------------------------------------------------------------
def test_crash_mid_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(3)})
    real_save = torch.save

    def save_half_then_fail(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.truncate(f.tell() // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, {"step": 2, "w": torch.zeros(3)})
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp file left behind


def test_nan_weights_never_overwrite_a_checkpoint(compose_cfg, tmp_path):
    trainer = make_trainer(compose_cfg("model=vae", *SMALL), tmp_path)
    trainer.save()
    with torch.no_grad():
        next(trainer.step.vae.parameters()).fill_(float("nan"))
    trainer.global_step = 3
    with pytest.raises(NonFiniteError, match="non-finite weights at step 3"):
        trainer.save()
    assert load_checkpoint(trainer.checkpoint_path)["step"] == 0


def _bad_files(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"step": 1, "w": torch.ones(1000)})
    data = good.read_bytes()
    files = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "text": b"step: 10\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    torch.save({"model": torch.ones(2)}, tmp_path / "foreign")  # a torch file, not genlab's
    torch.save({"opts": argparse.Namespace(lr=1)}, tmp_path / "objects")  # needs full pickle
    return ["truncated", "empty", "text", "foreign", "objects"]


def test_truncated_or_foreign_checkpoint_gives_one_clear_line(tmp_path):
    expected = {
        "truncated": "is not a readable genlab checkpoint (truncated or empty",
        "empty": "is not a readable genlab checkpoint (truncated or empty",
        "text": "is not a readable genlab checkpoint (not a file torch.save wrote",
        "foreign": "is not a genlab checkpoint (format genlab-2 expected)",
        "objects": "holds Python objects, not only tensors; they are not loaded, for safety",
    }
    for name in _bad_files(tmp_path):
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(tmp_path / name)
        msg = str(e.value)
        assert "\n" not in msg and str(tmp_path / name) in msg and expected[name] in msg, msg
        chained = e.value.__cause__ or (not e.value.__suppress_context__ and e.value.__context__)
        assert not chained  # no pickle traceback under the message


def test_deferred_check_reads_the_flag_later_and_names_the_steps():
    guard = FiniteGuard("stop", defer=True)  # the GPU path: no host read per update
    for step, value in enumerate([1.0, float("nan"), 2.0], start=1):
        guard.step = step
        assert guard({"loss": torch.tensor(value)})  # the update goes ahead
    with pytest.raises(NonFiniteError, match="between steps 1 and 3"):
        guard.check()
    guard.check()  # read once: nothing pending now
