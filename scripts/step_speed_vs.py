"""A training run's speed and memory against another genlab commit, as whole processes: 1,200
GAN MLP steps and 1,500 VAE MLP steps on MNIST (the recipe each tree ships, one thread, no
evaluation), alone, one warm-up each, then --pairs interleaved pairs (this tree, then the other);
the median wall time, the ratio, the peak resident memory (getrusage of the child) and the modules
imported. Each process imports genlab from its own tree alone (`python -S`).

    python scripts/step_speed_vs.py 4f0a561 [--pairs 3]     (needs git and the MNIST files)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = {
    "gan-mlp, 1,200 steps": ["model=gan", "arch=mlp", "trainer.max_steps=1200"],
    "vae-mlp, 1,500 steps": ["model=vae", "arch=mlp", "trainer.max_steps=1500"],
}
COMMON = ["threads=1", "eval.at_end=false", "trainer.progress=false", "device=cpu"]
COUNT = "import sys, runpy; sys.argv = ['genlab.train'] + sys.argv[1:]\n" \
        "try:\n    runpy.run_module('genlab.train', run_name='__main__')\n" \
        "finally:\n    print('modules', len(sys.modules), file=sys.stderr)\n"  # fmt: skip


def isolated(tree: Path) -> dict:
    """The environment of a process that imports genlab and its Hydra plugins from tree alone:
    with `python -S`, the site folder's .pth files (an editable install of this tree) are not
    read, and the installed libraries come from PYTHONPATH."""
    site = sysconfig.get_paths()
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), site["purelib"],
                                                         site["platlib"]])}  # fmt: skip


def run(tree: Path, args: list[str], out: Path) -> tuple[float, float, int]:
    """(wall s, peak MiB, modules) of one training process from tree."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-S", "-c", COUNT, *args, *COMMON,
                                  f"hydra.run.dir={out}"], cwd=tree, stdout=subprocess.DEVNULL,
                                 stderr=err, env=isolated(tree))  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        said = err.read()
    if child.returncode != 0:
        sys.exit(f"{tree}: {said[-800:]}")
    return wall, usage.ru_maxrss / 1024, int(said.rsplit("modules", 1)[1].split()[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("ref", help="the other commit (e.g. 4f0a561)")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--cases", default="", help="only the cases whose name starts so (gan, vae)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), a.ref],
                       check=True, capture_output=True)  # fmt: skip
        (other / "data").symlink_to(REPO / "data")  # the same MNIST files, read in place
        try:
            print(f"| case | this tree s | {a.ref} s | ratio | peak MiB (this, {a.ref}) | "
                  f"modules (this, {a.ref}) |")  # fmt: skip
            print("|---|---|---|---|---|---|")
            runs = iter(range(10**6))  # a new run directory each time
            for name, args in [(n, c) for n, c in CASES.items() if n.startswith(a.cases)]:
                times: dict[Path, list[float]] = {REPO: [], other: []}
                modules, peaks = {}, {REPO: 0.0, other: 0.0}
                for tree in (REPO, other):  # warm-up: caches, files
                    run(tree, args, Path(tmp) / f"r{next(runs)}")
                for _ in range(a.pairs):
                    for tree in (REPO, other):
                        wall, peak, modules[tree] = run(tree, args, Path(tmp) / f"r{next(runs)}")
                        times[tree].append(wall)
                        peaks[tree] = max(peaks[tree], peak)
                mine, theirs = (statistics.median(times[t]) for t in (REPO, other))
                print(f"| {name} | {mine:.1f} | {theirs:.1f} | {mine / theirs:.3f} | "
                      f"{peaks[REPO]:.0f}, {peaks[other]:.0f} | {modules[REPO]}, "
                      f"{modules[other]} |")  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)],
                           capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
