"""The report of a sweep: its jobs and, over seeds, its groups, with intervals and tests.

    python -m genlab.report outputs/multirun/2025-01-01_12-00-00 --sort fid --plot optimizer.lr
    python -m genlab.report outputs/studies/gan_losses/mlp --compare loss

prints a markdown table of the jobs (sorted by --sort) and, when a key such as `seed` repeats a
configuration, one of the groups: mean ± 95% confidence interval and n per metric; `--compare KEY`
tests the groups that differ in KEY alone (Welch's t, genlab/reporting/stats.py). Writes, in the
sweep directory (or --out): report.md, report.csv (a row per job, with its group),
report_groups.csv, report.png (metrics against a swept key) and report.html (all of it with every
group's last sample grid and the metric curves, self-contained). Jobs measured by different
feature networks or on different data sets are refused in one line: --network picks one network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genlab.errors import StorageError, storage_error
from genlab.logging.hparams import is_experiment_key
from genlab.metrics.names import MOVED_BY, direction
from genlab.reporting.jobs import (
    find_jobs,
    label,
    measured_by,
    settings_of,
    sort_jobs,
    swept_keys,
)
from genlab.storage.read import read_yaml

QUALITY = (  # the report's columns by default, when the jobs have them (--metrics all: every one)
    "class_accuracy", "fid", "recall", "precision", "min_class_share", "kid", "neg_elbo",
    "iw_nll", "psnr", "memorized_share",
)  # fmt: skip


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=sys.argv[0] if sys.argv[0].startswith("genlab") else "python -m genlab.report",
        description=__doc__.split("\n")[0],
    )
    p.add_argument("sweep_dir", type=Path, help="a multirun directory (outputs/multirun/<time>)")
    p.add_argument("--sort", help="metric to sort by, ascending (e.g. fid)")
    p.add_argument("--descending", action="store_true", help="sort from the largest value")
    p.add_argument("--metrics", help="comma-separated columns, or `all` (default: quality ones)")
    p.add_argument("--compare", help="test the groups that differ in this key alone (e.g. loss)")
    p.add_argument("--pareto", help="the jobs no other beats on all these metrics (fid,train_s)")
    p.add_argument("--network", help="only the jobs measured by this feature network (its id)")
    p.add_argument("--plot", help="swept key on the plot's x axis (default: the first swept key)")
    p.add_argument("--y", help="comma-separated metrics to plot (default: --sort, else all)")
    p.add_argument("--out", type=Path, help="where the report's files go (default: sweep_dir)")
    return p.parse_args(argv)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    jobs = find_jobs(a.sweep_dir)
    if a.network:
        jobs = [j for j in jobs if j.measured.get("network") in (a.network, None)]
    if not jobs:
        return fail(f"no jobs under {a.sweep_dir} (no */.hydra/overrides.yaml)")
    for key, what in (("network", "feature networks"), ("data", "data sets")):
        seen = measured_by(jobs, key)
        if len(seen) > 1:
            return fail(
                f"the jobs were measured on different {what} ({', '.join(seen)}): their numbers "
                "do not compare; report one sweep at a time, or pick one: --network ID"
            )
    unfit: dict[str, str] = {}  # a metric measured differently -> why
    for key in [k for k in settings_of(jobs) if k != "sampling_seed"]:
        seen = measured_by(jobs, key)
        if len(seen) > 1 and key not in MOVED_BY:
            return fail(
                f"the jobs were measured with different {key} ({', '.join(seen)}): their numbers "
                f"do not compare; evaluate them alike (genlab evaluate run=... {key}=...)"
            )
        if len(seen) > 1:
            unfit |= {
                m: f"measured with different {key} ({', '.join(seen)})" for m in MOVED_BY[key]
            }
    asked = [*(a.metrics or "").split(","), a.sort, *(a.pareto or "").split(",")]
    for m in [m for m in asked if m in unfit]:
        return fail(f"{m} does not compare across these jobs: {unfit[m]}")
    for job in jobs:  # those metrics stay out of the tables and the tests
        for m in unfit:
            job.metrics.pop(m, None)
    found = sorted({m for job in jobs for m in job.metrics})
    metrics = a.metrics.split(",") if a.metrics and a.metrics != "all" else found
    if not a.metrics:
        metrics = [m for m in QUALITY if m in found] or found
        metrics = ([a.sort] if a.sort and a.sort not in metrics else []) + metrics
    pareto = a.pareto.split(",") if a.pareto else searched_objectives(a.sweep_dir)
    if a.pareto and len(set(pareto)) < 2:
        return fail(f"--pareto {a.pareto}: a front needs two metrics or more (e.g. fid,train_s)")
    aimless = [m for m in pareto if direction(m) is None]
    if aimless:
        return fail(f"--pareto {a.pareto}: {aimless[0]} has no better direction; a front needs "
                    "metrics that are better higher or lower")  # fmt: skip
    metrics += [m for m in pareto if m not in metrics]
    for m in [*metrics, *([a.sort] if a.sort else [])]:
        if m not in found:
            return fail(f"no job has metric {m}; the jobs have {', '.join(found)}")
    keys = swept_keys(jobs)
    if a.plot and a.plot not in keys:
        return fail(f"--plot {a.plot} is not a swept key; choose one of {', '.join(keys)}")
    from genlab.reporting.stats import group_jobs

    jobs = sort_jobs(jobs, a.sort, a.descending)
    groups = group_jobs(jobs, keys)
    if a.sort:  # the groups by their mean, as the jobs by their value
        sign = -1 if a.descending else 1
        mean = lambda g: g.summary(a.sort).mean  # noqa: E731
        groups.sort(key=lambda g: (mean(g) is None, sign * (mean(g) or 0.0)))
    verdicts = []
    if a.compare:
        from genlab.reporting.stats import compare

        metric = a.sort or metrics[0]
        try:
            verdicts = [(a.compare, v) for v in compare(groups, a.compare, metric)]
        except ValueError as e:
            return fail(str(e))
    out = a.out or a.sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    return write(a, out, jobs, keys, groups, metrics, verdicts, pareto, unfit)


def write(a, out: Path, jobs, keys, groups, metrics, verdicts, pareto, unfit) -> int:
    from genlab.reporting.figures import curves, last_grid, plot
    from genlab.reporting.page import write_page
    from genlab.reporting.tables import group_rows, job_rows, markdown, write_csvs

    notes = [f"{len(jobs)} jobs in {a.sweep_dir}" + (f"; sorted by {a.sort}" if a.sort else "")]
    fixed = {k: v for k, v in jobs[0].overrides.items() if k not in keys and is_experiment_key(k)}
    if fixed:
        notes.append("every job: " + " ".join(f"{k}={v}" for k, v in fixed.items()))
    notes += [measured_line(jobs)] if measured_by(jobs, "network") else []
    for reason in sorted(set(unfit.values())):
        notes.append(f"left out, {reason}: {', '.join(m for m in unfit if unfit[m] == reason)}")
    copies = [pair for g in groups for pair in g.copies]
    notes += [f"counted once (the configuration and seed of {kept.run_dir}): {job.run_dir}"
              for job, kept in copies]  # fmt: skip
    text = "\n".join(notes) + "\n\n" + markdown(job_rows(jobs, keys, metrics))
    if any(len(g.jobs) > 1 for g in groups):
        text += "\n\ngroups of seeds (mean ± 95% CI; n = runs measured / runs asked):\n\n"
        text += markdown(group_rows(groups, metrics))
    if verdicts:
        metric = verdicts[0][1].metric
        way = {True: "higher is better", False: "lower is better", None: "no better direction"}
        text += f"\n\n--compare {a.compare} on {metric} ({way[direction(metric)]}):\n"
        text += "".join(f"\n- {v.text(key)}" for key, v in verdicts)
    if len(pareto) > 1:
        from genlab.reporting.pareto import pareto_front

        ways = ", ".join(f"{m} {'higher' if direction(m) else 'lower'}" for m in pareto)
        text += f"\n\nPareto front ({ways} is better):\n" + "".join(
            f"\n- {label(job, keys)}: " + ", ".join(f"{m} {job.metrics[m]:.4g}" for m in pareto)
            for job in pareto_front(jobs, pareto)
        )
    failed = [job for job in jobs if job.status in ("failed", "unreadable")]
    if failed:
        text += f"\n\n{len(failed)} failed:" + "".join(
            f"\n- {label(job, keys)}: {job.error}" for job in failed
        )
    print(text + "\n")
    (out / "report.md").write_text(text + "\n")
    write_csvs(out, jobs, keys, groups, metrics)
    x = a.plot or (keys[0] if keys else None)
    if x is not None:
        plot(jobs, x, a.y.split(",") if a.y else ([a.sort] if a.sort else metrics), keys,
             out / "report.png")  # fmt: skip
        print(f"plot: {out / 'report.png'}")
    drawn = curves(groups, metrics, out / "report_curves.png")
    grids = {g.label: last_grid(g) for g in groups}
    checked = [g for g in groups if any("memorized_share" in j.metrics for j in g.jobs)]
    closest = {g.label: last_grid(g, "closest_to_train") for g in checked}
    write_page(out / "report.html", f"genlab report: {a.sweep_dir}", notes, groups, jobs, keys,
               metrics, verdicts, grids, out / "report_curves.png" if drawn else None,
               closest)  # fmt: skip
    print(f"page: {out / 'report.html'}")
    return 0


def searched_objectives(sweep_dir: Path) -> list[str]:
    """The objectives of the multi-objective search that wrote sweep_dir, if it was one."""
    try:
        results = read_yaml(Path(sweep_dir) / "optimization_results.yaml", "search results")
    except StorageError:
        return []  # unreadable: a report without the front, not a failing one
    objectives = (results or {}).get("objectives")
    if not isinstance(objectives, list) or len(objectives) < 2:
        return []
    return [str(o) for o in objectives]


def measured_line(jobs) -> str:
    """What measured the jobs: the feature network, its floor, the data, genlab's version."""
    first = next(j.measured for j in jobs if j.measured.get("network"))
    floor = first.get("floor_fid")
    parts = [f"measured in {first['network']}"]
    parts += [f"floor FID {floor:.3g} (real training vs real test images)"] if floor else []
    parts.append(first.get("reference", ""))
    for key, name in (("data", "data="), ("genlab", "genlab ")):
        seen, unsaid = measured_by(jobs, key), sum(not j.measured.get(key) for j in jobs)
        missing = f" ({unsaid} of {len(jobs)} jobs do not record it)" if unsaid else ""
        parts.append(f"{name}{', '.join(seen) or '?'}{missing}")
    return "; ".join(p for p in parts if p)


def cli(args: list[str]) -> int:
    try:
        return main(args)
    except OSError as e:  # --out on a read-only folder, a file, a full disk: one line
        print(f"error: {storage_error(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
