"""genlab: a config-driven experiment runner for generative image models (VAE, cVAE, GAN, cGAN).

Command line: `genlab train model=cgan arch=cnn` (`genlab --help`). Python:

    import genlab
    run = genlab.train("model=cgan", "arch=cnn", "trainer.epochs=2")
    run.grid()
"""

import sys

from genlab.errors import GenlabError

__all__ = ["GenlabError", "Run", "load", "train"]


def __getattr__(name: str):
    """The Python API (genlab/api.py), imported on first use: `genlab --help` and a command's
    --help print without importing torch."""
    if name in ("Run", "load", "train"):
        from genlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")


def _one_line_ctrl_c(kind, value, trace) -> None:
    """`python -m genlab.<command>`: a Ctrl-C before the command took over its signals (while
    torch is imported) is one line, not a traceback of the import machinery."""
    if issubclass(kind, KeyboardInterrupt):
        print("genlab: interrupted by SIGINT before it started", file=sys.stderr)
        raise SystemExit(130)
    sys.__excepthook__(kind, value, trace)


if sys.argv[:1] == ["-m"]:  # python -m genlab...: runpy sets argv[0] later; notebooks never
    sys.excepthook = _one_line_ctrl_c
