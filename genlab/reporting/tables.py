"""A sweep's numbers as text: one row per job, one row per group of seeds, and the CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

from genlab.reporting.jobs import Job
from genlab.reporting.stats import Group


def job_rows(jobs: list[Job], keys: list[str], metrics: list[str], fmt=None) -> list[list[str]]:
    """Header row, then one row per job: swept values, status, wall time, metrics."""
    fmt = fmt or _fmt
    rows = [[*keys, "status", "wall_s", *metrics]]
    for job in jobs:
        wall = "" if job.wall_time_s is None else f"{job.wall_time_s:.1f}"
        values = [fmt(job.metrics.get(m)) for m in metrics]
        rows.append([*(job.overrides.get(k, "") for k in keys), job.status, wall, *values])
    return rows


def group_rows(groups: list[Group], metrics: list[str]) -> list[list[str]]:
    """Header row, then one row per group: its keys, n measured / asked, mean ± 95% CI."""
    keys = [k for k, _ in groups[0].key] if groups else []
    rows = [[*keys, "n", *metrics]]
    for g in groups:
        n = max(g.summary(m).n for m in metrics) if metrics else 0
        values = [g.summary(m).text() for m in metrics]
        rows.append([*(v for _, v in g.key), f"{n}/{len(g.jobs)}", *values])
    return rows


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4g}"


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def write_csvs(out: Path, jobs, keys, groups, metrics) -> None:
    """report.csv: a row per job, with its group (as the run's HParams row names it);
    report_groups.csv: a row per group, with n, mean, std and the 95% interval per metric."""
    full = job_rows(jobs, keys, metrics, fmt=lambda v: "" if v is None else repr(v))
    with open(out / "report.csv", "w", newline="") as f:
        lines = [[*r, j.error or "", j.group, j.run_dir.name]
                 for j, r in zip(jobs, full[1:], strict=True)]  # fmt: skip
        csv.writer(f).writerows([[*full[0], "error", "group", "run_dir"], *lines])
    with open(out / "report_groups.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", "asked", *(f"{m}_{s}" for m in metrics for s in STATS)])
        for g in groups:
            row = [g.label, len(g.jobs)]
            for m in metrics:
                s = g.summary(m)
                row += [s.n, s.mean, s.std, s.half]
            w.writerow(row)


STATS = ("n", "mean", "std", "ci95")
