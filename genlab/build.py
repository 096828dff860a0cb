"""From a resolved config to runnable objects. The one module below the entrypoint that reads
config; everything it builds takes plain typed arguments.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from genlab import distributed
from genlab.data import DATASETS, ImageSet, ResidentLoader, load_images
from genlab.losses import GAN_LOSSES, VAE_LOSSES
from genlab.losses.vae import VAELoss
from genlab.models import ARCHS, make_gan, make_vae
from genlab.priors import PRIORS, make_prior
from genlab.trainers.gan import GANTask
from genlab.trainers.guards import NAN_POLICIES
from genlab.trainers.health import HealthWatch, bce_floor
from genlab.trainers.loop import LoopSettings, Trainer
from genlab.trainers.precision import PRECISIONS, Precision
from genlab.trainers.vae import VAETask

MODELS = ("vae", "gan", "cgan")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZER_IMPLS = ("plain", "foreach", "fused")
# What device=auto picks for each fast path; the same values as conf/device/{cpu,cuda}.yaml
FAST_DEFAULTS = {
    "cpu": {
        "precision": "32",
        "compile": False,
        "channels_last": False,
        "optimizer_impl": "fused",
    },
    "cuda": {
        "precision": "bf16",
        "compile": True,
        "channels_last": True,
        "optimizer_impl": "fused",
    },
}


class ConfigError(ValueError):
    """A value genlab cannot run; the message names the key, the value and what is allowed."""


def to_dict(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)


def _choice(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value} is not known; choose one of {', '.join(allowed)}")


def _positive(key: str, value, kind=int, zero_ok=False) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        what = "an integer" if kind is int else "a number"
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{key}={value} is not allowed; it must be {what} {bound}")


def validate(c: dict) -> None:
    """Stops before any work on a value genlab cannot run, in one line."""
    try:
        _validate(c)
    except (KeyError, TypeError) as e:  # a key deleted with ~key, or a group set to a scalar
        raise ConfigError(
            f"the config lacks a key genlab needs ({type(e).__name__}: {e})"
        ) from None


def _validate(c: dict) -> None:
    _choice("model", c["model"]["name"], MODELS)
    _choice("arch", c["arch"]["name"], ARCHS)
    _choice("data", c["data"]["name"], DATASETS)
    _choice("prior", c["prior"]["name"], PRIORS)
    _choice("device", c["device"]["name"], DEVICES)
    d = c["device"]  # fast paths: `auto` (or a missing key) is the device's default
    _choice("device.precision", str(d.get("precision", "auto")), (*PRECISIONS, "auto"))
    _choice("device.optimizer_impl", d.get("optimizer_impl", "auto"), (*OPTIMIZER_IMPLS, "auto"))
    for key in ("compile", "channels_last"):
        if d.get(key, "auto") not in (True, False, "auto"):
            raise ConfigError(f"device.{key}={d[key]} is not allowed; choose true, false or auto")
    check_fit(c)
    _positive("model.latent_dim", c["model"]["latent_dim"])
    _positive("data.batch_size", c["data"]["batch_size"])
    _positive("optimizer.lr", c["optimizer"]["lr"], float)
    t = c["trainer"]
    _positive("trainer.epochs", t["epochs"], zero_ok=True)
    for key in ("log_every", "checkpoint_every", "image_every", "g_steps", "d_steps"):
        _positive(f"trainer.{key}", t[key])
    for key in ("max_steps", "batches_per_epoch"):
        if t.get(key) is not None:
            _positive(f"trainer.{key}", t[key])
    health = t.get("health") or {}
    if health.get("window") is not None:
        _positive("trainer.health.window", health["window"])
        _positive("trainer.health.d_loss_below", health["d_loss_below"], float, zero_ok=True)
    if c.get("threads") is not None:
        _positive("threads", c["threads"])

    _validate_run(c)


VAE_LOSS_KEYS = ("beta", "recon_weight", "pixel_mean", "binarize")
SMOOTHED = tuple(k for k, v in GAN_LOSSES.items() if v.smoothing)  # losses with a real-label target


def check_fit(c: dict) -> None:
    """Choices that cannot train together, refused in one line naming both and what is allowed."""
    family, loss = c["model"]["name"], c["loss"]
    losses = VAE_LOSSES if family == "vae" else tuple(GAN_LOSSES)
    if loss["name"] not in losses:
        raise ConfigError(
            f"model={family} cannot train with loss={loss['name']}; "
            f"with model={family} choose loss from {', '.join(losses)}"
        )
    keys = VAE_LOSS_KEYS if family == "vae" else ("label_smoothing", "gp_weight")
    extra = sorted(set(loss) - {"name", *keys})
    if extra:
        raise ConfigError(
            f"loss.{extra[0]} is not a setting of loss={loss['name']}; "
            f"its settings are {', '.join(keys)}"
        )
    if family == "vae":
        _check_vae(c)
    else:
        _check_gan_loss(loss)
    prior, d = c["prior"], c["data"]
    if prior["name"] == "uniform" and not prior["low"] < prior["high"]:
        raise ConfigError(
            f"prior.low={prior['low']} with prior.high={prior['high']} is not allowed; "
            "prior.low must be below prior.high (e.g. 0 and 1, or -1 and 1)"
        )
    if d["name"] == "image_folder" and not d.get("path"):
        raise ConfigError("data=image_folder needs data.path=<a folder of images>")
    if "image_size" in d:
        _positive("data.image_size", d["image_size"])
    if d.get("channels", 3) not in (1, 3):
        raise ConfigError(f"data.channels={d['channels']} is not allowed; choose 1 or 3")


def _check_vae(c: dict) -> None:
    loss, prior = c["loss"], c["prior"]["name"]
    if prior != "normal":
        raise ConfigError(
            f"model=vae cannot use prior={prior}: its analytic KL assumes N(0, I); "
            "with model=vae choose prior=normal"
        )
    _positive("loss.beta", loss.get("beta", 1.0), float, zero_ok=True)
    _positive("loss.recon_weight", loss.get("recon_weight", 1.0), float)
    if loss.get("binarize") and loss["name"] != "bernoulli":
        raise ConfigError(
            f"loss.binarize=true cannot go with loss={loss['name']}: binarisation feeds a "
            "Bernoulli decoder; choose loss=bernoulli or loss.binarize=false"
        )
    for key in ("g_steps", "d_steps"):
        if c["trainer"][key] != 1:
            raise ConfigError(
                f"trainer.{key}={c['trainer'][key]} cannot go with model=vae (one network); "
                f"it applies to model=gan or cgan; with model=vae keep trainer.{key}=1"
            )


def _check_gan_loss(loss: dict) -> None:
    name, smoothing = loss["name"], loss.get("label_smoothing", 0.0)
    if not isinstance(smoothing, int | float) or not 0 <= smoothing < 1:
        raise ConfigError(
            f"loss.label_smoothing={smoothing} is not allowed; it must be in [0, 1) (e.g. 0.1)"
        )
    if smoothing and name not in SMOOTHED:
        raise ConfigError(
            f"loss.label_smoothing={smoothing} cannot go with loss={name}: its critic has no "
            f"real-label target; label smoothing works with loss={', '.join(SMOOTHED)}"
        )
    if "gp_weight" in loss and name != "wgan_gp":
        raise ConfigError(
            f"loss.gp_weight cannot go with loss={name}: the gradient penalty belongs to "
            "loss=wgan_gp"
        )
    _positive("loss.gp_weight", loss.get("gp_weight", 0.0), float, zero_ok=True)


def _validate_run(c: dict) -> None:
    """Types and ranges the checks above leave open: seed, switches, optimiser, sizes."""
    if not isinstance(c["seed"], int) or isinstance(c["seed"], bool) or c["seed"] < 0:
        raise ConfigError(f"seed={c['seed']} is not allowed; it must be an integer >= 0")
    if c.get("objective") is not None:
        _choice("objective", c["objective"], objectives(c["model"]["name"]))
    t = c["trainer"]
    _choice("trainer.nan_policy", t.get("nan_policy", "stop"), NAN_POLICIES)
    if not isinstance(t["progress"], bool):
        raise ConfigError(f"trainer.progress={t['progress']} is not allowed; use true or false")
    betas = c["optimizer"]["betas"]
    if not (
        isinstance(betas, list)
        and len(betas) == 2
        and all(
            isinstance(b, int | float) and not isinstance(b, bool) and 0 <= b < 1 for b in betas
        )
    ):
        raise ConfigError(f"optimizer.betas={betas} is not allowed; give two numbers in [0, 1)")
    _positive("optimizer.weight_decay", c["optimizer"].get("weight_decay", 0.0), float, True)
    for key in ("hidden", "layers", "channels"):
        if key in c["arch"]:
            _positive(f"arch.{key}", c["arch"][key])
    for key in ("size", "num_classes"):
        if key in c["data"]:
            _positive(f"data.{key}", c["data"][key])


def objectives(family: str) -> tuple[str, ...]:
    """What `objective=` may name: a final metric or a last training scalar of the family."""
    from genlab.metrics.evaluate import METRICS

    scalars = (
        ("loss", "recon", "kl") if family == "vae" else ("d_loss", "g_loss", "d_real", "d_fake")
    )
    return (*METRICS, *scalars)


def make_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no GPU is visible; choose device=cpu or device=auto")
    return torch.device(name)


def fast_paths(d: dict, device: torch.device) -> dict:
    """The device's fast-path switches, with every `auto` replaced by that device's default."""
    defaults = FAST_DEFAULTS[device.type]
    fast = {k: d.get(k, "auto") for k in defaults}
    fast = {k: defaults[k] if v == "auto" else v for k, v in fast.items()}
    fast["precision"] = str(fast["precision"])  # YAML reads 32 as an int
    return fast


def speed_up(module: torch.nn.Module, fast: dict) -> torch.nn.Module:
    """In place: NHWC weights for convolutions, then torch.compile; state_dict keys unchanged."""
    if fast["channels_last"]:
        module.to(memory_format=torch.channels_last)  # only 4-D weights change layout
    if fast["compile"]:
        module.compile()
    return module


def make_data(c: dict, split: str = "train") -> ImageSet:
    d = c["data"]
    keys = ("size", "image_shape", "num_classes", "image_size", "path", "channels")
    options = {k: d[k] for k in keys if k in d}
    return load_images(d["name"], split, d.get("root"), **options)


def make_optimizer(params, o: dict, impl: str = "fused") -> torch.optim.Optimizer:
    _choice("optimizer", o["name"], ("adam",))
    kernels = {"foreach": impl == "foreach", "fused": impl == "fused"}
    return torch.optim.Adam(
        params,
        lr=o["lr"],
        betas=tuple(o["betas"]),
        weight_decay=o.get("weight_decay", 0.0),
        **kernels,
    )


def make_task(c: dict, data: ImageSet, device: torch.device):
    """The model, its optimisers and its training step, on device, with its fast paths."""
    family, arch, latent = c["model"]["name"], c["arch"]["name"], c["model"]["latent_dim"]
    fast = fast_paths(c["device"], device)
    fast["channels_last"] = fast["channels_last"] and arch == "cnn"
    precision = Precision(fast["precision"], device.type)
    impl = fast["optimizer_impl"]
    sizes = {k: v for k, v in c["arch"].items() if k in ("hidden", "layers", "channels")}
    prior = make_prior(c["prior"]["name"], c["prior"].get("low", -1.0), c["prior"].get("high", 1.0))
    if family == "vae":
        vae = speed_up(make_vae(arch, data.image_shape, latent, **sizes).to(device), fast)
        loss = VAELoss(
            recon=c["loss"]["name"], **{k: v for k, v in c["loss"].items() if k != "name"}
        )
        fixed_x = data.images[:32].to(device).float() / 255
        return VAETask(
            vae,
            make_optimizer(vae.parameters(), c["optimizer"], impl),
            loss,
            prior,
            fixed_x,
            seed=c["seed"],
            precision=precision,
        )
    classes = data.num_classes if family == "cgan" else 0
    g, d = make_gan(arch, data.image_shape, latent, classes, **sizes)
    g, d = speed_up(g.to(device), fast), speed_up(d.to(device), fast)
    t, loss_cfg = c["trainer"], c["loss"]
    return GANTask(
        g,
        d,
        make_optimizer(g.parameters(), c["optimizer"], impl),
        make_optimizer(d.parameters(), c["optimizer"], impl),
        GAN_LOSSES[loss_cfg["name"]],
        prior,
        device,
        g_steps=t["g_steps"],
        d_steps=t["d_steps"],
        label_smoothing=loss_cfg.get("label_smoothing", 0.0),
        gp_weight=loss_cfg.get("gp_weight", 10.0),
        seed=c["seed"],
        precision=precision,
    )


def make_loader(c: dict, data: ImageSet, device, ranks: distributed.Ranks) -> ResidentLoader:
    batch = c["data"]["batch_size"]  # the global batch: under torchrun each rank takes 1/N of it
    cap = c["trainer"].get("batches_per_epoch")
    if not ranks.active:
        return ResidentLoader(data, batch, device, c["seed"], cap)
    try:
        return distributed.ShardedLoader(data, batch, device, ranks, c["seed"], cap)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def make_trainer(
    cfg: DictConfig | dict, run_dir: Path, ranks: distributed.Ranks | None = None
) -> Trainer:
    """cfg: the composed config, or the plain dict a checkpoint holds (on resume)."""
    c = cfg if isinstance(cfg, dict) else to_dict(cfg)
    validate(c)
    ranks = ranks or distributed.Ranks()
    device = distributed.local_device(make_device(c["device"]["name"]), ranks)
    if c.get("threads"):  # CPU threads of this process: parallel jobs should share the cores
        torch.set_num_threads(c["threads"])
    # rank 0 measures; built first, as training the classifier on first use draws random numbers
    evaluator = make_evaluator(c, device) if ranks.main else None
    torch.manual_seed(c["seed"])  # the same on every rank: global-batch draws stay in step
    data = make_data(c)
    task = make_task(c, data, device)
    loader = make_loader(c, data, device, ranks)
    if ranks.active:
        distributed.wrap_task(task, ranks)
    t = c["trainer"]
    settings = LoopSettings(**{k: t[k] for k in LoopSettings.__dataclass_fields__ if k in t})
    return Trainer(
        task,
        loader,
        run_dir,
        settings,
        config=c,
        health=make_health(c),
        ranks=ranks,
        evaluator=evaluator,
    )


def make_health(c: dict) -> HealthWatch | None:
    """The D-has-won watch for GAN losses whose D loss bottoms out at a floor (not wgan_gp)."""
    h, loss = c["trainer"].get("health") or {}, c["loss"]
    if c["model"]["name"] == "vae" or loss["name"] == "wgan_gp" or h.get("window") is None:
        return None
    target = 1.0 - loss.get("label_smoothing", 0.0)
    floor = bce_floor(target) if GAN_LOSSES[loss["name"]].logits else 0.0
    return HealthWatch(h["d_loss_below"], h["window"], floor)


def parse_args(schema, argv: list[str]):
    """key=value command-line arguments into the dataclass `schema`; a bad key is one line."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.from_cli(argv))
        return OmegaConf.to_object(merged)
    except Exception as e:  # omegaconf's errors: unknown key, wrong type, missing value
        allowed = ", ".join(f"{k}=" for k in schema.__dataclass_fields__)
        raise ConfigError(f"{str(e).splitlines()[0]}; arguments are {allowed}") from None


def make_classifier(c: dict, device: torch.device, force: bool = False, epochs: int | None = None):
    """The data set's classifier (trained on first use): the feature space of the metrics."""
    from genlab.data.files import data_root
    from genlab.metrics.classifier import get_classifier

    d = c["data"]
    train, test = make_data(c, "train"), make_data(c, "test")
    name = d["name"]
    if name == "image_folder":  # one classifier per folder
        name += "_" + hashlib.sha1(str(Path(d["path"]).resolve()).encode()).hexdigest()[:10]
    root = data_root(d.get("root"))
    return get_classifier(name, root, train, test, device, force=force, epochs=epochs)


def make_evaluator(c: dict, device: torch.device):
    """The metrics of c's model family against the test split, or None when eval.at_end is off."""
    from genlab.metrics.evaluate import BACKBONES, BackboneError, Evaluator

    e = c.get("eval", {})
    if not e.get("at_end", True):
        return None
    _choice("eval.fid_backbone", e["fid_backbone"], BACKBONES)
    for key in ("n_samples", "iw_samples", "pr_k", "kid_subset_size", "batch_size"):
        _positive(f"eval.{key}", e[key])
    every = c["trainer"].get("eval_every")
    if every is not None:
        _positive("trainer.eval_every", every)
    try:
        return Evaluator(
            make_classifier(c, device),
            make_data(c, "test"),
            **{k: e[k] for k in ("n_samples", "iw_samples", "fid_backbone", "pr_k", "batch_size")},
            kid_subset_size=e["kid_subset_size"],
            seed=c["seed"],
        )
    except BackboneError as err:
        raise ConfigError(str(err)) from None


def load_run(run_dir: Path, device_name: str = "auto") -> tuple[dict, object, int]:
    """(config, task with its trained weights, step) of a run, from its checkpoints/last.pt."""
    from genlab.checkpoint import load_checkpoint

    state = load_checkpoint(Path(run_dir) / "checkpoints" / "last.pt")
    c = state["config"]  # the full resolved config of the run
    validate(c)
    device = make_device(device_name)
    task = make_task(c, make_data(c), device)
    for k, m in task.modules.items():
        m.load_state_dict(state["models"][k])
        m.eval()
    return c, task, state["step"]
