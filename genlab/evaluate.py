"""Recompute the metrics of a finished run from its checkpoint:
`python -m genlab.evaluate run=RUN_DIR` (prints them and rewrites RUN_DIR/metrics.json).

Settings not given come from the run's own `eval` config.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from genlab.cli.arguments import arg, parse_args
from genlab.errors import GenlabError


@dataclass
class Args:
    run: str = arg("???", "a run directory (holding checkpoints/last.pt)")
    n_samples: int | None = arg(None, "generated vs test images; null: the run's eval.n_samples")
    iw_samples: int | None = arg(None, "VAE IW-NLL samples; null: the run's eval.iw_samples")
    fid_backbone: str | None = arg(None, "classifier | inception; null: the run's")
    train_images: int | None = arg(
        None, "memorisation check's training images (0: none); null: the run's"
    )
    bootstrap: int | None = arg(None, "resamples for fid_se (0: none); null: the run's")
    device: str = arg("auto", "auto | cpu | cuda | mps")
    write: bool = arg(True, "rewrite <run>/metrics.json")
    force: bool = arg(False, "rewrite metrics.json measured by another feature network")


def main(argv: list[str]) -> dict[str, float]:
    try:
        a = parse_args(Args, argv, __doc__, "evaluate")  # (--help prints before torch is imported)
        from genlab.config.build import load_run, make_device
        from genlab.config.evaluation import EVALUATE_ARGS, evaluate_run

        loaded = load_run(Path(a.run), a.device)
        settings = {k: getattr(a, k) for k in EVALUATE_ARGS}
        device = make_device(a.device)
        metrics, measured = evaluate_run(loaded, Path(a.run), device, settings, a.write, a.force)
    except GenlabError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({"metrics": metrics, "measured": measured}, indent=2))
    return metrics


def cli(args: list[str]) -> None:
    main(args)


if __name__ == "__main__":
    cli(sys.argv[1:])
