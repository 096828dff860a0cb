"""tracking=mlflow: each genlab run is an MLflow run, beside its TensorBoard files.

Params: the run's config flattened ("model.name", ...) and its group of seeds; metrics: the same
names and steps as TensorBoard (train/d_loss, eval/fid, time/train_s); at the end, the sample
grids and metrics.json (and, with tracking.log_checkpoint, checkpoints/last.pt) as artifacts. A
sweep's jobs share an experiment named after the sweep directory. A resumed run continues its
MLflow run (the id is kept in the run directory, mlflow_run.txt) and sends every step once:
scalars wait until a checkpoint holds their step, as a resume repeats the steps after it.

Written on MLflow's client API (MlflowClient) rather than mlflow.start_run's module state, so
runs in one process (a notebook, the local launcher) never share an "active run". The tracking
store never holds the run: records are sent on a thread of their own (Outbox), and a store that
fails or stops answering costs the MLflow copy (one warning), never the run.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from genlab.errors import first_line
from genlab.logging.hparams import hparams_of
from genlab.storage.atomic import write_atomic
from genlab.storage.lock import FileLock
from genlab.tracking import local_path, masked, reachable, store_uri

RUN_ID_FILE = "mlflow_run.txt"
CLOSE_WAIT_S = 30.0  # the end of a run waits at most this long for the records still queued


class MLflowTracker:
    def __init__(self, uri, experiment, log_checkpoint, sweep, config: dict, group: str):
        self.uri = store_uri(uri)
        reachable(self.uri)
        self.experiment = experiment or (f"sweep {Path(sweep).absolute()}" if sweep else "genlab")
        self.log_checkpoint, self.sweep = log_checkpoint, sweep
        self.config, self.group = config, group
        self.client = self.run_id = None
        self._buffer: list = []  # metrics no checkpoint holds yet
        self._final = False
        self._outbox = Outbox(self._drop)
        self._warned = threading.Lock()  # taken once: the one warning

    def start(self, run_dir: Path) -> None:
        """Opens the run's MLflow run: the one it started, when it is resumed. A store that
        fails here (after answering the health check) costs the copy, as it would mid-run."""
        import mlflow

        self.client = mlflow.MlflowClient(tracking_uri=self.uri)
        try:
            self._open(Path(run_dir))
        except Exception as e:  # a server gone since the health check, a locked database, ...
            self._drop(e)

    def _open(self, run_dir: Path) -> None:
        path = run_dir / RUN_ID_FILE
        known = path.read_text().strip() if path.is_file() else ""
        if known and self._still_there(known):
            self.run_id = known
            self.client.update_run(known, status="RUNNING")
            return
        tags = {"genlab.group": self.group, "genlab.run_dir": str(run_dir.absolute())}
        tags |= {"genlab.sweep": str(Path(self.sweep).absolute())} if self.sweep else {}
        run = self.client.create_run(self._experiment_id(), run_name=run_dir.name, tags=tags)
        self.run_id = run.info.run_id
        write_atomic(path, self.run_id + "\n")
        from mlflow.entities import Param

        flat = hparams_of({k: v for k, v in self.config.items() if k != "tracking"})
        params = [Param(k, str(v)[:6000]) for k, v in {**flat, "group": self.group}.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            self._send(self.client.log_batch, self.run_id, params=params[i : i + 100])

    def _still_there(self, run_id: str) -> bool:
        """Whether the store holds the run an earlier launch opened. Only the store's definite
        "no such run" makes a new one; any other error (MLflow has retried it) is raised, as a
        resume that opened a second run would split the run in two."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_run(run_id)
            return True
        except MlflowException as e:  # an id from another store, or a stray file's text
            if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return False
            raise

    def _experiment_id(self) -> str:
        """The experiment, made once: jobs of a sweep starting together take turns on a local
        store (a new SQLite database is migrated by whoever comes first); on a server the one
        that loses the race to create it uses the winner's."""
        from mlflow.exceptions import MlflowException

        local = local_path(self.uri)
        lock = local.with_name(local.name + ".lock") if local else None
        with FileLock(lock) if lock else nullcontext():
            found = self.client.get_experiment_by_name(self.experiment)
            if found is not None:
                return found.experiment_id
            artifacts = None
            if self.uri.startswith("sqlite:///"):  # beside the database, not the working dir
                artifacts = (local.parent / "mlartifacts").as_uri()
            try:
                return self.client.create_experiment(self.experiment, artifact_location=artifacts)
            except MlflowException as e:
                if e.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            return self.client.get_experiment_by_name(self.experiment).experiment_id

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
        was stopped, pruned or failed: a resume continues it). Waits CLOSE_WAIT_S at most for
        the store to take it all."""
        if self.run_id is None:
            return
        if saved_step is not None:
            self.checkpointed(saved_step)
        status = "FINISHED" if done or self._final else "KILLED"
        self._send(self.client.set_terminated, self.run_id, status)
        if not self._outbox.wait(CLOSE_WAIT_S):
            self._drop(f"no answer in {CLOSE_WAIT_S:g} s")

    def _send(self, call, *args, **kwargs) -> None:
        """One call to the tracking store, made on the outbox's thread, never the training's."""
        if self.run_id is not None:
            self._outbox.put(call, *args, **kwargs)

    def _drop(self, why: Exception | str) -> None:
        """The store failed or stopped answering: one warning, then nothing more is sent and the
        run goes on with TensorBoard alone. Called from the outbox's thread too."""
        self.run_id = None
        if self._warned.acquire(blocking=False):
            why = first_line(why, 100) if isinstance(why, BaseException) else why
            print(
                masked(
                    f"warning: tracking.uri={self.uri} stopped taking this run's records "
                    f"({why}); it goes on with TensorBoard alone"
                ),
                file=sys.stderr,
            )


class Outbox:
    """Calls to the tracking store, made in order on a thread of their own: a slow or hung
    server never holds a training step or a checkpoint (on a DDP run the other ranks would time
    out waiting). The first call that fails goes to `failed`, and the thread stops there."""

    def __init__(self, failed):
        self.failed = failed
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def put(self, call, *args, **kwargs) -> None:
        if self.thread is None:
            self.thread = threading.Thread(
                target=self._run, args=(self.calls,), name="genlab-mlflow", daemon=True
            )
            self.thread.start()
        self.calls.put((call, args, kwargs))

    def wait(self, seconds: float) -> bool:
        """Every call queued so far made, within `seconds`? A hung thread is left behind; it is
        a daemon, so it never holds the process's exit."""
        if self.thread is None:
            return True
        self.calls.put(None)  # the thread ends after the calls before it
        self.thread.join(seconds)
        done = not self.thread.is_alive()
        self.thread, self.calls = None, queue.SimpleQueue()  # a hung thread keeps its own
        return done

    def _run(self, calls: queue.SimpleQueue) -> None:
        while (item := calls.get()) is not None:
            call, args, kwargs = item
            try:
                call(*args, **kwargs)
            except Exception as e:  # a server gone, a full disk under a local store, ...
                self.failed(e)
                return
