"""Checks of a resolved config (a plain dict) before any work: every value genlab cannot run is
refused in one line that names the key, the value and what is allowed. What depends on the model
family lives in model_checks.py; the one-line refusals themselves in values.py.
"""

from __future__ import annotations

import functools

from genlab.config.model_checks import VAES, check_model
from genlab.config.values import finite_everywhere, one_of, positive
from genlab.data import DATASETS
from genlab.errors import ConfigError
from genlab.models import ARCHS
from genlab.models.priors import PRIORS
from genlab.trainers.nan_guard import NAN_POLICIES
from genlab.trainers.precision import PRECISIONS
from genlab.trainers.schedules import SCHEDULES

DEVICES = ("cpu", "cuda", "mps")  # device=auto has resolved to one of them (conf/device/auto.yaml)
OPTIMIZER_IMPLS = ("plain", "foreach", "fused")
OPTIMIZERS = ("adam",)
MAX_SEED = 2**63 - 1  # torch.manual_seed's range


def validate(c: dict) -> None:
    """Stops before any work on a value genlab cannot run, in one line."""
    try:
        finite_everywhere(c)
        one_of("arch", c["arch"]["name"], ARCHS)
        one_of("data", c["data"]["name"], DATASETS)
        one_of("prior", c["prior"]["name"], PRIORS)
        one_of("optimizer", c["optimizer"]["name"], OPTIMIZERS)
        _check_device(c["device"])
        check_model(c)
        _check_declared(c)
        _check_data(c["data"], c["prior"])
        _check_optimizer(c["optimizer"])
        _check_trainer(c["trainer"])
        _check_run(c)
    except (KeyError, TypeError) as e:  # a key deleted with ~key, or a group set to a scalar
        raise ConfigError(
            f"the config lacks a key genlab needs ({type(e).__name__}: {e})"
        ) from None


TOP = ("recipe", "seed", "resume", "resume_sweep", "objective", "threads")  # config.yaml's
DECLARED = {  # group -> the file under conf/ that declares its keys, from the group's name
    "data": "data/{}.yaml",
    "arch": "arch/{}.yaml",
    "prior": "prior/{}.yaml",
    "device": "device/{}.yaml",
    "trainer": "trainer/default.yaml",
    "eval": "eval/default.yaml",
    "tracking": "tracking/{}.yaml",
}  # fmt: skip (model, optimizer and loss: config/model_checks.py, by family and loss)


def _check_declared(c: dict) -> None:
    """Every key is one its group's YAML declares: a key added with `+key=` (or by a preset)
    that nothing reads is refused, not carried silently."""
    groups = ("model", "optimizer", "loss", *DECLARED)
    for key in c:
        if key not in (*groups, *TOP):
            raise ConfigError(
                f"{key}: genlab has no setting {key}; the top-level ones are {', '.join(TOP)} "
                f"and the groups {', '.join(groups)}"
            )
    for group, file in DECLARED.items():
        own = _declared(file.format(c[group]["name"] if group not in ("trainer", "eval") else ""))
        extra = [k for k in c[group] if k not in own]
        if extra:
            which = f"{group}={c[group]['name']}" if "name" in c[group] else group
            raise ConfigError(
                f"{group}.{extra[0]}: {which} has no setting {extra[0]}; its settings are "
                f"{', '.join(own)}"
            )


@functools.cache
def _declared(file: str) -> tuple[str, ...]:
    from omegaconf import OmegaConf

    from genlab.config import CONF_DIR

    return tuple(OmegaConf.load(CONF_DIR / file).keys())


def _check_device(d: dict) -> None:
    one_of("device", d["name"], DEVICES)
    one_of("device.precision", str(d["precision"]), PRECISIONS)
    one_of("device.optimizer_impl", d["optimizer_impl"], OPTIMIZER_IMPLS)
    for key in ("compile", "channels_last"):
        if not isinstance(d[key], bool):
            raise ConfigError(f"device.{key}={d[key]} is not allowed; choose true or false")


def _check_data(d: dict, prior: dict) -> None:
    positive("data.batch_size", d["batch_size"])
    if prior["name"] == "uniform" and not prior["low"] < prior["high"]:
        raise ConfigError(
            f"prior.low={prior['low']} with prior.high={prior['high']} is not allowed; "
            "prior.low must be below prior.high (e.g. 0 and 1, or -1 and 1)"
        )
    if d["name"] == "image_folder" and not d.get("path"):
        raise ConfigError("data=image_folder needs data.path=<a folder of images>")
    if "image_size" in d:
        positive("data.image_size", d["image_size"])
    if d.get("channels", 3) not in (1, 3):
        raise ConfigError(f"data.channels={d['channels']} is not allowed; choose 1 or 3")
    for key in ("size", "num_classes"):
        if key in d:
            positive(f"data.{key}", d[key])


def _check_optimizer(o: dict) -> None:
    positive("optimizer.lr", o["lr"], float)
    betas = o["betas"]
    numbers = isinstance(betas, list) and len(betas) == 2
    if not numbers or not all(_number(b) and 0 <= b < 1 for b in betas):
        raise ConfigError(f"optimizer.betas={betas} is not allowed; give two numbers in [0, 1)")
    positive("optimizer.weight_decay", o["weight_decay"], float, True)
    one_of("optimizer.schedule", o["schedule"], SCHEDULES)


def _check_trainer(t: dict) -> None:
    positive("trainer.epochs", t["epochs"], zero_ok=True)
    for key in ("log_every", "checkpoint_every", "image_every"):
        positive(f"trainer.{key}", t[key])
    for key in ("max_steps", "batches_per_epoch", "eval_every"):
        if t[key] is not None:
            positive(f"trainer.{key}", t[key])
    one_of("trainer.nan_policy", t["nan_policy"], NAN_POLICIES)
    if not isinstance(t["progress"], bool):
        raise ConfigError(f"trainer.progress={t['progress']} is not allowed; use true or false")


def _check_run(c: dict) -> None:
    """What the whole run shares: its seed, its threads, what it hands a sweeper; the sizes of
    the architecture."""
    seed = c["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed} is not allowed; it must be an integer in 0 to 2^63 - 1")
    if c["threads"] is not None:
        positive("threads", c["threads"])
    wanted = c["objective"]
    for name in [wanted] if isinstance(wanted, str) else wanted or []:  # one, or a list of them
        one_of("objective", name, objectives(c["model"]["name"]))
        if not c["eval"]["at_end"] and name not in (
            *training_scalars(c["model"]["name"]),
            "train_s",
        ):
            raise ConfigError(
                f"objective={name} is a metric of the end-of-run evaluation, which "
                "eval.at_end=false turns off; set eval.at_end=true or pick a training scalar"
            )
    for key in ("hidden", "layers", "channels", "blocks"):
        if key in c["arch"]:
            positive(f"arch.{key}", c["arch"][key])


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_eval(e: dict) -> None:
    """The eval group, checked when a run (or genlab.evaluate) measures."""
    from genlab.metrics.evaluator import BACKBONES

    one_of("eval.fid_backbone", e["fid_backbone"], BACKBONES)
    one_of("eval.network", e["network"], ("auto", "local"))
    for key in ("n_samples", "iw_samples", "pr_k", "kid_subset_size", "batch_size"):
        positive(f"eval.{key}", e[key])
    for key in ("train_images", "bootstrap"):
        positive(f"eval.{key}", e[key], zero_ok=True)
    if e["bootstrap"] == 1:
        raise ConfigError(
            "eval.bootstrap=1 is not allowed: a spread needs 2 resamples or more (20 is the "
            "default), or 0 for none"
        )
    if e["n_samples"] <= e["pr_k"]:
        raise ConfigError(
            f"eval.n_samples={e['n_samples']} is not allowed with eval.pr_k={e['pr_k']}: "
            "precision/recall need more images than neighbours; raise eval.n_samples"
        )


def training_scalars(family: str) -> tuple[str, ...]:
    """The scalars a run of the family logs while it trains (its result holds the last ones)."""
    if family in VAES:
        return ("loss", "recon", "kl", "neg_elbo")
    return ("d_loss", "g_loss", "d_real", "d_fake")


def objectives(family: str) -> tuple[str, ...]:
    """What `objective=` may name: a final metric or a last training scalar of the family."""
    from genlab.metrics.names import metrics_of

    return tuple(dict.fromkeys((*metrics_of(family), *training_scalars(family), "train_s")))
