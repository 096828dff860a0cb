"""The report of a sweep: every job's overrides, final metrics, wall time and status.

    python -m genlab.report outputs/multirun/2025-01-01_12-00-00 --sort fid --plot optimizer.lr

prints a markdown table sorted by --sort, writes it as report.md and report.csv in the sweep
directory, lists the failed jobs with their one-line error, and saves report.png: each metric of
--y against the swept key --plot, one line per combination of the other swept keys.

A job's metrics are its metrics.json (written by the evaluation at the end of training), on top
of the last value of every scalar it logged to TensorBoard (train/loss -> loss).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from genlab.errors import StorageError, storage_error
from genlab.logging.metrics_json import read_metrics
from genlab.logging.scalars import read_scalars
from genlab.runs.directory import runs_now
from genlab.runs.status import read_status
from genlab.storage.read import read_yaml

QUALITY = (  # the report's columns by default, when the jobs have them (--metrics all: every one)
    "class_accuracy", "fid", "recall", "precision", "min_class_share", "kid", "neg_elbo",
    "iw_nll", "psnr",
)  # fmt: skip


@dataclass
class Job:
    run_dir: Path
    overrides: dict[str, str]
    status: str  # running / finished / failed / unknown (no status.json)
    wall_time_s: float | None
    error: str | None
    metrics: dict[str, float] = field(default_factory=dict)


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory under sweep_dir (the ones Hydra saved overrides in)."""
    runs = sorted({p.parent.parent for p in Path(sweep_dir).glob("**/.hydra/overrides.yaml")})
    return [load_job(run) for run in runs]


def load_job(run_dir: Path) -> Job:
    """A job from its files; one whose files cannot be read is "unreadable", with the reason."""
    try:
        items = read_yaml(run_dir / ".hydra" / "overrides.yaml", "an overrides file", list) or []
        overrides = dict(str(item).split("=", 1) for item in items if "=" in str(item))
        overrides = {k.lstrip("+~"): v for k, v in overrides.items()}
    except StorageError as e:
        return Job(run_dir, {}, "unreadable", None, str(e))
    try:
        status = read_status(run_dir)
        metrics = {**last_scalars(run_dir), **read_metrics(run_dir)}
    except StorageError as e:
        return Job(run_dir, overrides, "unreadable", None, str(e))
    state = status.get("status", "unknown")
    if state == "running" and not runs_now(run_dir):
        state = "killed"  # no process owns it: stopped outright (SIGKILL, a power cut)
    wall = status.get("wall_time_s")
    return Job(
        run_dir,
        overrides,
        state,
        wall if isinstance(wall, int | float) else None,
        status.get("error"),
        {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
    )


def last_scalars(run_dir: Path) -> dict[str, float]:
    """The last logged value of every TensorBoard scalar in run_dir (tags train/x, eval/x -> x;
    a final eval/x, also in metrics.json, wins over train/x)."""
    scalars = read_scalars(run_dir, last_only=True)
    out = {}
    for tag in sorted(scalars, key=lambda t: t.startswith("eval/")):
        out[tag.removeprefix("train/").removeprefix("eval/")] = scalars[tag][-1][1]
    return out


def swept_keys(jobs: list[Job]) -> list[str]:
    """Override keys whose value differs between jobs, in command-line order."""
    keys: list[str] = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys]
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]


def sort_jobs(jobs: list[Job], metric: str | None, descending: bool = False) -> list[Job]:
    """By metric (jobs without it last); unsorted when metric is None."""
    if metric is None:
        return jobs
    sign = -1 if descending else 1

    def key(job: Job):
        v = job.metrics.get(metric, math.nan)
        return (math.isnan(v), sign * v if not math.isnan(v) else 0.0)

    return sorted(jobs, key=key)


def table(jobs: list[Job], keys: list[str], metrics: list[str], fmt=None) -> list[list[str]]:
    """Header row, then one row per job: swept values, status, wall time, metrics."""
    fmt = fmt or _fmt
    rows = [[*keys, "status", "wall_s", *metrics]]
    for job in jobs:
        wall = "" if job.wall_time_s is None else f"{job.wall_time_s:.1f}"
        values = [fmt(job.metrics.get(m)) for m in metrics]
        rows.append([*(job.overrides.get(k, "") for k in keys), job.status, wall, *values])
    return rows


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4g}"


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def plot(jobs: list[Job], x: str, ys: list[str], keys: list[str], path: Path) -> None:
    """One panel per metric in ys against swept key x; a line per combination of other keys."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = _ordered({job.overrides.get(x, "") for job in jobs})
    numeric = all(_is_float(v) for v in xs)
    position = {v: (float(v) if numeric else i) for i, v in enumerate(xs)}
    others = [k for k in keys if k != x]
    fig, axes = plt.subplots(1, len(ys), figsize=(4.2 * len(ys), 3.6), squeeze=False)
    for ax, y in zip(axes[0], ys, strict=True):
        groups: dict[str, list[tuple[float, float]]] = {}
        for job in jobs:
            if y in job.metrics and not math.isnan(job.metrics[y]):
                label = _label(job, others) if others else y
                groups.setdefault(label, []).append(
                    (position[job.overrides.get(x, "")], job.metrics[y])
                )
        for label, points in sorted(groups.items()):
            points.sort()
            style = "-" if numeric else "none"  # no lines between unordered categories
            ax.plot(*zip(*points, strict=True), marker="o", linestyle=style, label=label)
        ax.set_title(y)
        ax.set_xlabel(x)
        if numeric and len(xs) > 2 and min(map(float, xs)) > 0:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(xs)), xs)
            ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.grid(alpha=0.3)
        if groups:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _label(job: Job, keys: list[str]) -> str:
    return ",".join(f"{k}={job.overrides.get(k, '')}" for k in keys) or job.run_dir.name


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _ordered(values: set[str]) -> list[str]:
    return sorted(values, key=lambda v: (0, float(v), "") if _is_float(v) else (1, 0.0, v))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog=sys.argv[0] if sys.argv[0].startswith("genlab") else "python -m genlab.report",
        description=__doc__.split("\n")[0],
    )
    p.add_argument("sweep_dir", type=Path, help="a multirun directory (outputs/multirun/<time>)")
    p.add_argument("--sort", help="metric to sort by, ascending (e.g. fid)")
    p.add_argument("--descending", action="store_true", help="sort from the largest value")
    p.add_argument(
        "--metrics",
        help="comma-separated metric columns, or `all` (default: the jobs' quality metrics)",
    )
    p.add_argument("--plot", help="swept key on the plot's x axis (default: the first swept key)")
    p.add_argument("--y", help="comma-separated metrics to plot (default: --sort, else all)")
    p.add_argument("--out", type=Path, help="where report.{md,csv,png} go (default: sweep_dir)")
    a = p.parse_args(argv)

    jobs = find_jobs(a.sweep_dir)
    if not jobs:
        print(f"error: no jobs under {a.sweep_dir} (no */.hydra/overrides.yaml)", file=sys.stderr)
        return 2
    found = sorted({m for job in jobs for m in job.metrics})
    metrics = a.metrics.split(",") if a.metrics and a.metrics != "all" else found
    if not a.metrics:
        metrics = [m for m in QUALITY if m in found] or found
        metrics = ([a.sort] if a.sort and a.sort not in metrics else []) + metrics
    for m in [*metrics, *([a.sort] if a.sort else [])]:
        if m not in found:
            print(
                f"error: no job has metric {m}; the jobs have {', '.join(found)}", file=sys.stderr
            )
            return 2
    keys = swept_keys(jobs)
    jobs = sort_jobs(jobs, a.sort, a.descending)
    rows = table(jobs, keys, metrics)
    out = a.out or a.sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(rows)
    fixed = {k: v for k, v in jobs[0].overrides.items() if k not in keys}
    head = f"{len(jobs)} jobs in {a.sweep_dir}" + (f"; sorted by {a.sort}" if a.sort else "")
    if fixed:
        head += "\nevery job: " + " ".join(f"{k}={v}" for k, v in fixed.items())
    failed = [job for job in jobs if job.status in ("failed", "unreadable")]
    tail = "".join(f"\n- {_label(job, keys)}: {job.error}" for job in failed)
    tail = f"\n\n{len(failed)} failed:{tail}" if failed else ""
    report = f"{head}\n\n{text}{tail}\n"
    print(report)
    (out / "report.md").write_text(report)
    full = table(jobs, keys, metrics, fmt=lambda v: "" if v is None else repr(v))
    with open(out / "report.csv", "w", newline="") as f:
        lines = [[*r, j.error or "", j.run_dir.name] for j, r in zip(jobs, full[1:], strict=True)]
        csv.writer(f).writerows([[*full[0], "error", "run_dir"], *lines])
    x = a.plot or (keys[0] if keys else None)
    if x is not None:
        if x not in keys:
            print(
                f"error: --plot {x} is not a swept key; choose one of {', '.join(keys)}",
                file=sys.stderr,
            )
            return 2
        ys = a.y.split(",") if a.y else ([a.sort] if a.sort else metrics)
        plot(jobs, x, ys, keys, out / "report.png")
        print(f"plot: {out / 'report.png'}")
    return 0


def cli(args: list[str]) -> int:
    try:
        return main(args)
    except OSError as e:  # --out on a read-only folder, a file, a full disk: one line
        print(f"error: {storage_error(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
