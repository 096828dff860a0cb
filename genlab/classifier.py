"""Train (or check) a data set's classifier, the feature space of genlab's metrics:
`python -m genlab.classifier data=mnist` (force=true trains it again; epochs=N overrides).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from genlab.build import ConfigError, make_classifier, make_device, parse_args
from genlab.checkpoint import CheckpointError
from genlab.data import DATASETS, DataError


@dataclass
class Args:
    data: str = "mnist"  # one of genlab.data.DATASETS
    root: str | None = None  # data root; null: $GENLAB_DATA, else data/ at the repo root
    force: bool = False  # train again even if a saved classifier exists
    epochs: int | None = None  # null: the data set's recipe (genlab.metrics.classifier.RECIPES)
    device: str = "auto"


def main(argv: list[str]) -> None:
    try:
        a = parse_args(Args, argv)
        if a.data not in DATASETS:
            raise ConfigError(f"data={a.data} is not known; choose one of {', '.join(DATASETS)}")
        c = {"data": {"name": a.data, "root": a.root}}
        model = make_classifier(c, make_device(a.device), force=a.force, epochs=a.epochs)
    except (ConfigError, DataError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"{a.data} classifier: test accuracy {model.test_accuracy:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
