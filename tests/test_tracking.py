"""tracking=mlflow against a real `mlflow server` (SQLite backend on 127.0.0.1, started and
stopped here, no process left) and against a local file store: each run an MLflow run with the
TensorBoard steps, a resumed run continued with every step once, a sweep's jobs in one
experiment, an unreachable server one line before any training; and what it cannot lose or leak:
a URI it does not serve refused without its password, a sweep's race to make the experiment, a
resume that cannot look its run up, a hung server that never holds a checkpoint."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import genlab
from genlab.logging.scalars import read_scalars
from genlab.tracking.mlflow import MLflowTracker
from genlab.train import cli
from tests.conftest import TINY, free_port, wait_until_answers

mlflow = pytest.importorskip("mlflow")

RUN = [*TINY, "model=gan", "arch.hidden=16", "trainer.epochs=2", "trainer.max_steps=6",
       "trainer.checkpoint_every=2", "eval.n_samples=40", "tracking=mlflow"]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mlflow server` on 127.0.0.1 with a SQLite backend; its whole process group is stopped."""
    folder = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow_cli), "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{folder}/mlflow.db",
               "--workers", "1"]  # fmt: skip
    with open(folder / "server.log", "w") as log:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/health", process)  # its log: server.log in folder
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server, its uvicorn and its job runners
        process.wait(timeout=60)
        for _ in range(60):
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        else:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("mlflow server left processes behind")


def history(client, run_id: str) -> dict[str, list[tuple[int, float]]]:
    run = client.get_run(run_id)
    return {
        tag: sorted((m.step, m.value) for m in client.get_metric_history(run_id, tag))
        for tag in run.data.metrics
    }


def test_a_run_is_an_mlflow_run_with_tensorboards_steps_and_its_artifacts(server, tmp_path):
    run = genlab.train(*RUN, f"tracking.uri={server}", run_dir=tmp_path / "run").dir
    client = mlflow.MlflowClient(server)
    logged = client.get_run((run / "mlflow_run.txt").read_text().strip())
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    assert logged.data.params["model.name"] == "gan" and logged.data.params["arch.hidden"] == "16"
    assert client.get_experiment(logged.info.experiment_id).name == "genlab"
    tensorboard, tracked = read_scalars(run), history(client, logged.info.run_id)
    assert set(tracked) == set(tensorboard) and "eval/fid" in tracked
    for tag, points in tensorboard.items():
        assert [s for s, _ in tracked[tag]] == [s for s, _ in points], tag
        assert [v for _, v in tracked[tag]] == pytest.approx([v for _, v in points], rel=1e-5)
    names = {a.path for a in client.list_artifacts(logged.info.run_id)}
    grids = {a.path for a in client.list_artifacts(logged.info.run_id, "images")}
    assert "metrics.json" in names and "checkpoints" not in names  # log_checkpoint: false
    assert grids == {f"images/{p.name}" for p in (run / "images").glob("*.png")} and grids


def test_a_resumed_run_continues_its_mlflow_run_and_sends_each_step_once(
    server, tmp_path, monkeypatch
):
    """The run dies at step 5 (its last checkpoint: step 4); the resume trains 5 and 6 again:
    MLflow gets each step once, as TensorBoard (which purges after the checkpoint) shows."""
    from genlab.logging.tensorboard import RunLogger

    scalars = RunLogger.scalars

    def dies_at_5(self, values, step, prefix="train"):
        scalars(self, values, step, prefix)
        if step == 5:
            raise RuntimeError("the machine went away")

    monkeypatch.setattr(RunLogger, "scalars", dies_at_5)
    with pytest.raises(RuntimeError):
        genlab.train(*RUN, f"tracking.uri={server}", run_dir=tmp_path / "run")
    monkeypatch.setattr(RunLogger, "scalars", scalars)
    client, run = mlflow.MlflowClient(server), tmp_path / "run"
    run_id = (run / "mlflow_run.txt").read_text().strip()
    assert client.get_run(run_id).info.status == "KILLED"
    assert [s for s, _ in history(client, run_id)["train/d_loss"]] == [1, 2, 3, 4]
    genlab.train(f"resume={run}")
    assert (run / "mlflow_run.txt").read_text().strip() == run_id
    tracked = history(client, run_id)
    assert [s for s, _ in tracked["train/d_loss"]] == [1, 2, 3, 4, 5, 6]  # 5 once
    assert [s for s, _ in read_scalars(run)["train/d_loss"]] == [1, 2, 3, 4, 5, 6]
    assert [s for s, _ in tracked["eval/fid"]] == [6]
    assert client.get_run(run_id).info.status == "FINISHED"


def test_a_sweeps_jobs_share_an_experiment_in_a_file_store(run_cli, tmp_path):
    store, sweep = tmp_path / "mlruns", tmp_path / "sweep"
    result = run_cli("-m", *RUN, "seed=0,1", f"tracking.uri=file://{store}",
                     "trainer.max_steps=2", f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3's file store switch
    client = mlflow.MlflowClient(store.as_uri())
    experiment = client.get_experiment_by_name(f"sweep {sweep}")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(p.name for p in sweep.glob("*seed=*"))
    assert {r.data.tags["genlab.sweep"] for r in runs} == {str(sweep)}
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 2


def test_a_server_that_does_not_answer_stops_the_run_before_training(tmp_path, capsys):
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as e:
        cli([*RUN, f"tracking.uri={uri}", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and f"tracking.uri={uri}: no MLflow" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_server_that_stops_answering_mid_run_costs_the_copy_not_the_run(
    server, tmp_path, monkeypatch, capsys
):
    def gone(*args, **kwargs):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(mlflow.MlflowClient, "log_artifacts", gone)
    run = genlab.train(*RUN, f"tracking.uri={server}", run_dir=tmp_path / "run")
    assert run.status["status"] == "finished" and (run.dir / "metrics.json").is_file()
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "stopped taking this run's records" in warnings[0]


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://u:secret@127.0.0.1:5432/mlflow",
        "s3://u:secret@bucket/mlruns",
        f"http://u:secret@127.0.0.1:{free_port()}",  # served, but nothing answers there
    ],
)
def test_a_uri_genlab_does_not_serve_is_one_line_without_its_password(
    uri, tmp_path, monkeypatch, capsys
):
    """It used to be read as a folder: a file store named with the password, exit 0."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli([*RUN, f"tracking.uri={uri}", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "u:***@" in err and "secret" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no store made, Hydra's run dir only
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("path", ["mlruns", "/abs/mlruns", "C:\\mlruns", "file:///abs/mlruns"])
def test_a_path_stays_a_file_store(path, tmp_path, monkeypatch):
    from genlab.tracking import store_uri

    monkeypatch.chdir(tmp_path)
    assert store_uri(path).startswith("file:///")


def test_a_sweep_job_that_loses_the_race_to_make_the_experiment_uses_the_winners(
    server, tmp_path, monkeypatch
):
    """Another job makes the experiment between this job's look and its create: the server
    answers RESOURCE_ALREADY_EXISTS, which used to fail the job."""
    winner = mlflow.MlflowClient(server).create_experiment("race")
    looks = []
    look = mlflow.MlflowClient.get_experiment_by_name

    def too_early(self, name):  # the first look comes before the other job's create
        looks.append(name)
        return None if len(looks) == 1 else look(self, name)

    monkeypatch.setattr(mlflow.MlflowClient, "get_experiment_by_name", too_early)
    tracker = MLflowTracker(server, "race", False, None, {"seed": 0}, "defaults")
    tracker.start(tmp_path)
    tracker.close(None, done=True)
    assert tracker.run_id is not None, "the job lost its tracking"
    assert mlflow.MlflowClient(server).get_run(tracker.run_id).info.experiment_id == winner


def started_run(server, run_dir: Path, experiment: str) -> str:
    """A run an earlier launch opened and left (its id in run_dir), as a resume finds it."""
    first = MLflowTracker(server, experiment, False, None, {"seed": 0}, "defaults")
    first.start(run_dir)
    first.close(None, done=False)
    return (run_dir / "mlflow_run.txt").read_text().strip()


@pytest.mark.parametrize(
    "error",
    [
        mlflow.exceptions.MlflowException("503 busy", error_code="TEMPORARILY_UNAVAILABLE"),
        ConnectionError("connection reset by peer"),
    ],
)
def test_a_resume_that_cannot_look_its_run_up_never_opens_a_second_one(
    error, server, tmp_path, monkeypatch, capsys
):
    experiment = f"resume {error}"
    run_id = started_run(server, tmp_path, experiment)

    def transient(self, run_id):
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(mlflow.MlflowClient, "get_run", transient)
        again = MLflowTracker(server, experiment, False, None, {"seed": 0}, "defaults")
        again.start(tmp_path)
        again.scalars({"d_loss": 1.0}, 1, "train")
        again.close(1, done=True)
    client = mlflow.MlflowClient(server)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]  # no second run
    assert (tmp_path / "mlflow_run.txt").read_text().strip() == run_id  # a later resume finds it
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "TensorBoard alone" in warnings[0]


def test_a_run_id_the_store_does_not_hold_starts_a_new_run(server, tmp_path):
    """The store's definite "no such run" (an id from another store): a new run, its id kept."""
    (tmp_path / "mlflow_run.txt").write_text("0123456789abcdef0123456789abcdef\n")
    tracker = MLflowTracker(server, "stray", False, None, {"seed": 0}, "defaults")
    tracker.start(tmp_path)
    tracker.close(None, done=True)
    assert tracker.run_id not in (None, "0123456789abcdef0123456789abcdef")
    assert (tmp_path / "mlflow_run.txt").read_text().strip() == tracker.run_id


def test_genlab_bounds_each_call_to_a_server_and_a_users_own_setting_wins(server, monkeypatch):
    """MLflow's defaults (120 s a request, 7 retries) would hold a call for about 16 minutes."""
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES")  # unset here, as it was after
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    MLflowTracker(server, None, False, None, {"seed": 0}, "defaults")
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 300 and MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() <= 3


def test_a_hung_server_never_holds_a_checkpoint_nor_the_runs_end(
    server, tmp_path, monkeypatch, capsys
):
    """A server that takes connections and never answers, from mid-run on: a checkpoint goes
    on at once, the run's end waits CLOSE_WAIT_S at most, and says so once."""
    import genlab.tracking.mlflow as tracking

    monkeypatch.setattr(tracking, "CLOSE_WAIT_S", 2.0, raising=False)
    tracker = MLflowTracker(server, "hung", False, None, {"seed": 0}, "defaults")
    tracker.start(tmp_path)
    took = {}

    def trains_and_ends():
        start = time.monotonic()
        tracker.scalars({"d_loss": 1.0}, 2, "train")
        tracker.checkpointed(2)
        took["checkpoint"] = time.monotonic() - start
        tracker.close(2, done=True)
        took["end"] = time.monotonic() - start

    with socket.socket() as silent:  # the kernel takes connections; nothing ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        tracker.client = mlflow.MlflowClient(f"http://127.0.0.1:{silent.getsockname()[1]}")
        training = threading.Thread(target=trains_and_ends, daemon=True)
        training.start()
        training.join(timeout=20)
    assert took.get("checkpoint", 99) < 0.5 and took.get("end", 99) < 5, took
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "no answer in 2 s" in warnings[0], warnings
