"""A run has one owner: a second process that would write a run in use is refused in one line
naming the owner, a dead owner's lock is taken over, the API leaves a finished run as it was,
`sample out=` never writes over a run's records, two writers of one file never tear it, and
work shared on first use (a data set's classifier) is done once."""

import functools
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

import genlab
from genlab import sample
from genlab.config.build import to_dict
from genlab.config.evaluation import make_network
from genlab.reporting.jobs import load_job
from genlab.runs.directory import LOCK, owning
from genlab.storage.atomic import write_atomic
from genlab.storage.lock import FileLock, owner_file
from genlab.train import cli

REPO = Path(__file__).resolve().parents[1]
T = ["data=synthetic", "data.size=64", "data.batch_size=16", "device=cpu",
     "trainer.progress=false", "arch.hidden=16", "eval.n_samples=40",
     "eval.iw_samples=2"]  # fmt: skip
HOLD = "from genlab.storage.lock import FileLock; import sys, time; l = FileLock(sys.argv[1]); "
HOLD += "assert l.take() is None; print('held', flush=True); time.sleep(120)"


def exit_status(call, *args) -> int:
    with pytest.raises(SystemExit) as e:
        call(*args)
    return e.value.code


def snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}


@pytest.fixture
def finished(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "r"
    cli([*T, "model=vae", "trainer.max_steps=3", f"hydra.run.dir={run}"])
    return run


@pytest.fixture
def held(finished):
    """Another process owns the run (as a training of it would), until the test ends."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(finished / LOCK)], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("args", [["resume=runs/r"], ["model=gan", "hydra.run.dir=runs/r"]])
def test_a_run_in_use_is_refused_to_a_second_process_naming_its_owner(held, capsys, args):
    before = snapshot(Path("runs/r"))
    assert exit_status(cli, [*args, "trainer.max_steps=6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is in use by pid {held.pid} on " in err
    assert snapshot(Path("runs/r")) == before  # nothing of the run changed


def test_evaluate_of_a_run_in_use_is_refused_and_the_api_too(held, capsys):
    from genlab import evaluate

    assert exit_status(evaluate.main, ["run=runs/r"]) == 2
    assert f"in use by pid {held.pid}" in capsys.readouterr().err
    with pytest.raises(genlab.GenlabError, match="in use by pid"):
        genlab.train("resume=runs/r", "trainer.max_steps=6")


def test_the_lock_of_a_killed_owner_is_taken_over_and_its_run_shows_as_killed(finished):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(finished / LOCK)], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    status = (finished / "status.json").read_text()
    (finished / "status.json").write_text(status.replace('"finished"', '"running"'))
    proc.send_signal(signal.SIGKILL)  # dies holding it: its name stays beside the lock
    proc.wait()
    assert str(proc.pid) in owner_file(finished / LOCK).read_text()
    assert load_job(finished).status == "killed"  # "running", with no process behind it
    with owning(finished):
        pass  # the kernel freed the dead owner's lock


def test_a_dead_owners_pid_given_to_a_live_process_does_not_read_as_running(finished):
    """The lock is asked, not the pid: here the name left behind is this (live) process's."""
    status = (finished / "status.json").read_text()
    (finished / "status.json").write_text(status.replace('"finished"', '"running"'))
    (finished / LOCK).touch()
    me = f'{{"pid": {os.getpid()}, "host": "{socket.gethostname()}", "since": "2026-01-01"}}'
    owner_file(finished / LOCK).write_text(me)
    assert load_job(finished).status == "killed"
    with owning(finished):  # and a resume may take it at once
        assert load_job(finished).status == "running"


def test_the_api_resuming_a_finished_run_leaves_it_byte_identical(finished):
    before = snapshot(finished)
    run = genlab.train(f"resume={finished}")
    assert run.status["status"] == "finished"
    assert snapshot(finished) == before  # status.json, events, checkpoint: as they were


@pytest.mark.parametrize("inside", ["checkpoints/last.pt", "metrics.json", "images/x.npz"])
def test_sample_never_writes_over_the_runs_own_records(finished, capsys, inside):
    before = snapshot(finished)
    assert exit_status(sample.main, [f"run={finished}", "n=4", f"out={finished / inside}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a record of the run in" in err
    assert snapshot(finished) == before
    sample.main([f"run={finished}", "n=4", f"out={finished / 'extra.npz'}"])  # a new file: fine


def test_two_writers_of_one_file_never_tear_it(tmp_path):
    target, payloads, errors = tmp_path / "f.bin", [bytes([i]) * 2**20 for i in (1, 2)], []

    def write(data):
        try:
            for _ in range(20):
                write_atomic(target, data)
        except Exception as e:  # noqa: BLE001 (any failure is the finding)
            errors.append(e)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left behind


def test_a_file_lock_names_its_owner_and_frees_on_release(tmp_path):
    a, b = FileLock(tmp_path / "l"), FileLock(tmp_path / "l")
    assert a.take() is None
    assert b.take().startswith(f"pid {os.getpid()} on ")  # whoever holds it, named
    a.release()
    assert b.take() is None
    b.release()


def _first_use(rank: int, root: str, notes) -> None:
    from genlab.config.data import make_data
    from genlab.metrics.feature_networks import get_network

    c = {"data": {"name": "synthetic", "root": root, "size": 64, "image_shape": [1, 16, 16],
                  "num_classes": 4}}  # fmt: skip
    train, test = make_data(c, "train"), make_data(c, "test")
    note = functools.partial(_put, notes)
    net = get_network("synthetic", train, test, "cpu", Path(root), progress=note)
    notes.put(("id", net.id))


def _put(notes, line: str) -> None:
    notes.put(("line", line))


@pytest.mark.slow
def test_two_processes_on_first_use_train_the_classifier_once(tmp_path):
    import torch.multiprocessing as mp

    notes = mp.get_context("spawn").SimpleQueue()
    mp.spawn(_first_use, args=(str(tmp_path), notes), nprocs=2)
    seen = []
    while not notes.empty():
        seen.append(notes.get())
    ids = {v for k, v in seen if k == "id"}
    trained = [v for k, v in seen if k == "line" and v.startswith("training the synthetic")]
    assert len(ids) == 1 and len(trained) == 1, seen
    assert len([k for k, _ in seen if k == "line"]) == 2  # "training ..." and its result: no more


def test_waiting_for_a_lock_says_whom_it_waits_for(tmp_path, capsys):
    proc = subprocess.Popen([sys.executable, "-c", HOLD.replace("120", "2"), str(tmp_path / "l")],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "held"
        with FileLock(tmp_path / "l"):  # waits until the holder's sleep ends
            pass
        assert f"waiting for pid {proc.pid} on " in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait()


def test_two_synthetic_sets_keep_a_network_each(compose_cfg, tmp_path, capsys):
    """data.size=64 and data.size=96 make other images: each its own network, never retrained
    when runs alternate between them."""
    for size in (64, 96, 64):
        make_network(to_dict(compose_cfg(f"data.root={tmp_path}", f"data.size={size}")),
                     torch.device("cpu"))  # fmt: skip
    assert len(list((tmp_path / "classifiers").glob("synthetic-*.pt"))) == 2
    assert capsys.readouterr().out.count("training the synthetic classifier") == 2
