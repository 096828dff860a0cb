"""`genlab COMMAND ...` (also `python -m genlab COMMAND ...`): one command for the modules
`python -m genlab.<command>` runs. `genlab --help` lists them; `genlab COMMAND --help` explains one.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {  # name -> what it does, in one line
    "train": "train a model, or sweep with -m (Hydra overrides: model=cgan arch=cnn ...)",
    "sample": "generate images from a finished run into an .npz, a grid and an interpolation",
    "evaluate": "recompute a finished run's metrics (FID, class accuracy, ELBO, ...)",
    "report": "one table and plot of a sweep's runs",
    "classifier": "train or check a data set's classifier, the feature space of the metrics",
    "bench": "train speed against the tutorial loop; `bench quality`: time to quality targets",
}


def usage() -> str:
    lines = ["usage: genlab COMMAND [ARGS ...]", "", "commands:"]
    lines += [f"  {name:<11} {what}" for name, what in COMMANDS.items()]
    lines += ["", "`genlab COMMAND --help` shows a command's arguments; `genlab --version`."]
    return "\n".join(lines)


def version() -> str:
    """The installed distribution's version (a source tree that was never installed: unknown)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("genlab")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if argv else 2)
    if argv[0] in ("-V", "--version"):
        print(f"genlab {version()}")
        sys.exit(0)
    name, args = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: {name} is not a genlab command; choose one of {', '.join(COMMANDS)}",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)
    sys.argv = [f"genlab {name}", *args]
    try:
        command = importlib.import_module(f"genlab.{name}")
        status = command.cli(args)
    except KeyboardInterrupt:  # Ctrl-C before a command took over its signals (imports: ~2 s)
        print(f"genlab {name}: interrupted by SIGINT before it started", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)


if __name__ == "__main__":
    main()
