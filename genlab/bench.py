"""`python -m genlab.bench`: train images per second and peak memory, genlab against the tutorial.
`python -m genlab.bench quality`: the time each default needs to reach its quality targets.

    python -m genlab.bench                             # every model x arch, the device's defaults
    python -m genlab.bench --models gan-mlp --steps 20 --device cpu
    python -m genlab.bench --ablate --out speed.md     # also each fast path flipped, one at a time
    python -m genlab.bench --models gan-cnn --set arch.channels=16  # overrides, both sides
    python -m genlab.bench --set ++arch.channels=8               # ++: only where the key exists
    python -m genlab.bench quality --help              # time to quality (benchmark/quality.py)

Both sides train the same network on the same batch size in the same process, interleaved, and
each keeps its best of --repeats runs, so a busy machine slows both alike. Every case's config is
composed and checked, and its data read, before anything trains: bad input is one line, exit 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from genlab.benchmark import ArgumentParser
from genlab.errors import ConfigError, GenlabError, storage_error

if TYPE_CHECKING:  # torch is imported once a benchmark runs: --help prints without it
    import torch

    from genlab.benchmark.runners import Result

CASES = {
    "vae-mlp": ["model=vae", "arch=mlp"],
    "vae-cnn": ["model=vae", "arch=cnn"],
    # the seanie12 tutorial's GAN: MLP hidden 500, latent 10, batch 200, Adam 1e-3 (0.5, 0.999)
    "gan-mlp": [
        "model=gan",
        "arch=mlp",
        "arch.hidden=500",
        "arch.layers=2",
        "model.latent_dim=10",
        "data.batch_size=200",
        "optimizer.lr=1e-3",
    ],
    "gan-cnn": ["model=gan", "arch=cnn"],
    "cgan-mlp": ["model=cgan", "arch=mlp"],
    "cgan-cnn": ["model=cgan", "arch=cnn"],
}
SEANIE12 = "gan-mlp"  # its tutorial side runs the tutorial's own networks


def ablations(c: dict) -> list[list[str]]:
    """Each fast path flipped from the device's default, one at a time."""
    device, f = c["device"]["name"], c["device"]  # device=auto: already the device's defaults
    out = [[f"device.precision={p}"] for p in ("32", "bf16", "fp16") if p != str(f["precision"])]
    if device == "cpu":  # fp16 on a CPU without fp16 units is emulated: not worth a row
        out = [o for o in out if o != ["device.precision=fp16"]]
    out.append([f"device.compile={str(not f['compile']).lower()}"])
    if c["arch"]["name"] == "cnn":
        out.append([f"device.channels_last={str(not f['channels_last']).lower()}"])
    impls = ("plain", "foreach", "fused")
    out += [[f"device.optimizer_impl={i}"] for i in impls if i != f["optimizer_impl"]]
    return out


def applicable(sets: list[str], cfg) -> list[str]:
    """--set's overrides for one case: a `++key=value` whose key the case does not have (e.g.
    ++arch.channels=8 for an MLP) is left out; genlab refuses keys nothing reads."""
    from omegaconf import OmegaConf

    def has(key: str) -> bool:
        return OmegaConf.select(cfg, key, default="<none>") != "<none>"

    return [o for o in sets if not o.startswith("++") or has(o[2:].split("=", 1)[0])]


def machine(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def best(a: Result | None, b: Result) -> Result:
    return b if a is None or b.images_per_s > a.images_per_s else a


def parse_args(argv=None) -> argparse.Namespace:
    p = ArgumentParser(
        prog=sys.argv[0] if sys.argv[0].startswith("genlab") else "python -m genlab.bench",
        description=__doc__.split("\n")[0],
    )
    p.add_argument("--models", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--data", default="mnist", help="data set (mnist, fashion_mnist, synthetic)")
    p.add_argument("--steps", type=int, default=30, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compile, caches)")
    p.add_argument("--repeats", type=int, default=2, help="runs per side, interleaved; best kept")
    p.add_argument("--ablate", action="store_true", help="also each fast path flipped")
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="genlab overrides for every model, e.g. ++arch.channels=16",
    )
    p.add_argument("--out", type=Path, help="also write the markdown table here")
    return p.parse_args(argv)


def check_args(args: argparse.Namespace) -> list[str]:
    """The model names; a bad count, name or --out is one line, before torch is imported."""
    from genlab.config.values import positive

    positive("--steps", args.steps)
    positive("--warmup", args.warmup, zero_ok=True)
    positive("--repeats", args.repeats)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in CASES]
    if unknown or not names:
        shown = ",".join(unknown) or repr(args.models)
        raise ConfigError(f"--models {shown} is not known; choose from {', '.join(CASES)}")
    if args.out and args.out.is_dir():
        raise ConfigError(
            f"--out {args.out} is a folder; give a file, e.g. {args.out / 'speed.md'}"
        )
    return names


def checked(overrides: list[str], ablate: bool):
    """A case's config, checked as `genlab train` checks it, with its data read (once a process:
    both sides share it) and, with --ablate, each flipped fast path's config checked too."""
    from genlab.benchmark.runners import compose_config
    from genlab.config.build import to_dict
    from genlab.config.checks import validate
    from genlab.config.data import make_data

    cfg = compose_config(overrides)
    c = to_dict(cfg)
    validate(c)
    make_data(c)
    for flipped in ablations(c) if ablate else []:
        validate(to_dict(compose_config([*overrides, *flipped])))
    return cfg


def main(argv=None) -> list[dict]:
    """Runs the benchmark; bad input raises a GenlabError (or Hydra's error) before any training."""
    args = parse_args(argv)
    names = check_args(args)
    import torch

    from genlab.benchmark.runners import compose_config, describe_fast, run_genlab, run_tutorial
    from genlab.config.build import make_device, to_dict

    base = [f"device={args.device}", f"data={args.data}", "trainer.progress=false"]
    device = make_device(args.device)
    cases = {}  # name -> (its --set overrides, its config): every one checked first
    for name in names:
        sets = applicable(args.set, compose_config([*base, *CASES[name]]))
        cases[name] = sets, checked([*base, *CASES[name], *sets], args.ablate)
    load0 = os.getloadavg()[0]
    rows = []
    for name, (sets, cfg) in cases.items():
        c = to_dict(cfg)
        variants = [[]] + (ablations(c) if args.ablate else [])
        tut, gen = None, [None] * len(variants)
        for r in range(args.repeats):
            tutorial_first = r % 2 == 0  # alternate, so neither side always runs warmer
            if tutorial_first:
                tut = best(tut, run_tutorial(cfg, args.warmup, args.steps, name == SEANIE12))
            for i, v in enumerate(variants):
                vcfg = compose_config([*base, *CASES[name], *sets, *v]) if v else cfg
                gen[i] = best(gen[i], run_genlab(vcfg, args.warmup, args.steps))
            if not tutorial_first:
                tut = best(tut, run_tutorial(cfg, args.warmup, args.steps, name == SEANIE12))
        for v, g in zip(variants, gen, strict=True):
            vc = to_dict(compose_config([*base, *CASES[name], *sets, *v])) if v else c
            row = {
                "model": name + (" (seanie12)" if name == SEANIE12 else ""),
                "batch": g.batch,
                "fast paths": describe_fast(vc) + ("" if v else " (default)"),
                "genlab img/s": g.images_per_s,
                "tutorial img/s": tut.images_per_s,
                "genlab / tutorial": g.images_per_s / tut.images_per_s,
                "genlab MiB": g.peak_mib,
                "tutorial MiB": tut.peak_mib,
            }
            rows.append(row)
            print(_line(row), file=sys.stderr, flush=True)
    memory = "max_memory_allocated" if device.type == "cuda" else "peak RSS delta"
    header = (
        f"{device.type}: {machine(device)}; torch {torch.__version__}; data={args.data}; "
        f"{args.steps} timed steps after {args.warmup}, best of {args.repeats}; "
        f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; memory: {memory}"
    )
    table = markdown(rows, header)
    print(table, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    return rows


def _line(row: dict) -> str:
    return (
        f"{row['model']:<20} {row['fast paths']:<40} genlab {row['genlab img/s']:8.0f} img/s  "
        f"tutorial {row['tutorial img/s']:8.0f} img/s  ratio {row['genlab / tutorial']:.2f}"
    )


def markdown(rows: list[dict], header: str) -> str:
    cols = list(rows[0]) if rows else []
    fmt = {"genlab img/s": "{:.0f}", "tutorial img/s": "{:.0f}", "genlab / tutorial": "{:.2f}x"}
    fmt |= {"genlab MiB": "{:.0f}", "tutorial MiB": "{:.0f}"}
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(fmt.get(k, "{}").format(r[k]) for k in cols) + " |")
    return "\n".join(lines) + "\n"


def cli(args: list[str]) -> None:
    """`genlab bench ...`: bad input is one line on stderr, `error: ...`, and exit status 2."""
    try:
        if args[:1] == ["quality"]:
            from genlab.benchmark import quality

            quality.main(args[1:])
        else:
            main(args)
    except Exception as e:
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        from genlab.cli.one_line import one_line

        if isinstance(e, GenlabError | HydraException | OmegaConfBaseException):
            line = one_line(e, args)  # an override as `genlab train` names it
        elif isinstance(e, OSError):
            line = str(storage_error(e))  # --out or --docs: a missing, read-only or full disk
        else:
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    cli(sys.argv[1:])
