"""A search space written in Hydra's sweep syntax, as Optuna distributions:

    optimizer.lr: tag(log, interval(1e-5, 1e-3))   -> FloatDistribution(1e-5, 1e-3, log=True)
    model.latent_dim: choice(32, 64, 128)          -> CategoricalDistribution((32, 64, 128))
    arch.layers: range(1, 4)                       -> IntDistribution(1, 3)
    loss: hinge,lsgan                              -> CategoricalDistribution(("hinge", "lsgan"))

Hydra's own override parser reads the syntax, so a space reads as on the command line.
"""

from __future__ import annotations

import hashlib
import math

from genlab.errors import ConfigError


def parse(params: dict, arguments: list[str]):
    """(the distributions to search by key, the plain overrides every trial takes)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{k}={v}" for k, v in (params or {}).items()] + list(arguments)
    try:
        overrides = OverridesParser.create().parse_overrides(lines)
    except Exception as e:  # Hydra's parser errors: a line genlab cannot read
        raise ConfigError(f"the search space cannot be read: {str(e).splitlines()[0]}") from None
    space, fixed = {}, []
    for o in overrides:
        if o.is_sweep_override():
            space[o.get_key_element()] = distribution(o.get_key_element(), o.value())
        else:
            fixed.append(o.input_line)
    return space, fixed


def distribution(key: str, sweep):
    import optuna.distributions as d
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    log = "log" in (sweep.tags or set())
    if isinstance(sweep, ChoiceSweep):
        return d.CategoricalDistribution(tuple(sweep.list))
    if isinstance(sweep, IntervalSweep):
        if isinstance(sweep.start, int) and isinstance(sweep.end, int):
            return d.IntDistribution(sweep.start, sweep.end, log=log)
        return d.FloatDistribution(float(sweep.start), float(sweep.end), log=log)
    if isinstance(sweep, RangeSweep):  # Hydra's range, as Python's: start, start + step, ... < stop
        if sweep.step <= 0 or sweep.stop <= sweep.start:
            raise ConfigError(f"{key}: {_shown(sweep)} holds no value to search")
        last = sweep.start + sweep.step * math.ceil((sweep.stop - sweep.start) / sweep.step - 1)
        if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
            return d.IntDistribution(sweep.start, int(last), step=sweep.step, log=log)
        return d.FloatDistribution(sweep.start, round(float(last), 12), step=sweep.step, log=log)
    raise ConfigError(f"{key}: {type(sweep).__name__} is not a search space Optuna can sample")


def _shown(sweep) -> str:
    return f"range({sweep.start}, {sweep.stop}, {sweep.step})"


def study_name(objective, space: dict, fixed: list[str]) -> str:
    """A study's name when none is given: the objective and a hash of the search, so the same
    command continues its study and another search in the same folder gets its own."""
    objectives = objective if isinstance(objective, list | tuple) else [objective]
    text = repr((sorted((k, repr(v)) for k, v in space.items()), sorted(fixed)))
    return "-".join(map(str, objectives)) + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
