"""A sweep's pictures: each metric against a swept key, each metric's curve over training time,
and each group's last sample grid."""

from __future__ import annotations

import math
from pathlib import Path

from genlab.logging.scalars import read_scalars
from genlab.reporting.jobs import Job, label
from genlab.reporting.stats import Group


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(jobs: list[Job], x: str, ys: list[str], keys: list[str], path: Path) -> None:
    """One panel per metric in ys against swept key x; a line per combination of other keys."""
    plt = _pyplot()
    xs = _ordered({job.overrides.get(x, "") for job in jobs})
    numeric = all(_is_float(v) for v in xs)
    position = {v: (float(v) if numeric else i) for i, v in enumerate(xs)}
    others = [k for k in keys if k != x]
    fig, axes = plt.subplots(1, len(ys), figsize=(4.2 * len(ys), 3.6), squeeze=False)
    for ax, y in zip(axes[0], ys, strict=True):
        lines: dict[str, list[tuple[float, float]]] = {}
        for job in jobs:
            if y in job.metrics and not math.isnan(job.metrics[y]):
                name = label(job, others) if others else y
                lines.setdefault(name, []).append(
                    (position[job.overrides.get(x, "")], job.metrics[y])
                )
        for name, points in sorted(lines.items()):
            points.sort()
            style = "-" if numeric else "none"  # no lines between unordered categories
            ax.plot(*zip(*points, strict=True), marker="o", linestyle=style, label=name)
        ax.set_title(y)
        ax.set_xlabel(x)
        if numeric and len(xs) > 2 and min(map(float, xs)) > 0:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(xs)), xs)
            ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.grid(alpha=0.3)
        if lines:
            ax.legend(fontsize=7)
    _tight(fig)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curves(groups: list[Group], metrics: list[str], path: Path) -> bool:
    """Each metric's eval/ curve over training time (or steps), one colour per group, one line
    per seed; False when no job measured along the way (nothing drawn)."""
    series = {(g.label, j.run_dir): read_scalars(j.run_dir) for g in groups for j in g.jobs}
    shown = [m for m in metrics if any(f"eval/{m}" in s for s in series.values())]
    if not shown:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.4), squeeze=False)
    colours = {g.label: f"C{i % 10}" for i, g in enumerate(groups)}
    for ax, m in zip(axes[0], shown, strict=True):
        labelled = set()
        for (name, _), s in series.items():
            points = s.get(f"eval/{m}", [])
            seconds = dict(s.get("time/train_s", []))
            xs = [seconds.get(step, step) for step, _ in points]
            once = name not in labelled and labelled.add(name) is None
            ax.plot(xs, [v for _, v in points], marker=".", color=colours[name],
                    label=name if once else None, alpha=0.8)  # fmt: skip
        ax.set(title=m, xlabel="training time (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    _tight(fig)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def last_grid(group: Group, name: str = "samples") -> Path | None:
    """The final grid of the group's first finished run: its samples (a cGAN's 10 x 10 class
    grid), or closest_to_train (the memorisation check's closest pairs)."""
    for job in group.jobs:
        grids = sorted(job.run_dir.glob(f"images/{name}_step*.png"))
        if job.status == "finished" and grids:
            return grids[-1]
    return None


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _ordered(values: set[str]) -> list[str]:
    return sorted(values, key=lambda v: (0, float(v), "") if _is_float(v) else (1, 0.0, v))


def _tight(fig) -> None:
    """tight_layout, quietly: labels too long to fit (an odd job name) keep the default layout."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
