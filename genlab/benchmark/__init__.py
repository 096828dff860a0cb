"""Training speed: genlab against the hand-written tutorial loop, `python -m genlab.bench`; time
to quality, `genlab bench quality`; the argument parser both share."""

from __future__ import annotations

import argparse
import sys


class ArgumentParser(argparse.ArgumentParser):
    """argparse that refuses a bad argument as every genlab command does: one line on stderr,
    `error: ...`, and exit status 2 (argparse's own prints its usage block first)."""

    def error(self, message: str):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
