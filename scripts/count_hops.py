"""Count the hops between rooms on the path of one command, as docs/architecture.md reports them.

    python scripts/count_hops.py                      # genlab train model=cgan arch=cnn (MNIST)
    python scripts/count_hops.py model=vae arch=mlp   # another pair
    python scripts/count_hops.py --synthetic          # on generated images (no MNIST needed)

Runs `genlab train` in this process, on MNIST for a few steps (the data as a user's first run
reads it: GENLAB_DATA_MIRROR or the data root, docs/data.md), a second time so that whatever the
first use sets up (the data files, a classifier trained on first use) is already there, under a
profiler and records every call from a function of genlab
into a function of genlab in another room, through any frames of torch or Hydra in between (such
as nn.Module.__call__ or Hydra's callbacks). A room is a folder under genlab/ (config, trainers,
...); the top-level modules are the commands (train.py, api.py, ...), except errors.py.

A hop is a distinct (calling room and function, called room and function) pair: one place where
a reader following the command leaves one room for another. Prints them in the order they were
first taken, their count, and the count of distinct module pairs.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

SHORT = ["device=cpu", "trainer.max_steps=3", "trainer.progress=false", "eval.n_samples=200",
         "eval.iw_samples=2"]  # fmt: skip
SYNTHETIC = ["data=synthetic", "data.size=64", "data.batch_size=16"]


def room(path: str, package: Path) -> str | None:
    """The room of a source file of the package, or None for a file outside it."""
    try:
        parts = Path(path).resolve().relative_to(package).parts
    except ValueError:
        return None
    if len(parts) > 1:
        return parts[0]
    return "errors" if parts[0] == "errors.py" else "commands"


def trace(args: list[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(caller, callee) as "room:function" -> their modules, for each hop, in first-taken order."""
    import genlab

    train = importlib.import_module("genlab.train")  # the command, not the API's train()
    package = Path(genlab.__file__).resolve().parent
    hops: dict[tuple[str, str], tuple[str, str]] = {}

    def profile(frame, event, arg):
        callee = frame.f_code.co_filename
        if event != "call" or room(callee, package) is None:
            return
        back = frame.f_back
        while back is not None and room(back.f_code.co_filename, package) is None:
            back = back.f_back  # through torch's and Hydra's frames
        if back is None:
            return
        caller = back.f_code.co_filename
        a, b = room(caller, package), room(callee, package)
        if a != b:
            key = (f"{a}:{back.f_code.co_name}", f"{b}:{frame.f_code.co_name}")
            rel = lambda p: str(Path(p).resolve().relative_to(package))  # noqa: E731
            hops.setdefault(key, (rel(caller), rel(callee)))

    sys.setprofile(profile)
    try:
        train.cli(args)
    except SystemExit as e:
        if e.code:
            raise
    finally:
        sys.setprofile(None)
    return hops


def main(argv: list[str]) -> None:
    synthetic = "--synthetic" in argv
    pair = [a for a in argv if a != "--synthetic"] or ["model=cgan", "arch=cnn"]
    run = [*pair, *SHORT, *(SYNTHETIC if synthetic else [])]
    with tempfile.TemporaryDirectory() as tmp:
        if synthetic:
            os.environ.setdefault("GENLAB_DATA", str(Path(tmp) / "data"))
        os.chdir(tmp)  # the runs go to outputs/runs/<time>_cgan_cnn there, as the command's do
        trace(run)  # first use (a classifier trained for synthetic data): not the path
        hops = trace(run)
    for (caller, callee), (a, b) in hops.items():
        print(f"{caller:<42} -> {callee:<34} ({a} -> {b})")
    modules = {frozenset(m) for m in hops.values()}
    command = f"genlab train {' '.join(pair)}"
    print(f"{len(hops)} hops between rooms ({len(modules)} module pairs): {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
