"""report.html: one self-contained page of a sweep (it opens from disk, no server, and keeps
working when moved: every picture is inside it) with the grouped table and its intervals, the
comparisons, each group's last sample grid side by side, the memorisation check's closest pairs,
the metric curves, and a link to each run."""

from __future__ import annotations

import base64
import html
import os
import urllib.parse
from pathlib import Path

from genlab.reporting.jobs import Job
from genlab.reporting.stats import Group, Verdict
from genlab.reporting.tables import group_rows, job_rows
from genlab.storage.atomic import write_atomic

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
.grids{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;text-align:center}
figure img{image-rendering:pixelated;width:240px}
figcaption{font-size:.8em;max-width:240px}
li{margin:.3em 0}
"""


def picture(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def run_link(run_dir: Path, page_dir: Path) -> str:
    """A relative URL of a run's folder: every character of the name quoted (a folder named
    `javascript:...` is a path, never a scheme; `#`, `?` and `%` stay in the name)."""
    relative = Path(os.path.relpath(run_dir, page_dir)).as_posix()
    return "./" + urllib.parse.quote(relative, safe="/") + "/"


def table(rows: list[list[str]], table_id: str, links: list[str] | None = None) -> str:
    """rows (a header, then the body) as an HTML table; links: one per body row (the run)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    head += "<th>files</th>" if links is not None else ""
    body = []
    for i, row in enumerate(rows[1:]):
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
        if links is not None:
            cells += f'<td><a href="{html.escape(links[i])}">run</a></td>'
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


CLOSEST = (
    "The memorisation check (metrics/memorization.py): each group's samples nearest to a "
    "training image in the feature space, closest first (top row), above those training images. "
    "Near-copies here, with a memorized_share well above 0.05, mean the generator reproduces "
    "its training set."
)


def figures(grids: dict[str, Path | None]) -> str:
    """Pictures side by side, each captioned with its group."""
    shown = [
        f"<figure><img src='{picture(p)}' alt='{html.escape(name)}'>"
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, p in grids.items() if p is not None
    ]  # fmt: skip
    return f"<div class='grids'>{''.join(shown)}</div>"


def write_page(path: Path, title: str, notes: list[str], groups: list[Group], jobs: list[Job],
               keys: list[str], metrics: list[str], verdicts: list[tuple[str, Verdict]],
               grids: dict[str, Path | None], curves: Path | None,
               closest: dict[str, Path | None]) -> None:  # fmt: skip
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]  # fmt: skip
    out += [f"<p>{html.escape(n)}</p>" for n in notes]
    out += ["<h2>Groups of seeds (mean ± 95% CI; n = runs measured / runs asked)</h2>"]
    out += [table(group_rows(groups, metrics), "groups")]
    if verdicts:
        items = "".join(f"<li>{html.escape(v.text(key))}</li>" for key, v in verdicts)
        out += [f"<h2>Comparisons</h2><ul id='verdicts'>{items}</ul>"]
    out += ["<h2>Last sample grids</h2>", figures(grids)]
    if any(closest.values()):
        out += ["<h2>Closest to a training image</h2>", f"<p>{html.escape(CLOSEST)}</p>",
                figures(closest)]  # fmt: skip
    if curves is not None:
        out += ["<h2>Curves</h2>", f"<img src='{picture(curves)}' alt='metric curves'>"]
    links = [run_link(j.run_dir, path.parent) for j in jobs]
    out += ["<h2>Runs</h2>", table(job_rows(jobs, keys, metrics), "runs", links)]
    out += ["</body></html>"]
    write_atomic(path, "\n".join(out) + "\n")
