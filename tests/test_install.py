"""A wheel built from the repository works from any directory once installed: the `genlab`
command, `python -m genlab....` and the Python API, writing only below the working directory
and the user's cache, never inside the installed package."""

import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RUN = ["data=synthetic", "data.size=64", "data.batch_size=16", "device=cpu",
       "trainer.max_steps=2", "trainer.progress=false", "eval.n_samples=60"]  # fmt: skip


def build_wheel(out: Path) -> Path:
    """The wheel of a copy of the repository's tracked sources (the checkout stays clean)."""
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("genlab", "conf", "hydra_plugins"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
           "-w", str(out), str(src)]  # fmt: skip
    built = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = out.glob("genlab-*.whl")
    return wheel


def fresh_env(path: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel, reusing this one's installed dependencies."""
    venv.create(path, with_pip=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    deps = [p for p in site.getsitepackages() if "site-packages" in p]
    (Path(purelib) / "genlab_test_deps.pth").write_text("\n".join(deps) + "\n")  # no .pth inside
    pip = [python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    return Path(purelib)


@pytest.mark.slow
def test_wheel_installs_and_runs_from_an_empty_directory(tmp_path):
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "genlab/conf/config.yaml" in names and "genlab/conf/experiment/wgan_gp.yaml" in names
    assert "hydra_plugins/genlab_launchers/slurm_launcher.py" in names
    site_dir = fresh_env(tmp_path / "venv", wheel)
    installed = site_dir / "genlab"
    before = sorted(p for p in installed.rglob("*") if "__pycache__" not in p.parts)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GENLAB_DATA", "PYTHONPATH")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # the default data root: the user's cache
    bin_dir = tmp_path / "venv" / "bin"

    def run(*cmd):
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (cmd, done.stderr[-2000:])
        return done

    run(bin_dir / "genlab", "train", "model=cgan", *RUN)
    (run_dir,) = (work / "outputs" / "runs").iterdir()
    assert (run_dir / "checkpoints" / "last.pt").is_file() and (run_dir / "metrics.json").is_file()
    run(bin_dir / "genlab", "sample", f"run={run_dir}", "n=20")
    assert (run_dir / "samples.npz").is_file()
    run(bin_dir / "genlab", "evaluate", f"run={run_dir}", "n_samples=40", "force=true")
    run(bin_dir / "python", "-m", "genlab.train", "experiment=seanie12_gan", *RUN)
    run(bin_dir / "genlab", "train", "-m", "model=vae,gan", "eval.at_end=false", *RUN)
    (sweep,) = (work / "outputs" / "multirun").iterdir()
    report = run(bin_dir / "genlab", "report", str(sweep))
    assert report.stdout.count("finished") == 2
    api = f"import genlab; r = genlab.train('model=vae', *{RUN!r}); print(r.dir)"
    out = run(bin_dir / "python", "-c", api).stdout.strip().splitlines()[-1]
    assert Path(out).parent == work / "outputs" / "runs"
    assert (tmp_path / "cache" / "genlab" / "classifiers").is_dir()  # the default data root
    after = sorted(p for p in installed.rglob("*") if "__pycache__" not in p.parts)
    assert after == before  # nothing written inside the installed package
