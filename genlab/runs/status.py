"""What a run leaves for its sweep: status.json (running / finished / failed, wall time, the
one-line error, the returned result) and error.txt (the traceback), written by a Hydra callback
(conf/config.yaml registers it), and the one value a sweeper sees (`objective=`).
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from datetime import datetime
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from genlab.errors import (
    ConfigError,
    GenlabError,
    Interrupted,
    JobFailed,
    NonFiniteError,
    Pruned,
    StorageError,
    first_line,
    storage_error,
)
from genlab.storage.atomic import write_atomic
from genlab.storage.read import read_json

STATUS_FILE = "status.json"
ERROR_FILE = "error.txt"


STOPPED = (Interrupted, KeyboardInterrupt)  # a signal: the run can go on with resume=


def read_status(run_dir: Path) -> dict:
    """The job's status.json as a dict; {} when the job never started (or predates status files);
    StorageError (one line) when the file is empty, truncated or not a status file."""
    return read_json(Path(run_dir) / STATUS_FILE, "a status file", keys=("status",)) or {}


def has_finished(run_dir: Path) -> bool:
    """status.json says finished (an unreadable one says nothing: the job runs again)."""
    try:
        return read_status(run_dir).get("status") == "finished"
    except StorageError:
        return False


def error_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {first_line(e, 1000)}"


class JobRecord:
    """status.json of one run: start(), then finish(result) or fail(error).

    `with JobRecord(run_dir) as job: ...; job.result = {...}` does the same around a block. A
    signal's stop (Ctrl-C, SIGTERM, a time limit) is "interrupted"; a job killed outright
    (SIGKILL, power cut) stays "running" with no process behind it, which `genlab report` shows
    as "killed". Wall time adds up over the launches of a resumed job.
    """

    active: JobRecord | None = None  # the record of the job running in this process

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.result: dict | None = None
        try:
            earlier = read_status(self.run_dir).get("wall_time_s", 0.0)
        except StorageError:  # a broken record is written anew
            earlier = 0.0
        self._earlier = earlier if isinstance(earlier, int | float) else 0.0
        self._start = 0.0
        self.status: dict = {}

    def _write(self, **fields) -> None:
        self.status.update(fields)
        text = json.dumps(self.status, indent=2, default=str) + "\n"
        write_atomic(self.run_dir / STATUS_FILE, text)

    def _wall(self) -> float:
        return round(self._earlier + time.perf_counter() - self._start, 2)

    def start(self) -> None:
        self._start = time.perf_counter()
        now = datetime.now().isoformat(timespec="seconds")
        (self.run_dir / ERROR_FILE).unlink(missing_ok=True)
        self._write(status="running", started=now, wall_time_s=self._earlier, error=None)
        JobRecord.active = self

    def finish(self, result: dict | None) -> None:
        numbers = {k: v for k, v in (result or {}).items() if _is_number(v)}
        self._write(status="finished", wall_time_s=self._wall(), result=numbers)
        JobRecord.active = None

    def fail(self, e: BaseException) -> None:
        trace = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        write_atomic(self.run_dir / ERROR_FILE, trace)
        self._write(status="failed", wall_time_s=self._wall(), error=error_line(e))
        JobRecord.active = None

    def prune(self, e: BaseException) -> None:
        """Stopped by a search's pruner: "pruned", at the step it reached."""
        self._write(status="pruned", wall_time_s=self._wall(), error=str(e))
        JobRecord.active = None

    def stop(self, e: BaseException) -> None:
        """Stopped by a signal: "interrupted", with the wall time so far and the signal."""
        self._write(status="interrupted", wall_time_s=self._wall(), error=error_line(e))
        JobRecord.active = None

    def __enter__(self) -> JobRecord:
        self.start()
        return self

    def __exit__(self, kind, e, tb) -> bool:
        if e is None:
            self.finish(self.result)
        elif isinstance(e, Pruned):
            self.prune(e)
        elif isinstance(e, STOPPED):
            self.stop(e)
        else:
            self.fail(e)
        return False  # never swallow: the caller decides what a failure means


def record_stop(e: BaseException) -> None:
    """A job of this process stopped by a signal: Hydra calls no job-end hook for a
    BaseException, so the task function reports it here."""
    if JobRecord.active is not None:
        _best_effort(JobRecord.active.stop, e)


class StatusCallback(Callback):
    """Hydra's job hooks keep every run's status.json, in single runs and sweeps alike, on
    whatever machine a launcher runs the job; only global rank 0 of a torchrun job writes.

    The task function returns its result dict, or None when it did nothing (a finished run
    resumed, a finished job of a resumed sweep): then status.json stays as it was. A command
    refused before any work (a GenlabError) in a directory that held a run restores that run's
    status.json. on_job_end hands the sweeper the one metric `objective=` names (a float).
    """

    def __init__(self):
        self.record: JobRecord | None = None
        self.before: bytes | None = None  # the status.json the directory held, verbatim

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        self.record = None
        if os.environ.get("RANK", "0") != "0":
            return  # another rank's job: rank 0 keeps the record
        run_dir = Path(config.hydra.runtime.output_dir)
        path = run_dir / STATUS_FILE
        self.before = path.read_bytes() if path.is_file() else None
        sweep_job = config.hydra.mode == RunMode.MULTIRUN
        if config.resume or (sweep_job and self.before is not None):
            try:
                read_status(run_dir)  # a foreign or broken record: one line, and nothing written
            except StorageError as e:  # (Hydra would make a callback's Exception a warning)
                raise JobFailed(e) from None
        if sweep_job and has_finished(run_dir):
            return  # a finished job a sweep launched again skips: untouched
        self.record = JobRecord(run_dir)
        _best_effort(self.record.start)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs) -> None:
        run_dir = Path(config.hydra.runtime.output_dir)
        if job_return.status == JobStatus.COMPLETED:
            result = job_return._return_value
            done = result is not None
            if not done:  # nothing ran: the stored result stands, status.json as it was
                self._restore(run_dir)
                result = _stored_result(run_dir)
            try:
                value = objective(result, config.objective)
            except GenlabError as e:
                job_return.status, job_return.return_value = JobStatus.FAILED, e
            else:
                if done and self.record is not None:
                    _best_effort(self.record.finish, result)
                job_return.return_value = value
        if job_return.status != JobStatus.FAILED:
            return
        error = job_return._return_value
        if isinstance(error, Pruned):  # a search's pruner stopped it: the sweeper records it
            if self.record is not None:
                _best_effort(self.record.prune, error)
            return
        if isinstance(error, OSError) and not isinstance(error, GenlabError):
            error = job_return.return_value = storage_error(error)  # a full disk: one line
        refused = isinstance(error, GenlabError) and not isinstance(error, NonFiniteError)
        if refused and self.before is not None:
            self._restore(run_dir)  # bad input, refused before any work: the run stays as it was
        elif self.record is not None:
            _best_effort(self.record.fail, error)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            error.job_dir = config.hydra.runtime.output_dir  # Hydra runs the others, then raises
        elif isinstance(error, GenlabError):
            raise JobFailed(error)  # the command line prints it in one line

    def _restore(self, run_dir: Path) -> None:
        if self.record is not None and self.before is not None:
            _best_effort(write_atomic, run_dir / STATUS_FILE, self.before)


def _stored_result(run_dir: Path) -> dict:
    try:
        return read_status(run_dir).get("result") or {}
    except StorageError:
        return {}


def _best_effort(write, *args) -> None:
    """A status write that must not hide the job's own error (the disk may be what failed)."""
    try:
        write(*args)
    except OSError:
        pass


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def objective(result: dict, name):
    """The value a sweeper sees: the whole result, or (name set) that metric as a float (a list of
    floats for several objectives, objective=[fid,train_s])."""
    if name is None:
        return result
    if not isinstance(name, str):
        return [objective(result, str(n)) for n in name]
    if name not in result:
        have = ", ".join(sorted(result)) or "nothing"
        raise ConfigError(f"objective={name} is not a value this run returned; it returned {have}")
    value = float(result[name])
    if math.isnan(value):  # a failed trial for Optuna, which cannot rank NaN
        raise NonFiniteError(f"objective={name} is NaN: the run diverged")
    return value
