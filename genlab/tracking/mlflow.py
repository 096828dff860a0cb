"""tracking=mlflow: each genlab run is an MLflow run, beside its TensorBoard files.

Params: the run's config flattened ("model.name", ...) and its group of seeds; metrics: the same
names and steps as TensorBoard (train/d_loss, eval/fid, time/train_s); at the end, the sample
grids and metrics.json (and, with tracking.log_checkpoint, checkpoints/last.pt) as artifacts. A
sweep's jobs share an experiment named after the sweep directory. A resumed run continues its
MLflow run (the id is kept in the run directory, mlflow_run.txt) and sends every step once:
scalars wait until a checkpoint holds their step, as a resume repeats the steps after it.

Written on MLflow's client API (MlflowClient) rather than mlflow.start_run's module state, so
runs in one process (a notebook, the local launcher) never share an "active run".
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from contextlib import nullcontext
from pathlib import Path

from genlab.errors import ConfigError, first_line
from genlab.logging.hparams import hparams_of
from genlab.storage.atomic import write_atomic
from genlab.storage.lock import FileLock

RUN_ID_FILE = "mlflow_run.txt"


class MLflowTracker:
    def __init__(self, uri, experiment, log_checkpoint, sweep, config: dict, group: str):
        self.uri = absolute(uri)
        reachable(self.uri)
        self.experiment = experiment or (f"sweep {Path(sweep).absolute()}" if sweep else "genlab")
        self.log_checkpoint, self.sweep = log_checkpoint, sweep
        self.config, self.group = config, group
        self.client = self.run_id = None
        self._buffer: list = []  # metrics no checkpoint holds yet
        self._final = False

    def start(self, run_dir: Path) -> None:
        """Opens the run's MLflow run: the one it started, when it is resumed."""
        import mlflow

        self.client = mlflow.MlflowClient(tracking_uri=self.uri)
        path = Path(run_dir) / RUN_ID_FILE
        known = path.read_text().strip() if path.is_file() else ""
        if known and self._exists(known):
            self.run_id = known
            self.client.update_run(known, status="RUNNING")
            return
        tags = {"genlab.group": self.group, "genlab.run_dir": str(Path(run_dir).absolute())}
        tags |= {"genlab.sweep": str(Path(self.sweep).absolute())} if self.sweep else {}
        run = self.client.create_run(self._experiment_id(), run_name=Path(run_dir).name, tags=tags)
        self.run_id = run.info.run_id
        write_atomic(path, self.run_id + "\n")
        from mlflow.entities import Param

        flat = hparams_of({k: v for k, v in self.config.items() if k != "tracking"})
        params = [Param(k, str(v)[:6000]) for k, v in {**flat, "group": self.group}.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def _exists(self, run_id: str) -> bool:
        try:
            return self.client.get_run(run_id) is not None
        except Exception:  # an id from another store, or a stray file: a new run
            return False

    def _experiment_id(self) -> str:
        """The experiment, made once: jobs of a sweep starting together take turns (a new SQLite
        database is migrated by whoever comes first)."""
        local = self.uri.removeprefix("sqlite:///").removeprefix("file://")
        lock = Path(local + ".lock") if local != self.uri else None
        with FileLock(lock) if lock else nullcontext():
            found = self.client.get_experiment_by_name(self.experiment)
            if found is not None:
                return found.experiment_id
            artifacts = None
            if self.uri.startswith("sqlite:///"):  # beside the database, not the working dir
                artifacts = (Path(local).parent / "mlartifacts").absolute().as_uri()
            return self.client.create_experiment(self.experiment, artifact_location=artifacts)

    def scalars(self, values: dict[str, float], step: int, prefix: str) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._buffer += [Metric(f"{prefix}/{k}", float(v), now, step) for k, v in values.items()]

    def checkpointed(self, step: int) -> None:
        """A checkpoint at step is on disk: the scalars up to it are sent (a resume starts after
        it, so they are never sent twice)."""
        ready = [m for m in self._buffer if m.step <= step]
        self._buffer = [m for m in self._buffer if m.step > step]
        for i in range(0, len(ready), 1000):  # MLflow takes at most 1000 metrics a batch
            self._send(self.client.log_batch, self.run_id, metrics=ready[i : i + 1000])

    def final(self, run_dir: Path) -> None:
        """The run's end: its sample grids, metrics.json (and checkpoint) as artifacts."""
        run_dir, self._final = Path(run_dir), True
        self._send(self.client.log_artifacts, self.run_id, str(run_dir / "images"), "images")
        self._send(self.client.log_artifact, self.run_id, str(run_dir / "metrics.json"))
        if self.log_checkpoint and (run_dir / "checkpoints" / "last.pt").is_file():
            self._send(
                self.client.log_artifact, self.run_id, str(run_dir / "checkpoints" / "last.pt")
            )

    def close(self, saved_step: int | None, done: bool) -> None:
        """Sends what the last checkpoint holds; FINISHED when the run is done, else KILLED (it
        was stopped, pruned or failed: a resume continues it)."""
        if self.run_id is None:
            return
        if saved_step is not None:
            self.checkpointed(saved_step)
        status = "FINISHED" if done or self._final else "KILLED"
        self._send(self.client.set_terminated, self.run_id, status)

    def _send(self, call, *args, **kwargs) -> None:
        """One call to the tracking server. A server that stops answering mid-run costs the
        MLflow copy, never the run: one warning, then the run goes on with TensorBoard alone."""
        if self.run_id is None:
            return
        try:
            call(*args, **kwargs)
        except Exception as e:  # a server gone, a full disk under a local store, ...
            print(
                f"warning: tracking.uri={self.uri} stopped taking this run's records "
                f"({first_line(e, 100)}); it goes on with TensorBoard alone",
                file=sys.stderr,
            )
            self.run_id = None  # nothing more is sent


def absolute(uri: str) -> str:
    """sqlite:///relative.db and relative folders made absolute: every job finds the same store."""
    if uri.startswith("sqlite:///"):
        return "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).expanduser().absolute())
    if uri.startswith(("http://", "https://", "databricks")):
        return uri
    path = Path(uri.removeprefix("file://")).expanduser().absolute()
    # MLflow 3 keeps its file store in maintenance mode behind this switch; naming a folder here
    # is asking for it (docs: tracking)
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return path.as_uri()


def reachable(uri: str) -> None:
    """An http(s) server must answer its health check, a local store sit where it can be
    written: else one line naming the URI, before any training."""
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10):
                return
        except Exception as e:  # refused, unknown host, timeout, an error page
            why = first_line(getattr(e, "reason", e), 80)
            raise ConfigError(
                f"tracking.uri={uri}: no MLflow server answers ({why}); start one (mlflow server "
                "--host 127.0.0.1 --port 5000) or set tracking=none"
            ) from None
    local = Path(uri.removeprefix("sqlite:///").removeprefix("file://"))
    folder = local.parent if uri.startswith("sqlite:///") else local
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"tracking.uri={uri}: cannot make {folder} ({e.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"tracking.uri={uri}: cannot write into {folder}")
