"""Train (or check) a data set's classifier, the feature space of genlab's metrics:
`python -m genlab.classifier data=mnist` (force=true trains it again; epochs=N overrides).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from omegaconf import OmegaConf

from genlab.cli.arguments import arg, parse_args
from genlab.config import CONF_DIR
from genlab.config.build import make_device
from genlab.config.checks import one_of, positive
from genlab.config.evaluation import make_classifier
from genlab.data import DATASETS
from genlab.errors import GenlabError


@dataclass
class Args:
    data: str = arg("mnist", f"one of {', '.join(DATASETS)}")
    root: str | None = arg(None, "data root; null: $GENLAB_DATA, else the default data root")
    force: bool = arg(False, "train again even if a saved classifier exists")
    epochs: int | None = arg(None, "null: the data set's recipe (genlab.metrics.classifier_net)")
    device: str = arg("auto", "auto | cpu | cuda")


def main(argv: list[str]) -> None:
    try:
        a = parse_args(Args, argv, __doc__)
        one_of("data", a.data, DATASETS)
        if a.epochs is not None:
            positive("epochs", a.epochs)
        data = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "data" / f"{a.data}.yaml"))
        c = {"data": {**data, "root": a.root}}  # the data group's YAML, as a run composes it
        model = make_classifier(c, make_device(a.device), force=a.force, epochs=a.epochs)
    except GenlabError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"{a.data} classifier: test accuracy {model.test_accuracy:.4f}")


def cli(args: list[str]) -> None:
    main(args)


if __name__ == "__main__":
    cli(sys.argv[1:])
