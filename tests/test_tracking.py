"""tracking=mlflow against a real `mlflow server` (SQLite backend on 127.0.0.1, started and
stopped here, no process left) and against a local file store: each run an MLflow run with the
TensorBoard steps, a resumed run continued with every step once, a sweep's jobs in one
experiment, an unreachable server one line before any training."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import genlab
from genlab.logging.scalars import read_scalars
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
