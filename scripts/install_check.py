"""genlab installed the way users install it: a wheel built from this tree, `pip install`ed without
extras into a new virtual environment, runs the README's first commands and its API example from
an empty folder, quietly (exit 0, no warning, no traceback); each feature that needs an extra says
so in one line. Then, with --extras, each extra alone in an environment of its own (a hard-linked
copy of the plain one, so torch is not installed again) runs what it adds.

    python scripts/install_check.py                        # the plain install (CI: .ci/run)
    python scripts/install_check.py --extras sweeps,mlflow,dashboard,inception

The runs are small (data=synthetic, a few steps): this checks that the commands work as installed,
not what they train. Ends with "N passed, N failed"; exit 1 if anything failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMALL = [
    "data=synthetic",
    "data.size=96",
    "data.batch_size=16",
    "trainer.max_steps=3",
    "eval.n_samples=48",
    "eval.iw_samples=2",
]
NOISE = ("traceback", "warning", "error")  # none of these words on a successful command's output
EXTRA_NEEDED = {  # what a plain install refuses in one line, and the extra its line names
    "-m hydra/launcher=local": "genlab[sweeps]",
    "-m hydra/launcher=slurm": "genlab[sweeps]",
    "-m hydra/sweeper=genlab_optuna objective=fid optimizer.lr=0.1,0.2": "genlab[sweeps]",
    "tracking=mlflow": "genlab[mlflow]",
    "-m tracking=mlflow seed=0,1": "genlab[mlflow]",
    "eval.fid_backbone=inception": "genlab[inception]",
    "-m hydra/launcher=ray_cluster": "genlab[ray]",
}
API = """
import genlab
run = genlab.train("model=cgan", "arch=cnn", *SMALL)
assert run.status["status"] == "finished", run.status
run.grid()
run.plot()
images = run.sample(100, labels=7)
assert len(images) == 100, images.shape
run.evaluate()
assert "fid" in run.metrics, run.metrics
again = genlab.load(run.dir)
assert again.step == run.step and set(again.networks)
"""


class Check:
    def __init__(self, work: Path, env: dict):
        self.work, self.env = work, env
        self.passed: list[str] = []
        self.failed: list[str] = []

    def run(self, name: str, cmd: list, ok: int = 0, quiet: bool = True, says: str = "") -> str:
        """cmd must exit with `ok`; quiet: nothing of NOISE in its output (exit 0 only); says:
        its last stderr line must hold this text and be the only line."""
        start = time.perf_counter()
        done = subprocess.run(
            [str(c) for c in cmd],
            cwd=self.work,
            env=self.env,
            text=True,
            capture_output=True,
            timeout=900,
        )
        took = time.perf_counter() - start
        out = done.stdout + done.stderr
        why = None
        if done.returncode != ok:
            why = f"exit {done.returncode}, not {ok}"
        elif quiet and ok == 0 and any(w in out.lower() for w in NOISE):
            why = "it printed " + next(ln for ln in out.splitlines() if _noisy(ln))
        elif says and (says not in done.stderr or done.stderr.strip().count("\n") != 0):
            why = f"not one line naming {says!r}"
        if why:
            self.fail(f"{name}: {why}", out, took)
        else:
            self.passed.append(name)
            print(f"ok   {took:6.1f} s  {name}")
        return out

    def fail(self, what: str, output: str, took: float = 0.0) -> None:
        self.failed.append(what)
        print(f"FAIL {took:6.1f} s  {what}")
        if output:
            print("     " + output[-3000:].replace("\n", "\n     "))


def _noisy(line: str) -> bool:
    return any(w in line.lower() for w in NOISE)


def build_wheel(out: Path) -> Path:
    """The wheel of the tree's committed state would need git; this builds the files as they are."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)]
    subprocess.run(cmd, check=True, capture_output=True)
    (wheel,) = out.glob("genlab-*.whl")
    shutil.rmtree(REPO / "build", ignore_errors=True)  # setuptools' leftovers in the tree
    for egg in REPO.glob("*.egg-info"):
        shutil.rmtree(egg, ignore_errors=True)
    return wheel


def new_env(path: Path, wheel: Path, extra: str = "") -> Path:
    """A new virtual environment with genlab from the wheel (plus an extra): its python."""
    venv.create(path, with_pip=True)
    python = path / ("Scripts" if os.name == "nt" else "bin") / "python"
    target = f"genlab[{extra}] @ {wheel.as_uri()}" if extra else str(wheel)
    pip(python, target)
    return python


def pip(python: Path, target: str) -> None:
    """pip install target; its output only when it fails."""
    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", target], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"install_check: pip install {target} failed:\n{done.stderr[-3000:]}")


def linked_copy(plain: Path, path: Path) -> Path:
    """The plain environment again, its files hard-linked (no second torch on disk); pip replaces
    files rather than writing into them, so installing into the copy leaves the original as it
    was."""
    shutil.copytree(plain, path, symlinks=True, copy_function=os.link)
    cfg = (path / "pyvenv.cfg").read_text().replace(str(plain), str(path))
    (path / "pyvenv.cfg").unlink()
    (path / "pyvenv.cfg").write_text(cfg)
    return path / ("Scripts" if os.name == "nt" else "bin") / "python"


def plain_commands(check: Check, python: Path) -> None:
    genlab = [python, "-m", "genlab"]
    check.run("genlab --version", [*genlab, "--version"])
    check.run("genlab --help", [*genlab, "--help"])
    for command in ("train", "sample", "evaluate", "report", "classifier", "bench"):
        out = check.run(f"genlab {command} --help", [*genlab, command, "--help"])
        if "${" in out:
            check.fail(f"genlab {command} --help resolves every default", out)
    no_torch = "import sys, runpy; sys.argv = ['genlab', 'train', '--help']\n"
    no_torch += "try:\n    runpy.run_module('genlab', run_name='__main__')\nexcept SystemExit:\n"
    no_torch += "    pass\nassert 'torch' not in sys.modules, 'torch imported'"
    check.run("genlab train --help imports no torch", [python, "-c", no_torch])
    check.run("genlab train", [*genlab, "train", *SMALL])
    check.run(
        "genlab train model=cgan arch=cnn", [*genlab, "train", "model=cgan", "arch=cnn", *SMALL]
    )
    check.run("genlab train model=cvae", [*genlab, "train", "model=cvae", *SMALL])
    if os.environ.get("GENLAB_DATA_MIRROR"):  # MNIST copied from a local mirror, as offline
        real = [a for a in SMALL if not a.startswith("data")]
        check.run("genlab train (MNIST)", [*genlab, "train", *real])
        check.run(
            "genlab train model=cvae data=fashion_mnist",
            [*genlab, "train", "model=cvae", "data=fashion_mnist", *real],
        )
    check.run(
        "genlab train -m model=vae,gan arch=mlp,cnn optimizer.lr=1e-4,2e-4",
        [
            *genlab,
            "train",
            "-m",
            "model=vae,gan",
            "arch=mlp,cnn",
            "optimizer.lr=1e-4,2e-4",
            *SMALL,
            "hydra.sweep.dir=multirun/models",
        ],
    )
    check.run(
        'genlab train -m model=gan loss=hinge,lsgan "seed=range(3)"',
        [
            *genlab,
            "train",
            "-m",
            "model=gan",
            "loss=hinge,lsgan",
            "seed=range(3)",
            *SMALL,
            "hydra.sweep.dir=multirun/losses",
        ],
    )
    check.run(
        "genlab report --compare loss", [*genlab, "report", "multirun/losses", "--compare", "loss"]
    )
    if not (check.work / "multirun" / "losses" / "report.html").is_file():
        check.fail("genlab report writes report.html", "")
    runs = sorted((check.work / "outputs" / "runs").iterdir())
    cgan = next(r for r in runs if r.name.endswith("cgan_cnn"))
    check.run("genlab sample label=7", [*genlab, "sample", f"run={cgan}", "n=100", "label=7"])
    check.run("genlab evaluate", [*genlab, "evaluate", f"run={cgan}", "n_samples=48"])
    tensorboard = python.parent / "tensorboard"
    check.run(
        "tensorboard --inspect", [tensorboard, "--inspect", "--logdir", "outputs"], quiet=False
    )
    check.run("the Python API", [python, "-c", f"SMALL = {SMALL!r}\n{API}"])
    for args, extra in EXTRA_NEEDED.items():
        check.run(
            f"plain: {args} names {extra}",
            [*genlab, "train", *args.split(), *SMALL],
            ok=2,
            says=extra,
        )


def extra_commands(check: Check, python: Path, extra: str) -> None:
    genlab = [python, "-m", "genlab"]
    if extra == "sweeps":
        check.run(
            "sweeps: joblib launcher",
            [
                *genlab,
                "train",
                "-m",
                "hydra/launcher=local",
                "model=vae,gan",
                *SMALL,
                "hydra.sweep.dir=multirun/joblib",
            ],
        )
        check.run(
            "sweeps: the Optuna search",
            [
                *genlab,
                "train",
                "-m",
                "hydra/sweeper=genlab_optuna",
                "objective=fid",
                "optimizer.lr=tag(log,interval(1e-4,1e-2))",
                "hydra.sweeper.n_trials=2",
                *SMALL,
                "hydra.sweep.dir=multirun/search",
            ],
        )
    elif extra == "mlflow":
        check.run(
            "mlflow: tracking to a file store",
            [*genlab, "train", "tracking=mlflow", "tracking.uri=mlruns", *SMALL],
        )
    elif extra == "dashboard":
        dashboard = python.parent / "optuna-dashboard"
        check.run("dashboard: optuna-dashboard --version", [dashboard, "--version"], quiet=False)
    elif extra == "inception":  # its weights need a network: the import alone
        check.run("inception: torch-fidelity and torchmetrics import",
                  [python, "-c", "import torch_fidelity, torchmetrics"])  # fmt: skip
    else:
        raise SystemExit(f"install_check: no check for the extra {extra!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", default="", help="comma-separated extras to check, each alone")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="genlab-install-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        wheel = build_wheel(root / "dist")
        print(f"built {wheel.name}; installing it without extras into a new environment")
        python = new_env(root / "plain", wheel)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GENLAB_DATA")}
        env["XDG_CACHE_HOME"] = str(root / "cache")  # a user's first run: no classifier cached
        env.pop("VIRTUAL_ENV", None)
        work = root / "work"
        work.mkdir()
        check = Check(work, env)
        plain_commands(check, python)
        for extra in filter(None, args.extras.split(",")):
            print(f"the extra {extra} alone")
            python = linked_copy(root / "plain", root / extra)
            pip(python, f"genlab[{extra}] @ {wheel.as_uri()}")
            check.work = root / f"work-{extra}"
            check.work.mkdir()
            extra_commands(check, python, extra)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"install_check: {len(check.passed)} passed, {len(check.failed)} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
