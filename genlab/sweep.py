"""What a run leaves for its sweep: status.json (running / finished / failed, wall time, the
one-line error, the returned result) and error.txt (the traceback), and what a resumed sweep
does with a job that already ran. Plain Python: the entrypoint passes run directories in.
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from datetime import datetime
from pathlib import Path

STATUS_FILE = "status.json"
ERROR_FILE = "error.txt"


def read_status(run_dir: Path) -> dict:
    """The job's status.json as a dict; {} when the job never started (or predates status files)."""
    path = Path(run_dir) / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")  # atomic: a reader never sees half a file
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def error_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


class JobRecord:
    """`with JobRecord(run_dir) as job: ...; job.result = {...}` keeps status.json up to date.

    A job killed outright (SIGKILL, power cut) stays "running": a resumed sweep treats it as
    interrupted. Wall time adds up over the launches of a resumed job.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.result: dict | None = None
        self._earlier = read_status(self.run_dir).get("wall_time_s", 0.0)
        self._start = 0.0
        self.status: dict = {}

    def _write(self, **fields) -> None:
        self.status.update(fields)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.run_dir / STATUS_FILE, self.status)

    def __enter__(self) -> JobRecord:
        self._start = time.perf_counter()
        now = datetime.now().isoformat(timespec="seconds")
        (self.run_dir / ERROR_FILE).unlink(missing_ok=True)
        self._write(status="running", started=now, wall_time_s=self._earlier, error=None)
        return self

    def __exit__(self, kind, e, tb) -> bool:
        wall = round(self._earlier + time.perf_counter() - self._start, 2)
        if e is None:
            result = {k: v for k, v in (self.result or {}).items() if _is_number(v)}
            self._write(status="finished", wall_time_s=wall, result=result)
        else:
            (self.run_dir / ERROR_FILE).write_text("".join(traceback.format_exception(kind, e, tb)))
            self._write(status="failed", wall_time_s=wall, error=error_line(e))
        return False  # never swallow: the caller decides what a failure means


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def objective(result: dict, name: str | None):
    """The value a sweeper sees: the whole result, or (name set) that one metric as a float."""
    if name is None:
        return result
    if name not in result:
        have = ", ".join(sorted(result)) or "nothing"
        raise ValueError(f"objective={name} is not a value this run returned; it returned {have}")
    value = float(result[name])
    if math.isnan(value):  # a failed trial for Optuna, which cannot rank NaN
        raise ValueError(f"objective={name} is NaN: the run diverged")
    return value
