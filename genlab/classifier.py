"""The network genlab measures a data set in (FID, KID, precision/recall, class accuracy):

    python -m genlab.classifier data=mnist              # genlab's shipped one: id, accuracy, floor
    python -m genlab.classifier data=image_folder data.path=~/pictures   # trained once, kept
    python -m genlab.classifier data=mnist force=true   # a local one on purpose: eval.network=local

Takes the data group's settings as `genlab train` does (data=..., data.root=..., data.path=...).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from genlab.cli.arguments import arg, parse_args
from genlab.errors import ConfigError, GenlabError


@dataclass
class Args:
    force: bool = arg(False, "train a local network even if one exists (eval.network=local)")
    epochs: int | None = arg(
        None, "null: the data set's recipe (genlab/metrics/feature_networks.py)"
    )
    device: str = arg("auto", "auto | cpu | cuda | mps")


def main(argv: list[str]):
    """Prints and returns the data set's feature network (metrics/feature_networks.py)."""
    data_args = [a for a in argv if a.split("=", 1)[0].lstrip("+~").split(".")[0] == "data"]
    try:
        if any(a.startswith("root=") for a in argv):
            raise ConfigError("root= is now data.root=, as for genlab train")
        a = parse_args(Args, [x for x in argv if x not in data_args], __doc__, "classifier")
        if a.epochs is not None and a.epochs <= 0:
            raise ConfigError(f"epochs={a.epochs} is not allowed; it must be an integer > 0")
        from genlab.api import compose_config
        from genlab.config.build import make_device, to_dict
        from genlab.config.evaluation import make_network

        c = to_dict(compose_config(data_args))
        net = make_network(c, make_device(a.device), force=a.force, epochs=a.epochs)
    except GenlabError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(
        f"{c['data']['name']}: {net.id}, test accuracy {net.test_accuracy:.4f}, floor FID "
        f"{net.floor_fid:.3g} (real training vs test images), {net.path}"
    )
    return net


def cli(args: list[str]) -> None:
    main(args)


if __name__ == "__main__":
    cli(sys.argv[1:])
