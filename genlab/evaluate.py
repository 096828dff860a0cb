"""Recompute the metrics of a finished run from its checkpoint:
`python -m genlab.evaluate run=RUN_DIR` (prints them and rewrites RUN_DIR/metrics.json).

Settings not given come from the run's own `eval` config (else conf/eval/default.yaml).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import MISSING, OmegaConf

from genlab.build import ConfigError, load_run, make_device, make_evaluator, parse_args
from genlab.checkpoint import CheckpointError
from genlab.data import DataError
from genlab.metrics.record import write_metrics

DEFAULTS = Path(__file__).resolve().parents[1] / "conf" / "eval" / "default.yaml"


@dataclass
class Args:
    run: str = MISSING  # a run directory (holding checkpoints/last.pt)
    n_samples: int | None = None  # null: the run's eval.n_samples
    iw_samples: int | None = None  # null: the run's eval.iw_samples
    fid_backbone: str | None = None  # classifier | inception; null: the run's
    device: str = "auto"
    write: bool = True  # rewrite <run>/metrics.json


def main(argv: list[str]) -> dict[str, float]:
    try:
        a = parse_args(Args, argv)
        c, task, step = load_run(Path(a.run), a.device)
        defaults = OmegaConf.to_container(OmegaConf.load(DEFAULTS))
        given = {k: getattr(a, k) for k in ("n_samples", "iw_samples", "fid_backbone")}
        c["eval"] = {**defaults, **c.get("eval", {}), **{k: v for k, v in given.items() if v}}
        c["eval"]["at_end"] = True
        evaluator = make_evaluator(c, make_device(a.device))
    except (ConfigError, DataError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    metrics = evaluator(task)
    if a.write:
        write_metrics(Path(a.run), metrics, step)
    print(json.dumps(metrics, indent=2))
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
